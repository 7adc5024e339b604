"""IPython's input transformations, line for line (tflint_save.ipysyntax), checked against IPython."""

import ast

import pytest

from tflint_save import ipysyntax
from tflint_save.ipysyntax import Write, transform


def python(source, shadowed=lambda name: False):
    return list(transform(source.split("\n"), shadowed).lines)


# -- each transformation ------------------------------------------------------------------------

def test_leading_indentation_of_a_cell_is_removed_and_columns_kept():
    cell = transform(["", "    import keras", "    m = keras.models.load_model('m.keras')"])
    assert cell.lines == ("", "import keras", "m = keras.models.load_model('m.keras')")
    assert cell.column(3, 5) == 9  # 'keras' of the second line is at column 9 as written
    assert cell.output_column(3, 9) == 5


def test_dedent_is_textwrap_dedent_of_the_common_indentation():
    assert python("  if x:\n      y = 1\n\n  z = 2") == ["if x:", "    y = 1", "", "z = 2"]
    # IPython 9 finds no common indentation here (and fails); IPython 7 and 8 remove the first
    # line's indentation from the lines that start with it, and run it: read as running.
    assert python("  x = 1\ny = 2") == ["x = 1", "y = 2"]
    assert python("    a = 1\n  b = 2") == ["a = 1", "  b = 2"]  # neither runs it: still a syntax error


def test_pasted_prompts_are_stripped():
    assert python(">>> def f():\n...     return 1") == ["def f():", "    return 1"]
    assert python("In [3]: x = 1\n   ...: y = 2") == ["x = 1", "y = 2"]
    docstring = "def f():\n    '''\n    >>> f()\n    ...\n    '''\n    ..."
    assert python(docstring) == docstring.split("\n")  # prompts inside a docstring are text


def test_line_magics_and_shell_escapes():
    assert python("%pip install -q keras\n!nvidia-smi\n!!ls\nimport keras") == ["pass", "pass", "pass", "import keras"]
    assert python("if gpu:\n    !nvidia-smi \\\n        -L\n    x = 1") == ["if gpu:", "    pass", "", "    x = 1"]


def test_magic_and_shell_assignments_keep_their_target():
    assert python("files = !ls *.keras") == ["files = None"]
    assert python("self.out[0] = %sx ls") == ["self.out[0] = None"]
    assert python("x != y") == ["x != y"]  # not an assignment from a shell escape
    assert python("x = y % z") == ["x = y % z"]


def test_help():
    assert python("?keras.Model\nmodel.fit?\nx = keras.models.load_model??") == ["pass", "pass", "pass"]
    assert python("x = 3  # why?") == ["x = 3  # why?"]
    assert python("print(a)?") == ["print(a)?"]  # IPython's help needs a name: a syntax error there too


def test_autocall_escapes():
    assert python("/print a b\n,print a b\n;print a b") == ["pass", "pass", "pass"]


def test_time_magics_keep_their_statement_where_it_was_written():
    cell = transform(["for i in range(2):", "    %time model.fit(x)"])
    assert cell.lines == ("for i in range(2):", "    model.fit(x)")
    assert cell.column(2, 5) == 11  # 'model' is at column 11 as written
    assert cell.column(2, 3) == 3
    assert python("%timeit -n 3 f()") == ["pass"]  # options: not a plain statement


def test_automagic_only_in_a_one_line_cell_and_when_not_shadowed():
    assert python("ls ./data/train/") == ["pass"]
    assert python("pip install h5py") == ["pass"]
    assert python("  cd ../data") == ["pass"]
    assert python("pwd") == ["pass"]
    # IPython's prefilter sees only one-line cells: in longer ones this is a syntax error.
    assert python("pip install h5py\nimport keras") == ["pip install h5py", "import keras"]
    assert python("ls ./data\n") == ["ls ./data", ""]
    assert python("ls = ['a']") == ["ls = ['a']"]
    assert python("ls -la", shadowed=lambda name: name == "ls") == ["ls -la"]
    assert python("print ./x") == ["print ./x"]  # not a magic


def test_cell_magics():
    time = transform(["%%time", "model.fit(x)", "%ls"])
    assert time.lines == ("", "model.fit(x)", "pass") and time.python and time.magic == "time"
    indented = transform(["  %%capture out", "    x = 1", "    y = 2"])
    assert indented.lines == ("", "x = 1", "y = 2") and indented.column(2, 1) == 5
    bash = transform(["%%bash", "for f in *.h5; do echo $f; done"])
    assert bash.lines == ("", "") and not bash.python and bash.write is None
    html = transform(["", "%%html", "<b>x</b>"])
    assert not html.python and html.magic == "html"


def test_writefile():
    cell = transform(["%%writefile -a 'src/my train.py'", "import keras"])
    assert not cell.python and cell.write == Write("src/my train.py", True, 1, ("import keras",))
    assert transform(["%%writefile $name.py", "x"]).write == Write("", False, 1, ("x",))  # expanded at run time
    assert transform(["%%file train.py", "x"]).write == Write("train.py", False, 1, ("x",))
    # IPython writes the body of the cleaned cell: dedented with it.
    indented = transform(["", "  %%writefile t.py", "  if x:", "      y = 1"])
    assert indented.write == Write("t.py", False, 2, ("if x:", "    y = 1"))


def test_strings_and_brackets_are_not_ipython():
    lines = ["s = ('%s'", "     % name)", "text = '''", "%not a magic inside a string", "!nor this", "'''"]
    assert python("\n".join(lines)) == lines


# -- against IPython itself ---------------------------------------------------------------------

CELLS = [
    "ls ./data/train/", "ls ./data\n", "\n\n  ls ./data", "pip install x\nimport os", "  x = 1\n  y = 2",
    "x = !ls", "a[0] = %time f()", "%time x = f()", "obj?", "x = obj??", "?obj", "pwd",
    "ls -la", "ls = 3", "env", "  %%time\n  x=1", "\n%%time\nx=1", "%pip install \\\n  foo\nx=1", "print(a)?",
    "f(x,\n  !ls)", ">>> x = 1\n... y", "/f a b", ",f a b", "if x:\n    !ls\n    y=1", "x = 1 ?",
    "%%time\n%ls\nx=1", "    %time  model.fit(x)", "x != 3", "s = ('%s'\n  % n)", "x = 3  # why?",
    "In [1]: x = 1\n   ...: y = 2", "d = {'a': 1}  ?", "def f():\n    '''\n    >>> f()\n    ...\n    '''\n    ...",
    "cd ..", "mkdir -p out", "conda install x", "for i in range(3):\n    %time f(i)",
    "'\'\'\nlambda: x?", "s = ('%s'\n'\'\'\nd = 1\nx = obj??",  # a ? in a string left open is text
]


@pytest.fixture(scope="module")
def shell():
    interactiveshell = pytest.importorskip("IPython.core.interactiveshell")
    return interactiveshell.InteractiveShell.instance()


def _compiles(text):
    try:
        ast.parse(text)
        return True
    except SyntaxError:
        return False


@pytest.mark.parametrize("source", CELLS)
def test_parses_exactly_when_what_ipython_runs_parses(shell, source):
    lines = source.split("\n")
    if lines[-1] == "":
        lines.pop()  # as a notebook cell's source is split
    ours = transform(lines)
    theirs = shell.transform_cell(source)
    if theirs.startswith("get_ipython().run_cell_magic("):
        assert ours.magic and (ours.python == (ours.magic in ipysyntax.PYTHON_CELL_MAGICS))
        return
    assert _compiles("\n".join(ours.lines) + "\n") == _compiles(theirs), theirs
    # What IPython turned into a get_ipython() call is not plain Python in ours either.
    if "get_ipython()" in theirs:
        assert ours.lines != tuple(lines)


def test_every_line_magic_of_ipython_is_an_automagic(shell):
    assert set(shell.magics_manager.lsmagic()["line"]) <= ipysyntax.AUTOMAGICS


# -- any input ----------------------------------------------------------------------------------

def test_any_cell_keeps_one_line_per_line_and_never_raises():
    import random

    pieces = ["%", "%%", "!", "?", "??", "=", " ", "    ", "\t", "'", '"', "'''", "(", ")", "[", "]", "{", "}",
              "\\", "#", "x", "ls", "time", "writefile", ">>> ", "... ", "In [1]: ", ":", ",", ";", "/", "\n", "\r"]
    rng = random.Random(14)
    for _ in range(3000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 30)))
        lines = text.replace("\r", "\n").split("\n")
        cell = transform(lines, lambda name: rng.random() < 0.5)
        assert len(cell.lines) == len(cell.shifts) == len(lines)
        for row, (python, written) in enumerate(zip(cell.lines, lines), 1):
            for col in range(1, len(python) + 2):
                source = cell.column(row, col)
                assert col <= source <= col + len(written)
                assert cell.output_column(row, source) == col
