"""No single file takes a run down (issue 12): inputs that crashed or stalled libcst, CPython's
parser in front of it, the size and time limits, a worker that dies, exceptions in per-file
work, symlinks.  The command-line tests run tflint-save as a process, as CI does, so that a
crash shows as what it is; each checks that the other files' findings are still reported
and the exit code."""

import functools
import json
import os
import signal
import subprocess
import sys

import libcst as cst
import pytest
from hypothesis import HealthCheck, given, settings as hypothesis_settings, strategies as st

from tflint_save import isolate, run
from tflint_save.config import Settings
from tflint_save.engine import Rule
from tflint_save.safeparse import Limits

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GOOD = 'import keras\nmodel = keras.Sequential([keras.layers.Dense(1)])\nmodel.save("model.h5x")\n'
NESTED_PARENTHESES = "import keras\nx = " + "(" * 2000 + "1" + ")" * 2000 + "\n"
CRASH_INPUTS = {
    "parentheses.py": (NESTED_PARENTHESES, "TFS001", "could not parse file: too many nested parentheses"),
    "attributes.py": ("import keras\nx = a" + ".a" * 6000 + "\n", "TFS001", "could not parse file: maximum recursion depth"),
    "terms.py": ("import keras\nx = " + " + ".join(["a"] * 8000) + "\n", "TFS001",
                 "could not parse file: maximum recursion depth"),
    "digits.py": ("import keras\nx = " + "1" * 5000 + "\n", "TFS001",
                  "could not parse file: Exceeds the limit (4300 digits) for integer string conversion"),
    "no_keras_words.py": ("x = " + "[" * 1000 + "]" * 1000 + "\n", "TFS001", "could not parse file: too many nested"),
}


def notebook(source, execution_count="null"):
    cell = {"cell_type": "code", "metadata": {}, "outputs": [], "source": source, "execution_count": None}
    text = json.dumps({"cells": [cell], "metadata": {"language_info": {"name": "python"}},
                       "nbformat": 4, "nbformat_minor": 5})
    return text.replace('"execution_count": null', f'"execution_count": {execution_count}')


def tflint(cwd, *args, timeout=300):
    env = dict(os.environ, PYTHONPATH=ROOT)
    return subprocess.run([sys.executable, "-m", "tflint_save", "--no-cache", *args], cwd=str(cwd), env=env,
                          capture_output=True, text=True, timeout=timeout)


def project(tmp_path, files, good=12):
    """The files, plus ``good`` files with one finding each (enough for --jobs 2 to use workers)."""
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    for n in range(good):
        (tmp_path / f"good_{n:02d}.py").write_text(GOOD)
    return tmp_path


def by_file(stdout):
    out = {}
    for line in stdout.splitlines():
        path, rest = line.split(":", 1)
        out.setdefault(path, []).append(line)
    return out


def assert_good_files_reported(found, good=12):
    for n in range(good):
        lines = found.get(f"good_{n:02d}.py", [])
        assert len(lines) == 1 and " TFS501 " in lines[0], (n, lines)


@pytest.mark.parametrize("jobs", ["1", "2"])
@pytest.mark.parametrize("name", sorted(CRASH_INPUTS))
def test_a_file_python_rejects_is_tfs001_and_the_run_goes_on(tmp_path, name, jobs):
    text, code, message = CRASH_INPUTS[name]
    done = tflint(project(tmp_path, {name: text}), "--jobs", jobs, ".")
    assert done.returncode == 1 and not done.stderr, done.stderr  # findings, no traceback
    found = by_file(done.stdout)
    assert len(found[name]) == 1 and f" {code} {message}" in found[name][0], found[name]
    assert_good_files_reported(found)


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_notebooks_with_a_5000_digit_integer_do_not_end_the_run(tmp_path, jobs):
    files = {"in_code.ipynb": notebook(["import keras\n", "x = " + "1" * 5000 + "\n"]),
             "in_json.ipynb": notebook(["import keras\n", "m = keras.models.load_model('m.keras', compile=False)\n",
                                        "m.fit(x)\n"], execution_count="7" * 5000)}
    done = tflint(project(tmp_path, files), "--jobs", jobs, ".")
    assert done.returncode == 1 and not done.stderr, done.stderr
    found = by_file(done.stdout)
    # The cell that holds it is TFS001 of its own (IPython runs the others).
    assert "cell 1:2:1: TFS001 could not parse cell: Exceeds the limit" in found["in_code.ipynb"][0]
    assert [line.split()[2] for line in found["in_json.ipynb"]] == ["TFS204"]  # linted as usual
    assert_good_files_reported(found)


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_over_the_size_limit_is_tfs001_naming_the_limit(tmp_path, jobs):
    big = "import keras\n" + "x = 1\n" * 400  # 2.4 KB
    done = tflint(project(tmp_path, {"big.py": big}), "--jobs", jobs, "--max-file-size", "2KB", ".")
    assert done.returncode == 1, done.stderr
    found = by_file(done.stdout)
    assert found["big.py"] == ["big.py:1:1: TFS001 not linted: 2.4 KB of code is over the max-file-size limit of "
                               "2 KB (raise it with --max-file-size or in the configuration)"]
    assert_good_files_reported(found)


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_a_file_that_stalls_the_parser_is_tfs002_naming_the_time_limit(tmp_path, jobs):
    # CPython accepts it; libcst takes 8 s or more (a 2,900-long attribute chain).
    stalls = "import keras\nx = a" + ".a" * 2900 + "\n"
    (tmp_path / "pyproject.toml").write_text('[tool.tflint-save]\nfile-timeout = 1\n')
    done = tflint(project(tmp_path, {"stalls.py": stalls}), "--jobs", jobs, ".")
    assert done.returncode == 2, done.stderr  # the linter could not do its job on one file
    found = by_file(done.stdout)
    assert found["stalls.py"] == ["stalls.py:1:1: TFS002 could not lint this file: parsing and linting it took "
                                  "longer than the file-timeout of 1 s (raise it with --file-timeout or in the "
                                  "configuration)"]
    assert_good_files_reported(found)


def test_limits_are_settings(tmp_path):
    (tmp_path / "pyproject.toml").write_text('[tool.tflint-save]\nmax-file-size = "4MB"\nfile-timeout = 12.5\n')
    done = tflint(tmp_path, "--show-settings", ".")
    assert "max-file-size = 4194304    # from" in done.stdout and "file-timeout = 12.5    # from" in done.stdout
    done = tflint(tmp_path, "--show-settings", "--max-file-size", "512KB", ".")
    assert "max-file-size = 524288    # from command line" in done.stdout
    for bad, words in (('max-file-size = "lots"', "expected a size such as 2MB"),
                       ("file-timeout = 0", "expected a number of seconds above 0")):
        (tmp_path / "pyproject.toml").write_text(f"[tool.tflint-save]\n{bad}\n")
        done = tflint(tmp_path, ".")
        assert done.returncode == 2 and words in done.stderr, done.stderr
    (tmp_path / "pyproject.toml").unlink()
    done = tflint(tmp_path, "--file-timeout=-1", ".")
    assert done.returncode == 2 and "--file-timeout: expected a number of seconds above 0" in done.stderr


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_limits_are_each_files_own_configurations(tmp_path, jobs):
    # As every setting: a file uses its closest configuration's limits (config.Settings.for_path).
    big = GOOD + "x = 1\n" * 400  # 2.5 KB
    project(tmp_path, {"big.py": big})
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "big.py").write_text(big)
    (tmp_path / "sub" / "pyproject.toml").write_text('[tool.tflint-save]\nmax-file-size = "2KB"\n')
    done = tflint(tmp_path, "--jobs", jobs, ".")
    assert done.returncode == 1, done.stderr
    found = by_file(done.stdout)
    assert [line.split()[1] for line in found["big.py"]] == ["TFS501"]
    assert [line.split()[1] for line in found["sub/big.py"]] == ["TFS001"], found["sub/big.py"]
    assert "max-file-size limit of 2 KB" in found["sub/big.py"][0]
    assert_good_files_reported(found)
    shown = tflint(tmp_path, "--show-settings", "--file-timeout", "7", ".").stdout.split("\n\n")
    assert len(shown) == 2, shown
    assert "max-file-size = 2097152    # from default" in shown[0] and "file-timeout = 7.0    # from command line" in shown[0]
    assert "max-file-size = 2048    # from " in shown[1] and "file-timeout = 7.0    # from command line" in shown[1]


# -- a worker that dies, an exception anywhere in per-file work --------------------------------

class Segfaults(Rule):
    """Kills the process linting a file that names ``crash_here``, as libcst's stack overflow does."""

    code = "TFS501"

    def visit_Name(self, node: cst.Name) -> None:
        if node.value == "crash_here":
            os.kill(os.getpid(), signal.SIGSEGV)


class BrokenInit(Rule):
    code = "TFS501"

    def __init__(self, ctx):
        if "broken_here" in ctx.text:
            raise ValueError("an exception outside the walk")
        super().__init__(ctx)


@pytest.mark.parametrize("workers", [1, 2])
def test_a_worker_killed_by_a_signal_costs_only_its_file(tmp_path, workers):
    tfs501 = run.rules_by_code()["TFS501"]
    paths = []
    for n in range(6):
        text = "import keras\ncrash_here = 1\n" if n in (1, 4) else GOOD
        paths.append(str(tmp_path / f"f{n}.py"))
        (tmp_path / f"f{n}.py").write_text(text)
    lint = functools.partial(run.lint_file, settings=Settings(keras_version=3), rules=[Segfaults, tfs501],
                             limits=Limits(risky_here=True))
    results = isolate.lint_isolated(paths, lint, workers, timeout=30)
    for n, result in enumerate(results):
        if n in (1, 4):
            assert [f.message for f in result.findings] == [
                "could not lint this file: the process linting it was killed by SIGSEGV (signal 11; a crash in "
                "the parser, or out of memory)"] and result.error
        else:
            assert [f.code for f in result.findings] == ["TFS501"], n


def test_an_exception_anywhere_in_per_file_work_is_tfs002_for_that_file():
    result = run.lint_file("x.py", Settings(keras_version=3), [BrokenInit], text="import keras\nbroken_here = 1\n")
    assert [(f.code, f.message) for f in result.findings] == [
        ("TFS002", "internal error while linting this file (please report): ValueError: an exception outside the walk")]
    assert result.error


def test_a_risky_file_in_a_one_process_run_is_parsed_in_a_child(monkeypatch):
    # A line over 2,000 characters: parsed in a child process, whose death costs only this file.
    text = "import keras\ncrash_here = [" + "1, " * 1000 + "]\n"
    settings = Settings(keras_version=3)
    result = run.lint_file("risky.py", settings, [Segfaults], text=text)
    assert "killed by SIGSEGV" in result.findings[0].message
    assert run.lint_file("fine.py", settings, [Segfaults], text=GOOD).findings == []


# -- symlinks ---------------------------------------------------------------------------------

def test_a_symlinked_file_is_linted_once_and_fix_works(tmp_path):
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "train.py").write_text('import keras\nm = keras.Sequential()\nm.save("model.h5x")\n')
    os.symlink("src/train.py", tmp_path / "alias.py")
    done = tflint(tmp_path, ".")
    assert done.returncode == 1
    assert [line.split(":")[0] for line in done.stdout.splitlines()] == ["src/train.py"], done.stdout
    done = tflint(tmp_path, "--fix", ".")
    assert done.returncode != 2, done.stderr
    assert "changed while it was being fixed" not in done.stderr
    assert os.path.islink(tmp_path / "alias.py")


def test_a_symlink_loop_is_named_as_such(tmp_path):
    os.symlink("b.py", tmp_path / "a.py")
    os.symlink("a.py", tmp_path / "b.py")
    os.symlink("missing.py", tmp_path / "dangling.py")
    done = tflint(tmp_path, "a.py", "dangling.py")
    assert done.returncode == 2
    assert "a.py: symbolic link loop" in done.stderr
    assert "dangling.py: broken symbolic link (to 'missing.py', which does not exist)" in done.stderr


# -- fuzz --------------------------------------------------------------------------------------

ATOMS = st.sampled_from(["a", "1", "keras", "'s'", "x.y", "f()", "None"])


def _wrap(inner):
    return st.one_of(
        st.builds(lambda e: f"({e})", inner), st.builds(lambda e: f"[{e}]", inner),
        st.builds(lambda e: f"f({e})", inner), st.builds(lambda e: f"{e}.a", inner),
        st.builds(lambda e: f"{e}[0]", inner), st.builds(lambda e: f"-{e}", inner),
        st.builds(lambda e: f"not {e}", inner), st.builds(lambda e: f"lambda: {e}", inner),
        st.builds(lambda a, b: f"{a} + {b}", inner, inner), st.builds(lambda a, b: f"{a}, {b}", inner, inner),
    )


EXPRESSIONS = st.recursive(ATOMS, _wrap, max_leaves=60)
CHAINS = st.builds(lambda atom, op, n: atom + op * n if op in (".a", "[0]", "()") else op.join([atom] * n),
                   ATOMS, st.sampled_from([" + ", " and ", " if a else ", ".a", "[0]", "()", ", "]),
                   st.integers(1, 400))
NESTING = st.builds(lambda opener, n: opener[0] * n + "1" + opener[1] * n,
                    st.sampled_from(["()", "[]", "{}"]), st.integers(1, 260))


@hypothesis_settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(EXPRESSIONS, CHAINS, NESTING))
def test_fuzz_nested_and_long_expressions_never_raise(expression):
    text = f"import keras\nx = {expression}\n"
    result = run.lint_file("fuzz.py", Settings(keras_version=3), run.enabled_rules(Settings()), text=text)
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(1000)  # what `python fuzz.py` compiles with (the engine raises it)
    try:
        compile(text, "fuzz.py", "exec", 1024)  # ast.PyCF_ONLY_AST
        rejected = False
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        rejected = True
    finally:
        sys.setrecursionlimit(limit)
    codes = [f.code for f in result.findings]
    assert "TFS002" not in codes, result.findings  # neither a crash nor a stall nor a bug
    if rejected:  # what Python refuses is reported; what it accepts, libcst parsed (or TFS001 says why not)
        assert "TFS001" in codes, result.findings
