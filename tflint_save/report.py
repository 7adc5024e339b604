"""Writing findings for people and tools."""

from __future__ import annotations

import os
import sys
from collections import Counter
from typing import IO, List, Sequence

from tflint_save.findings import Finding


def use_color(choice: str, stream: IO[str]) -> bool:
    if choice == "always":
        return True
    if choice == "never":
        return False
    return bool(getattr(stream, "isatty", lambda: False)()) and not os.environ.get("NO_COLOR")


def position(f: Finding) -> str:
    """``line:col``, or ``cell 3:line:col`` in a notebook."""
    return f"{f.line}:{f.col}" if f.cell is None else f"cell {f.cell}:{f.line}:{f.col}"


def concise(findings: Sequence[Finding], color: bool) -> List[str]:
    """flake8's ``path:line:col: CODE message`` (``path:cell 3:line:col: ...`` in notebooks)."""
    if not color:
        return [f"{f.path}:{position(f)}: {f.code} {f.message}{verified(f)}" for f in findings]
    from colorama import Fore, Style

    return [
        f"{Style.BRIGHT}{f.path}{Style.RESET_ALL}:{position(f)}: "
        f"{Fore.RED}{Style.BRIGHT}{f.code}{Style.RESET_ALL} {f.message}{verified(f)}"
        for f in findings
    ]


def verified(f: Finding) -> str:
    """--verify's outcome as a suffix: `` [confirmed on keras 3.15.1: TypeError: ...]``; '' if not run."""
    v = f.verification
    if not v:
        return ""
    status = v["status"]
    if status == "timeout":
        return f" [timeout after {v['seconds']:g} s]"
    evidence = shorten(v.get("evidence", ""))
    if status == "inconclusive":
        return f" [inconclusive: {evidence}]"
    return f" [{status} on keras {v['keras_version']}" + (f": {evidence}]" if evidence else "]")


def shorten(text: str, limit: int = 100) -> str:
    """The first line, cut after its first sentence when it is long."""
    line = text.strip().splitlines()[0] if text.strip() else ""
    if len(line) <= limit:
        return line
    stop = line.find(". ")
    if 0 < stop < limit:
        return line[:stop] + "..."
    return line[:limit - 3] + "..."


ENGINE_RULES = {  # codes the engine itself reports: name, summary
    "TFS001": ("parse-error", "The file could not be read, decoded or parsed"),
    "TFS002": ("internal-error", "A rule failed on this file (a bug in tflint-save: please report it)"),
}


def rule_name(code: str) -> str:
    from tflint_save import catalog

    entry = catalog.get(code)
    return entry.name if entry else ENGINE_RULES.get(code, ("",))[0]


def statistics(findings: Sequence[Finding]) -> List[str]:
    """One line per code, most frequent first: ``count  CODE  name``."""
    counts = Counter(f.code for f in findings)
    lines = []
    for code, count in sorted(counts.items(), key=lambda item: (-item[1], item[0])):
        name = rule_name(code)
        lines.append(f"{count:<5} {code}  {name}".rstrip())
    return lines


def write_lines(lines: Sequence[str], stream: IO[str] = sys.stdout) -> None:
    for line in lines:
        stream.write(line + "\n")
