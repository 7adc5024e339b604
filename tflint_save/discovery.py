"""Which files a run lints: the paths given, directories searched for .py and .ipynb files."""

from __future__ import annotations

import errno
import os
from fnmatch import fnmatch
from typing import Iterable, List, Optional, Sequence, Tuple

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
    return any(fnmatch(name, p) or any(fnmatch(t, p) or fnmatch(t, p.rstrip("/") + "/*") for t in texts)
               for p in patterns)


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
    seen: dict = {}
    for path in paths:
        if path == "-":
            if path not in seen:  # standard input is read once
                seen[path] = len(files)
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
            # By real path: a symlinked .py is linted (and fixed) once, under its first name
            # unless a later one is the file itself.
            key = os.path.normcase(os.path.realpath(candidate))
            if key not in seen:
                seen[key] = len(files)
                files.append(candidate)
            elif os.path.islink(files[seen[key]]) and not os.path.islink(candidate):
                files[seen[key]] = candidate
    return files, missing


def problem(path: str) -> str:
    """Why a path named on the command line is not linted (discover() listed it as missing)."""
    if os.path.islink(path):
        try:
            os.stat(path)
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                return "a symbolic link loop (too many levels of symbolic links)"
            return f"a broken symbolic link (to {os.readlink(path)!r})"
    if os.path.exists(path):
        # A pipe (<(cmd), /dev/stdin) or a device exists but is not read: only '-' reads a stream.
        return "not a regular file (pipe it to '-' instead)"
    return "no such file or directory"


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
