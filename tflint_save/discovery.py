"""Which files a run lints: the paths given, directories searched for .py and .ipynb files."""

from __future__ import annotations

import errno
import os
import re
from fnmatch import translate
from functools import lru_cache
from typing import TYPE_CHECKING, Dict, Iterable, List, Optional, Sequence, Tuple

if TYPE_CHECKING:  # config imports this module lazily; the types are only annotations
    from tflint_save.config import Settings
    from tflint_save.gitignore import GitIgnore

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
    """A glob matches the file or directory name, its absolute path (globs with a '/' are stored
    absolute, see config.anchor) or its path from the project root."""
    return _matches(path, project_path(path, root), patterns)


def _matches(path: str, rel: str, patterns: Sequence[str]) -> bool:
    full = os.path.abspath(path).replace(os.sep, "/")
    return _matched(os.path.basename(full) or full, full, rel, patterns)


def _matched(name: str, full: str, rel: str, patterns: Sequence[str]) -> bool:
    if not patterns:
        return False
    match = _compiled(tuple(patterns))
    if match(name) or match(full):
        return True
    return rel != os.pardir and not rel.startswith(os.pardir + "/") and match(rel) is not None


@lru_cache(maxsize=64)
def _compiled(patterns: Tuple[str, ...]):
    """One regular expression for every glob, and for everything below each (``gen`` -> ``gen/*``):
    fnmatch's rules, compiled once per run instead of once per file and pattern."""
    parts = [translate(os.path.normcase(p)) for p in patterns]
    parts += [translate(os.path.normcase(p.rstrip("/") + "/*")) for p in patterns]
    return re.compile("|".join(f"(?:{part})" for part in parts)).match


def excluded_anywhere(path: str, patterns: Sequence[str], root: Optional[str] = None,
                      settings: Optional[Settings] = None) -> bool:
    """The path or a directory on it is excluded (``build/gen/x.py`` by ``build``); with
    ``settings``, each by the exclusions of its own closest configuration, as ruff does."""
    full = os.path.abspath(path)
    while True:
        here_patterns, here_root = _rules(full, patterns, root, settings)
        if excluded(full, here_patterns, here_root):
            return True
        parent = os.path.dirname(full)
        rel = project_path(parent, here_root)
        if parent == full or rel in (".", os.pardir) or rel.startswith(os.pardir + "/"):
            return False
        full = parent


def _rules(path: str, patterns: Sequence[str], root: Optional[str],
           settings: Optional[Settings]) -> Tuple[Sequence[str], Optional[str]]:
    """The exclusions that decide about ``path``: its configuration's (the closest one above it,
    ruff's rule), or the fixed ones."""
    if settings is None:
        return patterns, root
    own = settings.for_path(path)
    return own.exclusions(), own.root


def discover(paths: Sequence[str], patterns: Sequence[str] = (), suffixes: Tuple[str, ...] = SUFFIXES,
             force_exclude: bool = False, root: Optional[str] = None, settings: Optional[Settings] = None,
             gitignore: Optional[GitIgnore] = None) -> Tuple[List[str], List[str]]:
    """Return (files to lint, paths that are neither a file nor a directory), both in a deterministic order.

    A file named on the command line is linted whatever its name, as flake8 and ruff do;
    exclusions apply to what directory search finds, and with ``force_exclude`` to the
    paths named too (pre-commit names every changed file, excluded or not).  Globs with a
    ``/`` are matched against paths from ``root``, the project root (default: the current
    directory), as ruff does.  With ``settings`` (the run's), each file and directory is
    judged by the exclusions of its closest configuration instead.  ``gitignore`` skips
    what git ignores, in directory search only: a file named on the command line is linted
    even then, as ruff does (with ``--force-exclude`` too).
    """
    files: List[str] = []
    missing: List[str] = []
    seen: Dict[str, int] = {}  # real path -> index in files
    named = set()  # indexes of files named on the command line
    for path in paths:
        if path == "-":
            if path not in seen:  # standard input is read once
                seen[path] = len(files)
                files.append(path)
            continue
        if force_exclude and excluded_anywhere(path, patterns, root, settings):
            continue
        if os.path.isfile(path):
            candidates: Iterable[Tuple[str, str]] = [(path, os.path.realpath(path))]
        elif os.path.isdir(path):
            candidates = _search(path, patterns, suffixes, root, settings, gitignore)
        else:
            missing.append(path)
            continue
        # One file reached twice (a symlink beside its target, a path named twice) is linted once:
        # twice would report it twice, and --fix would then find it changed under its feet.  It
        # keeps the first name found, except that a link found by directory search gives way
        # to the file itself.
        for candidate, real in candidates:
            key = os.path.normcase(real)
            at = seen.get(key)
            if at is None:
                seen[key] = len(files)
                if candidate == path:
                    named.add(len(files))
                files.append(candidate)
            elif at not in named and os.path.islink(files[at]) and not os.path.islink(candidate):
                files[at] = candidate
    return files, missing


def _search(top: str, patterns: Sequence[str], suffixes: Tuple[str, ...], root: Optional[str],
            settings: Optional[Settings], gitignore: Optional[GitIgnore]) -> List[Tuple[str, str]]:
    """The files to lint below ``top``, each with its real path.  Symlinked directories are not
    entered (as in ruff); a symlinked file is linted once (see discover)."""
    found = []
    start = os.path.abspath(top)
    real_top = os.path.realpath(top)
    for current, dirs, names in os.walk(top):
        if CACHE_TAG in names:  # our result cache, or any other tool's
            dirs[:] = []
            continue
        # Every entry here is judged by the configuration of this directory (ruff's rule): once
        # per directory, not per entry.
        here_patterns, here_root = _rules(os.path.join(current, "_"), patterns, root, settings)
        here = project_path(current, here_root)
        below = "" if here == "." else here + "/"
        native = os.path.join(os.path.abspath(current), "")
        full = native.replace(os.sep, "/")

        def skip(name: str, is_dir: bool) -> bool:
            return (_matched(name, full + name, below + name, here_patterns)
                    or (gitignore is not None and gitignore.ignored(native + name, is_dir, within=start)))

        dirs[:] = sorted(d for d in dirs if not skip(d, True))
        for name in sorted(names):
            if name.endswith(suffixes) and not skip(name, False):
                path = native + name
                # Only the file itself can be a link: os.walk does not follow linked directories.
                real = os.path.realpath(path) if os.path.islink(path) else real_top + path[len(start):]
                found.append((os.path.normpath(os.path.join(current, name)), real))
    return found


def problem(path: str) -> str:
    """Why a path named on the command line is not linted (it is neither a file nor a directory)."""
    if os.path.islink(path) and not os.path.exists(path):
        try:
            os.stat(path)
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                return "symbolic link loop"
        return f"broken symbolic link (to {os.readlink(path)!r}, which does not exist)"
    if os.path.exists(path):  # a pipe (<(cmd), /dev/stdin) or a device: only '-' reads a stream
        return "not a regular file (pipe it to '-' instead)"
    return "no such file or directory"
