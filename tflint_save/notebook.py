"""Jupyter notebooks: the code cells as IPython runs them, joined into one module.

A notebook is linted as the Python module its code cells make, top to bottom (the order a
"run all" executes them).  Each cell first goes through IPython's own input transformations
(``ipysyntax``: indentation, prompts, magics, shell escapes, help, automagic, cell magics),
line for line, so every finding keeps its cell, line and column.  Findings come back as
(cell, line in cell, column): cells are numbered from 1 counting every cell, markdown
included, as Jupyter shows them.

A cell that still does not parse is one TFS001 finding for that cell, and the other cells are
linted without it (IPython runs them too).  A ``%%writefile x.py`` cell is linted as the module
``x.py`` beside the notebook: its findings point at the cell, its classes and functions are
the project's (``FileResult.modules``), so the cells that import it see them.

Plain ``json`` only: no nbformat, no IPython, no Jupyter.
"""

from __future__ import annotations

import json
import json.decoder
import json.scanner
import os
import re
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple, Type

from tflint_save import ipysyntax, modulefacts, notebookenv, safeparse
from tflint_save.catalog import PARSE_ERROR
from tflint_save.engine import Rule, lint_text, parse_error
from tflint_save.findings import FileResult, Finding

SUFFIX = ".ipynb"

_NEWLINE = re.compile(r"\r\n|\r|\n")
# Positions inside parser messages: libcst's "at 3:4", Python's "on line 3".
_AT = re.compile(r"\bat (\d+):(\d+)|\bon line (\d+)")
KNOWN_NBFORMATS = (3, 4)


class NotebookError(Exception):
    """Not a notebook we can read: becomes a TFS001 finding at (line, col) of the file."""

    def __init__(self, message: str, line: int = 1, col: int = 1):
        super().__init__(message)
        self.line = line
        self.col = col


@dataclass(frozen=True)
class Problem:
    """A part of the notebook we cannot read (a malformed cell...): a TFS001 finding there."""

    cell: Optional[int]  # None: the notebook as a whole
    message: str
    line: int = 1
    col: int = 1


@dataclass
class Notebook:
    text: str  # the joined module: every code cell as IPython runs it
    rows: List[Tuple[int, int]] = field(default_factory=list)  # module line - 1 -> (cell, line in cell)
    cells: Dict[int, List[str]] = field(default_factory=dict)  # cell -> its source lines as written
    python: bool = True  # False for a notebook whose kernel is another language
    code: Dict[int, ipysyntax.Cell] = field(default_factory=dict)  # cell -> as IPython runs it
    problems: List[Problem] = field(default_factory=list)
    writes: List[Tuple[int, ipysyntax.Write]] = field(default_factory=list)  # (cell, %%writefile)

    def locate(self, line: int, col: int) -> Tuple[Optional[int], int, int]:
        """(cell, line in cell, col) of a module position; cell None when outside every cell."""
        return _locate(self.rows, self.code, line, col)


def _locate(rows: List[Tuple[int, int]], code: Dict[int, ipysyntax.Cell], line: int,
            col: int) -> Tuple[Optional[int], int, int]:
    if 0 < line <= len(rows):
        cell, row = rows[line - 1]
        return cell, row, code[cell].column(row, col) if cell in code else col
    if rows and line > len(rows):  # the end of the module (an unclosed bracket...): the last cell
        cell, row = rows[-1]
        return cell, row + line - len(rows), col
    return None, line, col


def cells_of(document: Any) -> List[Any]:
    """The notebook's cells as found (nbformat 4 ``cells``, or nbformat 3 worksheets)."""
    if not isinstance(document, dict):
        raise NotebookError("not a Jupyter notebook: the top level is not a JSON object")
    cells = document.get("cells")
    if cells is None and isinstance(document.get("worksheets"), list):  # nbformat 3
        sheets = [sheet.get("cells", []) for sheet in document["worksheets"] if isinstance(sheet, dict)]
        if all(isinstance(sheet, list) for sheet in sheets):
            cells = [c for sheet in sheets for c in sheet]
    if not isinstance(cells, list):
        raise NotebookError("not a Jupyter notebook: no \"cells\" list")
    return cells


def _is_python(document: Dict[str, Any]) -> bool:
    metadata = document.get("metadata")
    if not isinstance(metadata, dict):
        return True
    for key, name in (("kernelspec", "language"), ("language_info", "name")):
        section = metadata.get(key)
        if isinstance(section, dict) and isinstance(section.get(name), str):
            return section[name].strip().lower() in ("python", "python3", "ipython", "ipython3")
    return True


def _nbformat_problem(document: Dict[str, Any]) -> Optional[Problem]:
    version = document.get("nbformat")
    if version is None:
        if "cells" in document or "worksheets" in document:
            return None  # hand-written notebooks often leave it out; the cells say enough
        version = "missing"
    if isinstance(version, bool) or not isinstance(version, int) or version not in KNOWN_NBFORMATS:
        return Problem(None, f"unknown nbformat {json.dumps(version)}: tflint-save reads nbformat 3 and 4 "
                             "(its cells were read as nbformat 4)")
    return None


def cell_lines(source: Any) -> Optional[List[str]]:
    """A cell's source as lines (no line ends); None when it is not a string or list of strings."""
    if isinstance(source, list) and all(isinstance(s, str) for s in source):
        source = "".join(source)
    if not isinstance(source, str):
        return None
    lines = _NEWLINE.split(source)
    if lines and lines[-1] == "":
        lines.pop()
    return lines


def _malformed(number: int, cell: Any) -> Optional[str]:
    """Why a cell cannot be read, or None (markdown and raw cells need nothing more)."""
    if not isinstance(cell, dict):
        return f"cell {number} is not a JSON object"
    kind = cell.get("cell_type")
    if kind is None:
        return f"cell {number} has no \"cell_type\""
    if not isinstance(kind, str):
        return f"cell {number}: \"cell_type\" is not a string"
    if kind != "code":
        return None
    if "source" not in cell and "input" not in cell:
        return f"code cell {number} has no \"source\""
    key = "source" if "source" in cell else "input"
    if cell_lines(cell[key]) is None:
        return f"code cell {number}: \"{key}\" is not a string or a list of strings"
    return None


def _integer(digits: str) -> object:
    return int(digits) if len(digits) < 4000 else float(digits)


def parse(text: str) -> Notebook:
    """The Python module a notebook's code cells make; NotebookError when it is not a notebook."""
    try:
        # An integer past Python's digit limit (an execution count, an output) would raise
        # ValueError; no number in a notebook matters to the linter.
        document = json.loads(text, parse_int=_integer)
    except json.JSONDecodeError as exc:
        raise NotebookError(f"not valid JSON: {exc.msg}", exc.lineno, exc.colno) from None
    except RecursionError:
        raise NotebookError("not valid JSON: nested too deeply") from None
    cells = cells_of(document)
    notebook = Notebook("", python=_is_python(document))
    problem = _nbformat_problem(document)
    if problem is not None:
        notebook.problems.append(problem)
    out: List[str] = []

    def shadowed(name: str) -> bool:
        return _binds(name, "\n".join(out))

    for number, cell in enumerate(cells, 1):
        why = _malformed(number, cell)
        if why is not None:
            notebook.problems.append(Problem(number, why))
            continue
        if cell["cell_type"] != "code":
            continue
        lines = cell_lines(cell["source"] if "source" in cell else cell["input"]) or []
        notebook.cells[number] = lines
        code = ipysyntax.transform(lines, shadowed)
        notebook.code[number] = code
        if code.write is not None:
            notebook.writes.append((number, code.write))
        for row, line in enumerate(code.lines, 1):
            out.append(line)
            notebook.rows.append((number, row))
    notebook.text = "\n".join(out) + "\n" if out else ""
    return notebook


def _binds(name: str, text: str) -> bool:
    """Whether earlier cells bind ``name`` (an assignment, def, class, import, for, global):
    IPython then runs ``name ...`` as Python, not as the automagic of that name."""
    n = re.escape(name)
    pattern = (rf"(?m)^[ \t]*(?:async[ \t]+)?(?:def|class)[ \t]+{n}\b|\bimport[ \t]+(?:[\w.]+[ \t]*,[ \t]*)*{n}\b"
               rf"|\bas[ \t]+{n}\b|^[ \t]*{n}[ \t]*(?:[:,]|=(?!=))|\bfor[ \t]+(?:[\w, \t]*,[ \t]*)?{n}\b"
               rf"|^[ \t]*[\w \t]*,[ \t]*{n}[ \t]*(?:,|=(?!=))|\bglobal[ \t]+.*\b{n}\b|\b{n}[ \t]*:=")
    return re.search(pattern, text) is not None


# -- linting ------------------------------------------------------------------------------

def lint(path: str, rules: Sequence[Type[Rule]], keras: int, text: Optional[str] = None,
         legacy: Optional[bool] = False, limits=None) -> FileResult:
    """Lint a notebook (its file, or its JSON text); findings carry their cell and its line."""
    try:
        notebook = parse(read(path) if text is None else text)
    except NotebookError as exc:
        result = FileResult(path)
        result.findings.append(Finding(path, exc.line, exc.col, PARSE_ERROR, f"could not read notebook: {exc}"))
        return result
    problems = [Finding(path, p.line, p.col, PARSE_ERROR, f"could not read notebook: {p.message}", cell=p.cell)
                for p in notebook.problems]
    if not notebook.python:
        return FileResult(path, findings=problems, summary=summarize(path, notebook))
    # The notebook runs on the TensorFlow its own cells install, whatever else is declared or installed.
    pins = notebookenv.pinned(notebook.cells)
    if pins is not None and pins.version is not None:
        keras = pins.version
    if pins is not None and pins.tf_keras and legacy is False:
        legacy = None  # tf-keras is installed: TF_USE_LEGACY_KERAS in the notebook's own code decides
    result = _lint_cells(path, notebook, rules, keras, legacy, limits) if notebook.text else FileResult(path)
    result.summary = summarize(path, notebook)
    result.findings[:0] = problems
    job = notebookenv.job_environment(notebook.cells)
    for module in written_modules(path, notebook):
        if job is None:
            found = lint_text(module.path, module.text, rules, keras, legacy, limits)
        elif job.version is not None:  # a training job's module runs on the job's image
            found = lint_text(module.path, module.text, rules, job.version, False, limits)
        else:  # on an image of unknown version: only what holds on both Keras
            found = lint_text(module.path, module.text, rules, 3, False, limits)
            other = lint_text(module.path, module.text, rules, 2, False, limits)
            found.findings = notebookenv.agreed(found.findings, other.findings)
            found.pending = notebookenv.agreed(found.pending, other.pending)
        result.findings += [replace(place(module, f), path=path) for f in found.findings]
        for pending in found.pending:
            pending.finding = replace(place(module, pending.finding), path=path)
            result.pending.append(pending)
        found.findings, found.pending = [], []
        found.summary = modulefacts.summarize(module.path, module.text)
        result.modules.append(found)
        if found.error:
            result.error = found.error
    return result


def _lint_cells(path: str, notebook: Notebook, rules: Sequence[Type[Rule]], keras: int,
                legacy: Optional[bool], limits) -> FileResult:
    """The joined module's result; a cell that does not parse is a TFS001 of its own and the
    module is linted again without it."""
    result = lint_text(path, notebook.text, rules, keras, legacy, limits)
    broken: Dict[int, Finding] = {}
    if any(f.code == PARSE_ERROR for f in result.findings):  # the joined module does not parse
        broken = _unparsable_cells(path, notebook)
    if broken:
        lines = notebook.text.split("\n")
        for i, (cell, _) in enumerate(notebook.rows):
            if cell in broken:
                lines[i] = ""
        result = lint_text(path, "\n".join(lines), rules, keras, legacy, limits)
    result.findings = [place(notebook, f) for f in result.findings]
    for i, f in enumerate(result.findings):
        if f.code == PARSE_ERROR:  # the parser's message names positions in the joined module
            result.findings[i] = replace(f, message=_AT.sub(lambda m: _at(notebook, m), f.message))
    for pending in result.pending:
        pending.finding = place(notebook, pending.finding)
    result.findings += broken.values()
    result.findings.sort(key=Finding.sort_key)
    return result


def summarize(path: str, notebook: Notebook) -> modulefacts.Summary:
    """The program model's summary of a notebook: its own program, its sites placed in their
    cells as findings are, and open when a cell runs other code (``%run``, ``exec``...).  A
    ``%%writefile x.py`` cell runs nothing: the module it writes has a summary of its own
    (``lint`` gives it to the module's result)."""
    if not notebook.python:
        return modulefacts.Summary(path, notebook=True)
    found = modulefacts.summarize(path, notebook.text, notebook=True)
    runs_other_code = ("%run", "%load")
    found.dynamic = found.dynamic or any(
        line.lstrip().startswith(runs_other_code) for lines in notebook.cells.values() for line in lines)
    placed = []
    for site in found.sites:
        cell, line, _ = notebook.locate(site.line, 1)
        placed.append(replace(site, line=line, cell=cell or 0))
    found.sites = placed
    return found


def _unparsable_cells(path: str, notebook: Notebook) -> Dict[int, Finding]:
    """TFS001 for each cell that does not parse on its own (IPython runs cells one by one)."""
    import libcst as cst

    broken: Dict[int, Finding] = {}
    for number, code in notebook.code.items():
        if not code.python:
            continue
        text = "\n".join(code.lines) + "\n"
        # CPython first, as for a file: what it rejects (2,000 nested brackets...) could crash libcst.
        f = safeparse.check(path, text, safeparse.Limits(max_size=len(text) * 4 + 1, risky_here=True))
        if f is None:
            try:
                cst.parse_module(text)
            except Exception as exc:
                f = parse_error(path, text, exc)
        if f is not None:
            message = f.message.replace("could not parse file:", "could not parse cell:", 1)
            broken[number] = replace(f, message=message, cell=number, col=code.column(f.line, f.col))
    return broken


@dataclass
class Written:
    """A Python file that ``%%writefile`` cells write: its text and where each line came from."""

    path: str
    code: Dict[int, ipysyntax.Cell]  # the notebook's: the columns IPython removed (a dedented cell)
    text: str = ""
    rows: List[Tuple[int, int]] = field(default_factory=list)

    def locate(self, line: int, col: int) -> Tuple[Optional[int], int, int]:
        return _locate(self.rows, self.code, line, col)


def written_modules(path: str, notebook: Notebook) -> List[Written]:
    """The .py files the notebook writes (``-a`` appends).  A file written over is a new version:
    each version is linted, since the cells between may run it."""
    versions: List[Written] = []
    current: Dict[str, Written] = {}
    folder = os.path.dirname(path) if path not in ("-", "") else ""
    for number, write in notebook.writes:
        if not write.path.endswith(".py"):
            continue  # a data file, or a name IPython expands at run time: unknown
        target = os.path.normpath(os.path.join(folder, os.path.expanduser(write.path)))
        lines = write.body
        module = current.get(target) if write.append else None
        if module is None:
            module = current[target] = Written(target, notebook.code)
            versions.append(module)
        module.text += "".join(line + "\n" for line in lines)
        module.rows += [(number, write.first + 1 + i) for i in range(len(lines))]
    return versions


def written_text(path: str, notebooks: Sequence[str]) -> Optional[str]:
    """The text that one of these notebooks writes to ``path`` with %%writefile (its last
    version), None when none does."""
    target = os.path.normpath(path)
    for candidate in notebooks:
        if not candidate.endswith(SUFFIX):
            continue
        try:
            modules = written_modules(candidate, parse(read(candidate)))
        except NotebookError:
            continue
        for module in reversed(modules):
            if module.path == target:
                return module.text
    return None


def environment_lines(paths: Sequence[str]) -> List[str]:
    """--show-settings: the notebooks that choose their own Keras (their pip installs, and where
    the modules they write for a training job run), which comes before every other source."""
    lines = []
    for path in paths:
        if not path.endswith(".ipynb"):
            continue
        try:
            notebook = parse(read(path))
        except (NotebookError, OSError, UnicodeError):
            continue
        pins = notebookenv.pinned(notebook.cells)
        if pins is not None and pins.version is not None:
            lines.append(f"  keras {pins.version} for {path}: installed by the notebook, {pins.source}")
        job = notebookenv.job_environment(notebook.cells)
        if job is not None and written_modules(path, notebook):
            version = (f"keras {job.version}" if job.version is not None
                       else "keras unknown (only what holds on both)")
            lines.append(f"  {version} for the modules {path} writes: {job.source}")
    return lines


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
    return read_bytes(path)[1]


def read_bytes(path: str) -> Tuple[bytes, str]:
    """A notebook file's bytes and its text."""
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError as exc:
        raise NotebookError(f"cannot read file: {exc.strerror or exc}") from None
    try:
        return data, data.decode(json.detect_encoding(data))
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
    if cells is None or not 0 < cell <= len(cells) or not isinstance(cells[cell - 1], dict):
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


# -- --fix and --diff ----------------------------------------------------------------------

# Fixes a module's text: (the fixed text, the findings fixed) -- fix.fix_text with its options.
FixModule = Callable[[str, Sequence[Finding]], Tuple[str, List[Finding]]]


def fix_text(text: str, findings: Sequence[Finding], fix_module: FixModule) -> Tuple[str, List[Finding]]:
    """One fix pass over a notebook's JSON text: ``fix_module`` run on the module the cells make
    (and on each ``%%writefile`` module), its changes written back into the cells they touch.
    Only those cells' ``source`` values are rewritten, in the layout they had: outputs,
    metadata and the rest of the file stay byte for byte.  A fix that would touch IPython
    syntax or span two cells is left for the user."""
    try:
        notebook = parse(text)
    except NotebookError:
        return text, []
    sources: Dict[int, List[str]] = {}
    done: List[Finding] = []
    for unit in _units(notebook):
        moved = [(m, f) for m, f in ((unit.to_module(f), f) for f in findings) if m is not None]
        original = {id(m): f for m, f in moved}
        # All the fixes at once; when one of them cannot go back into its cell, one at a time.
        for batch in ([[m for m, _ in moved]] + [[m] for m, _ in moved]) if moved else []:
            fixed, fixed_findings = fix_module(unit.text, batch)
            changed = unit.cells_after(fixed) if fixed_findings else None
            if changed:
                sources.update(changed)
                done += [original[id(m)] for m in fixed_findings]
                break
    new = _splice(text, sources) if sources else None
    return (text, []) if new is None else (new, done)


def module_findings(text: str, findings: Sequence[Finding]) -> List[Optional[Tuple[str, Finding]]]:
    """Each notebook finding in the module its cell belongs to (the cells' module, or a
    %%writefile file): (that module's text, the finding at its position there), or None."""
    notebook = parse(text)
    found: List[Optional[Tuple[str, Finding]]] = [None] * len(findings)
    for unit in _units(notebook):
        for i, f in enumerate(findings):
            moved = unit.to_module(f)
            if moved is not None:
                found[i] = (unit.text, moved)
    return found


@dataclass
class _Unit:
    """A module made of notebook cells (all the code cells, or a %%writefile file's bodies),
    for fixing: where each of its lines comes from and what IPython removed before it."""

    notebook: Notebook
    text: str
    rows: List[Tuple[int, int]]
    written: bool  # a %%writefile module: its lines are the bodies IPython writes

    def to_module(self, f: Finding) -> Optional[Finding]:
        """The finding at its position in this module, None when it is not in it."""
        code = self.notebook.code.get(f.cell) if f.cell is not None else None
        if code is None or code.python == self.written:
            return None
        line = self.module_line(f.cell, f.line)
        end_line = self.module_line(f.cell, f.end_line) if f.end_line else 0
        if line is None or end_line is None:
            return None
        col = code.output_column(f.line, f.col)
        end_col = code.output_column(f.end_line, f.end_col) if f.end_line else 0
        return replace(f, line=line, col=col, end_line=end_line, end_col=end_col, cell=None)

    def module_line(self, cell: int, line: int) -> Optional[int]:
        for i, (c, row) in enumerate(self.rows):
            if c == cell and row == line:
                return i + 1
        return None

    def prefix(self, index: int) -> Optional[str]:
        """What IPython removed before module line ``index`` (0-based): the cell's indentation,
        ``%time ``..., or ""; None when the line is not what ends its source line."""
        cell, row = self.rows[index]
        written = self.notebook.cells[cell][row - 1]
        code = self.notebook.code[cell]
        if self.written and code.write is not None:
            python = code.write.body[row - 1 - code.write.first]
        else:
            python = code.lines[row - 1]
        if not written.endswith(python) or (python == "" and written.strip()):
            return None
        return written[: len(written) - len(python)]

    def margin(self, lines: List[str], cell: int, touched: List[int]) -> Optional[str]:
        """The indentation IPython removed from the lines around ``touched`` in ``cell`` (blank
        lines say nothing: look further), None when it is not plain indentation they share."""
        found = {self.prefix(i) for i in touched if lines[i].strip()}
        if not found:
            near = sorted(range(len(self.rows)), key=lambda i: abs(i - touched[0]))
            found = {next((self.prefix(i) for i in near if self.rows[i][0] == cell and lines[i].strip()), "")}
        margin = found.pop() if len(found) == 1 else None
        return margin if margin is not None and not margin.strip(" \t") else None

    def cells_after(self, fixed: str) -> Optional[Dict[int, List[str]]]:
        """The new source lines of each cell a fix changed, None when a change cannot go back."""
        import difflib

        before = self.text.split("\n")
        after = fixed.split("\n")
        rows = self.rows
        edits: Dict[int, List[Tuple[int, int, List[str]]]] = {}  # cell -> (first row, end row, new lines)
        matcher = difflib.SequenceMatcher(None, before, after, autojunk=False)
        for op, i1, i2, j1, j2 in matcher.get_opcodes():
            if op == "equal":
                continue
            touched = list(range(i1, i2)) or [i1 - 1 if i1 > 0 else i1]  # an insertion joins the line above
            if any(i >= len(rows) for i in touched):
                return None
            cells = {rows[i][0] for i in touched}
            prefixes = [self.prefix(i) for i in touched]
            if len(cells) != 1 or None in prefixes:
                return None
            cell = cells.pop()
            if i2 - i1 == j2 - j1:  # line for line: each keeps what IPython removed before it
                new_lines = [p + line for p, line in zip(prefixes, after[j1:j2])]
            else:  # lines added or removed: only under the indentation IPython removed from the cell
                margin = self.margin(before, cell, touched)
                if margin is None:
                    return None
                new_lines = [margin + line if line else line for line in after[j1:j2]]
            if i1 == i2 and touched[0] == i1 - 1:
                start = end = rows[i1 - 1][1]  # after the row above (rows are 1-based: index = row)
            elif i1 == i2:
                start = end = rows[i1][1] - 1
            else:
                start, end = rows[i1][1] - 1, rows[i2 - 1][1]
            edits.setdefault(cell, []).append((start, end, new_lines))
        sources: Dict[int, List[str]] = {}
        for cell, changes in edits.items():
            lines = list(self.notebook.cells[cell])
            for start, end, new_lines in sorted(changes, reverse=True):
                lines[start:end] = new_lines
            sources[cell] = lines
        return sources


def _units(notebook: Notebook) -> List[_Unit]:
    """What fixes work on: the module of the code cells, then each file %%writefile writes."""
    units = [_Unit(notebook, notebook.text, notebook.rows, False)] if notebook.text else []
    for module in written_modules("", notebook):
        units.append(_Unit(notebook, module.text, module.rows, True))
    return units


def _splice(text: str, sources: Dict[int, List[str]]) -> Optional[str]:
    """The notebook's JSON text with these cells' ``source`` replaced in place, in the layout
    each had (a list of lines or one string, its indentation, escaping of non-ASCII)."""
    cells = _located_cells(text)
    if cells is None:
        return None
    ascii_only = text.isascii()
    pieces: List[Tuple[int, int, str]] = []
    for number, lines in sources.items():
        cell = cells[number - 1] if 0 < number <= len(cells) else None
        source = cell.get("source", cell.get("input")) if isinstance(cell, dict) else None
        strings = source if isinstance(source, list) else [source]
        if not strings or not all(isinstance(s, _Located) for s in strings):
            return None  # an empty list: nothing was fixed there
        joined = "".join(strings)
        newline = next(iter(_NEWLINE.findall(joined)), "\n")
        new_source = newline.join(lines) + (newline if joined.endswith(("\n", "\r")) else "")

        def dump(value: str) -> str:
            return json.dumps(value, ensure_ascii=ascii_only)

        first = strings[0].offset
        last_end = json.decoder.scanstring(text, strings[-1].offset + 1)[1]
        if isinstance(source, str):
            pieces.append((first, last_end, dump(new_source)))
            continue
        opening = text.rfind("[", 0, first)
        closing = text.index("]", last_end)
        inner_sep = text[opening + 1:first]
        closing_ws = text[last_end:closing]
        items = new_source.splitlines(keepends=True)
        body = ("," + inner_sep).join(dump(item) for item in items)
        pieces.append((opening + 1, closing, (inner_sep + body + closing_ws) if items else ""))
    for start, end, new in sorted(pieces, reverse=True):
        text = text[:start] + new + text[end:]
    return text


def diff(path: str, before: str, after: str) -> List[str]:
    """--diff for a notebook: a unified diff of each changed cell (``path:cell 3``), as ruff."""
    import difflib

    try:
        old, new = parse(before), parse(after)
    except NotebookError:
        return []
    out: List[str] = []
    for number in sorted(new.cells):
        a, b = old.cells.get(number, []), new.cells[number]
        if a != b:
            name = f"{path}:cell {number}"
            out += [line + "\n" for line in difflib.unified_diff(a, b, name, name, lineterm="")]
    return out
