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


def concise(findings: Sequence[Finding], color: bool) -> List[str]:
    """flake8's ``path:line:col: CODE message``."""
    if not color:
        return [f"{f.path}:{f.line}:{f.col}: {f.code} {f.message}" for f in findings]
    from colorama import Fore, Style

    return [
        f"{Style.BRIGHT}{f.path}{Style.RESET_ALL}:{f.line}:{f.col}: "
        f"{Fore.RED}{Style.BRIGHT}{f.code}{Style.RESET_ALL} {f.message}"
        for f in findings
    ]


def statistics(findings: Sequence[Finding]) -> List[str]:
    """One line per code, most frequent first: ``count  CODE  name``."""
    from tflint_save import catalog

    counts = Counter(f.code for f in findings)
    lines = []
    for code, count in sorted(counts.items(), key=lambda item: (-item[1], item[0])):
        entry = catalog.get(code)
        name = entry.name if entry else {"TFS001": "parse-error", "TFS002": "internal-error"}.get(code, "")
        lines.append(f"{count:<5} {code}  {name}".rstrip())
    return lines


def write_lines(lines: Sequence[str], stream: IO[str] = sys.stdout) -> None:
    for line in lines:
        stream.write(line + "\n")
