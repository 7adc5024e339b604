"""Jupyter notebooks, through the command line: real .ipynb files on disk."""

import json
import os
import subprocess
import sys

import pytest

from helpers import lint
from tflint_save import cli, ipysyntax, notebook

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

UNSAFE = "keras.models.load_model('m.keras', safe_mode=False)\n"
# Where the rule reports UNSAFE in a plain .py file: a notebook must report the same column.
[_finding] = lint("import keras\n" + UNSAFE)
COL = _finding.col


def code(source, **extra):
    return {"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [], "source": source, **extra}


def markdown(source):
    return {"cell_type": "markdown", "metadata": {}, "source": source}


def write_notebook(path, cells, language="python"):
    document = {
        "cells": cells,
        "metadata": {"kernelspec": {"display_name": "Python 3", "language": language, "name": "python3"}},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(document, handle, indent=1, ensure_ascii=False)  # the layout Jupyter writes
        handle.write("\n")
    return str(path)


@pytest.fixture(autouse=True)
def in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # whatever a run leaves behind (a cache) stays in the test's directory


def mask(lines):
    return list(ipysyntax.transform(lines).lines)


def run_cli(capsys, *argv):
    status = cli.main(["--keras-version", "3", *argv])
    out, err = capsys.readouterr()
    return status, out, err


# -- masking --------------------------------------------------------------------------------

def test_magics_and_shell_escapes_become_pass_and_keep_line_numbers():
    lines = [
        "%pip install tensorflow",
        "!nvidia-smi",
        "files = !ls *.keras",
        "import keras",
        "model.fit?",
        "??keras.models.load_model",
        "if True:",
        "    !echo \\",
        "        continued",
    ]
    masked = mask(lines)
    assert masked == [
        "pass", "pass", "files = None", "import keras", "pass", "pass",
        "if True:", "    pass", "",
    ]


def test_python_that_looks_like_a_magic_is_left_alone():
    lines = [
        "s = ('%s'",
        "     % name)",
        "total = (a",
        "         != b)",
        "ls -la",  # valid Python: ls minus la
        "pip if ok else other",
        "text = '''",
        "%not a magic inside a string",
        "'''",
        "x = 3  # why?",
    ]
    assert mask(lines) == lines


def test_cell_magics_mask_the_cell_unless_its_body_is_python():
    assert mask(["%%bash", "for f in *.h5; do echo $f; done"]) == ["", ""]
    assert mask(["%%writefile train.py", "import keras"]) == ["", ""]
    assert mask(["%%time", "model = build()"]) == ["", "model = build()"]


# -- through the command line ------------------------------------------------------------------

def test_findings_are_reported_by_cell_and_line_in_the_cell(tmp_path, capsys):
    path = write_notebook(tmp_path / "train.ipynb", [
        markdown(["# Training\n"]),
        code(["%pip install -q keras\n", "import keras\n"]),
        code(["!ls models\n", "model = build()\n", UNSAFE]),
        code("x = 1\nkeras.config.enable_unsafe_deserialization()"),
    ])
    status, out, _ = run_cli(capsys, path)
    assert status == 1
    first, second = out.splitlines()
    assert first.startswith(f"{path}:cell 3:3:{COL}: TFS203 safe_mode=False ")
    assert second.startswith(f"{path}:cell 4:2:1: TFS203 enable_unsafe_deserialization() ")


def test_json_has_cell_and_line(tmp_path, capsys):
    path = write_notebook(tmp_path / "nb.ipynb", [code(["import keras\n"]), markdown("text"), code(["\n", UNSAFE])])
    status, out, _ = run_cli(capsys, "--output-format", "json", path)
    assert status == 1
    [item] = json.loads(out)
    assert item["code"] == "TFS203" and item["filename"] == path
    assert item["cell"] == 3
    assert item["location"] == {"row": 2, "column": COL}
    assert item["end_location"] == {"row": 2, "column": _finding.end_col}


def test_imports_in_one_cell_resolve_names_in_later_cells(tmp_path, capsys):
    path = write_notebook(tmp_path / "nb.ipynb", [
        code("from tensorflow import keras as K\n"),
        code("K.config.enable_unsafe_deserialization()\n"),
    ])
    status, out, _ = run_cli(capsys, path)
    assert status == 1 and f"{path}:cell 2:1:1: TFS203" in out


def test_noqa_in_a_cell(tmp_path, capsys):
    path = write_notebook(tmp_path / "nb.ipynb", [
        code(["import keras\n", "keras.models.load_model('m.keras', safe_mode=False)  # noqa: TFS203\n"]),
    ])
    assert run_cli(capsys, path)[:2] == (0, "")


def test_clean_notebook_and_other_languages(tmp_path, capsys):
    clean = write_notebook(tmp_path / "clean.ipynb", [code("import keras\nmodel = keras.models.load_model('m.keras')\n")])
    r_kernel = write_notebook(tmp_path / "r.ipynb", [code("library(keras)\nx <- 1 %>% f\n")], language="R")
    assert run_cli(capsys, clean, r_kernel)[:2] == (0, "")


def test_invalid_json_is_a_tfs001_finding_not_a_traceback(tmp_path, capsys):
    broken = tmp_path / "broken.ipynb"
    bad_line = '  {"cell_type": "code", "source": ["import keras"],}'
    broken.write_text('{\n "cells": [\n' + bad_line + '\n ]\n}\n', encoding="utf-8")
    not_notebook = tmp_path / "list.ipynb"
    not_notebook.write_text("[1, 2]\n", encoding="utf-8")
    status, out, err = run_cli(capsys, str(broken), str(not_notebook))
    assert status == 1 and "Traceback" not in err
    lines = out.splitlines()
    column = bad_line.index(",}") + 2  # where a property name was expected
    assert lines[0].startswith(f"{broken}:3:{column}: TFS001 could not read notebook: not valid JSON: ")
    assert lines[1] == f"{not_notebook}:1:1: TFS001 could not read notebook: not a Jupyter notebook: " \
                       "the top level is not a JSON object"


def test_syntax_error_is_reported_in_its_cell(tmp_path, capsys):
    path = write_notebook(tmp_path / "nb.ipynb", [code("import keras\n"), code("def f(:\n    pass\n")])
    status, out, _ = run_cli(capsys, path)
    assert status == 1
    assert out.startswith(f"{path}:cell 2:1:7: TFS001 could not parse cell: ")


def test_positions_in_parser_messages_are_mapped_to_cells(tmp_path, capsys):
    path = write_notebook(tmp_path / "nb.ipynb", [code("import keras\n"), code("x = (1,\n  2]\n")])
    status, out, _ = run_cli(capsys, path)
    assert status == 1
    assert out.startswith(f"{path}:cell 2:2:")
    assert out.rstrip().endswith("opening parenthesis '(' on line 1")  # of the cell


def test_directories_include_notebooks_but_not_checkpoints(tmp_path, capsys):
    write_notebook(tmp_path / "a.ipynb", [code(["import keras\n", UNSAFE])])
    os.makedirs(tmp_path / ".ipynb_checkpoints")
    write_notebook(tmp_path / ".ipynb_checkpoints" / "a-checkpoint.ipynb", [code(["import keras\n", UNSAFE])])
    status, out, _ = run_cli(capsys, str(tmp_path))
    assert status == 1
    assert [line.split(": ")[0] for line in out.splitlines()] == [f"{tmp_path / 'a.ipynb'}:cell 1:2:{COL}"]


def test_notebook_on_standard_input(tmp_path):
    path = write_notebook(tmp_path / "nb.ipynb", [code(["import keras\n", UNSAFE])])
    with open(path, "rb") as handle:
        data = handle.read()
    proc = subprocess.run(
        [sys.executable, "-m", "tflint_save", "--keras-version", "3", "--stdin-filename", "nb.ipynb", "-"],
        input=data, capture_output=True, cwd=tmp_path, env={**os.environ, "PYTHONPATH": ROOT},
    )
    assert proc.returncode == 1, proc.stderr
    assert proc.stdout.decode().startswith(f"nb.ipynb:cell 1:2:{COL}: TFS203 ")


def test_nbformat_3_input_cells(tmp_path, capsys):
    path = tmp_path / "old.ipynb"
    path.write_text(json.dumps({"nbformat": 3, "metadata": {}, "worksheets": [{"cells": [
        {"cell_type": "heading", "source": ["Old"]},
        {"cell_type": "code", "input": ["import keras\n", UNSAFE], "outputs": []},
    ]}]}), encoding="utf-8")
    status, out, _ = run_cli(capsys, str(path))
    assert status == 1 and out.startswith(f"{path}:cell 2:2:{COL}: TFS203")


@pytest.mark.parametrize("cells", [5, "import keras", {"a": 1}, None])
def test_nbformat_3_cells_that_are_not_a_list_are_tfs001(tmp_path, capsys, cells):
    path = tmp_path / "old.ipynb"
    path.write_text(json.dumps({"nbformat": 3, "worksheets": [{"cells": cells}]}), encoding="utf-8")
    status, out, err = run_cli(capsys, str(path))
    assert status == 1 and "Traceback" not in err
    assert out == f"{path}:1:1: TFS001 could not read notebook: not a Jupyter notebook: no \"cells\" list\n"


@pytest.mark.parametrize("source", [
    [UNSAFE],  # one string per line: the layout Jupyter writes
    UNSAFE,  # one string for the whole cell
    ["import keras\n", "m = keras.models.load_model('caf\u00e9 \\\"x\\\".keras', safe_mode=False)\n"],
])
def test_file_position_points_into_the_ipynb_text(tmp_path, source):
    path = write_notebook(tmp_path / "nb.ipynb", [markdown("# t"), code(["import keras\n"]), code(source)])
    with open(path, encoding="utf-8") as handle:
        text = handle.read()
    lines = notebook.parse(text).cells[3]
    row = len(lines)
    col = lines[-1].index("False") + 1
    line, column = notebook.file_position(text, 3, row, col)
    assert text.split("\n")[line - 1][column - 1:].startswith("False)")


# -- IPython syntax, magics and %%writefile, through the command line ------------------------

def _lines_of(out):
    return [line.split(": ")[0] + ": " + line.split(": ")[1].split()[0] for line in out.splitlines()]


def test_ipython_transformations_keep_cell_line_and_column(tmp_path, capsys):
    path = write_notebook(tmp_path / "nb.ipynb", [
        code(["import keras\n"]),
        code("ls ./data/train/"),  # automagic: one-line cell
        code(["\n", "    " + UNSAFE]),  # an indented cell: IPython dedents it
        code(["files = !ls *.keras\n", "model.fit?\n", "%time " + UNSAFE]),
        code([">>> " + UNSAFE]),
    ])
    status, out, _ = run_cli(capsys, path)
    assert status == 1
    assert _lines_of(out) == [
        f"{path}:cell 3:2:{COL + 4}: TFS203",
        f"{path}:cell 4:3:{COL + 6}: TFS203",
        f"{path}:cell 5:1:{COL + 4}: TFS203",
    ]


def test_each_kind_of_cell_magic(tmp_path, capsys):
    path = write_notebook(tmp_path / "nb.ipynb", [
        code(["import keras\n"]),
        code(["%%time\n", UNSAFE]),  # Python: linted
        code(["%%capture out\n", "  " + UNSAFE]),  # Python, body dedented as IPython does
        code(["%%bash\n", "python -c \"" + UNSAFE.strip() + "\"\n"]),  # another language: skipped
        code(["%%html\n", "<pre>" + UNSAFE + "</pre>\n"]),
        code(["%%writefile notes.txt\n", UNSAFE]),  # a data file: not Python
    ])
    status, out, _ = run_cli(capsys, path)
    assert status == 1
    assert _lines_of(out) == [f"{path}:cell 2:2:{COL}: TFS203", f"{path}:cell 3:2:{COL + 2}: TFS203"]


LAYERS_PY = [
    "%%writefile layers.py\n",
    "import keras\n",
    "\n",
    "class Scale(keras.layers.Layer):\n",
    "    def __init__(self, factor=1.0, **kwargs):\n",
    "        super().__init__(**kwargs)\n",
    "        self.factor = factor\n",
    "\n",
    "    def call(self, x):\n",
    "        return x * self.factor\n",
    "\n",
    "acc = keras.metrics.BinaryAccuracy()\n",
    "acc.reset_states()\n",
]
USES_LAYERS = [
    "import keras\n",
    "from layers import Scale\n",
    "model = keras.Sequential([keras.Input((4,)), Scale(3.0)])\n",
    "model.save('m.keras')\n",
    "restored = keras.models.load_model('m.keras')\n",
]


def test_writefile_module_is_linted_at_its_cell_and_seen_by_later_cells(tmp_path, capsys):
    path = write_notebook(tmp_path / "nb.ipynb", [code(LAYERS_PY), code(USES_LAYERS)])
    status, out, _ = run_cli(capsys, path)
    assert status == 1
    lines = out.splitlines()
    # The body's own finding, at the cell line where it is written.
    assert any(line.startswith(f"{path}:cell 1:13:1: TFS405 ") for line in lines), out
    # The class the written module defines is the project's: the load in cell 2 cannot find it.
    [tfs201] = [line for line in lines if " TFS201 " in line]
    assert tfs201.startswith(f"{path}:cell 2:5:") and "Scale is not registered" in tfs201

    # Without the %%writefile cell nothing defines Scale: unknown, so no TFS201.
    alone = write_notebook(tmp_path / "alone.ipynb", [code(USES_LAYERS)])
    status, out, _ = run_cli(capsys, alone)
    assert "TFS201" not in out


def test_writefile_module_is_in_the_result_for_the_project(tmp_path):
    from tflint_save import config, run

    path = write_notebook(tmp_path / "nb.ipynb", [code(LAYERS_PY), code(["%%writefile -a layers.py\n", "x = 1\n"])])
    [result] = run.lint_results([path], config.Settings(keras_version=3))
    [module] = result.modules
    assert module.path == str(tmp_path / "layers.py")
    assert [c.name for c in module.summary.classes] == ["Scale"] and module.summary.classes[0].module[-1] == "layers"
    assert module.findings == [] and [f.code for f in result.findings] == ["TFS405"]


def test_a_cell_that_does_not_parse_is_tfs001_and_the_rest_is_linted(tmp_path, capsys):
    path = write_notebook(tmp_path / "nb.ipynb", [
        code(["import keras\n"]),
        code(["pip install h5py\n", "import h5py\n"]),  # two lines: IPython fails on it too
        code(["x = (1,\n"]),  # an unclosed bracket must not swallow the next cell
        code([UNSAFE]),
    ])
    status, out, _ = run_cli(capsys, path)
    assert status == 1
    assert _lines_of(out) == [
        f"{path}:cell 2:1:5: TFS001",
        f"{path}:cell 3:1:5: TFS001",
        f"{path}:cell 4:1:{COL}: TFS203",
    ]
    assert "could not parse cell: " in out


@pytest.mark.parametrize("cell, message", [
    ({"cell_type": "code", "source": 5}, 'code cell 2: "source" is not a string or a list of strings'),
    ({"cell_type": "code", "source": ["x = 1\n", None]}, 'code cell 2: "source" is not a string or a list of strings'),
    ({"cell_type": "code", "metadata": {}}, 'code cell 2 has no "source"'),
    ({"source": "x = 1"}, 'cell 2 has no "cell_type"'),
    ("import keras", "cell 2 is not a JSON object"),
])
def test_malformed_cells_are_tfs001_for_that_cell(tmp_path, capsys, cell, message):
    path = tmp_path / "nb.ipynb"
    path.write_text(json.dumps({"cells": [code(["import keras\n"]), cell, code([UNSAFE])], "metadata": {},
                                "nbformat": 4, "nbformat_minor": 5}), encoding="utf-8")
    status, out, err = run_cli(capsys, str(path))
    assert status == 1 and "Traceback" not in err
    assert out.splitlines()[0] == f"{path}:cell 2:1:1: TFS001 could not read notebook: {message}"
    assert out.splitlines()[1].startswith(f"{path}:cell 3:1:{COL}: TFS203")


def test_unknown_nbformat_is_tfs001_and_the_cells_are_still_read(tmp_path, capsys):
    path = tmp_path / "nb.ipynb"
    path.write_text(json.dumps({"cells": [code(["import keras\n", UNSAFE])], "nbformat": 7}), encoding="utf-8")
    status, out, _ = run_cli(capsys, str(path))
    assert status == 1
    first, second = out.splitlines()
    assert first == f"{path}:1:1: TFS001 could not read notebook: unknown nbformat 7: tflint-save reads " \
                    "nbformat 3 and 4 (its cells were read as nbformat 4)"
    assert second.startswith(f"{path}:cell 1:2:{COL}: TFS203")


# -- --fix and --diff ---------------------------------------------------------------------------

FIXABLE = [
    code(["import keras\n", "acc = keras.metrics.BinaryAccuracy()\n"], execution_count=1,
         outputs=[{"name": "stdout", "output_type": "stream", "text": ["caf\u00e9\n"]}]),
    code(["for epoch in range(3):\n", "    acc.reset_states()  # caf\u00e9\n", "    !echo epoch\n"]),
    code(["  acc.reset_states()\n", "  acc.update_state([1], [1])"]),  # dedented by IPython
    code("%time acc.reset_states()"),
    markdown(["acc.reset_states()\n"]),
]


def _nbformat_notebook(tmp_path, cells):
    nbformat = pytest.importorskip("nbformat")
    nb = nbformat.v4.new_notebook(metadata={"kernelspec": {"display_name": "Python 3", "language": "python",
                                                           "name": "python3"}})
    nb.cells = [nbformat.from_dict(dict(c, id=f"c{i}")) for i, c in enumerate(cells)]
    path = tmp_path / "nb.ipynb"
    nbformat.write(nb, str(path))
    return nbformat, path


def test_fix_writes_valid_nbformat_back_and_touches_only_the_sources(tmp_path, capsys):
    nbformat, path = _nbformat_notebook(tmp_path, FIXABLE)
    before = nbformat.read(str(path), as_version=4)
    status, out, err = run_cli(capsys, "--fix", str(path))
    assert status == 0 and out == "" and "Found 3 findings (3 fixed, 0 remaining)." in err
    text = path.read_text(encoding="utf-8")
    after = nbformat.reads(text, as_version=4)
    nbformat.validate(after)
    assert nbformat.writes(after) + "\n" == text  # the layout Jupyter writes, unchanged
    assert [c.source for c in after.cells] == [
        before.cells[0].source,
        "for epoch in range(3):\n    acc.reset_state()  # caf\u00e9\n    !echo epoch\n",
        "  acc.reset_state()\n  acc.update_state([1], [1])",
        "%time acc.reset_state()",
        "acc.reset_states()\n",  # markdown
    ]
    for old, new in zip(before.cells, after.cells):
        assert {k: v for k, v in old.items() if k != "source"} == {k: v for k, v in new.items() if k != "source"}
    assert before.metadata == after.metadata
    assert run_cli(capsys, "--fix", str(path))[:2] == (0, "")  # nothing left to fix


def test_fix_adds_lines_in_the_right_cell(tmp_path, capsys):
    nbformat, path = _nbformat_notebook(tmp_path, [
        code(["import keras\n"]),
        code(["  class Classifier(keras.Model):\n",  # indented: IPython dedents the cell
              "      def __init__(self, hidden=8, **kwargs):\n",
              "          super().__init__(**kwargs)\n",
              "          self.hidden = hidden\n",
              "          self.body = keras.layers.Dense(hidden)\n",
              "\n",
              "      def call(self, x):\n",
              "          return self.body(x)\n"]),
        code(["model = Classifier(hidden=32)\n", "model.save('classifier.keras')\n"]),
    ])
    status, out, err = run_cli(capsys, "--fix", "--unsafe-fixes", "--select", "TFS301", str(path))
    assert status == 0, out + err
    after = nbformat.read(str(path), as_version=4)
    nbformat.validate(after)
    assert (
        "          self.body = keras.layers.Dense(hidden)\n"
        "\n"
        "      def get_config(self):\n"
        "          return {\n"
        "              **super().get_config(),\n"
        '              "hidden": self.hidden,\n'
        "          }\n"
        "\n"
        "      def call(self, x):\n"
    ) in after.cells[1].source  # in its cell, with the cell's indentation
    assert after.cells[2].source == "model = Classifier(hidden=32)\nmodel.save('classifier.keras')\n"


def test_diff_shows_each_changed_cell_and_writes_nothing(tmp_path, capsys):
    _, path = _nbformat_notebook(tmp_path, FIXABLE)
    before = path.read_bytes()
    status, out, err = run_cli(capsys, "--diff", str(path))
    assert path.read_bytes() == before
    assert f"--- {path}:cell 2\n+++ {path}:cell 2\n" in out
    assert "-    acc.reset_states()  # caf\u00e9\n+    acc.reset_state()  # caf\u00e9\n" in out
    assert f"+++ {path}:cell 4\n" in out and "+%time acc.reset_state()\n" in out
    assert "Would fix 3 findings." in err


def test_json_output_says_which_notebook_findings_have_a_fix(tmp_path, capsys):
    path = write_notebook(tmp_path / "nb.ipynb", [
        code(["import keras\n", "acc = keras.metrics.BinaryAccuracy()\n", "acc.reset_states()\n"]),
        code(["%%writefile m.py\n", "import keras\n", "acc = keras.metrics.BinaryAccuracy()\n", "acc.reset_states()\n"]),
        code(["%%writefile {name}.py\n", "import keras\n", "keras.metrics.Mean().reset_states()\n"]),  # not linted
    ])
    status, out, _ = run_cli(capsys, "--output-format", "json", path)
    items = json.loads(out)
    assert [(i["cell"], i["location"]["row"], i["code"]) for i in items] == [(1, 3, "TFS405"), (2, 4, "TFS405")]
    fix = {"applicability": "safe", "message": "Replace reset_states() with reset_state()"}
    assert items[0]["fix"] == items[1]["fix"] == fix


def test_fix_in_a_writefile_body(tmp_path, capsys):
    nbformat, path = _nbformat_notebook(tmp_path, [
        code(["import keras\n", "acc = keras.metrics.BinaryAccuracy()\n"]),
        code(["%%writefile worker.py\n", "import keras\n", "acc = keras.metrics.BinaryAccuracy()\n",
              "for epoch in range(3):\n", "    acc.reset_states()\n"]),
        code(["%%writefile -a worker.py\n", "acc.reset_states()\n"]),
        code(["!python worker.py\n", "acc.reset_states()"]),
    ])
    status, out, err = run_cli(capsys, "--fix", str(path))
    assert status == 0, out + err
    after = nbformat.read(str(path), as_version=4)
    nbformat.validate(after)
    assert [c.source for c in after.cells[1:]] == [
        "%%writefile worker.py\nimport keras\nacc = keras.metrics.BinaryAccuracy()\nfor epoch in range(3):\n"
        "    acc.reset_state()\n",
        "%%writefile -a worker.py\nacc.reset_state()\n",
        "!python worker.py\nacc.reset_state()",
    ]


def test_written_modules_survive_the_cache(tmp_path):
    from dataclasses import replace

    from tflint_save import cache as cache_mod, config, run

    path = write_notebook(tmp_path / "nb.ipynb", [code(LAYERS_PY), code(USES_LAYERS)])
    settings = config.Settings(keras_version=3)
    store = cache_mod.for_run(settings, run.enabled_rules(settings), str(tmp_path / "cache"))
    [fresh] = run.lint_results([path], settings, cache=store)
    [stored] = [os.path.join(d, n) for d, _, names in os.walk(tmp_path / "cache") for n in names if n.endswith(".json")]
    assert "Scale" in open(stored, encoding="utf-8").read()
    [cached] = run.lint_results([path], settings, cache=store)
    assert cached == fresh and cache_mod.result_from_json(json.loads(json.dumps(cache_mod.result_to_json(fresh)))) == fresh
    assert [f.code for f in run.settle([cached], settings).findings] == ["TFS405", "TFS201"]
    # A module's own findings and pending ones keep their typed facts through the cache's JSON.
    module = replace(fresh.modules[0], findings=list(fresh.findings), pending=list(fresh.pending))
    back = cache_mod.result_from_json(json.loads(json.dumps(cache_mod.result_to_json(replace(fresh, modules=[module])))))
    assert back.modules == [module] and [type(f.data) for f in back.modules[0].findings] == \
        [type(f.data) for f in fresh.findings] and {type(f.data).__name__ for f in fresh.findings} - {"Facts"}
    assert [type(p.data) for p in back.modules[0].pending] == [type(p.data) for p in fresh.pending]


def test_any_json_document_is_a_result_never_a_traceback(tmp_path):
    import random

    from tflint_save.checks import RULES

    rng = random.Random(12)
    values = [None, True, 3, 2.5, "x", "import keras\n", ["a\n", 1], [], {}, ["%%writefile a.py\n", "import keras\n"],
              ["  import keras\n", "keras.models.load_model('m', safe_mode=False)\n"]]

    def cell():
        keys = ["cell_type", "source", "input", "metadata", "outputs"]
        made = {k: rng.choice(values + ["code", "markdown"]) for k in rng.sample(keys, rng.randint(0, len(keys)))}
        return made if rng.random() < 0.9 else rng.choice(values)

    for _ in range(300):
        document = {"cells": [cell() for _ in range(rng.randint(0, 5))], "nbformat": rng.choice([4, 3, 5, "4", None])}
        if rng.random() < 0.2:
            document = {"worksheets": [{"cells": document["cells"]}], "nbformat": 3}
        result = notebook.lint(str(tmp_path / "nb.ipynb"), RULES, 3, json.dumps(document))
        assert result.error is None
        for f in result.findings:
            assert f.line >= 1 and f.col >= 1


def test_verify_reads_a_class_from_the_module_a_notebook_writes(tmp_path, capsys):
    pytest.importorskip("tensorflow")
    path = write_notebook(tmp_path / "nb.ipynb", [code(LAYERS_PY), code(USES_LAYERS)])
    status, out, err = run_cli(capsys, "--verify", "--no-cache", "--select", "TFS201", path)
    assert status == 1
    # layers.py exists only inside the notebook: the check reads it from the %%writefile cell.
    assert out.splitlines()[0].startswith(f"{path}:cell 2:5:") and "[confirmed on keras " in out
    assert "Could not locate class 'Scale'" in out


def test_an_indented_writefile_cell_writes_its_body_dedented(tmp_path, capsys):
    body = ["  %%writefile worker.py\n", "  import keras\n", "  acc = keras.metrics.BinaryAccuracy()\n",
            "  acc.reset_states()\n"]
    nbformat, path = _nbformat_notebook(tmp_path, [code(body)])
    status, out, _ = run_cli(capsys, str(path))
    assert out.startswith(f"{path}:cell 1:4:3: TFS405 ")  # where it is in the cell, as written
    assert run_cli(capsys, "--fix", str(path))[0] == 0
    assert nbformat.read(str(path), as_version=4).cells[0].source == "".join(body).replace("states", "state")
