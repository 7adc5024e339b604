"""Output as ruff's: [*] on what --fix fixes, the closing lines on a terminal, --statistics,
--quiet, and the gitlab and junit formats checked by their consumers' schema and parser."""

import json
import os
import subprocess
import sys
import textwrap

import pytest

from tflint_save import catalog, cli

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(ROOT, "tests", "data")

SAFE = textwrap.dedent("""\
    import keras

    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    model.save_weights("w.h5")
""")  # TFS502, safe fix
UNSAFE = textwrap.dedent("""\
    import keras


    @keras.saving.register_keras_serializable(package="demo")
    class Scale(keras.layers.Layer):
        def __init__(self, factor=2.0, **kwargs):
            super().__init__(**kwargs)
            self.factor = factor

        def get_config(self):
            return {"name": self.name}


    Scale().save("s.keras")
""")  # TFS302 and TFS303, unsafe fixes
NO_FIX = 'import keras\nkeras.models.load_model("m.keras", safe_mode=False)\n'  # TFS203


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for name, text in (("safe.py", SAFE), ("unsafe.py", UNSAFE), ("nofix.py", NO_FIX), ("clean.py", "import keras\n")):
        (tmp_path / name).write_text(text)


def run_cli(capsys, *argv):
    status = cli.main(["--keras-version", "3", "--no-cache", *argv])
    out, err = capsys.readouterr()
    return status, out, err


def on_terminal(*argv):
    """Run the command with its standard output on a pseudo-terminal: (exit code, what it showed)."""
    pty = pytest.importorskip("pty", reason="pseudo-terminals are POSIX only")
    leader, follower = pty.openpty()
    env = dict(os.environ, PYTHONPATH=ROOT, NO_COLOR="1")
    process = subprocess.Popen([sys.executable, "-m", "tflint_save", "--keras-version", "3", "--no-cache", *argv],
                               stdout=follower, stderr=subprocess.PIPE, env=env, cwd=os.getcwd())
    os.close(follower)
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 4096)
        except OSError:  # the terminal closed (Linux raises EIO)
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(leader)
    process.wait(timeout=120)
    process.stderr.close()
    return process.returncode, b"".join(chunks).decode().replace("\r\n", "\n")


# -- [*] -------------------------------------------------------------------------------------

def test_fixable_findings_carry_ruffs_marker(capsys):
    status, out, _ = run_cli(capsys, "safe.py", "unsafe.py", "nofix.py")
    lines = out.splitlines()
    assert status == 1
    assert [l for l in lines if "[*]" in l] == [l for l in lines if " TFS502 " in l] != []
    assert lines[[i for i, l in enumerate(lines) if "TFS502" in l][0]].startswith("safe.py:4:1: TFS502 [*] Keras 3")
    # Unsafe fixes are marked only with --unsafe-fixes, as in ruff.
    out = run_cli(capsys, "unsafe.py", "--unsafe-fixes")[1]
    assert "unsafe.py:10:5: TFS302 [*] get_config()" in out and "TFS303 [*] " in out
    full = run_cli(capsys, "safe.py", "--output-format", "full")[1]
    assert full.startswith("safe.py:4:1: TFS502 [*] ")


# -- closing lines ------------------------------------------------------------------------------

def test_closing_lines_on_a_terminal_in_ruffs_words():
    status, shown = on_terminal("safe.py", "unsafe.py", "nofix.py")
    assert status == 1
    assert shown.endswith("Found 4 findings.\n"
                          "[*] 1 fixable with `--fix` (2 unsafe fixes available with `--fix --unsafe-fixes`).\n")
    assert on_terminal("unsafe.py")[1].endswith(
        "Found 2 findings.\n2 unsafe fixes available with `--fix --unsafe-fixes`.\n")
    assert on_terminal("unsafe.py", "--unsafe-fixes")[1].endswith("Found 2 findings.\n[*] 2 fixable with `--fix`.\n")
    shown = on_terminal("nofix.py")[1]
    assert " TFS203 safe_mode=False " in shown and shown.endswith("\nFound 1 finding.\n")  # nothing fixable
    assert on_terminal("clean.py") == (0, "All checks passed!\n")
    assert on_terminal("safe.py", "--quiet")[1].splitlines()[-1].startswith("safe.py:4:1: TFS502 [*]")
    assert on_terminal("clean.py", "--quiet") == (0, "")


def test_no_closing_lines_on_a_pipe_or_in_machine_formats(capsys):
    status, out, err = run_cli(capsys, "safe.py", "nofix.py")
    assert status == 1 and len(out.splitlines()) == 2 and err == ""  # flake8-style lines only
    assert run_cli(capsys, "clean.py") == (0, "", "")
    shown = on_terminal("safe.py", "--output-format", "json")[1]
    assert json.loads(shown)[0]["code"] == "TFS502" and "Found" not in shown


# -- --statistics ----------------------------------------------------------------------------------

def test_statistics_are_ruffs_rows_with_a_header_on_a_terminal(capsys):
    status, out, err = run_cli(capsys, "--statistics", "safe.py", "unsafe.py", "nofix.py")
    assert (status, err) == (1, "")
    assert out.splitlines() == [
        "1\tTFS203\t[ ] unsafe-deserialization",
        "1\tTFS302\t[ ] get-config-missing-argument",
        "1\tTFS303\t[ ] get-config-without-super",
        "1\tTFS502\t[*] weights-path-extension",
    ]
    shown = on_terminal("--statistics", "safe.py", "unsafe.py")[1].splitlines()
    assert shown == [
        "count\tcode  \tfix name",
        "1\tTFS302\t[ ] get-config-missing-argument",
        "1\tTFS303\t[ ] get-config-without-super",
        "1\tTFS502\t[*] weights-path-extension",
        "Found 3 findings.",
        "[*] 1 fixable with `--fix` (2 unsafe fixes available with `--fix --unsafe-fixes`).",
    ]
    # JSON stays JSON on a terminal too: no closing lines after it.
    assert json.loads(on_terminal("--statistics", "--output-format", "json", "safe.py")[1])[0]["code"] == "TFS502"
    records = json.loads(run_cli(capsys, "--statistics", "--output-format", "json", "unsafe.py", "--unsafe-fixes")[1])
    assert records == [
        {"code": "TFS302", "name": "get-config-missing-argument", "count": 1, "fixable": True, "fixable_count": 1},
        {"code": "TFS303", "name": "get-config-without-super", "count": 1, "fixable": True, "fixable_count": 1},
    ]


# -- gitlab ------------------------------------------------------------------------------------------

def _gitlab_validator():
    jsonschema = pytest.importorskip("jsonschema")
    with open(os.path.join(DATA, "gitlab-code-quality.schema.json"), encoding="utf-8") as handle:
        schema = json.load(handle)
    jsonschema.Draft7Validator.check_schema(schema)
    return jsonschema.Draft7Validator(schema)


def test_gitlab_report_is_valid_code_quality(capsys, tmp_path):
    os.makedirs("src")
    (tmp_path / "src" / "twice.py").write_text(NO_FIX + NO_FIX.split("\n", 1)[1])
    (tmp_path / "broken.py").write_text("import keras\ndef f(:\n")
    status, out, _ = run_cli(capsys, "--output-format", "gitlab", "safe.py", "unsafe.py", "src", "broken.py")
    issues = json.loads(out)
    assert status == 1 and len(issues) == 6
    errors = [f"{list(e.path)}: {e.message}" for e in _gitlab_validator().iter_errors(issues)]
    assert not errors, errors
    # GitLab drops issues that share a fingerprint: two identical findings in one file keep theirs apart.
    assert len({i["fingerprint"] for i in issues}) == len(issues)
    first = next(i for i in issues if i["check_name"] == "TFS502")
    assert first["location"] == {"path": "safe.py", "positions": {"begin": {"line": 4, "column": 1},
                                                                    "end": {"line": 4, "column": 27}}}
    assert first["description"].startswith("TFS502: Keras 3 save_weights()")
    assert catalog.get("TFS502").url in first["content"]["body"]
    assert {i["location"]["path"] for i in issues} == {"safe.py", "unsafe.py", "src/twice.py", "broken.py"}
    assert run_cli(capsys, "--output-format", "gitlab", "clean.py")[:2] == (0, "[]\n")


def test_gitlab_fingerprint_survives_code_moving_down(capsys, tmp_path):
    before = {i["check_name"]: i["fingerprint"] for i in json.loads(run_cli(capsys, "--output-format", "gitlab",
                                                                             "safe.py")[1])}
    (tmp_path / "safe.py").write_text("# a new first line\n" + SAFE)
    after = json.loads(run_cli(capsys, "--output-format", "gitlab", "safe.py")[1])
    assert after[0]["location"]["positions"]["begin"]["line"] == 5 and before == {"TFS502": after[0]["fingerprint"]}


# -- junit -------------------------------------------------------------------------------------------

def test_junit_report_reads_in_a_junit_parser(capsys, tmp_path):
    junitparser = pytest.importorskip("junitparser")
    status, out, _ = run_cli(capsys, "--output-format", "junit", "safe.py", "unsafe.py", "nofix.py")
    assert status == 1 and out.startswith('<?xml version="1.0" encoding="UTF-8"?>\n')
    (tmp_path / "report.xml").write_text(out, encoding="utf-8")
    xml = junitparser.JUnitXml.fromfile(str(tmp_path / "report.xml"))
    suites = {suite.name: suite for suite in xml}
    assert set(suites) == {"safe.py", "unsafe.py", "nofix.py"}
    assert (xml.tests, xml.failures, xml.errors) == (4, 4, 0)
    [case] = list(suites["safe.py"])
    assert case.name == "TFS502 weights-path-extension" and case.classname == "safe"
    [failure] = case.result
    assert isinstance(failure, junitparser.Failure) and failure.type == "TFS502"
    assert failure.message.startswith("Keras 3 save_weights() only writes .weights.h5 files")
    assert failure.text.startswith("safe.py:4:1: TFS502 Keras 3") and catalog.get("TFS502").url in failure.text
    # A clean run is one passing case, as ruff writes it.
    (tmp_path / "clean.xml").write_text(run_cli(capsys, "--output-format", "junit", "clean.py")[1])
    clean = junitparser.JUnitXml.fromfile(str(tmp_path / "clean.xml"))
    assert (clean.tests, clean.failures) == (1, 0) and [c.is_passed for s in clean for c in s] == [True]
