"""IPython's input syntax in a notebook cell, turned into Python line for line.

IPython runs a cell after ``IPython.core.inputtransformer2.TransformerManager`` has rewritten
it (IPython 9): leading blank lines dropped, the common indentation removed
(``textwrap.dedent``; IPython 7 and 8 removed the first line's, and we accept both),
``>>>``/``In [1]:`` prompts stripped, a ``%%magic`` first line making the cell a cell magic,
and, at the start of each logical line, ``%magic``, ``!shell``, ``!!shell``, ``?help``,
``,f``/``;f``/``/f`` autocalls, ``x = %magic``, ``x = !shell`` and a trailing
``obj?``/``obj??``.  A cell that is still one line is then offered to the prefilter,
whose automagic runs ``ls ./data`` or ``pip install x`` as a line magic when the name is a
magic and nothing in the namespace shadows it (``IPython.core.prefilter.AutoMagicChecker``).

We do the same recognition without IPython, but keep one output line per source line so
every position survives: IPython syntax becomes ``pass`` (or ``x = None``, a blank for the
lines it continues over), and where Python remains at other columns (a dedented cell,
``%time model.fit(x)``) the line records the columns removed (``Shift``).
"""

from __future__ import annotations

import builtins
import keyword
import re
import shlex
from dataclasses import dataclass
from typing import Callable, List, Optional, Sequence, Tuple

# Per output line: (first output column, columns to add) pieces, 1-based, in column order.
# () when the line is where it was written.
Shift = Tuple[Tuple[int, int], ...]

# Cell magics whose body IPython runs as Python in the kernel (after its own transformations):
# IPython's time/timeit/prun/capture/debug, memory_profiler's memit, line_profiler's lprun.
PYTHON_CELL_MAGICS = frozenset({"time", "timeit", "prun", "capture", "debug", "memit"})
# Cell magics that write their body to a file (IPython's %%writefile and its alias %%file).
WRITE_CELL_MAGICS = frozenset({"writefile", "file"})
# Line magics whose arguments are a Python statement run in the kernel, when no option leads.
PYTHON_LINE_MAGICS = frozenset({"time", "timeit", "prun", "debug", "memit"})

# The line magics a bare word can run (automagic).  IPython 9.18's InteractiveShell
# (``ip.magics_manager.lsmagic()['line']``, Linux aliases included), ipykernel's kernel magics
# (clear, less, more, man, autosave, connect_info, qtconsole), and magics that notebooks load
# from well-known extensions or that Colab defines (tensorboard, tensorflow_version, autoreload,
# aimport, load_ext'ed sql).  tests/test_ipysyntax.py checks the IPython part against IPython.
AUTOMAGICS = frozenset("""
alias alias_magic autoawait autocall automagic bookmark cat cd code_wrap colors conda config cp
debug dhist dirs doctest_mode ed edit env gui hist history killbgscripts ldir lf lk ll load
load_ext loadpy logoff logon logstart logstate logstop ls lsmagic lx macro magic mamba matplotlib
micromamba mkdir mv notebook page pastebin pdb pdef pdoc pfile pinfo pinfo2 pip popd pprint
precision prun psearch psource pushd pwd pycat pylab quickref recall rehashx reload_ext rep rerun
reset reset_selective rm rmdir run save sc set_env sx system tb time timeit unalias unload_ext uv
who who_ls whos xdel xmode
clear less more man autosave connect_info qtconsole
tensorboard tensorflow_version autoreload aimport sql
""".split())

_ESCAPES = frozenset("!?%,;/")
# IPython's _help_end_re: the target of a trailing ? or ??.
_HELP_END = re.compile(r"(%{0,2}(?!\d)[\w*]+(\.(?!\d)[\w*]+|\[-?[0-9]+\])*)(\?\??)$")
# IPython's splitinput.line_split, for the automagic check.
_LINE_SPLIT = re.compile(r"^(\s*)([,;/%]|!!?|\?\??)?\s*(%{0,2}[\w\.\*]*)(.*?$|$)")
_DOCTEST_PS1_START = re.compile(r"^\s*>>>")
_DOCTEST_PS1 = re.compile(r"^\s*>>>[ \t]?")
_DOCTEST_PS2 = re.compile(r"^\s*\.\.\.[ \t]?")
_TRIPLE_QUOTE = re.compile(r"(?<!\\)(\"\"\"|\'\'\')")
_STRING_PREFIX = re.compile(r"(?i)^[rubf]*$")
_IPYTHON_PROMPT = re.compile(r"^(((\[nav\]|\[ins\])? )?In \[\d+\]: |\s*\.{3,}: ?)")
_MARGIN = re.compile(r"^[ \t]*")
_CODE_CHARS = re.compile(r"[\"'#()\[\]{}\\]")
_ASSIGN_ESCAPE = re.compile(r"=[ \t]*[!%]")


@dataclass(frozen=True)
class Write:
    """A ``%%writefile`` cell: its body (the lines from ``first``, 0-based) goes to ``path``."""

    path: str  # as written in the magic, quotes removed; "" when IPython would expand it ($x, {x})
    append: bool
    first: int
    body: Tuple[str, ...] = ()  # what IPython writes: the lines from ``first``, dedented with the cell


@dataclass(frozen=True)
class Cell:
    """A cell as Python: ``lines[i]`` is source line ``i`` after IPython's transformations."""

    lines: Tuple[str, ...]
    shifts: Tuple[Shift, ...]
    magic: str = ""  # the %%magic of the cell, "" when there is none
    python: bool = True  # False: the body is another language, or a file's content (not run here)
    write: Optional[Write] = None

    def output_column(self, line: int, col: int) -> int:
        """The output column of source column ``col`` on 1-based ``line`` (``column`` inverted)."""
        shift = self.shifts[line - 1] if 0 < line <= len(self.shifts) else ()
        for start, extra in reversed(shift):
            if col - extra >= start:
                return col - extra
        return col

    def column(self, line: int, col: int) -> int:
        """The source column of output column ``col`` on 1-based ``line``."""
        return _source_col(self.shifts[line - 1], col) if 0 < line <= len(self.shifts) else col


def _never(name: str) -> bool:
    return False


def transform(lines: Sequence[str], shadowed: Callable[[str], bool] = _never) -> Cell:
    """The cell's lines (without line ends) as IPython would run them.

    ``shadowed(name)`` says whether the notebook binds ``name`` before this cell (a variable
    named ``ls`` turns automagic off for it)."""
    out = list(lines)
    shifts: List[Shift] = [()] * len(out)
    first = next((i for i, line in enumerate(out) if line.strip()), None)
    if first is None:
        return Cell(tuple(out), tuple(shifts))
    _dedent(out, shifts, first)
    if out[first][:1] in (" ", "\t"):  # IPython 9 left the first line indented: IPython 8's way
        out, shifts = list(lines), [()] * len(out)
        _dedent_first_line(out, shifts, first)
    _strip_prompts(out, shifts, first)
    head = out[first]
    if head.startswith("%%") and not re.match(r"%%\w+\?", head):
        return _cell_magic(lines, out, shifts, first, shadowed)
    _token_transforms(out, shifts, first)
    if len(out) - first == 1 and out[first] == head:
        _automagic(out, shifts, first, shadowed)
    return Cell(tuple(out), tuple(shifts))


def _source_col(shift: Shift, col: int) -> int:
    add = 0
    for start, extra in shift:
        if col >= start:
            add = extra
    return col + add


def _compose(outer: Shift, inner: Shift) -> Shift:
    """One shift for two transformations: ``inner`` maps output columns to the columns of an
    intermediate line, ``outer`` those to the source."""
    if not outer:
        return inner
    if not inner:
        return outer
    adds = [0] + [e for _, e in inner]
    candidates = {1} | {s for s, _ in inner} | {t - e for t, _ in outer for e in adds}
    pieces: List[Tuple[int, int]] = []
    for c in sorted(x for x in candidates if x >= 1):
        add = _source_col(outer, _source_col(inner, c)) - c
        if not pieces or pieces[-1][1] != add:
            pieces.append((c, add))
    return () if pieces == [(1, 0)] else tuple(pieces)


def _add(shift: Shift, start: int, extra: int) -> Shift:
    """``shift`` after ``extra`` more columns are removed at output column ``start``."""
    return _compose(shift, ((start, extra),))


def _dedent(out: List[str], shifts: List[Shift], first: int, end: Optional[int] = None) -> None:
    """textwrap.dedent of lines ``first:end``: the longest common leading whitespace of the
    lines that are not blank."""
    end = len(out) if end is None else end
    margin: Optional[str] = None
    for line in out[first:end]:
        if not line.strip(" \t"):
            continue
        indent = _MARGIN.match(line).group()
        if margin is None:
            margin = indent
        elif indent.startswith(margin):
            pass
        elif margin.startswith(indent):
            margin = indent
        else:
            margin = _common_prefix(margin, indent)
        if not margin:
            return
    if not margin:
        return
    for i in range(first, end):
        if not out[i].strip(" \t"):
            out[i] = ""
        else:
            out[i] = out[i][len(margin):]
            shifts[i] = _add(shifts[i], 1, len(margin))


def _dedent_first_line(out: List[str], shifts: List[Shift], first: int) -> None:
    """IPython 7 and 8 (still what most notebooks ran on) remove the first line's indentation
    from every line that starts with it, where IPython 9 removes only what all lines share: a
    cell that runs on either is read as running."""
    indent = _MARGIN.match(out[first]).group()
    if not indent:
        return
    for i in range(first, len(out)):
        if out[i].startswith(indent):
            out[i] = out[i][len(indent):]
            shifts[i] = _add(shifts[i], 1, len(indent))


def _common_prefix(a: str, b: str) -> str:
    n = 0
    while n < min(len(a), len(b)) and a[n] == b[n]:
        n += 1
    return a[:n]


def _strip_prompts(out: List[str], shifts: List[Shift], first: int) -> None:
    """Pasted prompts.  ``>>>``/``...`` as IPython 9's doctest-aware classic_prompt strips
    them (only when a ``>>>`` line is outside triple-quoted strings, prompts inside a docstring
    kept, each stripped stretch dedented); ``In [1]:``/``...:`` when the first lines have them."""
    inside = _triple_quote_mask(out[first:]) if any(">>>" in line for line in out[first:]) else []
    if inside and any(not kept and _DOCTEST_PS1_START.match(line) for line, kept in zip(out[first:], inside)):
        stripped = []
        for i, kept in zip(range(first, len(out)), inside):
            found = None if kept else (_DOCTEST_PS1.match(out[i]) or _DOCTEST_PS2.match(out[i]))
            if found:
                out[i] = out[i][found.end():]
                shifts[i] = _add(shifts[i], 1, found.end())
            stripped.append(bool(found))
        i = first
        while i < len(out):
            j = i
            while j < len(out) and inside[j - first] == inside[i - first]:
                j += 1
            if not inside[i - first] and any(stripped[i - first:j - first]):
                _dedent(out, shifts, i, j)
            i = j
    elif _IPYTHON_PROMPT.match(out[first]) or (len(out) > first + 1 and _IPYTHON_PROMPT.match(out[first + 1])):
        for i in range(first, len(out)):
            found = _IPYTHON_PROMPT.match(out[i])
            if found:
                out[i] = out[i][found.end():]
                shifts[i] = _add(shifts[i], 1, found.end())


def _triple_quote_mask(lines: Sequence[str]) -> List[bool]:
    """IPython's PromptStripper._triple_quote_mask: lines inside a triple-quoted string whose
    prompts are text (a docstring's example), not pasted code."""
    mask: List[bool] = []
    in_triple: Optional[str] = None
    preserve = False
    seen_prompt = False
    for line in lines:
        mask.append(in_triple is not None and preserve)
        for m in _TRIPLE_QUOTE.finditer(line):
            q = m.group(1)
            if in_triple is None:
                in_triple = q
                before = line[: m.start()]
                bare = _DOCTEST_PS2.sub("", _DOCTEST_PS1.sub("", before, count=1), count=1)
                prompted = bare != before and seen_prompt
                preserve = bool(not prompted and _STRING_PREFIX.match(bare.strip()))
                mask[-1] = preserve
            elif in_triple == q:
                in_triple = None
                preserve = False
        seen_prompt = seen_prompt or bool(_DOCTEST_PS1_START.match(line))
    return mask


def _cell_magic(lines: Sequence[str], out: List[str], shifts: List[Shift], first: int,
                shadowed: Callable[[str], bool]) -> Cell:
    name, _, args = out[first][2:].rstrip().partition(" ")
    blank = tuple([""] * len(out))
    if name in PYTHON_CELL_MAGICS:
        # IPython hands the body to transform_cell/run_cell: a cell of its own.
        body = transform(out[first + 1:], shadowed)
        keep = tuple(shifts[first + 1:])
        merged = tuple(_compose(outer, inner) for outer, inner in zip(keep, body.shifts))
        return Cell(("",) * (first + 1) + body.lines, tuple(shifts[: first + 1]) + merged, name)
    if name in WRITE_CELL_MAGICS:
        return Cell(blank, tuple(shifts), name, python=False, write=_write(args, first + 1, out[first + 1:]))
    return Cell(blank, tuple(shifts), name, python=False)


def _write(args: str, first: int, body: Sequence[str]) -> Write:
    """``%%writefile [-a] path``; IPython expands ``$name`` and ``{expr}`` first (unknown here)."""
    try:
        words = shlex.split(args)
    except ValueError:
        return Write("", False, first, tuple(body))
    append = any(w in ("-a", "--append") for w in words)
    paths = [w for w in words if not w.startswith("-")]
    path = paths[0] if len(paths) == 1 else ""
    if "$" in args or "{" in args:
        path = ""
    return Write(path, append, first, tuple(body))


class Scan:
    """Just enough tokenizing to know whether a line starts a new statement: open brackets,
    open strings and backslash continuations mean it does not (``%`` there is modulo)."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.depth = 0
        self.quote: Optional[str] = None
        self.backslash = False
        self.code_end = 0  # where the last line's code ends (a comment, or its end)

    def at_statement_start(self) -> bool:
        return self.depth == 0 and self.quote is None and not self.backslash

    def feed(self, line: str) -> None:
        n = len(line)
        self.backslash = False
        self.code_end = n
        i = 0
        while True:
            if self.quote is not None:
                i = _string_end(line, i, self.quote)
                if i < 0:  # the string goes on
                    if len(self.quote) == 1 and not line.endswith("\\"):
                        self.quote = None  # an unterminated one-line string: a syntax error, not ours
                    return
                self.quote = None
            found = _CODE_CHARS.search(line, i)
            if found is None:
                return
            ch, at = found.group(), found.start()
            i = at + 1
            if ch == "#":
                self.code_end = at
                return
            if ch in "\"'":
                triple = line[at:at + 3]
                self.quote = triple if triple in ('"""', "'''") else ch
                i = at + len(self.quote)
            elif ch in "([{":
                self.depth += 1
            elif ch in ")]}":
                self.depth = max(0, self.depth - 1)
            elif i == n:  # a backslash ending the line
                self.backslash = True


def _string_end(line: str, start: int, quote: str) -> int:
    """Where the string that ``quote`` opened ends on ``line`` (after its closing quote), -1
    when it does not."""
    i = start
    while True:
        close = line.find(quote, i)
        escape = line.find("\\", i)
        if escape != -1 and (close == -1 or escape < close):
            i = escape + 2
            continue
        return -1 if close == -1 else close + len(quote)


def _continued(out: List[str], start: int) -> int:
    """The last line of the backslash-continued line that starts at ``start``."""
    end = start
    while end < len(out) - 1 and out[end].endswith("\\"):
        end += 1
    return end


def _assign_escape(line: str) -> Optional[int]:
    """IPython's MagicAssign/SystemAssign: the column of ``%name``/``!`` right after the first
    ``=`` outside brackets (``files = !ls``, ``t = %timeit -o f()``), or None."""
    if _ASSIGN_ESCAPE.search(line) is None:
        return None
    depth = 0
    quote: Optional[str] = None
    i, n = 0, len(line)
    while i < n:
        ch = line[i]
        if quote is not None:
            if ch == "\\":
                i += 2
                continue
            if line.startswith(quote, i):
                i += len(quote)
                quote = None
                continue
            i += 1
            continue
        if ch == "#":
            return None
        if ch in "\"'":
            quote = line[i:i + 3] if line[i:i + 3] in ('"""', "'''") else ch
            i += len(quote)
            continue
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth = max(0, depth - 1)
        elif ch == "=" and depth == 0:
            if line[i + 1:i + 2] == "=" or (i and line[i - 1] in "=<>!+-*/%&|^@:"):
                i += 2 if line[i + 1:i + 2] == "=" else 1
                continue  # ==, <=, +=, := ...: not the assignment IPython looks for
            j = i + 1
            while j < n and line[j] in " \t":
                j += 1
            if line[j:j + 1] == "!" and line[j + 1:j + 2] != "=":
                return j
            if line[j:j + 1] == "%" and re.match(r"\w", line[j + 1:j + 2]):
                return j
            return None
        i += 1
    return None


def _token_transforms(out: List[str], shifts: List[Shift], first: int) -> None:
    """Escaped commands, magic/system assignments and trailing help, line by line."""
    scan = Scan()
    i = first
    n = len(out)
    while i < n:
        line = out[i]
        if not scan.at_statement_start() or not line.strip():
            scan.feed(line)
            i += 1
            continue
        stripped = line.lstrip()
        indent = len(line) - len(stripped)
        if stripped[0] in _ESCAPES:
            end = _continued(out, i)
            args = _python_magic_args(stripped)
            if args is not None:
                # %time model.fit(x): the statement runs; keep it, where it was written.
                removed = len(stripped) - len(args)
                out[i] = line[:indent] + args
                shifts[i] = _add(shifts[i], indent + 1, removed)
                for k in range(i, end + 1):
                    scan.feed(out[k])
            else:
                _replace(out, i, end, line[:indent] + "pass", scan)
            i = end + 1
            continue
        at = _assign_escape(line)
        if at is not None:
            end = _continued(out, i)
            _replace(out, i, end, line[:at] + "None", scan)
            i = end + 1
            continue
        # A logical line (brackets may span lines) that ends with ``?``: help.
        end = i
        scan.feed(line)
        while not scan.at_statement_start() and end < n - 1:
            end += 1
            scan.feed(out[end])
        code = out[end][:scan.code_end].rstrip()
        # The ``?`` must be a token of a line that ends: not text of a string left open.
        ended = scan.quote is None
        if ended and code.endswith("?") and scan.code_end >= len(out[end].rstrip()):
            content = "\n".join([out[i][indent:]] + out[i + 1:end + 1]).rstrip()
            if _HELP_END.search(content):
                _replace(out, i, end, line[:indent] + "pass", scan)
        i = end + 1


def _replace(out: List[str], first: int, last: int, python: str, scan: Scan) -> None:
    """Lines ``first..last`` (one IPython command) become ``python`` and blank lines."""
    out[first] = python
    for k in range(first + 1, last + 1):
        out[k] = ""
    scan.reset()


def _python_magic_args(stripped: str) -> Optional[str]:
    """The Python statement of ``%time stmt``-like magics, or None for any other escape."""
    if not stripped.startswith("%") or stripped.startswith("%%"):
        return None
    name, space, args = stripped[1:].partition(" ")
    args = args.lstrip(" ")
    if name not in PYTHON_LINE_MAGICS or not space or not args or args[0] in _ESCAPES | {"-"}:
        return None
    if stripped.rstrip().endswith("?"):
        return None  # %time? is help on the magic
    return args


def _automagic(out: List[str], shifts: List[Shift], first: int, shadowed: Callable[[str], bool]) -> None:
    """A one-line cell that IPython's prefilter runs as a line magic (``ls ./data``)."""
    match = _LINE_SPLIT.match(out[first])
    if match is None or match.group(2):
        return
    name, rest = match.group(3), match.group(4).lstrip()
    if name not in AUTOMAGICS:
        return
    if rest[:1] in ("=", ","):  # AssignmentChecker: ``ls = 3`` binds a variable
        return
    if name in vars(builtins) or keyword.iskeyword(name) or shadowed(name):
        return
    indent = len(out[first]) - len(out[first].lstrip())
    out[first] = out[first][:indent] + "pass"
