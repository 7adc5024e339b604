"""Jupyter notebooks, through the command line: real .ipynb files on disk."""

import json
import os
import subprocess
import sys

import pytest

from helpers import lint
from tflint_save import cli, notebook

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
        "pip install h5py",
        "cd ../data",
    ]
    masked = notebook.mask(lines)
    assert masked == [
        "pass", "pass", "files = None", "import keras", "pass", "pass",
        "if True:", "    pass", "", "pass", "pass",
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
    assert notebook.mask(lines) == lines


def test_cell_magics_mask_the_cell_unless_its_body_is_python():
    assert notebook.mask(["%%bash", "for f in *.h5; do echo $f; done"]) == ["", ""]
    assert notebook.mask(["%%writefile train.py", "import keras"]) == ["", ""]
    assert notebook.mask(["%%time", "model = build()"]) == ["", "model = build()"]


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
    assert out.startswith(f"{path}:cell 2:1:7: TFS001 could not parse file: ")


def test_positions_in_parser_messages_are_mapped_to_cells(tmp_path, capsys):
    path = write_notebook(tmp_path / "nb.ipynb", [code("import keras\n"), code("x = (1,\n  2]\n")])
    status, out, _ = run_cli(capsys, path)
    assert status == 1
    assert out.startswith(f"{path}:cell 2:2:")
    assert out.rstrip().endswith("opening parenthesis '(' on cell 2 line 1")


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
