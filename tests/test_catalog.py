"""The rule catalog (rules/) drives docs and example tests: every bad example produces
exactly its own code, every good example produces nothing, and `--fix --unsafe-fixes` makes
of each bad example what its `fixed` says."""

import ast
import os
import re

import pytest

from helpers import lint, lint_files
from tflint_save import catalog, cli
from tflint_save.fix import FIXERS
from tflint_save.run import known_codes, rules_by_code

ENTRIES = catalog.entries()
BAD = [(code, i) for code in sorted(ENTRIES) for i in range(len(ENTRIES[code].bad))]
GOOD = [(code, i) for code in sorted(ENTRIES) for i in range(len(ENTRIES[code].good))]
FIXED = [(code, i) for code, i in BAD if ENTRIES[code].fixed]


def lint_entry(example, entry):
    """An example linted as the default selection would, with an opt-in rule turned on by name."""
    return lint(example, keras=entry.example_keras, select=["ALL", entry.code] if entry.opt_in else None)


def test_every_rule_has_a_catalog_entry_and_back():
    rule_codes = set(rules_by_code())
    assert rule_codes == set(ENTRIES), "rules/ and tflint_save/checks disagree"


@pytest.mark.parametrize("code", sorted(ENTRIES))
def test_entry_is_complete(code):
    entry = ENTRIES[code]
    assert entry.code == code
    assert entry.name and entry.name == entry.name.lower() and " " not in entry.name
    assert set(entry.keras) <= {2, 3} and entry.keras
    assert entry.example_keras in entry.keras
    assert rules_by_code()[code].keras_versions == entry.keras


def lint_example(example, entry, folder):
    """A one-file example alone (lint_entry), or a multi-file one as a project of its own."""
    files = catalog.example_files(example)
    if files is None:
        return lint_entry(example, entry)
    folder.mkdir()
    (folder / "pyproject.toml").write_text("[tool.tflint-save]\n")
    return lint_files(files, str(folder), keras=entry.example_keras,
                      select=["ALL", entry.code] if entry.opt_in else None)


@pytest.mark.parametrize("code, index", BAD)
def test_bad_examples_produce_exactly_their_code(code, index, tmp_path):
    entry = ENTRIES[code]
    example = entry.bad[index]
    found = lint_example(example, entry, tmp_path / "bad")
    assert found, f"{code}: bad example produced nothing"
    assert {f.code for f in found} == {code}, [(f.code, f.line, f.message) for f in found]


@pytest.mark.parametrize("code, index", GOOD)
def test_good_examples_are_clean(code, index, tmp_path):
    entry = ENTRIES[code]
    example = entry.good[index]
    found = lint_example(example, entry, tmp_path / "good")
    assert not found, [(f.code, f.line, f.message) for f in found]


@pytest.mark.parametrize("code, index", FIXED)
def test_fixed_examples_are_what_the_fix_makes_of_the_bad_ones(code, index, tmp_path, capsys):
    """Through the real fix path: the command line's --fix --unsafe-fixes on the example as a file.
    An empty `fixed` example says the fixer leaves that bad example as it is."""
    entry = ENTRIES[code]
    assert code in FIXERS, f"{code} has `fixed` examples but no fixer"
    assert len(entry.fixed) == len(entry.bad), f"{code}: one `fixed` per bad example ('' when not fixed)"
    path = tmp_path / "example.py"
    path.write_text(entry.bad[index], encoding="utf-8")
    cli.main(["--fix", "--unsafe-fixes", "--no-cache", "--keras-version", str(entry.example_keras), str(path)])
    capsys.readouterr()
    assert path.read_text(encoding="utf-8") == (entry.fixed[index] or entry.bad[index])
    if entry.fixed[index]:
        assert not [f for f in lint(entry.fixed[index], keras=entry.example_keras) if f.code == code]


def test_generated_docs_are_fresh():
    import os

    folder = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "docs", "rules")
    for name, text in catalog.expected_docs().items():
        path = os.path.join(folder, name)
        assert os.path.isfile(path), f"{path} missing: run python -m tflint_save.catalog"
        with open(path, encoding="utf-8") as handle:
            assert handle.read() == text, f"{path} is stale: run python -m tflint_save.catalog"


def test_engine_codes_are_known():
    assert {"TFS001", "TFS002"} <= set(known_codes())


CLAIM_ID = re.compile(r"\bC\d{2}\b")


def _string_constants(path):
    """Every string literal of a module except docstrings: what a message can be built from."""
    tree = ast.parse(open(path, encoding="utf-8").read())
    docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                  if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
                  and node.body and isinstance(node.body[0], ast.Expr)}
    return [node.value for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings]


def test_user_visible_text_never_quotes_internal_claim_ids():
    pages = {code: catalog.render(entry) for code, entry in catalog.every_entry().items()}
    assert not {code: CLAIM_ID.findall(page) for code, page in pages.items() if CLAIM_ID.search(page)}
    checks = os.path.join(os.path.dirname(catalog.__file__), "checks")
    for name in sorted(os.listdir(checks)):
        if name.endswith(".py"):
            quoted = [s for s in _string_constants(os.path.join(checks, name)) if CLAIM_ID.search(s)]
            assert not quoted, (name, quoted)
    for code, entry in ENTRIES.items():
        for example in entry.bad:
            for f in lint_entry(example, entry):
                assert not CLAIM_ID.search(f.message), (code, f.message)


def test_engine_entries_have_pages_and_examples_that_hold():
    every = catalog.every_entry()
    assert {"TFS001", "TFS002"} <= {code for code, e in every.items() if e.engine}
    assert not set(ENTRIES) & {"TFS001", "TFS002"}  # no rule class for them
    for example in every["TFS001"].bad:
        assert [f.code for f in lint(example)] == ["TFS001"]
    for code in ("TFS001", "TFS002"):
        page = catalog.render(every[code])
        assert page.startswith(f"# {code} {every[code].name}\n") and "## What it does" in page
