"""The rule catalog: ``rules/<CODE>.toml``, one entry per rule.

Each entry holds the rule's name, summary, the Keras versions it applies to, its
documentation (what, why, instead, when to leave it alone), bad and good examples, what
``--fix --unsafe-fixes`` makes of each bad example (``fixed``, for the rules that have a fix;
'' where the fixer leaves that example alone) and the verification snippet.  ``--explain``, ``docs/rules/<CODE>.md`` and the example tests
are all built from it.  In a checkout the catalog is ``rules/``; in an installed wheel it
is the package data ``tflint_save/rules``.

``python -m tflint_save.catalog [DIR]`` regenerates the Markdown docs (default docs/rules).
"""

from __future__ import annotations

import os
import re
import sys
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Dict, Optional, Tuple

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

# Codes the engine itself reports, with no rule class; their pages are rules/TFS001.toml and
# rules/TFS002.toml (marked engine = true).
PARSE_ERROR, INTERNAL_ERROR = "TFS001", "TFS002"
ENGINE_CODES = (PARSE_ERROR, INTERNAL_ERROR)

_REQUIRED = ("code", "name", "summary", "keras", "fix", "what", "why", "instead", "leave_alone", "bad", "good")
_ENGINE_REQUIRED = tuple(key for key in _REQUIRED if key not in ("bad", "good"))


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
    fixed: Tuple[str, ...] = ()  # per bad example: the fixed text, or '' when it is not fixed
    verify: Dict[str, str] = field(default_factory=dict, compare=False, hash=False)
    # Reported by the engine itself (TFS001, TFS002), not by a rule class: no examples needed.
    engine: bool = False
    # Only an explicit selection turns it on (``--extend-select TFS003``), never ``ALL``.
    opt_in: bool = False

    @property
    def url(self) -> Optional[str]:
        """The rule's page on the published docs (absolute), None when the base is unknown."""
        base = docs_base_url()
        return f"{base}{self.code}.md" if base else None

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
    missing = [key for key in (_ENGINE_REQUIRED if data.get("engine") else _REQUIRED) if key not in data]
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
        bad=_as_tuple(data.get("bad", [])),
        good=_as_tuple(data.get("good", [])),
        claims=tuple(data.get("claims", ())),
        example_keras=int(data.get("example_keras", 3)),
        fixed=_as_tuple(data["fixed"]) if "fixed" in data else (),
        verify=dict(data.get("verify", {})),
        engine=bool(data.get("engine", False)),
        opt_in=bool(data.get("opt_in", False)),
    )


@lru_cache(maxsize=1)
def every_entry() -> Dict[str, Entry]:
    """Every code's entry, the engine's (TFS001, TFS002) included, in code order."""
    folder = catalog_dir()
    found = {}
    for name in sorted(os.listdir(folder)):
        if name.endswith(".toml"):
            entry = load_entry(os.path.join(folder, name))
            found[entry.code] = entry
    return found


def entries() -> Dict[str, Entry]:
    """The entries of the rule classes (each with examples and a rule in tflint_save/checks)."""
    return {code: entry for code, entry in every_entry().items() if not entry.engine}


_FILE_MARK = re.compile(r"^# --- (\S+) ---$", re.M)


def example_files(example: str) -> Optional[Dict[str, str]]:
    """A multi-file example (a project: ``# --- layers.py ---`` before each file) as
    {relative path: source}; None for a one-file example."""
    marks = list(_FILE_MARK.finditer(example))
    if not marks:
        return None
    ends = [m.start() for m in marks[1:]] + [len(example)]
    return {m.group(1): example[m.end():end].strip("\n") + "\n" for m, end in zip(marks, ends)}


def get(code: str) -> Optional[Entry]:
    """The entry of a code (any code the tool reports), None when there is none."""
    return every_entry().get(code.upper())


def lookup(code_or_name: str) -> Optional[Entry]:
    """The entry named by a code (``TFS101``, any case) or a rule name (``save-weights-without-optimizer``)."""
    wanted = code_or_name.strip()
    found = get(wanted)
    if found is not None:
        return found
    return next((e for e in every_entry().values() if e.name == wanted.lower()), None)


@lru_cache(maxsize=1)
def docs_base_url() -> Optional[str]:
    """The ``Documentation`` URL of ``[project.urls]`` (pyproject.toml): from the installed
    package's metadata, else from the checkout's pyproject.toml beside the package."""
    try:
        from importlib.metadata import PackageNotFoundError, metadata

        for value in metadata("tflint-save").get_all("Project-URL") or ():
            label, _, url = value.partition(",")
            if label.strip().lower() == "documentation":
                return url.strip()
    except PackageNotFoundError:
        pass
    pyproject = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "pyproject.toml")
    try:
        with open(pyproject, "rb") as handle:
            return tomllib.load(handle)["project"]["urls"]["Documentation"]
    except (OSError, KeyError, ValueError):
        return None


def render(entry: Entry) -> str:
    """The Markdown page of one rule (also what --explain prints)."""
    out = [
        f"# {entry.code} {entry.name}",
        "",
        f"{entry.summary}",
        "",
        f"Applies to: {entry.versions}.{_availability(entry)}",
        "",
        "## What it does",
        "",
        entry.what,
        "",
        "## Why is this bad?",
        "",
        entry.why,
        "",
    ]
    if entry.bad:
        out += ["## Example", ""]
        for example, fixed in zip(entry.bad, entry.fixed + ("",) * len(entry.bad)):
            out += ["```python", example.strip("\n"), "```", ""]
            if fixed:
                out += ["Fixed by `tflint-save --fix` (with `--unsafe-fixes` when the fix changes behaviour):", "",
                        "```python", fixed.strip("\n"), "```", ""]
        out += ["Use instead:", "", entry.instead, ""]
    else:
        out += ["## What to do", "", entry.instead, ""]
    for example in entry.good:
        out += ["```python", example.strip("\n"), "```", ""]
    out += ["## When to leave it alone", "", entry.leave_alone, "", f"Fix in one line: {entry.fix}", ""]
    return "\n".join(out)


def _availability(entry: Entry) -> str:
    notes = []
    if entry.opt_in:
        notes.append(f" Opt-in: not part of the default selection (`--extend-select {entry.code}`).")
    if entry.engine:
        notes.append(" Reported by the engine itself, not by a rule.")
    return "".join(notes)


def render_index(all_entries: Dict[str, Entry]) -> str:
    out = ["# Rules", "", "| code | name | applies to | summary |", "|---|---|---|---|"]
    for entry in all_entries.values():
        out.append(f"| [{entry.code}]({entry.code}.md) | {entry.name} | {entry.versions} | {entry.summary} |")
    return "\n".join(out) + "\n"


def expected_docs() -> Dict[str, str]:
    """File name -> content of every generated page."""
    all_entries = every_entry()
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
