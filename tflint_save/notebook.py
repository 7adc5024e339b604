"""Jupyter notebooks: the code cells joined into one module, IPython syntax masked.

A notebook is linted as the Python module its code cells make, top to bottom (the order a
"run all" executes them).  Lines that are IPython rather than Python (``%magic``,
``%%cell magic``, ``!shell``, ``obj?`` and a few automagics such as ``pip install x``) are
replaced by ``pass`` (or a blank line) so the rest parses and every line keeps its number.
Findings come back as (cell, line in cell, column): cells are numbered from 1 counting
every cell, markdown included, as Jupyter shows them.

Plain ``json`` only: no nbformat, no Jupyter.
"""

from __future__ import annotations

import json
import json.decoder
import json.scanner
import re
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Any, Dict, List, Optional, Sequence, Tuple, Type

from tflint_save import modulefacts
from tflint_save.catalog import PARSE_ERROR
from tflint_save.engine import Rule, lint_text
from tflint_save.findings import FileResult, Finding

SUFFIX = ".ipynb"

# %%name cells whose body is still Python run at the top level.
_PYTHON_CELL_MAGICS = frozenset({"time", "timeit", "capture", "prun"})
# Line magics IPython runs without the % (automagic) and that are common in notebooks.
_AUTOMAGICS = (
    "pip", "conda", "mamba", "cd", "pwd", "ls", "cat", "mkdir", "rm", "cp", "mv", "env",
    "load_ext", "reload_ext", "matplotlib", "tensorflow_version", "run", "who", "whos", "history",
)
# `pip install x`: an automagic name, then something that cannot follow a name in Python.
_AUTOMAGIC = re.compile(r"(?:%s)\s+(?!(?:if|else|and|or|not|in|is)\b)(?:[\w'\"/~$]|\.\.)" % "|".join(_AUTOMAGICS))
_HELP = re.compile(r"\?{1,2}[\w.]*\s*|[\w.]+\?{1,2}\s*")  # ?obj, obj?, obj??
_ASSIGNED_MAGIC = re.compile(r"([A-Za-z_][\w.]*(?:\s*,\s*[A-Za-z_][\w.]*)*)\s*=\s*[!%]")
_NEWLINE = re.compile(r"\r\n|\r|\n")
# Positions inside parser messages: libcst's "at 3:4", Python's "on line 3".
_AT = re.compile(r"\bat (\d+):(\d+)|\bon line (\d+)")


class NotebookError(Exception):
    """Not a notebook we can read: becomes a TFS001 finding at (line, col) of the file."""

    def __init__(self, message: str, line: int = 1, col: int = 1):
        super().__init__(message)
        self.line = line
        self.col = col


@dataclass
class Notebook:
    text: str  # the joined, masked Python module
    rows: List[Tuple[int, int]] = field(default_factory=list)  # module line - 1 -> (cell, line in cell)
    cells: Dict[int, List[str]] = field(default_factory=dict)  # cell -> its source lines as written
    python: bool = True  # False for a notebook whose kernel is another language

    def locate(self, line: int, col: int) -> Tuple[Optional[int], int, int]:
        """(cell, line in cell, col) of a module position; cell None when outside every cell."""
        rows = self.rows
        if 0 < line <= len(rows):
            cell, row = rows[line - 1]
            return cell, row, col
        if rows and line > len(rows):  # the end of the module (an unclosed bracket...): the last cell
            cell, row = rows[-1]
            return cell, row + line - len(rows), col
        return None, line, col


def source_of(cell: Dict[str, Any]) -> str:
    source = cell.get("source", cell.get("input", ""))  # "input": nbformat 3
    if isinstance(source, list):
        return "".join(s for s in source if isinstance(s, str))
    return source if isinstance(source, str) else ""


def cells_of(document: Any) -> List[Dict[str, Any]]:
    if not isinstance(document, dict):
        raise NotebookError("not a Jupyter notebook: the top level is not a JSON object")
    cells = document.get("cells")
    if cells is None and isinstance(document.get("worksheets"), list):  # nbformat 3
        sheets = [sheet.get("cells", []) for sheet in document["worksheets"] if isinstance(sheet, dict)]
        if all(isinstance(sheet, list) for sheet in sheets):
            cells = [c for sheet in sheets for c in sheet]
    if not isinstance(cells, list):
        raise NotebookError("not a Jupyter notebook: no \"cells\" list")
    return [c if isinstance(c, dict) else {} for c in cells]


def _is_python(document: Dict[str, Any]) -> bool:
    metadata = document.get("metadata")
    if not isinstance(metadata, dict):
        return True
    for key, name in (("kernelspec", "language"), ("language_info", "name")):
        section = metadata.get(key)
        if isinstance(section, dict) and isinstance(section.get(name), str):
            return section[name].strip().lower() in ("python", "python3", "ipython", "ipython3")
    return True


def parse(text: str) -> Notebook:
    """The Python module a notebook's code cells make; NotebookError when it is not one."""
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise NotebookError(f"not valid JSON: {exc.msg}", exc.lineno, exc.colno) from None
    except RecursionError:
        raise NotebookError("not valid JSON: nested too deeply") from None
    cells = cells_of(document)
    notebook = Notebook("", python=_is_python(document))
    out: List[str] = []
    for number, cell in enumerate(cells, 1):
        if cell.get("cell_type", "code") != "code":
            continue
        lines = _NEWLINE.split(source_of(cell))
        if lines and lines[-1] == "":
            lines.pop()
        notebook.cells[number] = lines
        for row, line in enumerate(mask(lines), 1):
            out.append(line)
            notebook.rows.append((number, row))
    notebook.text = "\n".join(out) + "\n" if out else ""
    return notebook


def mask(lines: Sequence[str]) -> List[str]:
    """The cell's lines with IPython syntax replaced, one output line per input line."""
    first = next((i for i, line in enumerate(lines) if line.strip()), None)
    if first is not None and lines[first].lstrip().startswith("%%"):
        name = lines[first].lstrip()[2:].split(None, 1)
        if not name or name[0] not in _PYTHON_CELL_MAGICS:
            return [""] * len(lines)  # %%bash, %%writefile...: not Python
        lines = list(lines)
        lines[first] = ""
    out = []
    state = _Scan()
    continued = False  # the previous masked line ended with a backslash
    for line in lines:
        if continued or (state.at_statement_start() and _is_ipython(line)):
            indent = line[: len(line) - len(line.lstrip())]
            assigned = _ASSIGNED_MAGIC.match(line.lstrip())
            if continued:
                out.append("")
            elif assigned:
                out.append(f"{indent}{assigned.group(1)} = None")
            else:
                out.append(f"{indent}pass")
            continued = line.rstrip().endswith("\\")
            state.reset()
            continue
        out.append(line)
        state.feed(line)
    return out


def _is_ipython(line: str) -> bool:
    stripped = line.lstrip()
    if not stripped:
        return False
    if stripped[0] in "%!":
        return True
    if "?" in stripped and _HELP.fullmatch(stripped):
        return True
    if _ASSIGNED_MAGIC.match(stripped):
        return True
    return bool(_AUTOMAGIC.match(stripped))


class _Scan:
    """Just enough tokenizing to know whether a line starts a new statement: open brackets,
    open strings and backslash continuations mean it does not (``%`` there is modulo)."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.depth = 0
        self.quote: Optional[str] = None
        self.backslash = False

    def at_statement_start(self) -> bool:
        return self.depth == 0 and self.quote is None and not self.backslash

    def feed(self, line: str) -> None:
        i, n = 0, len(line)
        self.backslash = False
        while i < n:
            ch = line[i]
            if self.quote is not None:
                if ch == "\\":
                    i += 2
                    continue
                if line.startswith(self.quote, i):
                    i += len(self.quote)
                    self.quote = None
                    continue
                i += 1
                continue
            if ch == "#":
                break
            if ch in "\"'":
                triple = line[i:i + 3]
                self.quote = triple if triple in ('"""', "'''") else ch
                i += len(self.quote)
                continue
            if ch in "([{":
                self.depth += 1
            elif ch in ")]}":
                self.depth = max(0, self.depth - 1)
            elif ch == "\\" and i == n - 1:
                self.backslash = True
            i += 1
        if self.quote in ("'", '"') and not line.endswith("\\"):
            self.quote = None  # an unterminated one-line string: a syntax error, not our business


# -- linting ------------------------------------------------------------------------------

def lint(path: str, rules: Sequence[Type[Rule]], keras: int, text: Optional[str] = None,
         legacy: Optional[bool] = False) -> FileResult:
    """Lint a notebook (its file, or its JSON text); findings carry their cell and its line."""
    try:
        notebook = parse(read(path) if text is None else text)
    except NotebookError as exc:
        result = FileResult(path)
        result.findings.append(Finding(path, exc.line, exc.col, PARSE_ERROR, f"could not read notebook: {exc}"))
        return result
    if not notebook.python or not notebook.text:
        return FileResult(path, summary=summarize(path, notebook))
    result = lint_text(path, notebook.text, rules, keras, legacy)
    result.summary = summarize(path, notebook)
    result.findings = [place(notebook, f) for f in result.findings]
    for i, f in enumerate(result.findings):
        if f.code == PARSE_ERROR:  # the parser's message names positions in the joined module
            result.findings[i] = replace(f, message=_AT.sub(lambda m: _at(notebook, m), f.message))
    for pending in result.pending:
        pending.finding = place(notebook, pending.finding)
    return result


def summarize(path: str, notebook: Notebook) -> modulefacts.Summary:
    """The program model's summary of a notebook: its own program, its sites placed in their
    cells as findings are, and open when a cell runs other code (``%run``, ``exec``...)."""
    if not notebook.python:
        return modulefacts.Summary(path, notebook=True)
    found = modulefacts.summarize(path, notebook.text, notebook=True)
    runs_other_code = ("%run", "%load", "%%writefile")
    found.dynamic = found.dynamic or any(
        line.lstrip().startswith(runs_other_code) for lines in notebook.cells.values() for line in lines)
    placed = []
    for site in found.sites:
        cell, line, _ = notebook.locate(site.line, 1)
        placed.append(replace(site, line=line, cell=cell or 0))
    found.sites = placed
    return found


def _at(notebook: Notebook, match: "re.Match[str]") -> str:
    if match[3]:
        cell, line, _ = notebook.locate(int(match[3]), 1)
        return match[0] if cell is None else f"on cell {cell} line {line}"
    cell, line, col = notebook.locate(int(match[1]), int(match[2]))
    return match[0] if cell is None else f"at cell {cell}:{line}:{col}"


def place(notebook: Notebook, finding: Finding) -> Finding:
    cell, line, col = notebook.locate(finding.line, finding.col)
    end_line, end_col = finding.end_line, finding.end_col
    if end_line:
        end_cell, end_line, end_col = notebook.locate(end_line, end_col)
        if end_cell != cell:  # a range running into a later cell ends where it starts
            end_line, end_col = line, col
    return replace(finding, line=line, col=col, end_line=end_line, end_col=end_col, cell=cell)


def read(path: str) -> str:
    """A notebook file's text, decoded as JSON is (UTF-8, or UTF-16/32 by their BOM or zeros)."""
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError as exc:
        raise NotebookError(f"cannot read file: {exc.strerror or exc}") from None
    try:
        return data.decode(json.detect_encoding(data))
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise NotebookError(f"not valid {exc.encoding}: byte 0x{data[exc.start]:02x} at offset {exc.start}", line) from None


# -- positions in the .ipynb file itself (for SARIF and GitHub annotations) --------------

class _Located(str):
    """A decoded JSON string that remembers where its opening quote is in the file."""

    offset = 0


def _decoder() -> json.JSONDecoder:
    decoder = json.JSONDecoder()

    def parse_string(s: str, end: int, strict: bool = True):
        value, stop = json.decoder.scanstring(s, end, strict)
        located = _Located(value)
        located.offset = end - 1
        return located, stop

    decoder.parse_string = parse_string
    decoder.scan_once = json.scanner.py_make_scanner(decoder)  # the C scanner ignores parse_string
    return decoder


@lru_cache(maxsize=4)
def _located_cells(text: str) -> Optional[List[Dict[str, Any]]]:
    try:
        return cells_of(_decoder().decode(text))
    except (ValueError, NotebookError, RecursionError):
        return None


def file_position(text: str, cell: int, line: int, col: int) -> Optional[Tuple[int, int]]:
    """Where (cell, line, col) of a notebook is in the .ipynb text itself: (line, col), 1-based.

    None when the cell's source is not where the notebook's structure says (it changed)."""
    cells = _located_cells(text)
    if cells is None or not 0 < cell <= len(cells):
        return None
    source = cells[cell - 1].get("source", cells[cell - 1].get("input"))
    pieces = source if isinstance(source, list) else [source]
    joined = "".join(p for p in pieces if isinstance(p, str))
    starts = [0] + [m.end() for m in _NEWLINE.finditer(joined)]
    if not 0 < line <= len(starts):
        return None
    wanted = starts[line - 1] + col - 1
    seen = 0
    for piece in pieces:
        if not isinstance(piece, _Located):
            return None
        if wanted < seen + len(piece) or piece is pieces[-1]:
            offset = _raw_offset(text, piece.offset + 1, min(wanted - seen, len(piece)))
            row = text.count("\n", 0, offset) + 1
            return row, offset - (text.rfind("\n", 0, offset) + 1) + 1
        seen += len(piece)
    return None


def _raw_offset(text: str, start: int, chars: int) -> int:
    """The offset in the JSON text after the first ``chars`` decoded characters of a string."""
    i = start
    for _ in range(chars):
        if text[i] != "\\":
            i += 1
        elif text[i + 1] != "u":
            i += 2
        elif 0xD800 <= int(text[i + 2:i + 6], 16) < 0xDC00 and text[i + 6:i + 8] == "\\u":
            i += 12  # a surrogate pair is one character
        else:
            i += 6
    return i
