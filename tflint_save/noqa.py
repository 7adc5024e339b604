"""``# noqa`` directives: where they are, what they name, and which silence nothing.

``# noqa`` (every code) and ``# noqa: TFS101, TFS2`` (those codes and prefixes) act on their
line; a comment line ``# tflint-save: noqa[: CODES]`` acts on the whole file.  flake8 and ruff
read the same line comments, so a line directive may also name their codes (``E501``): those
are not ours to judge.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Collection, Dict, Iterator, List, Mapping, Optional, Set, Tuple

PREFIX = "TFS"
UNUSED_NOQA = "TFS003"

_CODES = r"(?P<codes>[A-Z]+[0-9]*(?:[\s,]+[A-Z]+[0-9]*)*)"
LINE = re.compile(r"#\s*noqa(?::[\s]*" + _CODES + ")?", re.IGNORECASE)
FILE = re.compile(r"^\s*#\s*tflint-save:\s*noqa(?::\s*" + _CODES + r")?\s*$", re.IGNORECASE | re.MULTILINE)


_ANY = re.compile("noqa", re.IGNORECASE)


def mentions(text: str) -> bool:
    """Whether the text may hold a directive at all (one scan, no copy of the text)."""
    return _ANY.search(text) is not None


@dataclass(frozen=True)
class Directive:
    line: int  # 1-based
    col: int  # 1-based, at the '#'
    codes: Tuple[str, ...]  # () for every code
    whole_file: bool


def codes_of(text: Optional[str]) -> Optional[Tuple[str, ...]]:
    if text is None:
        return None
    return tuple(c.upper() for c in re.split(r"[\s,]+", text.strip()) if c)


def file_codes(text: str) -> Optional[Tuple[str, ...]]:
    """Codes silenced for the whole file: () for all, None when there is no such comment."""
    found = None
    for match in FILE.finditer(text):
        codes = codes_of(match.group("codes"))
        if codes is None:
            return ()
        found = (found or ()) + codes
    return found


def line_codes(line: str) -> Optional[Tuple[str, ...]]:
    """The codes a line's ``# noqa`` silences: () for all, None without one."""
    match = LINE.search(line)
    if match is None:
        return None
    return codes_of(match.group("codes")) or ()


def silenced(code: str, codes: Optional[Tuple[str, ...]]) -> bool:
    return codes is not None and (not codes or any(code.startswith(c) for c in codes))


def directives(text: str) -> Iterator[Directive]:
    """Every directive of a file, in line order (lines counted on "\\n", as positions are)."""
    if not mentions(text):
        return
    for number, line in enumerate(text.split("\n"), 1):
        whole = FILE.match(line)
        match = whole or LINE.search(line)
        if match is not None:
            start = line.index("#", match.start())
            yield Directive(number, start + 1, codes_of(match.group("codes")) or (), whole is not None)


def unknown_codes(text: str, known: Collection[str]) -> List[Tuple[int, str]]:
    """(line, code) for each code of ours (TFS...) that no known code starts with, and for any
    unknown code in a ``# tflint-save: noqa:`` line, which only ever names ours."""
    found = []
    for d in directives(text):
        for code in d.codes:
            if (d.whole_file or code.startswith(PREFIX)) and not any(k.startswith(code) for k in known):
                found.append((d.line, code))
    return found


def unused(text: str, used: Mapping[int, Set[str]], file_used: Set[str], ran: Collection[str]) -> List[Tuple[int, int, str]]:
    """(line, col, message) for each directive that names one of our codes exactly (TFS101, not
    a prefix), that code's rule ran on this file, and no finding of it was silenced there.
    ``used``: line -> codes silenced by that line's directive; ``file_used``: codes silenced by
    the whole-file directive; ``ran``: the codes of the rules that ran on the file.  A blanket
    ``# noqa`` may serve flake8 or ruff, and a prefix or a rule that did not run (not selected,
    another Keras version) cannot be judged: none of them is reported."""
    out = []
    for d in directives(text):
        if d.codes and silenced(UNUSED_NOQA, d.codes):
            continue  # `# noqa: TFS501, TFS003`: kept on purpose (for another Keras version...)
        silenced_here = file_used if d.whole_file else used.get(d.line, set())
        idle = [c for c in d.codes if c in ran and c not in silenced_here]
        if not idle:
            continue
        names = ", ".join(idle)
        where = "in this file" if d.whole_file else "on this line"
        comment = "# tflint-save: noqa" if d.whole_file else "# noqa"
        out.append((d.line, d.col, f"unused `{comment}` directive for {names}: no {names} finding is reported "
                                   f"{where}; remove {'it' if len(idle) == 1 else 'them'} from the comment"))
    return out


class Tracker:
    """Decides, per finding, whether a directive silences it, and remembers which did."""

    def __init__(self, lines: List[str], whole_file: Optional[Tuple[str, ...]]):
        self.lines = lines
        self.whole_file = whole_file
        self.used: Dict[int, Set[str]] = {}
        self.file_used: Set[str] = set()

    def at(self, line: int) -> Optional[Tuple[str, ...]]:
        return line_codes(self.lines[line - 1]) if 0 < line <= len(self.lines) else None

    def silences(self, code: str, line: int, first: Optional[int] = None) -> bool:
        """Whether the whole-file directive, the line's, or the statement's first line's silences it."""
        if silenced(code, self.whole_file):
            self.file_used.add(code)
            return True
        for where in (line, first):
            if where is not None and silenced(code, self.at(where)):
                self.used.setdefault(where, set()).add(code)
                return True
        return False
