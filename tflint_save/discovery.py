"""Which files a run lints: the paths given, directories searched for .py and .ipynb files."""

from __future__ import annotations

import os
import re
from fnmatch import translate
from functools import lru_cache
from typing import Iterable, List, Optional, Pattern, Sequence, Tuple

SUFFIXES = (".py", ".ipynb")


# A directory holding this file is a cache (https://bford.info/cachedir/), never searched.
CACHE_TAG = "CACHEDIR.TAG"


def project_path(path: str, root: Optional[str] = None) -> str:
    """``path`` relative to the project root (default: the current directory), with ``/``.

    What exclude and per-file-ignores globs are matched against, however the path was
    given (``.``, ``./pkg``, absolute).
    """
    try:
        rel = os.path.relpath(os.path.abspath(path), root or os.getcwd())
    except ValueError:  # another drive on Windows
        rel = os.path.abspath(path)
    return rel.replace(os.sep, "/")


def excluded(path: str, patterns: Sequence[str], root: Optional[str] = None) -> bool:
    """A glob matches the file or directory name, its path from the project root, or the path as given."""
    return _matches(os.path.normpath(path), project_path(path, root), patterns)


def _matches(given: str, rel: str, patterns: Sequence[str]) -> bool:
    name = os.path.basename(given) or given
    texts = [given.replace(os.sep, "/")]
    if rel != texts[0] and rel != os.pardir and not rel.startswith(os.pardir + "/"):
        texts.append(rel)
    whole, under = _compiled(tuple(patterns))
    if whole.match(os.path.normcase(name)):
        return True
    return any(whole.match(t) or under.match(t) for t in map(os.path.normcase, texts))


@lru_cache(maxsize=16)
def _compiled(patterns: Tuple[str, ...]) -> Tuple[Pattern[str], Pattern[str]]:
    """fnmatch's rules, every pattern in one regex (a project search matches each file and folder):
    the patterns as given, and as a folder everything below it matches."""
    def one(texts: Iterable[str]) -> Pattern[str]:
        return re.compile("|".join(f"(?:{translate(os.path.normcase(t))})" for t in texts) or "(?!)")

    return one(patterns), one(p.rstrip("/") + "/*" for p in patterns)


def excluded_anywhere(path: str, patterns: Sequence[str], root: Optional[str] = None) -> bool:
    """The path or a directory on it below the project root is excluded (``build/gen/x.py`` by ``build``)."""
    if excluded(path, patterns, root):
        return True
    rel = project_path(path, root)
    if rel == os.pardir or rel.startswith(os.pardir + "/"):
        return False
    parts = rel.split("/")
    prefixes = ("/".join(parts[:i]) for i in range(len(parts) - 1, 0, -1))
    return any(_matches(prefix, prefix, patterns) for prefix in prefixes)


def discover(paths: Sequence[str], patterns: Sequence[str], suffixes: Tuple[str, ...] = SUFFIXES,
             force_exclude: bool = False, root: Optional[str] = None) -> Tuple[List[str], List[str]]:
    """Return (files to lint, paths that are neither a file nor a directory), both in a deterministic order.

    A file named on the command line is linted whatever its name, as flake8 and ruff do;
    exclusions apply to what directory search finds, and with ``force_exclude`` to the
    paths named too (pre-commit names every changed file, excluded or not).  Globs with a
    ``/`` are matched against paths from ``root``, the project root (default: the current
    directory), as ruff does.
    """
    files: List[str] = []
    missing: List[str] = []
    seen = set()
    for path in paths:
        if path == "-":
            if path not in seen:  # standard input is read once
                seen.add(path)
                files.append(path)
            continue
        if force_exclude and excluded_anywhere(path, patterns, root):
            continue
        if os.path.isfile(path):
            candidates: Iterable[str] = [path]
        elif os.path.isdir(path):
            candidates = _search(path, patterns, suffixes, root)
        else:
            missing.append(path)
            continue
        for candidate in candidates:
            key = os.path.normcase(os.path.abspath(candidate))
            if key not in seen:
                seen.add(key)
                files.append(candidate)
    return files, missing


def _search(top: str, patterns: Sequence[str], suffixes: Tuple[str, ...], root: Optional[str]) -> List[str]:
    found = []
    for current, dirs, names in os.walk(top):
        if CACHE_TAG in names:  # our result cache, or any other tool's
            dirs[:] = []
            continue
        here = project_path(current, root)  # once per directory, not per entry
        below = "" if here == "." else here + "/"
        dirs[:] = sorted(d for d in dirs
                         if not _matches(os.path.normpath(os.path.join(current, d)), below + d, patterns))
        for name in sorted(names):
            path = os.path.normpath(os.path.join(current, name))
            if name.endswith(suffixes) and not _matches(path, below + name, patterns):
                found.append(path)
    return found
