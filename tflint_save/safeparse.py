"""What a file must pass before libcst sees it: a size limit and CPython's own parser.

libcst's native parser can crash the whole process (a stack overflow on a 3,000-long
subscript chain), take minutes on long expression chains (quadratic) and gigabytes on
large files.  CPython's parser costs about a tenth of libcst's (docs/large-projects.md) and
rejects exactly what Python will not run, so every file goes through it first: what it
rejects is TFS001 with its message, and only what it accepts is parsed by libcst.  A file
it accepts can still be *risky* for libcst (a very long line, a statement spanning many
lines, deep nesting): the caller then parses it where a crash or a stall costs only that
file (a worker process, or a child process in a one-process run).
"""

from __future__ import annotations

import ast
import sys
from dataclasses import dataclass
from typing import List, Optional

from tflint_save.catalog import PARSE_ERROR
from tflint_save.findings import Finding

DEFAULT_MAX_FILE_SIZE = 2 * 1024 * 1024  # libcst took 12 s and 560 MB on 2 MB of ordinary code
DEFAULT_FILE_TIMEOUT = 30.0

# A file's code compiles as Python compiles it, at the interpreter's default recursion limit
# (the engine raises the limit for its own walk): the depth Python refuses to compile
# ("maximum recursion depth exceeded during compilation") is refused here too.
_DEFAULT_RECURSION_LIMIT = 1000

# Measured with libcst 1.x on this machine: a 5,800-character line holding a 2,900-long
# attribute or call chain took 8-18 s, 2,000 terms of `a + a` (8 KB) 2.6 s, and 2,900
# subscripts crashed the process; ordinary code never has lines this long or simple
# statements this tall except data literals, which are merely parsed elsewhere.
RISKY_LINE = 2000
RISKY_STATEMENT_LINES = 400

# The tree of the last text ``check`` accepted: the program model's summary of the same file
# reads it (``accepted_tree``) instead of parsing the text a second time (about a tenth of
# libcst's parse per file, run.lint_file).  One entry: it lives until the next file.
_accepted: List[object] = [None, None]


class Risky(Exception):
    """The file passed CPython's parser but may crash or stall libcst's: parse it elsewhere."""


@dataclass(frozen=True)
class Limits:
    """Per-file limits (``max-file-size``, ``file-timeout``) and whether a risky file may be
    parsed in this process (it may in a worker, whose death costs only that file)."""

    max_size: int = DEFAULT_MAX_FILE_SIZE
    timeout: float = DEFAULT_FILE_TIMEOUT
    risky_here: bool = False


def size_text(size: int) -> str:
    if size >= 1024 * 1024:
        return f"{size / (1024 * 1024):.1f} MB".replace(".0 MB", " MB")
    if size >= 1024:
        return f"{size / 1024:.1f} KB".replace(".0 KB", " KB")
    return f"{size} bytes"


def check(path: str, text: str, limits: Limits) -> Optional[Finding]:
    """TFS001 when the code is over the size limit or CPython will not compile it; raises
    Risky when CPython accepts it but libcst may not survive it in this process."""
    size = len(text.encode("utf-8", "surrogatepass")) if len(text) * 4 > limits.max_size else len(text)
    if size > limits.max_size:
        return Finding(path, 1, 1, PARSE_ERROR,
                       f"not linted: {size_text(size)} of code is over the max-file-size limit of "
                       f"{size_text(limits.max_size)} (raise it with --max-file-size or in the configuration)")
    tree = _cpython_parse(path, text)
    if isinstance(tree, Finding):
        return tree
    _accepted[:] = [text, tree]
    if not limits.risky_here and risky(text, tree):
        raise Risky(path)
    return None


def accepted_tree(text: str) -> Optional[ast.Module]:
    """CPython's tree of ``text`` when it is the very text ``check`` accepted last, else None.
    Read-only for the caller: it is the tree ``check`` made."""
    return _accepted[1] if _accepted[0] is text else None  # type: ignore[return-value]


def _cpython_parse(path: str, text: str):
    """The module's AST, or the TFS001 finding for what CPython rejects."""
    previous = sys.getrecursionlimit()
    lowered = previous > _DEFAULT_RECURSION_LIMIT
    try:
        if lowered:
            sys.setrecursionlimit(_DEFAULT_RECURSION_LIMIT)
        # Not the real path: for a file that exists, CPython may take the error line (and the
        # offset) from the file on disk, which is not this text for a notebook cell or stdin.
        return compile(text, "<source>", "exec", ast.PyCF_ONLY_AST, dont_inherit=True)
    except SyntaxError as exc:  # also the int-literal digit limit, bad escapes, too many nested parentheses
        line = exc.lineno or 1
        return Finding(path, line, max(exc.offset or 1, 1), PARSE_ERROR, f"could not parse file: {exc.msg}")
    except (ValueError, RecursionError, MemoryError, OverflowError) as exc:  # null bytes, absurd depth
        return Finding(path, 1, 1, PARSE_ERROR, f"could not parse file: {exc}")
    finally:
        if lowered:
            sys.setrecursionlimit(previous)


def risky(text: str, tree: ast.Module) -> bool:
    """A line or a simple statement far longer than code has: libcst's time (or stack) goes there."""
    # Splitting at "\n" and measuring in C is several times faster than a regex for the same
    # question ([^\n]{RISKY_LINE}), which tried a match from every character of the file.
    if len(text) >= RISKY_LINE and max(map(len, text.split("\n"))) >= RISKY_LINE:
        return True
    todo: List[List[ast.stmt]] = [tree.body]
    while todo:
        for statement in todo.pop():
            end = getattr(statement, "end_lineno", None) or statement.lineno
            blocks = [getattr(statement, f, None) for f in ("body", "orelse", "finalbody")]
            blocks += [h.body for h in getattr(statement, "handlers", ())]
            blocks += [c.body for c in getattr(statement, "cases", ())]
            nested = [b for b in blocks if isinstance(b, list) and b]
            if nested:
                # A compound statement: its header runs up to its first nested statement.
                end = min(b[0].lineno for b in nested) - 1
                todo.extend(nested)
            if end - statement.lineno >= RISKY_STATEMENT_LINES:
                return True
    return False
