"""The rule catalog: ``rules/<CODE>.toml``, one entry per rule.

Each entry holds the rule's name, summary, the Keras versions it applies to, its
documentation (what, why, instead, when to leave it alone), bad and good examples and
the verification snippet.  ``--explain``, ``docs/rules/<CODE>.md`` and the example tests
are all built from it.  In a checkout the catalog is ``rules/``; in an installed wheel it
is the package data ``tflint_save/rules``.

``python -m tflint_save.catalog [DIR]`` regenerates the Markdown docs (default docs/rules).
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Dict, Optional, Tuple

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

# Codes the engine itself reports, with no rule class and no rules/ entry: name, summary.
PARSE_ERROR, INTERNAL_ERROR = "TFS001", "TFS002"
ENGINE_RULES = {
    PARSE_ERROR: ("parse-error", "The file could not be read, decoded or parsed"),
    INTERNAL_ERROR: ("internal-error", "A rule failed on this file (a bug in tflint-save: please report it)"),
}

# Relative to the repository root: the project has no published site yet.
DOCS_URL = "docs/rules/{code}.md"
_REQUIRED = ("code", "name", "summary", "keras", "fix", "what", "why", "instead", "leave_alone", "bad", "good")


@dataclass(frozen=True)
class Entry:
    code: str
    name: str
    summary: str
    keras: Tuple[int, ...]
    fix: str
    what: str
    why: str
    instead: str
    leave_alone: str
    bad: Tuple[str, ...]
    good: Tuple[str, ...]
    claims: Tuple[str, ...] = ()
    example_keras: int = 3
    verify: Dict[str, str] = field(default_factory=dict, compare=False, hash=False)

    @property
    def url(self) -> str:
        return DOCS_URL.format(code=self.code)

    @property
    def versions(self) -> str:
        if set(self.keras) == {2, 3}:
            return "Keras 2 and Keras 3"
        return " and ".join(f"Keras {v}" for v in self.keras) + " only"


def catalog_dir() -> str:
    here = os.path.dirname(os.path.abspath(__file__))
    packaged = os.path.join(here, "rules")
    if os.path.isdir(packaged):
        return packaged
    return os.path.join(os.path.dirname(here), "rules")


def _as_tuple(value) -> Tuple[str, ...]:
    return tuple(value) if isinstance(value, list) else (value,)


def load_entry(path: str) -> Entry:
    with open(path, "rb") as handle:
        data = tomllib.load(handle)
    missing = [key for key in _REQUIRED if key not in data]
    if missing:
        raise ValueError(f"{path}: missing {', '.join(missing)}")
    return Entry(
        code=data["code"],
        name=data["name"],
        summary=data["summary"],
        keras=tuple(data["keras"]),
        fix=data["fix"],
        what=data["what"].strip(),
        why=data["why"].strip(),
        instead=data["instead"].strip(),
        leave_alone=data["leave_alone"].strip(),
        bad=_as_tuple(data["bad"]),
        good=_as_tuple(data["good"]),
        claims=tuple(data.get("claims", ())),
        example_keras=int(data.get("example_keras", 3)),
        verify=dict(data.get("verify", {})),
    )


@lru_cache(maxsize=1)
def entries() -> Dict[str, Entry]:
    folder = catalog_dir()
    found = {}
    for name in sorted(os.listdir(folder)):
        if name.endswith(".toml"):
            entry = load_entry(os.path.join(folder, name))
            found[entry.code] = entry
    return found


def get(code: str) -> Optional[Entry]:
    return entries().get(code.upper())


def render(entry: Entry) -> str:
    """The Markdown page of one rule (also what --explain prints)."""
    claims = f" Observed behaviour: claims {', '.join(entry.claims)} of the project's TF facts." if entry.claims else ""
    out = [
        f"# {entry.code} {entry.name}",
        "",
        f"{entry.summary}",
        "",
        f"Applies to: {entry.versions}.{claims}",
        "",
        "## What it does",
        "",
        entry.what,
        "",
        "## Why is this bad?",
        "",
        entry.why,
        "",
        "## Example",
        "",
    ]
    for example in entry.bad:
        out += ["```python", example.strip("\n"), "```", ""]
    out += ["Use instead:", "", entry.instead, ""]
    for example in entry.good:
        out += ["```python", example.strip("\n"), "```", ""]
    out += ["## When to leave it alone", "", entry.leave_alone, "", f"Fix in one line: {entry.fix}", ""]
    return "\n".join(out)


def render_index(all_entries: Dict[str, Entry]) -> str:
    out = ["# Rules", "", "| code | name | applies to | summary |", "|---|---|---|---|"]
    for entry in all_entries.values():
        out.append(f"| [{entry.code}]({entry.code}.md) | {entry.name} | {entry.versions} | {entry.summary} |")
    return "\n".join(out) + "\n"


def expected_docs() -> Dict[str, str]:
    """File name -> content of every generated page."""
    all_entries = entries()
    pages = {f"{code}.md": render(entry) for code, entry in all_entries.items()}
    pages["README.md"] = render_index(all_entries)
    return pages


def write_docs(folder: str) -> None:
    os.makedirs(folder, exist_ok=True)
    for name, text in expected_docs().items():
        with open(os.path.join(folder, name), "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)


if __name__ == "__main__":
    write_docs(sys.argv[1] if len(sys.argv) > 1 else os.path.join("docs", "rules"))
