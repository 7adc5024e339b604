"""Where a file's project is: the directories above it, up to the repository's top.

Shared by what is decided per project rather than per run (the Keras version from the
declared dependencies, kerasversion.Plan; the program model's root, programs.find_root).
The search stops at the repository's top, the directory holding ``.git`` (or ``.hg``,
``.svn``): files above a checkout are not its project's.
"""

from __future__ import annotations

import os
from typing import Callable, FrozenSet, Iterator, Optional

TOP_MARKERS = (".git", ".hg", ".svn")


def ancestors(directory: str) -> Iterator[str]:
    """``directory`` (made absolute) and every directory above it, nearest first."""
    current = os.path.abspath(directory)
    while True:
        yield current
        parent = os.path.dirname(current)
        if parent == current:
            return
        current = parent


def listing(directory: str) -> FrozenSet[str]:
    """The names in ``directory``; none when it cannot be listed."""
    try:
        return frozenset(os.listdir(directory))
    except OSError:
        return frozenset()


def is_top(names: FrozenSet[str]) -> bool:
    """A directory with these names is a repository's top."""
    return any(marker in names for marker in TOP_MARKERS)


def nearest(path: str, wanted: Callable[[str, FrozenSet[str]], bool]) -> Optional[str]:
    """The nearest directory at or above ``path`` (a directory, or a file's) for which
    ``wanted(directory, names)`` holds, searched up to the repository's top; else None."""
    start = path if os.path.isdir(path) else os.path.dirname(os.path.abspath(path))
    for directory in ancestors(start):
        names = listing(directory)
        if wanted(directory, names):
            return directory
        if is_top(names):
            return None
    return None
