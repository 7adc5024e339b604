"""The README promises two commands and lists every rule: keep it honest."""

import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, ".ci"))

from readme_command import command  # noqa: E402
from tflint_save import catalog  # noqa: E402


def _readme():
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as handle:
        return handle.read()


def test_ci_runs_the_readme_test_command():
    test = command(_readme(), "test")
    assert 'pip install ".[test]"' in test and "pytest" in test
    with open(os.path.join(ROOT, ".ci", "run"), encoding="utf-8") as handle:
        assert "readme_command.py test" in handle.read()


def test_quick_start_installs_and_lints_the_examples():
    quick = command(_readme(), "quickstart")
    assert "pip install ." in quick and quick.endswith("tflint-save docs/examples/")


def test_every_rule_is_listed_with_its_page():
    text = _readme()
    for code, entry in catalog.entries().items():
        assert f"[{code}](docs/rules/{code}.md) | {entry.name} |" in text, code
