"""The lines ruff prints around a report, in its words with ours ("finding" for "error").

Checked against ruff 0.17 (``ruff check``): after the report ``Found 4 errors.`` and
``[*] 3 fixable with `--fix` (1 unsafe fix available with `--fix --unsafe-fixes`).``, or
``All checks passed!``; after ``--fix`` ``Found 3 errors (2 fixed, 1 remaining).``; after
``--diff`` ``Would fix 2 errors (1 additional fix available with `--unsafe-fixes`).`` or
``No errors would be fixed (1 fix available with `--unsafe-fixes`).``; ``--statistics``
rows ``count<TAB>code<TAB>[*] name``, most frequent first.
"""

from __future__ import annotations

from collections import Counter
from typing import Any, Dict, List, Optional, Sequence, Tuple

from tflint_save.findings import Finding

SAFE = "safe"


def plural(n: int, word: str, many: str = "") -> str:
    return f"{n} {word if n == 1 else many or word + 's'}"


def applicable(f: Finding, unsafe_fixes: bool) -> bool:
    """Whether --fix (with --unsafe-fixes when given) would apply the finding's fix: ruff's ``[*]``."""
    return bool(f.fix) and (f.fix["applicability"] == SAFE or unsafe_fixes)


def fix_counts(findings: Sequence[Finding], unsafe_fixes: bool) -> Tuple[int, int]:
    """(fixable now, fixable only with --unsafe-fixes)."""
    fixable = sum(1 for f in findings if applicable(f, unsafe_fixes))
    hidden = sum(1 for f in findings if f.fix and not applicable(f, unsafe_fixes))
    return fixable, hidden


def _fixable_line(fixable: int, hidden: int) -> List[str]:
    unsafe = f"{plural(hidden, 'unsafe fix', 'unsafe fixes')} available with `--fix --unsafe-fixes`"
    if fixable:
        return [f"[*] {fixable} fixable with `--fix`" + (f" ({unsafe})" if hidden else "") + "."]
    return [unsafe[0].upper() + unsafe[1:] + "."] if hidden else []


def found(findings: Sequence[Finding], unsafe_fixes: bool, fixed: Optional[int] = None) -> List[str]:
    """The closing lines of a run; ``fixed``: how many --fix fixed (None without --fix)."""
    if not findings and not fixed:
        return ["All checks passed!"]
    if fixed:
        head = f"Found {plural(fixed + len(findings), 'finding')} ({fixed} fixed, {len(findings)} remaining)."
    else:
        head = f"Found {plural(len(findings), 'finding')}."
    return [head] + _fixable_line(*fix_counts(findings, unsafe_fixes))


def would_fix(fixed: int, findings: Sequence[Finding], unsafe_fixes: bool) -> Optional[str]:
    """--diff's line on stderr, None when there is nothing to say (no fix at all)."""
    hidden = fix_counts(findings, unsafe_fixes)[1]
    more = f"{plural(hidden, 'fix', 'fixes')} available with `--unsafe-fixes`"
    if fixed:
        extra = f" ({hidden} additional {'fix' if hidden == 1 else 'fixes'} available with `--unsafe-fixes`)"
        return f"Would fix {plural(fixed, 'finding')}{extra if hidden else ''}."
    return f"No findings would be fixed ({more})." if hidden else None


def statistics_records(findings: Sequence[Finding], unsafe_fixes: bool, names: Dict[str, str]) -> List[Dict[str, Any]]:
    """One record per code, most frequent first (then by code): ruff's JSON statistics."""
    counts = Counter(f.code for f in findings)
    fixable = Counter(f.code for f in findings if applicable(f, unsafe_fixes))
    return [
        {"code": code, "name": names.get(code, ""), "count": count, "fixable": fixable[code] > 0,
         "fixable_count": fixable[code]}
        for code, count in sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    ]


def statistics_lines(records: Sequence[Dict[str, Any]], header: bool = False) -> List[str]:
    """``count<TAB>code<TAB>[*] name`` per code, as ruff prints them; ``header`` names the
    columns (on a terminal only: piped, the rows stay what scripts that read ruff's expect)."""
    width = max((len(r["code"]) for r in records), default=4)
    rows = [f"{r['count']}\t{r['code']:<{width}}\t[{'*' if r['fixable'] else ' '}] {r['name']}".rstrip()
            for r in records]
    if header and records:
        rows.insert(0, f"count\t{'code':<{width}}\tfix name")
    return rows
