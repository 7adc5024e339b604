"""The command line, run as a user runs it: a subprocess, exit codes, stdout and stderr."""

import importlib.util
import os
import re
import subprocess
import sys
import textwrap

import pytest

from tflint_save import source

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BAD = 'import keras\nmodel = keras.models.load_model("m.keras", safe_mode=False)\n'
GOOD = 'import keras\nmodel = keras.models.load_model("m.keras")\n'


def cli(*args, cwd, stdin=None, env=None):
    full_env = dict(os.environ, PYTHONPATH=ROOT, NO_COLOR="")
    full_env.pop("NO_COLOR")
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "tflint_save", *args],
        cwd=cwd, input=stdin, capture_output=True, text=True, env=full_env, timeout=120,
    )


def write(path, text, mode="w"):
    os.makedirs(os.path.dirname(str(path)), exist_ok=True)
    if isinstance(text, bytes):
        with open(path, "wb") as handle:
            handle.write(text)
    else:
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(textwrap.dedent(text))


def test_clean_tree_exits_0_silently(tmp_path):
    write(tmp_path / "good.py", GOOD)
    result = cli(".", cwd=tmp_path)
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")


def test_findings_exit_1_in_flake8_format_sorted(tmp_path):
    write(tmp_path / "b.py", BAD)
    write(tmp_path / "a" / "x.py", BAD + BAD)
    result = cli(cwd=tmp_path)  # default path is "."
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert [l.split(": ")[0] for l in lines] == [
        os.path.join("a", "x.py") + ":2:44", os.path.join("a", "x.py") + ":4:44", "b.py:2:44"
    ]
    assert all(re.match(r"^\S+:\d+:\d+: TFS203 safe_mode=False ", l) for l in lines)
    assert cli(cwd=tmp_path).stdout == result.stdout  # deterministic


def test_exit_zero(tmp_path):
    write(tmp_path / "b.py", BAD)
    result = cli("--exit-zero", "b.py", cwd=tmp_path)
    assert result.returncode == 0 and "TFS203" in result.stdout


def test_missing_path_is_exit_2_with_message_and_no_traceback(tmp_path):
    write(tmp_path / "b.py", BAD)
    result = cli("nope", "b.py", cwd=tmp_path)
    assert result.returncode == 2
    assert "tflint-save: error: nope: no such file or directory" in result.stderr
    assert "Traceback" not in result.stderr
    assert "TFS203" in result.stdout  # the other files are still linted


def test_unparsable_and_undecodable_files_are_tfs001(tmp_path):
    write(tmp_path / "broken.py", "import keras\ndef f(:\n")
    write(tmp_path / "latin.py", b"import keras\nname = '\xe9t\xe9'\n")
    write(tmp_path / "cookie.py", b"# -*- coding: latin-1 -*-\nimport keras\nname = '\xe9t\xe9'\n")
    write(tmp_path / "bom.py", b"\xef\xbb\xbf" + GOOD.encode())
    write(tmp_path / "bad_cookie.py", b"# coding: klingon\nimport keras\n")
    result = cli(".", cwd=tmp_path)
    assert result.returncode == 1
    out = sorted(result.stdout.splitlines())
    assert len(out) == 3, out
    assert out[0].startswith("bad_cookie.py:1:1: TFS001 could not read file: unknown encoding")
    assert out[1].startswith("broken.py:2:7: TFS001 could not parse file: invalid syntax")
    assert out[2].startswith("latin.py:2:9: TFS001 could not read file: not valid utf-8")
    assert "Traceback" not in result.stderr


def test_unreadable_path_is_a_source_error(tmp_path):
    with pytest.raises(source.SourceError, match="cannot read file"):
        source.read(str(tmp_path))


def test_stdin_with_filename(tmp_path):
    result = cli("-", "--stdin-filename", "pkg/train.py", cwd=tmp_path, stdin=BAD)
    assert result.returncode == 1
    assert result.stdout.startswith("pkg/train.py:2:44: TFS203")


def test_select_ignore_extend_select(tmp_path):
    write(tmp_path / "m.py", BAD + 'm2 = keras.models.load_model("dir")\n')
    both = cli("m.py", cwd=tmp_path).stdout
    assert "TFS202" in both and "TFS203" in both
    assert "TFS202" not in cli("m.py", "--select", "TFS203", cwd=tmp_path).stdout
    assert "TFS203" not in cli("m.py", "--ignore", "TFS203", cwd=tmp_path).stdout
    out = cli("m.py", "--select", "TFS203", "--extend-select", "TFS202", cwd=tmp_path).stdout
    assert "TFS202" in out and "TFS203" in out
    # The most specific prefix wins.
    out = cli("m.py", "--ignore", "TFS2", "--select", "TFS203", cwd=tmp_path).stdout
    assert "TFS203" in out and "TFS202" not in out
    bad = cli("m.py", "--select", "TFS9", cwd=tmp_path)
    assert bad.returncode == 2 and "unknown rule code or prefix 'TFS9'" in bad.stderr


def test_keras_version_option_changes_version_specific_rules(tmp_path):
    write(tmp_path / "m.py", 'import keras\nm = keras.models.load_model("saved_dir")\n')
    assert "TFS202" in cli("m.py", "--keras-version", "3", cwd=tmp_path).stdout
    assert cli("m.py", "--keras-version", "2", cwd=tmp_path).returncode == 0


def test_config_file_is_found_above_and_combined_with_the_command_line(tmp_path):
    write(tmp_path / "pyproject.toml", """
        [tool.tflint-save]
        ignore = ["TFS203"]
        keras-version = 3
        per-file-ignores = {"scripts/*.py" = ["TFS202"]}
    """)
    write(tmp_path / "src" / "m.py", BAD + 'm2 = keras.models.load_model("dir")\n')
    write(tmp_path / "scripts" / "s.py", 'import keras\nm2 = keras.models.load_model("dir")\n')
    result = cli("src", "scripts", cwd=tmp_path)
    assert [l.split(": ")[1].split()[0] for l in result.stdout.splitlines()] == ["TFS202"]
    assert result.stdout.startswith(os.path.join("src", "m.py"))
    # Run from a sub-directory: the config above is still found.
    assert "TFS203" not in cli("m.py", cwd=tmp_path / "src").stdout
    # As in ruff: --ignore adds to the configuration's ignore, --select starts a new selection.
    assert "TFS203" not in cli("src", "--ignore", "TFS204", cwd=tmp_path).stdout
    assert "TFS203" in cli("src", "--select", "TFS203", cwd=tmp_path).stdout
    settings = cli("src", "--show-settings", cwd=tmp_path)
    assert settings.returncode == 0
    assert "ignore = ['TFS203']    # from " + str(tmp_path / "pyproject.toml") in settings.stdout
    assert "keras-version = 3" in settings.stdout


@pytest.mark.parametrize(
    "body, message",
    [
        ('selct = ["TFS1"]', "unknown key 'selct'"),
        ('select = "TFS1"', "select: expected a list of strings, got str"),
        ('keras-version = 4', 'keras-version: expected 2, 3 or "auto"'),
        ('per-file-ignores = {"a.py" = "TFS1"}', "expected a list of codes"),
        ('select = [\n', "invalid TOML"),
        ('exclude = [1]', "exclude: expected a list of strings, got int 1 in the list"),
        ('per-file-ignores = {"a.py" = ["TFS1", 2.5]}', "got float 2.5 in the list"),
        ('ignore = [""]', "ignore: empty rule code"),
        ('ignore = [" "]', "ignore: empty rule code"),
        ('select = [""]', "select: empty rule code"),
    ],
)
def test_bad_config_is_exit_2_naming_key_and_file(tmp_path, body, message):
    write(tmp_path / "pyproject.toml", "[tool.tflint-save]\n" + body + "\n")
    write(tmp_path / "m.py", GOOD)
    result = cli("m.py", cwd=tmp_path)
    assert result.returncode == 2
    assert message in result.stderr
    assert "pyproject.toml" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("body, message", [
    ('tool = 5\n[project]\nname = "tflint-save"\n', "tool must be a table"),
    ('[tool]\ntflint-save = 5\n', "[tool.tflint-save] must be a table, got int"),  # issue 12: was skipped silently
])
def test_tool_that_is_not_a_table_is_exit_2(tmp_path, body, message):
    write(tmp_path / "pyproject.toml", body)
    write(tmp_path / "m.py", GOOD)
    result = cli("m.py", cwd=tmp_path)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert message in result.stderr and "pyproject.toml" in result.stderr


def test_pyproject_naming_tflint_save_only_as_a_dependency_is_not_the_config(tmp_path):
    write(tmp_path / "pyproject.toml", '[tool.tflint-save]\nignore = ["TFS203"]\n')
    write(tmp_path / "sub" / "pyproject.toml", '[project]\ndependencies = ["tflint-save"]\n')
    write(tmp_path / "sub" / "m.py", BAD)
    result = cli("m.py", cwd=tmp_path / "sub")
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")
    # A broken file that names the tool is still reported, not skipped.
    write(tmp_path / "sub" / "pyproject.toml", '[project\ndependencies = ["tflint-save"]\n')
    result = cli("m.py", cwd=tmp_path / "sub")
    assert result.returncode == 2 and "invalid TOML" in result.stderr
    assert str(tmp_path / "sub" / "pyproject.toml") in result.stderr


@pytest.mark.parametrize("value", ["", ",", " , "])
def test_select_without_a_code_is_a_usage_error(tmp_path, value):
    write(tmp_path / "m.py", BAD)
    result = cli("m.py", "--select", value, cwd=tmp_path)
    assert result.returncode == 2 and "--select: no rule code given" in result.stderr, result.stderr
    assert result.stdout == ""


def test_malformed_toml_names_the_line(tmp_path):
    write(tmp_path / "pyproject.toml", "[tool.tflint-save]\nselect = [\"TFS1\"\nignore = 3\n")
    write(tmp_path / "m.py", GOOD)
    result = cli("m.py", cwd=tmp_path)
    assert result.returncode == 2 and re.search(r"line \d", result.stderr), result.stderr


def test_excludes(tmp_path):
    for rel in ("venv/lib/m.py", "gen/m.py", "keep/m.py", "keep/skip_me.py"):
        write(tmp_path / rel, BAD)
    paths = lambda r: sorted(l.split(":")[0] for l in r.stdout.splitlines())
    assert paths(cli(".", cwd=tmp_path)) == sorted([os.path.join("gen", "m.py"), os.path.join("keep", "m.py"),
                                                    os.path.join("keep", "skip_me.py")])
    assert paths(cli(".", "--extend-exclude", "gen,skip_*", cwd=tmp_path)) == [os.path.join("keep", "m.py")]
    # --exclude replaces the defaults: venv is linted again.
    assert os.path.join("venv", "lib", "m.py") in paths(cli(".", "--exclude", "gen", cwd=tmp_path))


@pytest.mark.parametrize("where,args", [
    ("", []), ("", ["."]), ("", ["./pkg"]), ("", ["pkg"]), ("", ["ABS"]), ("", ["ABS/pkg"]), ("pkg", []),
    ("pkg", ["."]), ("pkg", ["../pkg"]),
])
def test_path_excludes_match_from_the_project_root(tmp_path, where, args):
    # Globs with a '/' are relative to the config file's directory, however the walk starts.
    write(tmp_path / "pyproject.toml", '[tool.tflint-save]\nextend-exclude = ["notebooks/scratch_*", "pkg/gen"]\n')
    for rel in ("pkg/gen/a.py", "notebooks/scratch_1/b.py", "pkg/ok.py", "notebooks/keep/c.py"):
        write(tmp_path / rel, BAD)
    args = [a.replace("ABS", str(tmp_path)) for a in args]
    result = cli("--no-cache", *args, cwd=tmp_path / where)
    linted = {os.path.relpath(os.path.join(str(tmp_path / where), line.split(":")[0]), str(tmp_path))
              for line in result.stdout.splitlines()}
    expected = {os.path.join("pkg", "ok.py")}
    if where == "" and args in ([], ["."], [str(tmp_path)]):
        expected.add(os.path.join("notebooks", "keep", "c.py"))
    assert linted == expected, result.stdout + result.stderr


def test_force_exclude_matches_path_globs_from_the_project_root(tmp_path):
    write(tmp_path / "pyproject.toml", '[tool.tflint-save]\nextend-exclude = ["pkg/gen"]\n')
    for rel in ("pkg/gen/a.py", "pkg/ok.py"):
        write(tmp_path / rel, BAD)
    result = cli("--no-cache", "--force-exclude", "gen/a.py", str(tmp_path / "pkg" / "gen" / "a.py"), "ok.py",
                 cwd=tmp_path / "pkg")
    assert {line.split(":")[0] for line in result.stdout.splitlines()} == {"ok.py"}, result.stdout


@pytest.mark.parametrize("args, message", [
    (["--select", "XYZ"], "--select: unknown rule code or prefix 'XYZ'"),
    (["--select", ","], "--select: no rule code given"),
    (["--ignore", "TFS9"], "--ignore: unknown rule code or prefix 'TFS9'"),
    (["--ignore", "ALL"], "leave no rule to check"),
    (["--select", "TFS001"], "leave no rule to check"),  # an engine code has no snippet
])
def test_check_rules_rejects_codes_that_check_nothing(tmp_path, args, message):
    result = cli("--check-rules", *args, cwd=tmp_path)
    assert result.returncode == 2 and message in result.stderr, result.stderr
    assert result.stdout == "" and "Traceback" not in result.stderr


@pytest.mark.skipif(importlib.util.find_spec("tensorflow") is None, reason="--check-rules runs TensorFlow")
def test_check_rules_applies_select_ignore_and_extend_select(tmp_path):
    result = cli("--check-rules", "--select", "TFS20", "--ignore", "TFS201,TFS203", "--extend-select", "TFS501",
                 cwd=tmp_path)
    rows = [line.split()[0] for line in result.stdout.splitlines()[2:] if line.startswith("TFS")]
    assert (result.returncode, rows) == (0, ["TFS202", "TFS204", "TFS205", "TFS206", "TFS501"]), result.stdout + result.stderr


def test_statistics_explain_version(tmp_path):
    write(tmp_path / "m.py", BAD + BAD)
    stats = cli("m.py", "--statistics", cwd=tmp_path).stdout.splitlines()
    assert stats == ["2\tTFS203\t[ ] unsafe-deserialization"]  # ruff's layout, instead of the findings
    explain = cli("--explain", "tfs203", cwd=tmp_path)
    assert explain.returncode == 0 and explain.stdout.startswith("# TFS203 unsafe-deserialization")
    assert "## Why is this bad?" in explain.stdout
    unknown = cli("--explain", "TFS999", cwd=tmp_path)
    assert unknown.returncode == 2 and "unknown rule code" in unknown.stderr
    version = cli("--version", cwd=tmp_path)
    assert re.match(r"tflint-save \d+\.\d+\.\d+", version.stdout)


def test_color(tmp_path):
    write(tmp_path / "m.py", BAD)
    assert "\x1b[" in cli("m.py", "--color", "always", cwd=tmp_path).stdout
    assert "\x1b[" not in cli("m.py", "--color", "auto", cwd=tmp_path).stdout  # not a terminal
    assert "\x1b[" not in cli("m.py", "--color", "never", cwd=tmp_path).stdout


def test_usage_error_is_exit_2(tmp_path):
    result = cli("--keras-version", "5", cwd=tmp_path)
    assert result.returncode == 2 and "invalid choice" in result.stderr


def test_a_lint_run_never_imports_tensorflow_or_keras(tmp_path):
    write(tmp_path / "m.py", BAD)
    probe = (
        "import sys\nfrom tflint_save import cli\ncode = cli.main(['m.py', '--exit-zero'])\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras', 'tf_keras'))\n"
        "print('HEAVY', heavy)\n"
    )
    result = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, capture_output=True, text=True,
                            env=dict(os.environ, PYTHONPATH=ROOT), timeout=120)
    assert "HEAVY []" in result.stdout, result.stdout + result.stderr


FIXABLE = "import keras\nm = keras.metrics.Mean()\nm.reset_states()\n"


def test_diff_goes_to_the_output_file(tmp_path):
    write(tmp_path / "m.py", FIXABLE)
    result = cli("--diff", "--output-file", os.path.join("out", "fixes.diff"), "m.py", cwd=tmp_path)
    assert result.returncode == 1 and result.stdout == "", result.stderr
    diff = (tmp_path / "out" / "fixes.diff").read_text(encoding="utf-8")
    assert diff.startswith("--- m.py\n+++ m.py\n") and "-m.reset_states()\n+m.reset_state()\n" in diff
    assert (tmp_path / "m.py").read_text(encoding="utf-8") == FIXABLE  # --diff writes no fix


@pytest.mark.parametrize("flags, named", [
    (["--statistics"], "--statistics"),
    (["--verify"], "--verify"),
    (["--verified-only"], "--verified-only"),
    (["--output-format", "json"], "--output-format json"),
    (["--statistics", "--verify"], "--statistics, --verify"),
])
def test_diff_with_flags_it_would_drop_is_a_usage_error(tmp_path, flags, named):
    write(tmp_path / "m.py", FIXABLE)
    result = cli("--diff", *flags, "m.py", cwd=tmp_path)
    assert result.returncode == 2 and result.stdout == ""
    assert f"tflint-save: error: --diff prints only the diff; it cannot be used with {named}\n" in result.stderr


@pytest.mark.skipif(os.name != "posix", reason="os.mkfifo and /dev/null")
def test_a_path_that_exists_but_is_not_a_regular_file_says_so(tmp_path):
    fifo = tmp_path / "pipe.py"
    os.mkfifo(fifo)
    result = cli(os.devnull, "pipe.py", "absent.py", cwd=tmp_path)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.splitlines() == [
        f"tflint-save: error: {os.devnull}: not a regular file (pipe it to '-' instead)",
        "tflint-save: error: pipe.py: not a regular file (pipe it to '-' instead)",
        "tflint-save: error: absent.py: no such file or directory",
    ]


def test_standard_input_named_twice_is_read_and_reported_once(tmp_path):
    result = cli("-", "-", cwd=tmp_path, stdin=BAD)
    assert result.returncode == 1
    assert [line.split(": ")[1].split()[0] for line in result.stdout.splitlines()] == ["TFS203"]


def test_readme_names_every_word_that_gets_a_file_parsed():
    from tflint_save.engine import _PREFILTER

    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as handle:
        text = " ".join(handle.read().split())
    sentence = text[text.index("Files that contain none of"):].split(" are not parsed at all.")[0]
    assert sorted(sentence.count(f"`{word}`") for word in _PREFILTER) == [1] * len(_PREFILTER), sentence
