"""Rules as data: --list-rules (table and JSON) and --explain by code or name."""

import json

import pytest

from tflint_save import catalog, cli, fix


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)


def run_cli(capsys, *argv):
    status = cli.main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def test_list_rules_json_has_every_code_with_its_data(capsys):
    status, out, err = run_cli(capsys, "--list-rules", "--output-format", "json")
    assert (status, err) == (0, "")
    records = json.loads(out)
    assert [r["code"] for r in records] == sorted(catalog.every_entry())
    assert {"TFS001", "TFS002"} <= {r["code"] for r in records if r["engine"]}
    by_code = {r["code"]: r for r in records}
    for code, entry in catalog.every_entry().items():
        record = by_code[code]
        assert (record["name"], record["summary"], record["keras"]) == (entry.name, entry.summary, list(entry.keras))
        assert record["url"] == entry.url and record["url"].startswith("https://")
        kind = fix.FIXERS[code][0] if code in fix.FIXERS else None
        assert (record["fixable"], record["fix"]) == (kind is not None, kind)
    assert by_code["TFS405"]["fix"] == "safe" and by_code["TFS302"]["fix"] == "unsafe"
    assert by_code["TFS504"]["keras"] == [3]


def test_list_rules_table_has_a_row_per_code(capsys):
    status, out, _ = run_cli(capsys, "--list-rules")
    lines = out.splitlines()
    assert status == 0 and lines[0].split() == ["code", "name", "keras", "fix", "summary"]
    rows = {line.split()[0]: line for line in lines[1:]}
    assert set(rows) == set(catalog.every_entry())
    assert rows["TFS405"].split()[1:4] == ["reset-states-removed", "3", "safe"]
    assert rows["TFS101"].split()[1:5] == ["save-weights-without-optimizer", "2,", "3", "-"]
    assert rows["TFS101"].endswith(catalog.get("TFS101").summary)


def test_list_rules_refuses_a_format_it_cannot_print(capsys):
    status, out, err = run_cli(capsys, "--list-rules", "--output-format", "sarif")
    assert (status, out) == (2, "") and "--list-rules" in err


@pytest.mark.parametrize("asked", ["TFS405", "tfs405", "reset-states-removed", "Reset-States-Removed"])
def test_explain_takes_a_code_or_a_name(capsys, asked):
    status, out, err = run_cli(capsys, "--explain", asked)
    assert (status, err) == (0, "") and out == catalog.render(catalog.get("TFS405"))


@pytest.mark.parametrize("code,name", [("TFS001", "parse-error"), ("TFS002", "internal-error")])
def test_explain_engine_codes(capsys, code, name):
    status, out, _ = run_cli(capsys, "--explain", code)
    assert status == 0 and out.startswith(f"# {code} {name}\n")
    assert "## What it does" in out and "## Why is this bad?" in out and "## When to leave it alone" in out
    assert run_cli(capsys, "--explain", name)[1] == out


def test_explain_unknown_says_how_to_list_the_rules(capsys):
    status, out, err = run_cli(capsys, "--explain", "TFS999")
    assert (status, out) == (2, "")
    assert "unknown rule code or name 'TFS999'" in err and "tflint-save --list-rules" in err
    assert "docs/" not in err  # no path that a pip install does not have
