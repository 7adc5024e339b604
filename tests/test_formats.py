"""--output-format and --output-file, through the command line."""

import json
import os
import subprocess
import sys
import textwrap
from dataclasses import replace
from urllib.parse import urlsplit

import pytest

from helpers import lint
from tflint_save import catalog, cli
from tflint_save import report as formats  # the formats live in report.py

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# The official OASIS SARIF 2.1.0 schema, vendored: tests use only what the repository brings.
SARIF_SCHEMA = os.path.join(ROOT, "tests", "data", "sarif-schema-2.1.0.json")

BAD = textwrap.dedent("""\
    import keras

    def restore(path):
        model = keras.models.load_model(path, safe_mode=False)
        keras.models.load_model(
            "exported_model",
        )
        return model
""")


@pytest.fixture(autouse=True)
def in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # relative paths in reports; anything a run writes stays here


def write(name, text=BAD):
    os.makedirs(os.path.dirname(name) or ".", exist_ok=True)
    with open(name, "w", encoding="utf-8") as handle:
        handle.write(text)
    return name


def run_cli(capsys, *argv):
    status = cli.main(["--keras-version", "3", *argv])
    out, err = capsys.readouterr()
    return status, out, err


def test_formats_offered_are_the_ones_rendered():
    choices = next(a.choices for a in cli.build_parser()._actions if "--output-format" in a.option_strings)
    assert tuple(choices) == formats.FORMATS


def reference(capsys, path):
    """The JSON report: every other format must place its findings the same way."""
    items = json.loads(run_cli(capsys, "--output-format", "json", path)[1])
    lines = BAD.splitlines()
    unsafe, savedmodel = items
    # Where the rules report (they choose the node; the formats must only follow it).
    assert unsafe["code"] == "TFS203" and unsafe["location"]["row"] == unsafe["end_location"]["row"] == 4
    assert "False" in lines[3][unsafe["location"]["column"] - 1:unsafe["end_location"]["column"] - 1]
    assert savedmodel["code"] == "TFS202" and savedmodel["location"] == {"row": 5, "column": 5}
    assert savedmodel["end_location"]["row"] == 7
    return items


def test_concise_is_the_default(capsys):
    write("bad.py")
    items = reference(capsys, "bad.py")
    status, out, _ = run_cli(capsys, "bad.py")
    assert status == 1
    assert out.splitlines() == [
        f"bad.py:{i['location']['row']}:{i['location']['column']}: {i['code']} {i['message']}" for i in items
    ]
    assert run_cli(capsys, "--output-format", "concise", "bad.py")[1] == out


def test_full_shows_the_line_a_caret_and_the_fix(capsys):
    write("bad.py")
    unsafe, _ = reference(capsys, "bad.py")
    start, end = unsafe["location"]["column"], unsafe["end_location"]["column"]
    status, out, _ = run_cli(capsys, "--output-format", "full", "bad.py")
    assert status == 1
    blocks = out.split("\n\n")
    first = blocks[0].splitlines()
    assert first[0] == f"bad.py:4:{start}: TFS203 {unsafe['message']}"
    assert first[1:] == [
        "  |",
        "4 |     model = keras.models.load_model(path, safe_mode=False)",
        "  | " + " " * (start - 1) + "^" * (end - start),
        f"  = fix: {catalog.get('TFS203').fix}",
    ]
    second = blocks[1].splitlines()
    # A call over several lines: carets to the end of its first line.
    assert second[2:4] == ["5 |     keras.models.load_model(", "  |     ^^^^^^^^^^^^^^^^^^^^^^^^"]
    assert second[4] == f"  = fix: {catalog.get('TFS202').fix}"


def test_full_keeps_tabs_so_the_caret_lines_up(capsys):
    write("tabs.py", "import keras\nif True:\n\tkeras.config.enable_unsafe_deserialization()\n")
    out = run_cli(capsys, "--output-format", "full", "tabs.py")[1]
    lines = out.splitlines()
    assert lines[2] == "3 | \tkeras.config.enable_unsafe_deserialization()"
    assert lines[3] == "  | \t" + "^" * len("keras.config.enable_unsafe_deserialization()")


def test_full_reads_standard_input_not_the_file_of_that_name(tmp_path):
    write("bad.py", "# nothing here on disk\n")
    proc = subprocess.run(
        [sys.executable, "-m", "tflint_save", "--keras-version", "3", "--output-format", "full",
         "--stdin-filename", "bad.py", "-"],
        input=BAD, capture_output=True, text=True, cwd=tmp_path, env={**os.environ, "PYTHONPATH": ROOT},
    )
    assert proc.returncode == 1, proc.stderr
    assert "4 |     model = keras.models.load_model(path, safe_mode=False)" in proc.stdout.splitlines()


def test_json(capsys):
    write("src/bad.py")
    path = os.path.join("src", "bad.py")
    status, out, _ = run_cli(capsys, "--output-format", "json", "src")
    assert status == 1
    items = json.loads(out)
    assert items == reference(capsys, path)
    unsafe = items[0]
    assert unsafe == {
        "code": "TFS203",
        "name": catalog.get("TFS203").name,
        "message": unsafe["message"],
        "filename": path,
        "cell": None,
        "location": unsafe["location"],
        "end_location": unsafe["end_location"],
        "url": catalog.get("TFS203").url,
        "fix": None,
        "verification": None,
    }
    assert unsafe["message"].startswith("safe_mode=False ")


def test_json_of_a_clean_run_is_an_empty_list(capsys):
    write("good.py", "import keras\nmodel = keras.models.load_model('m.keras')\n")
    assert run_cli(capsys, "--output-format", "json", "good.py")[:2] == (0, "[]\n")


def test_json_engine_findings_have_a_name_and_a_page(capsys):
    write("broken.py", "import keras\ndef f(:\n")
    [item] = json.loads(run_cli(capsys, "--output-format", "json", "broken.py")[1])
    assert (item["code"], item["name"]) == ("TFS001", "parse-error")
    assert item["url"] == catalog.docs_base_url() + "TFS001.md"


def test_rule_urls_are_absolute_and_come_from_pyproject():
    if sys.version_info >= (3, 11):
        import tomllib
    else:
        import tomli as tomllib
    with open(os.path.join(ROOT, "pyproject.toml"), "rb") as handle:
        base = tomllib.load(handle)["project"]["urls"]["Documentation"]
    assert base.startswith("https://") and base.endswith("/")
    assert catalog.docs_base_url() == base
    for code in ("TFS001", "TFS002", "TFS101", "TFS504"):
        assert catalog.get(code).url == base + code + ".md"


def test_statistics_as_json_are_ruffs_records(capsys):
    write("bad.py")
    status, out, err = run_cli(capsys, "--output-format", "json", "--statistics", "bad.py")
    assert status == 1 and err == ""
    assert json.loads(out) == [
        {"code": "TFS202", "name": "load-model-savedmodel-dir", "count": 1, "fixable": False, "fixable_count": 0},
        {"code": "TFS203", "name": "unsafe-deserialization", "count": 1, "fixable": False, "fixable_count": 0},
    ]


def test_output_file(capsys, tmp_path):
    write("bad.py")
    status, out, _ = run_cli(capsys, "--output-format", "json", "--output-file", "reports/lint.json", "bad.py")
    assert (status, out) == (1, "")
    with open(tmp_path / "reports" / "lint.json", encoding="utf-8") as handle:
        assert [item["code"] for item in json.load(handle)] == ["TFS203", "TFS202"]


def test_output_file_that_cannot_be_written_is_an_error(capsys, tmp_path):
    write("bad.py")
    write("taken", "a file, not a directory\n")
    status, out, err = run_cli(capsys, "--output-file", "taken/report.txt", "bad.py")
    assert status == 2 and out == ""
    assert "cannot write taken/report.txt" in err


# -- SARIF -----------------------------------------------------------------------------------

def sarif_validator():
    jsonschema = pytest.importorskip("jsonschema")
    with open(SARIF_SCHEMA, encoding="utf-8") as handle:
        schema = json.load(handle)
    checker = jsonschema.FormatChecker()

    # jsonschema checks "uri" only with an optional package: check what GitHub needs ourselves.
    @checker.checks("uri")
    def absolute_uri(value):
        return bool(urlsplit(value).scheme) and " " not in value

    @checker.checks("uri-reference")
    def uri_reference(value):
        return " " not in value and "\\" not in value

    return jsonschema.Draft4Validator(schema, format_checker=checker)


def test_sarif_is_valid_against_the_official_schema(capsys, tmp_path):
    write("src/bad.py")
    write("src/with space.py", "import keras\nkeras.config.enable_unsafe_deserialization()\n")
    write("broken.py", "import keras\ndef f(:\n")
    status, out, _ = run_cli(capsys, "--output-format", "sarif", "src", "broken.py")
    assert status == 1
    log = json.loads(out)
    errors = sorted(sarif_validator().iter_errors(log), key=str)
    assert not errors, [f"{list(e.path)}: {e.message}" for e in errors[:5]]

    [run] = log["runs"]
    rules = run["tool"]["driver"]["rules"]
    assert {r["id"] for r in rules} == set(catalog.entries()) | {"TFS001", "TFS002"}
    for rule in rules:
        entry = catalog.get(rule["id"])
        assert rule["helpUri"] == entry.url and rule["helpUri"].startswith("https://")
        if entry:
            assert rule["shortDescription"]["text"] == entry.summary
            assert entry.fix in rule["help"]["text"] and rule["help"]["markdown"] == catalog.render(entry)
    results = run["results"]
    assert [r["ruleId"] for r in results] == ["TFS001", "TFS203", "TFS202", "TFS203"]
    for result in results:
        # What GitHub code scanning needs from each result.
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]
        assert result["message"]["text"]
        location = result["locations"][0]["physicalLocation"]
        assert location["artifactLocation"]["uriBaseId"] == "%SRCROOT%"
        assert location["region"]["startLine"] >= 1
    uris = [r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in results]
    assert uris == ["broken.py", "src/bad.py", "src/bad.py", "src/with%20space.py"]
    regions = [r["locations"][0]["physicalLocation"]["region"] for r in results[1:3]]
    assert regions == [
        {"startLine": i["location"]["row"], "startColumn": i["location"]["column"],
         "endLine": i["end_location"]["row"], "endColumn": i["end_location"]["column"]}
        for i in reference(capsys, os.path.join("src", "bad.py"))
    ]
    base = run["originalUriBaseIds"]["%SRCROOT%"]["uri"]
    assert base.startswith("file://") and base.endswith("/")
    assert urlsplit(base).path.rstrip("/") == str(tmp_path).replace(os.sep, "/").rstrip("/")


def test_sarif_of_a_clean_run_is_valid(capsys):
    write("good.py", "x = 1\n")
    status, out, _ = run_cli(capsys, "--output-format", "sarif", "good.py")
    log = json.loads(out)
    assert status == 0 and log["runs"][0]["results"] == []
    assert not list(sarif_validator().iter_errors(log))


def test_sarif_notebook_results_point_into_the_ipynb_file(capsys):
    cells = [
        {"cell_type": "markdown", "metadata": {}, "source": ["# Notes\n"]},
        {"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [],
         "source": ["!pip install keras\n", "import keras\n", "keras.config.enable_unsafe_deserialization()\n"]},
    ]
    text = json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}, indent=1)
    write("nb.ipynb", text)
    status, out, _ = run_cli(capsys, "--output-format", "sarif", "nb.ipynb")
    log = json.loads(out)
    assert status == 1 and not list(sarif_validator().iter_errors(log))
    [result] = log["runs"][0]["results"]
    assert result["properties"] == {"cell": 2, "cellLine": 3, "cellColumn": 1}
    region = result["locations"][0]["physicalLocation"]["region"]
    line = text.split("\n")[region["startLine"] - 1]
    assert line[region["startColumn"] - 1:].startswith("keras.config.enable_unsafe_deserialization()")


def test_verification_outcome_in_json_and_sarif():
    observed = {"status": "confirmed", "evidence": "ValueError: File format not supported: filepath=exported_model",
                "tensorflow_version": "2.21.0", "keras_version": "3.15.1", "seconds": 0.4, "cached": False}
    findings = [replace(f, verification=observed) for f in lint(BAD, path="bad.py")]
    assert [item["verification"] for item in json.loads(formats.render(findings, "json"))] == [observed, observed]
    log = json.loads(formats.render(findings, "sarif"))
    assert not list(sarif_validator().iter_errors(log))
    assert [r["properties"]["verification"] for r in log["runs"][0]["results"]] == [observed, observed]


# -- GitHub annotations ------------------------------------------------------------------------

def test_github_workflow_commands(capsys):
    write("bad.py")
    items = reference(capsys, "bad.py")
    status, out, _ = run_cli(capsys, "--output-format", "github", "bad.py")
    assert status == 1
    assert out.splitlines() == [
        f"::error file=bad.py,line={i['location']['row']},col={i['location']['column']},"
        f"endLine={i['end_location']['row']},endColumn={i['end_location']['column']},"
        f"title={i['code']}::{i['message']}"
        for i in items
    ]


def test_github_escapes_properties_and_message(capsys):
    name = write("odd,name:100%.py", "import keras\nm = keras.models.load_model('runs/100%')\n")
    out = run_cli(capsys, "--output-format", "github", name)[1]
    [line] = out.splitlines()
    head, message = line.split("::", 2)[1:]
    assert head.startswith("error file=odd%2Cname%3A100%25.py,line=2,col=5,")
    assert "'runs/100%25'" in message and "%" not in message.replace("%25", "")


def test_github_escape_rules():
    assert formats._escape_data("a%b\r\nc:d,e") == "a%25b%0D%0Ac:d,e"
    assert formats._escape_property("a%b\nc:d,e") == "a%25b%0Ac%3Ad%2Ce"


def test_github_notebook_annotation_names_the_cell(capsys):
    cells = [{"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [],
              "source": ["import keras\n", "keras.config.enable_unsafe_deserialization()\n"]}]
    text = json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}, indent=1)
    write("nb.ipynb", text)
    [line] = run_cli(capsys, "--output-format", "github", "nb.ipynb")[1].splitlines()
    row = next(i for i, raw in enumerate(text.split("\n"), 1) if "enable_unsafe" in raw)
    assert line.startswith(f"::error file=nb.ipynb,line={row},col=")
    assert "title=TFS203::cell 1:2:1: enable_unsafe_deserialization()" in line


def test_a_lint_run_does_not_import_urllib_request(tmp_path):
    # urllib.request brings http.client, ssl and socket (~10 ms on every run); only SARIF needs it.
    (tmp_path / "m.py").write_text("import keras\nm = keras.models.load_model('m.keras', safe_mode=False)\n")
    probe = ("import runpy, sys\n"
             "sys.argv = ['tflint-save', '--no-cache', '--output-format', 'full', 'm.py']\n"
             "try:\n    runpy.run_module('tflint_save', run_name='__main__')\n"
             "except SystemExit:\n    pass\n"
             "sys.stderr.write(' '.join(m for m in ('urllib.request', 'ssl', 'http.client') if m in sys.modules))\n")
    result = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, capture_output=True, text=True,
                            env=dict(os.environ, PYTHONPATH=ROOT), timeout=120)
    assert "TFS203" in result.stdout and result.stderr == "", result.stderr
