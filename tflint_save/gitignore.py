"""What git ignores, read as ruff reads it (the ``ignore`` crate): ``.ignore`` files (ripgrep's,
anywhere), then, only inside a git repository, the ``.gitignore`` files of every directory from
the repository's root down, ``.git/info/exclude`` and the global excludes file
(``core.excludesFile``, by default ``$XDG_CONFIG_HOME/git/ignore``).  The patterns are git's,
through ``pathspec``.

The first kind of file that says something decides, in that order (a ``.ignore`` over any
``.gitignore``), and within a kind a deeper file overrides a shallower one (a ``!pattern``
there brings a file back); ruff 0.17.6 does the same.  Directory search never enters an
ignored directory, so nothing below it can come back, as in git.
"""

from __future__ import annotations

import os
from typing import Dict, List, Optional, Tuple

import pathspec

Spec = Optional[pathspec.GitIgnoreSpec]


class GitIgnore:
    """Answers ``ignored(path, is_dir)``; each file is read once per run."""

    def __init__(self) -> None:
        self._repos: Dict[str, Optional[Tuple[str, str]]] = {}  # directory -> (work tree, git dir)
        self._specs: Dict[str, Spec] = {}
        self._stacks: Dict[str, List[Tuple[pathspec.GitIgnoreSpec, str]]] = {}
        self._global: Optional[Spec] = None
        self._global_read = False

    def ignored(self, path: str, is_dir: bool = False, within: Optional[str] = None) -> bool:
        """Whether git ignores ``path``, found by searching the directory ``within``.

        A pattern says something about the path itself only, as in ruff: a directory named on
        the command line is searched even when it is ignored (``gen/`` names ``gen``, and git's
        "everything below it" comes from search never entering it).
        """
        path = path if os.path.isabs(path) else os.path.abspath(path)
        within = within if within is None or os.path.isabs(within) else os.path.abspath(within)
        for spec, base in self._stack(os.path.dirname(path)):
            decided = _check(spec, path, base, is_dir, within)
            if decided is not None:
                return decided
        return False

    def _stack(self, directory: str) -> List[Tuple[pathspec.GitIgnoreSpec, str]]:
        """The pattern files that apply in ``directory``, the deciding one first: the .ignore
        files of it and its parents, then its .gitignore and its parents' up to the work tree's
        top, .git/info/exclude, the global excludes file."""
        key = "git:" + directory
        if key not in self._stacks:
            self._stacks[key] = self._ignore_files(directory) + self._git_files(directory)
        return self._stacks[key]

    def _ignore_files(self, directory: str) -> List[Tuple[pathspec.GitIgnoreSpec, str]]:
        if directory in self._stacks:
            return self._stacks[directory]
        own = self._spec(os.path.join(directory, ".ignore"))
        parent = os.path.dirname(directory)
        stack = [(own, directory)] if own is not None else []
        if parent != directory:
            stack += self._ignore_files(parent)
        self._stacks[directory] = stack
        return stack

    def _git_files(self, directory: str) -> List[Tuple[pathspec.GitIgnoreSpec, str]]:
        key = "gitignore:" + directory
        if key in self._stacks:
            return self._stacks[key]
        repo = self._repo(directory)
        stack: List[Tuple[pathspec.GitIgnoreSpec, str]] = []
        if repo is not None:
            top, git_dir = repo
            own = self._spec(os.path.join(directory, ".gitignore"))
            if own is not None:
                stack.append((own, directory))
            if directory != top:
                stack.extend(self._git_files(os.path.dirname(directory)))
            else:
                for spec in (self._spec(os.path.join(git_dir, "info", "exclude")), self._global_spec()):
                    if spec is not None:
                        stack.append((spec, top))
        self._stacks[key] = stack
        return stack

    def _repo(self, directory: str) -> Optional[Tuple[str, str]]:
        """The work tree holding ``directory`` and its git directory, or None outside git."""
        if directory in self._repos:
            return self._repos[directory]
        marker = os.path.join(directory, ".git")
        parent = os.path.dirname(directory)
        if os.path.exists(marker):
            found: Optional[Tuple[str, str]] = (directory, _git_dir(marker))
        elif parent == directory:
            found = None
        else:
            found = self._repo(parent)
        self._repos[directory] = found
        return found

    def _spec(self, path: str) -> Spec:
        if path not in self._specs:
            self._specs[path] = _read(path)
        return self._specs[path]

    def _global_spec(self) -> Spec:
        if not self._global_read:
            self._global_read = True
            path = global_excludes_file()
            self._global = _read(path) if path else None
        return self._global


def _check(spec: Spec, path: str, base: str, is_dir: bool, within: Optional[str] = None) -> Optional[bool]:
    """True: ignored; False: a ``!pattern`` keeps it; None: no pattern of ``spec`` says anything."""
    if spec is None:
        return None
    result = spec.check_file(_relative(path, base, is_dir))
    if result.include is not None and within is not None and within.startswith(base + os.sep):
        # pathspec also matches what lies below a matched directory: when the search started
        # inside a directory the same pattern ignores, the match is that directory's, not the path's.
        above = spec.check_file(_relative(within, base, True))
        if above.include is not None and above.index == result.index:
            return None
    return result.include


def _relative(path: str, base: str, is_dir: bool) -> str:
    rel = path[len(base) + 1:] if path.startswith(base + os.sep) else os.path.relpath(path, base)
    rel = rel.replace(os.sep, "/")
    return rel + "/" if is_dir else rel


def _read(path: str) -> Spec:
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            lines = handle.read().splitlines()
    except OSError:  # none there (the usual case), or unreadable: nothing ignored by it
        return None
    try:
        return pathspec.GitIgnoreSpec.from_lines(lines)
    except Exception:  # a pattern pathspec cannot compile: git skips such lines, do the same for the file
        return None


def _git_dir(marker: str) -> str:
    """The directory holding ``info/exclude``: ``.git`` itself, or for a worktree or submodule
    (a ``.git`` file saying ``gitdir: ...``) the repository's common directory."""
    if os.path.isdir(marker):
        return marker
    try:
        with open(marker, encoding="utf-8") as handle:
            text = handle.read().strip()
    except OSError:
        return marker
    if not text.startswith("gitdir:"):
        return marker
    git_dir = os.path.join(os.path.dirname(marker), text[len("gitdir:"):].strip())
    try:
        with open(os.path.join(git_dir, "commondir"), encoding="utf-8") as handle:
            return os.path.normpath(os.path.join(git_dir, handle.read().strip()))
    except OSError:
        return os.path.normpath(git_dir)


def global_excludes_file() -> Optional[str]:
    """``core.excludesFile`` from the user's git configuration, else git's default
    ``$XDG_CONFIG_HOME/git/ignore`` (``~/.config/git/ignore``); read without running git."""
    home = os.path.expanduser("~")
    xdg = os.environ.get("XDG_CONFIG_HOME") or os.path.join(home, ".config")
    configured: Optional[str] = None
    # git reads the XDG file first and ~/.gitconfig after it: the later one wins.
    for path in (os.path.join(xdg, "git", "config"), os.path.join(home, ".gitconfig")):
        value = _excludes_file_in(path)
        if value is not None:
            configured = value
    if configured:
        return os.path.expanduser(configured)
    return os.path.join(xdg, "git", "ignore")


def _excludes_file_in(path: str) -> Optional[str]:
    """``excludesFile`` of the ``[core]`` section of a git config file (git's keys ignore case)."""
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            lines = handle.read().splitlines()
    except OSError:
        return None
    found: Optional[str] = None
    section = ""
    for raw in lines:
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("["):
            section = line[1:line.find("]")].strip().lower() if "]" in line else ""
            line = line[line.find("]") + 1:].strip() if "]" in line else ""
            if not line:
                continue
        key, sep, value = line.partition("=")
        if section == "core" and sep and key.strip().lower() == "excludesfile":
            value = value.strip()
            if len(value) >= 2 and value[0] == value[-1] == '"':
                value = value[1:-1]
            found = value
    return found

