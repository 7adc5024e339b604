"""Lint source text the way the command line does, for rule tests."""

from __future__ import annotations

import os
import textwrap
from typing import Dict, List, Optional, Tuple

from tflint_save import run
from tflint_save.config import Settings
from tflint_save.findings import Finding


def lint_files(files: Dict[str, str], root: str, keras: int = 3, select: Optional[List[str]] = None,
               custom_classes: str = "saved") -> List[Finding]:
    """Write ``files`` (relative path -> source) under ``root`` and lint them all as one project."""
    paths = []
    for rel, text in files.items():
        path = os.path.join(root, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(textwrap.dedent(text))
        paths.append(path)
    settings = Settings(keras_version=keras, select=select or ["ALL"], custom_classes=custom_classes)
    return run.lint_paths(sorted(paths), settings).findings


def lint(text: str, keras: int = 3, select: Optional[List[str]] = None, path: str = "example.py",
         custom_classes: str = "saved") -> List[Finding]:
    """Lint one in-memory module (the project index sees only this module)."""
    settings = Settings(keras_version=keras, select=select or ["ALL"], custom_classes=custom_classes)
    rules = run.enabled_rules(settings)
    result = run.lint_file(path, settings, rules, text=textwrap.dedent(text))
    return run.settle([result], settings).findings


def codes(findings: List[Finding]) -> List[Tuple[str, int]]:
    """(code, line) pairs, the usual thing to assert on."""
    return [(f.code, f.line) for f in findings]


def only(findings: List[Finding], code: str) -> List[Finding]:
    return [f for f in findings if f.code == code]
