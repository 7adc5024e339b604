"""Which files a run lints: the paths given, directories searched for .py files."""

from __future__ import annotations

import os
from fnmatch import fnmatch
from typing import Iterable, List, Sequence, Tuple

SUFFIXES = (".py",)


def excluded(path: str, patterns: Sequence[str]) -> bool:
    """A glob matches the file or directory name, or the path as given."""
    name = os.path.basename(path.rstrip("/\\")) or path
    posix = path.replace(os.sep, "/")
    return any(fnmatch(name, p) or fnmatch(posix, p) or fnmatch(posix, p.rstrip("/") + "/*") for p in patterns)


def discover(paths: Sequence[str], patterns: Sequence[str], suffixes: Tuple[str, ...] = SUFFIXES) -> Tuple[List[str], List[str]]:
    """Return (files to lint, paths that do not exist), both in a deterministic order.

    A file named on the command line is linted whatever its name, as flake8 and ruff do;
    exclusions apply to what directory search finds.
    """
    files: List[str] = []
    missing: List[str] = []
    seen = set()
    for path in paths:
        if path == "-":
            files.append(path)
            continue
        if os.path.isfile(path):
            candidates: Iterable[str] = [path]
        elif os.path.isdir(path):
            candidates = _search(path, patterns, suffixes)
        else:
            missing.append(path)
            continue
        for candidate in candidates:
            key = os.path.normcase(os.path.abspath(candidate))
            if key not in seen:
                seen.add(key)
                files.append(candidate)
    return files, missing


def _search(root: str, patterns: Sequence[str], suffixes: Tuple[str, ...]) -> List[str]:
    found = []
    for current, dirs, names in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not excluded(os.path.join(current, d), patterns))
        for name in sorted(names):
            path = os.path.join(current, name)
            if name.endswith(suffixes) and not excluded(path, patterns):
                found.append(os.path.normpath(path) if root != "." else os.path.relpath(path))
    return found
