"""The pre-commit hooks, through ``pre-commit try-repo`` against this repository.

try-repo installs the hook from this repository's committed HEAD (commit before running
this; uncommitted changes are not used) into a fresh virtualenv, so it needs network
access to PyPI for libcst."""

import json
import os
import shlex
import shutil
import subprocess
import sys
import textwrap

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

BAD = textwrap.dedent("""\
    import keras

    model = keras.models.load_model("model.keras", safe_mode=False)
""")
GOOD = textwrap.dedent("""\
    import keras

    model = keras.models.load_model("model.keras")
""")


def hooks():
    yaml = pytest.importorskip("yaml")  # pre-commit's own dependency
    with open(os.path.join(ROOT, ".pre-commit-hooks.yaml"), encoding="utf-8") as handle:
        return {hook["id"]: hook for hook in yaml.safe_load(handle)}


def test_hook_definitions():
    found = hooks()
    assert set(found) == {"tflint-save", "tflint-save-fix"}
    for hook in found.values():
        assert hook["language"] == "python"
        assert hook["types_or"] == ["python", "jupyter"]
        assert hook["require_serial"] is True
        assert shlex.split(hook["entry"]) == ["tflint-save", "--force-exclude"]
    assert found["tflint-save-fix"]["args"] == ["--fix"]
    assert "args" not in found["tflint-save"]


def run_entry(cwd, *files):
    """The hook's entry as pre-commit runs it, with this checkout's code."""
    entry = shlex.split(hooks()["tflint-save"]["entry"])
    command = [sys.executable, "-m", "tflint_save"] + entry[1:] + ["--keras-version", "3", *files]
    env = {**os.environ, "PYTHONPATH": ROOT}
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, env=env)


def test_no_files_passed_exits_zero_quietly(tmp_path):
    (tmp_path / "bad.py").write_text(BAD, encoding="utf-8")  # would be found if "." were linted
    proc = run_entry(tmp_path)
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "", "")


def test_excluded_files_passed_by_name_are_skipped(tmp_path):
    os.makedirs(tmp_path / "build")
    (tmp_path / "build" / "gen.py").write_text(BAD, encoding="utf-8")
    (tmp_path / "bad.py").write_text(BAD, encoding="utf-8")
    proc = run_entry(tmp_path, "build/gen.py")
    assert (proc.returncode, proc.stdout) == (0, "")
    proc = run_entry(tmp_path, "build/gen.py", "bad.py")
    assert proc.returncode == 1 and proc.stdout.startswith("bad.py:3:")
    assert "build" not in proc.stdout


def git(cwd, *args):
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)


@pytest.fixture(scope="module")
def precommit_home(tmp_path_factory):
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    if subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True).returncode != 0:
        pytest.skip("try-repo needs this checkout to be a git repository with a commit")
    pytest.importorskip("pre_commit")
    return str(tmp_path_factory.mktemp("pre-commit-home"))


def try_repo(cwd, home, hook, *args):
    env = {**os.environ, "PRE_COMMIT_HOME": home, "SKIP": ""}
    env.pop("PYTHONPATH", None)  # the hook must run the installed package, not this checkout
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True)
    command = [sys.executable, "-m", "pre_commit", "try-repo", ROOT, hook, "--ref", head.stdout.strip(),
               "--color", "never", *args]
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, env=env, timeout=900)


def test_try_repo_with_a_bad_and_a_good_file(tmp_path, precommit_home):
    work = tmp_path / "project"
    os.makedirs(work / "build")
    (work / "bad.py").write_text(BAD, encoding="utf-8")
    (work / "good.py").write_text(GOOD, encoding="utf-8")
    (work / "build" / "generated.py").write_text(BAD, encoding="utf-8")
    cells = [{"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [],
              "source": ["!pip install keras\n", BAD]}]
    (work / "explore.ipynb").write_text(json.dumps({"cells": cells, "metadata": {}, "nbformat": 4,
                                                    "nbformat_minor": 5}, indent=1), encoding="utf-8")
    (work / "notes.txt").write_text("not python\n", encoding="utf-8")
    (work / "pyproject.toml").write_text('[tool.tflint-save]\nkeras-version = "3"\n', encoding="utf-8")
    git(work, "init", "-q")
    git(work, "add", ".")

    proc = try_repo(work, precommit_home, "tflint-save", "--all-files")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    found = [line for line in proc.stdout.splitlines() if " TFS" in line]
    assert found, proc.stdout + proc.stderr
    assert [line.split(": ")[0].rsplit(":", 1)[0] for line in found] == ["bad.py:3", "explore.ipynb:cell 1:4"]
    assert all(" TFS203 " in line for line in found)

    proc = try_repo(work, precommit_home, "tflint-save", "--files", "good.py", "notes.txt")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Passed" in proc.stdout and " TFS" not in proc.stdout


FIXABLE = textwrap.dedent("""\
    import tensorflow as tf

    train_loss = tf.keras.metrics.Mean(name="train_loss")


    def end_epoch(epoch):
        print(epoch, float(train_loss.result()))
        train_loss.reset_states()
""")


def test_try_repo_fix_hook(tmp_path, precommit_home):
    committed_cli = subprocess.run(["git", "show", "HEAD:tflint_save/cli.py"], cwd=ROOT, capture_output=True,
                                   text=True, check=True).stdout
    if '"--fix"' not in committed_cli:
        pytest.skip("the committed command line has no --fix yet")
    work = tmp_path / "project"
    os.makedirs(work)
    (work / "loop.py").write_text(FIXABLE, encoding="utf-8")
    (work / "pyproject.toml").write_text('[tool.tflint-save]\nkeras-version = "3"\n', encoding="utf-8")
    git(work, "init", "-q")
    git(work, "add", ".")
    proc = try_repo(work, precommit_home, "tflint-save-fix", "--all-files")
    assert proc.returncode == 1, proc.stdout + proc.stderr  # pre-commit fails a hook that changed files
    assert "files were modified by this hook" in proc.stdout
    fixed = (work / "loop.py").read_text(encoding="utf-8")
    assert fixed == FIXABLE.replace("reset_states()", "reset_state()")
    git(work, "add", ".")
    proc = try_repo(work, precommit_home, "tflint-save-fix", "--all-files")
    assert proc.returncode == 0, proc.stdout + proc.stderr
