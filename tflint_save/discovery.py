"""Which files a run lints: the paths given, directories searched for .py and .ipynb files."""

from __future__ import annotations

import os
from fnmatch import fnmatch
from typing import Iterable, List, Sequence, Tuple

SUFFIXES = (".py", ".ipynb")


# A directory holding this file is a cache (https://bford.info/cachedir/), never searched.
CACHE_TAG = "CACHEDIR.TAG"


def excluded(path: str, patterns: Sequence[str]) -> bool:
    """A glob matches the file or directory name, or the path as given."""
    name = os.path.basename(path.rstrip("/\\")) or path
    posix = path.replace(os.sep, "/")
    return any(fnmatch(name, p) or fnmatch(posix, p) or fnmatch(posix, p.rstrip("/") + "/*") for p in patterns)


def excluded_anywhere(path: str, patterns: Sequence[str]) -> bool:
    """The path or a directory on it below the current one is excluded (``build/gen/x.py`` by ``build``)."""
    rel = os.path.relpath(path)
    if rel.startswith(os.pardir):
        return excluded(path, patterns)
    parts = rel.replace(os.sep, "/").split("/")
    return any(excluded("/".join(parts[:i]), patterns) for i in range(len(parts), 0, -1))


def discover(paths: Sequence[str], patterns: Sequence[str], suffixes: Tuple[str, ...] = SUFFIXES,
             force_exclude: bool = False) -> Tuple[List[str], List[str]]:
    """Return (files to lint, paths that do not exist), both in a deterministic order.

    A file named on the command line is linted whatever its name, as flake8 and ruff do;
    exclusions apply to what directory search finds, and with ``force_exclude`` to the
    paths named too (pre-commit names every changed file, excluded or not).
    """
    files: List[str] = []
    missing: List[str] = []
    seen = set()
    for path in paths:
        if path == "-":
            files.append(path)
            continue
        if force_exclude and excluded_anywhere(path, patterns):
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
        if CACHE_TAG in names:  # our result cache, or any other tool's
            dirs[:] = []
            continue
        dirs[:] = sorted(d for d in dirs if not excluded(os.path.join(current, d), patterns))
        for name in sorted(names):
            path = os.path.join(current, name)
            if name.endswith(suffixes) and not excluded(path, patterns):
                found.append(os.path.normpath(path) if root != "." else os.path.relpath(path))
    return found
