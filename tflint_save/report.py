"""Writing findings for people and tools: ``--output-format`` concise, full, json, sarif, github,
gitlab, junit.

``render`` turns a run's findings into the report text; ``statistics`` counts them per code.
"""

from __future__ import annotations

import json
import os
import sys
from collections import Counter
from functools import lru_cache
from typing import IO, Any, Dict, List, Mapping, Optional, Sequence, Tuple

from tflint_save import __version__, catalog
from tflint_save.findings import Finding

FORMATS = ("concise", "full", "json", "sarif", "github", "gitlab", "junit")
SARIF_SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"


def render(findings: Sequence[Finding], fmt: str, color: bool = False,
           texts: Optional[Mapping[str, str]] = None, unsafe_fixes: bool = False) -> str:
    """The whole report.  ``texts``: file contents to use instead of reading the path (stdin).
    ``unsafe_fixes``: --unsafe-fixes was given, so ``[*]`` marks unsafe fixes too (as ruff's)."""
    sources = Sources(texts or {})
    if fmt == "concise":
        lines = concise(findings, color, unsafe_fixes)
    elif fmt == "full":
        lines = full(findings, color, sources, unsafe_fixes)
    elif fmt == "github":
        lines = github(findings, sources)
    elif fmt == "json":
        return json.dumps([as_json(f) for f in findings], indent=2, ensure_ascii=False) + "\n"
    elif fmt == "sarif":
        return json.dumps(sarif(findings, sources), indent=2, ensure_ascii=False) + "\n"
    elif fmt == "gitlab":
        return json.dumps(gitlab(findings, sources), indent=2, ensure_ascii=False) + "\n"
    elif fmt == "junit":
        return junit(findings)
    else:
        raise ValueError(f"unknown output format {fmt!r}")
    return "".join(line + "\n" for line in lines)


class Sources:
    """Source lines for the report, read once per file (only formats that show code read any)."""

    def __init__(self, texts: Mapping[str, str]):
        self.texts = dict(texts)

    def text(self, path: str) -> Optional[str]:
        if path not in self.texts:
            from tflint_save import notebook, source

            try:
                self.texts[path] = notebook.read(path) if path.endswith(notebook.SUFFIX) else source.read(path)[1]
            except (notebook.NotebookError, source.SourceError):
                self.texts[path] = None
        return self.texts[path]

    def line(self, f: Finding) -> Optional[str]:
        """The finding's line as the user wrote it (in a notebook: of its cell)."""
        text = self.text(f.path)
        if text is None:
            return None
        if f.cell is not None:
            lines = _cells(text).get(f.cell, [])
        else:
            lines = _lines(text)
        return lines[f.line - 1] if 0 < f.line <= len(lines) else None

    def file_position(self, f: Finding) -> Tuple[int, int]:
        """(line, col) in the file itself: for a notebook finding, inside the .ipynb JSON."""
        if f.cell is None:
            return f.line, f.col
        from tflint_save import notebook

        text = self.text(f.path)
        found = notebook.file_position(text, f.cell, f.line, f.col) if text is not None else None
        return found or (1, 1)


@lru_cache(maxsize=16)
def _lines(text: str) -> List[str]:
    # Lines as the engine counts them (positions.py counts "\n" only).
    return [line[:-1] if line.endswith("\r") else line for line in text.split("\n")]


@lru_cache(maxsize=16)
def _cells(text: str) -> Dict[int, List[str]]:
    from tflint_save import notebook

    try:
        return notebook.parse(text).cells
    except notebook.NotebookError:
        return {}


# -- full ---------------------------------------------------------------------------------

def full(findings: Sequence[Finding], color: bool, sources: Sources, unsafe_fixes: bool = False) -> List[str]:
    """The concise line, then the source line with carets under the finding and the fix hint."""
    out: List[str] = []
    red = reset = ""
    if color:
        from colorama import Fore, Style

        red, reset = Fore.RED + Style.BRIGHT, Style.RESET_ALL
    for f, head in zip(findings, concise(findings, color, unsafe_fixes)):
        out.append(head)
        line = sources.line(f)
        if line is not None:
            number = str(f.line)
            gutter = " " * len(number)
            start = min(max(f.col - 1, 0), len(line))
            if f.end_line == f.line and f.end_col > f.col:
                end = f.end_col - 1
            else:  # to the end of the line when the finding spans lines; one caret when its end is unknown
                end = len(line.rstrip()) if f.end_line > f.line else start + 1
            width = max(1, end - start)
            # Keep tabs so the carets line up under the code whatever the tab width.
            pad = "".join(ch if ch == "\t" else " " for ch in line[:start])
            out += [f"{gutter} |", f"{number} | {line}", f"{gutter} | {pad}{red}{'^' * width}{reset}"]
        entry = catalog.get(f.code)
        if entry is not None:
            out.append(f"{' ' * len(str(f.line))} = fix: {entry.fix}")
        out.append("")
    return out


# -- json ---------------------------------------------------------------------------------

def fix_of(finding: Finding) -> Optional[Dict[str, Any]]:
    """The JSON ``fix`` member: ``{"applicability": "safe" | "unsafe", "message"}`` as fix.attach
    put it on the finding, None when the finding offers no fix."""
    return dict(finding.fix) if finding.fix else None


def verification_of(finding: Finding) -> Optional[Dict[str, Any]]:
    """What ``--verify`` observed for this finding (status, evidence, versions), None when it did not run."""
    return dict(finding.verification) if finding.verification else None


def as_json(f: Finding) -> Dict[str, Any]:
    entry = catalog.get(f.code)
    end = {"row": f.end_line, "column": f.end_col} if f.end_line else {"row": f.line, "column": f.col}
    return {
        "code": f.code,
        "name": rule_name(f.code),
        "message": f.message,
        "filename": f.path,
        "cell": f.cell,
        "location": {"row": f.line, "column": f.col},
        "end_location": end,
        "url": entry.url if entry else None,
        "fix": fix_of(f),
        "verification": verification_of(f),
    }


# -- sarif --------------------------------------------------------------------------------

def _descriptor(code: str) -> Dict[str, Any]:
    entry = catalog.get(code)
    parts = [entry.summary, entry.what, entry.why, entry.instead, f"Fix: {entry.fix}"]
    descriptor = {
        "id": code,
        "name": entry.name,
        "shortDescription": {"text": entry.summary},
        "fullDescription": {"text": entry.what},
        "help": {"text": "\n\n".join(parts), "markdown": catalog.render(entry)},
        "defaultConfiguration": {"level": "error"},
        "properties": {"tags": ["tensorflow", "keras"], "keras": list(entry.keras)},
    }
    if entry.url:
        descriptor["helpUri"] = entry.url
    return descriptor


def _uri(path: str) -> Tuple[str, Optional[str]]:
    """(uri, uriBaseId): relative to the working directory (the checkout in CI) when possible."""
    from urllib.parse import quote

    absolute = os.path.abspath(path)
    rel = os.path.relpath(absolute)
    if not rel.startswith(os.pardir):
        return quote(rel.replace(os.sep, "/")), "%SRCROOT%"
    return _file_uri(absolute), None


def _file_uri(absolute: str) -> str:
    # urllib.request pulls in http.client, ssl and socket (~10 ms): only SARIF pays for it.
    from urllib.request import pathname2url

    return "file://" + pathname2url(absolute)


def sarif(findings: Sequence[Finding], sources: Sources) -> Dict[str, Any]:
    """A SARIF 2.1.0 log that GitHub code scanning accepts (upload-sarif)."""
    codes = sorted(catalog.every_entry())
    index = {code: i for i, code in enumerate(codes)}
    results = []
    for f in findings:
        line, col = sources.file_position(f)
        region: Dict[str, Any] = {"startLine": line, "startColumn": col}
        if f.end_line and f.cell is None:
            region.update(endLine=f.end_line, endColumn=f.end_col)
        uri, base = _uri(f.path)
        location: Dict[str, Any] = {"uri": uri}
        if base:
            location["uriBaseId"] = base
        result: Dict[str, Any] = {
            "ruleId": f.code,
            "ruleIndex": index[f.code],
            "level": "error",
            "message": {"text": f.message},
            "locations": [{"physicalLocation": {"artifactLocation": location, "region": region}}],
        }
        properties: Dict[str, Any] = {}
        if f.cell is not None:
            properties.update(cell=f.cell, cellLine=f.line, cellColumn=f.col)
        if f.verification:
            properties["verification"] = verification_of(f)
        if properties:
            result["properties"] = properties
        results.append(result)
    run = {
        "tool": {"driver": {
            "name": "tflint-save",
            "version": __version__,
            "semanticVersion": __version__,
            "rules": [_descriptor(code) for code in codes],
        }},
        "originalUriBaseIds": {"%SRCROOT%": {"uri": _file_uri(os.getcwd().rstrip(os.sep) + os.sep)}},
        "columnKind": "unicodeCodePoints",
        "results": results,
    }
    return {"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": [run]}


# -- gitlab -------------------------------------------------------------------------------

def _relative(path: str) -> str:
    """The path from the working directory (the checkout in CI), with '/'; as given when outside it."""
    rel = os.path.relpath(os.path.abspath(path))
    return (path if rel.startswith(os.pardir) else rel).replace(os.sep, "/")


def gitlab(findings: Sequence[Finding], sources: Sources) -> List[Dict[str, Any]]:
    """A GitLab Code Quality report (artifacts:reports:codequality): GitLab's subset of the Code
    Climate issue format.  The fingerprint leaves the line out, so an unchanged finding keeps it
    when code above it moves; identical findings in one file are told apart by their order."""
    import hashlib

    seen: Counter = Counter()
    issues = []
    for f in findings:
        path = _relative(f.path)
        line, col = sources.file_position(f)
        end = {"line": f.end_line, "column": f.end_col} if f.end_line and f.cell is None else {"line": line, "column": col}
        key = (path, f.code, f.message)
        seen[key] += 1
        digest = hashlib.blake2b("\0".join(key + (str(seen[key]),)).encode("utf-8", "surrogateescape"), digest_size=16)
        entry = catalog.get(f.code)
        issue: Dict[str, Any] = {
            "type": "issue",
            "check_name": f.code,
            "description": f"{f.code}: {f.message}",
            "categories": ["Bug Risk"],
            "severity": "major",
            "fingerprint": digest.hexdigest(),
            "location": {"path": path, "positions": {"begin": {"line": line, "column": col}, "end": end}},
        }
        if entry is not None and entry.url:
            issue["content"] = {"body": f"{entry.summary}. See [{f.code} {entry.name}]({entry.url})."}
        issues.append(issue)
    return issues


# -- junit --------------------------------------------------------------------------------

def junit(findings: Sequence[Finding]) -> str:
    """A JUnit XML report: one test suite per file, one failed test case per finding (a clean
    run is one passing case), as ruff writes it, which CI servers show as test results."""
    from xml.etree import ElementTree as ET

    by_path: Dict[str, List[Finding]] = {}
    for f in findings:
        by_path.setdefault(f.path, []).append(f)
    total = str(len(findings) or 1)
    root = ET.Element("testsuites", name="tflint-save", tests=total, failures=str(len(findings)), errors="0",
                      skipped="0")
    if not findings:
        suite = ET.SubElement(root, "testsuite", name="tflint-save", tests="1", failures="0", errors="0", skipped="0")
        ET.SubElement(suite, "testcase", name="No findings", classname="tflint-save")
    for path, found in by_path.items():
        shown = _relative(path)
        suite = ET.SubElement(root, "testsuite", name=shown, tests=str(len(found)), failures=str(len(found)),
                              errors="0", skipped="0")
        for f in found:
            case = ET.SubElement(suite, "testcase", name=f"{f.code} {rule_name(f.code)}".rstrip(),
                                 classname=os.path.splitext(shown)[0].replace("/", "."), file=shown,
                                 line=str(f.line))
            failure = ET.SubElement(case, "failure", message=f.message, type=f.code)
            entry = catalog.get(f.code)
            failure.text = f"{shown}:{position(f)}: {f.code} {f.message}" + (f"\n{entry.url}" if entry and entry.url else "")
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


# -- github -------------------------------------------------------------------------------

def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def github(findings: Sequence[Finding], sources: Sources) -> List[str]:
    """GitHub Actions workflow commands: each finding becomes an annotation on its line."""
    out = []
    for f in findings:
        line, col = sources.file_position(f)
        props = [f"file={_escape_property(f.path.replace(os.sep, '/'))}", f"line={line}", f"col={col}"]
        if f.end_line and f.cell is None:
            props += [f"endLine={f.end_line}", f"endColumn={f.end_col}"]
        props.append(f"title={_escape_property(f.code)}")
        where = f"cell {f.cell}:{f.line}:{f.col}: " if f.cell is not None else ""
        out.append(f"::error {','.join(props)}::{_escape_data(where + f.message)}")
    return out


# -- concise, and what every format shares -----------------------------------------------

def use_color(choice: str, stream: IO[str]) -> bool:
    if choice == "always":
        return True
    if choice == "never":
        return False
    return bool(getattr(stream, "isatty", lambda: False)()) and not os.environ.get("NO_COLOR")


def position(f: Finding) -> str:
    """``line:col``, or ``cell 3:line:col`` in a notebook."""
    return f"{f.line}:{f.col}" if f.cell is None else f"cell {f.cell}:{f.line}:{f.col}"


def concise(findings: Sequence[Finding], color: bool, unsafe_fixes: bool = False) -> List[str]:
    """flake8's ``path:line:col: CODE message`` (``path:cell 3:line:col: ...`` in notebooks), with
    ruff's ``[*]`` after the code when ``--fix`` would fix it."""
    from tflint_save.summary import applicable

    if not color:
        return [f"{f.path}:{position(f)}: {f.code} {'[*] ' if applicable(f, unsafe_fixes) else ''}"
                f"{f.message}{verified(f)}" for f in findings]
    from colorama import Fore, Style

    star = f"[{Fore.CYAN}*{Style.RESET_ALL}] "
    return [
        f"{Style.BRIGHT}{f.path}{Style.RESET_ALL}:{position(f)}: "
        f"{Fore.RED}{Style.BRIGHT}{f.code}{Style.RESET_ALL} {star if applicable(f, unsafe_fixes) else ''}"
        f"{f.message}{verified(f)}"
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


def rule_name(code: str) -> str:
    entry = catalog.get(code)
    return entry.name if entry else ""


def statistics(findings: Sequence[Finding], fmt: str = "concise", unsafe_fixes: bool = False,
               header: bool = False) -> str:
    """--statistics in place of the report, as ruff prints it: JSON records with
    ``--output-format json``, else ``count<TAB>code<TAB>[*] name`` rows (see summary.py)."""
    from tflint_save import summary

    names = {code: rule_name(code) for code in {f.code for f in findings}}
    records = summary.statistics_records(findings, unsafe_fixes, names)
    if fmt == "json":
        return json.dumps(records, indent=2, ensure_ascii=False) + "\n"
    return "".join(line + "\n" for line in summary.statistics_lines(records, header))


def write_lines(lines: Sequence[str], stream: IO[str] = sys.stdout) -> None:
    for line in lines:
        stream.write(line + "\n")
