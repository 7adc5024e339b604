"""The rules as data: ``--list-rules`` (a table, or JSON) and ``--explain CODE|NAME``."""

from __future__ import annotations

import json
from typing import Any, Dict, List, Optional, Tuple

from tflint_save import catalog

LIST_HINT = "run 'tflint-save --list-rules' to see every code and name"


def fix_kind(code: str) -> Optional[str]:
    """'safe' or 'unsafe' when the rule has a fixer (it may still leave some findings unfixed), else None."""
    from tflint_save import fix

    found = fix.FIXERS.get(code)
    return found[0] if found else None


def rule_record(entry: catalog.Entry) -> Dict[str, Any]:
    """One rule as ``--list-rules --output-format json`` gives it."""
    kind = fix_kind(entry.code)
    return {
        "code": entry.code,
        "name": entry.name,
        "keras": list(entry.keras),
        "fixable": kind is not None,
        "fix": kind,
        "opt_in": entry.opt_in,
        "engine": entry.engine,
        "summary": entry.summary,
        "url": entry.url,
    }


def list_rules(fmt: str) -> str:
    """Every code the tool reports, in code order: a table (``concise``/``full``) or JSON."""
    records = [rule_record(entry) for entry in catalog.every_entry().values()]
    if fmt == "json":
        return json.dumps(records, indent=2, ensure_ascii=False) + "\n"
    rows: List[Tuple[str, ...]] = [("code", "name", "keras", "fix", "summary")]
    for r in records:
        note = " (opt-in)" if r["opt_in"] else ""
        rows.append((r["code"], r["name"], ", ".join(map(str, r["keras"])), r["fix"] or "-", r["summary"] + note))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    return "".join("  ".join(cell.ljust(w) for cell, w in zip(row, widths)) + "  " + row[-1] + "\n" for row in rows)


def explain(code_or_name: str) -> Tuple[Optional[str], Optional[str]]:
    """(the rule's page, None), or (None, an error naming what to run instead)."""
    entry = catalog.lookup(code_or_name)
    if entry is None:
        return None, f"unknown rule code or name {code_or_name!r}; {LIST_HINT}"
    return catalog.render(entry), None
