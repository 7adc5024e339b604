"""Line and column of a few nodes, without libcst's metadata machinery.

libcst's PositionProvider records a range for every node of the module (about twice
the cost of parsing).  A linter only needs the nodes it reports, so this code generates
code and notes where the wanted nodes start and end.  Only files with a finding pay for it,
and they pay little: class and function definitions (most reports of the custom-class rules)
are placed from CPython's tree of the same text, paired by order; other nodes by generating
only the module-level statements that hold them, each put at the line CPython's tree gives
it (and checked against the text there).  The whole module is generated when neither can be
trusted.
"""

from __future__ import annotations

import ast
from typing import Dict, Iterable, List, Optional, Tuple

import libcst as cst
from libcst._nodes.internal import CodegenState

from tflint_save.nodes import children

Position = Tuple[int, int, int, int]  # line, column, end line, end column (1-based)


class _Nothing:
    """The context of a node nobody asked about: the same object for all of them.  libcst calls
    ``record_syntactic_position`` for every node; a generator-based context manager there costs
    about a third of the code generation."""

    __slots__ = ()

    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


_NOTHING = _Nothing()


class _Mark:
    """Notes where a wanted node's tokens start and end."""

    __slots__ = ("state", "node", "start")

    def __init__(self, state: "_MarkingState", node: cst.CSTNode):
        self.state = state
        self.node = node
        self.start = 0

    def __enter__(self) -> None:
        self.start = len(self.state.tokens)

    def __exit__(self, *exc: object) -> None:
        tokens = self.state.tokens
        start, end = self.start, len(tokens)
        if isinstance(self.node, cst.BaseCompoundStatement):
            # libcst ends a compound statement at its last body statement, before the
            # newline and dedent that follow it.
            while end > start and not tokens[end - 1].strip():
                end -= 1
        self.state.marks[id(self.node)] = (start, end)


class _MarkingState(CodegenState):
    __slots__ = ("wanted", "marks")

    def __init__(self, module: cst.Module, wanted: set):
        super().__init__(default_indent=module.default_indent, default_newline=module.default_newline)
        self.wanted = wanted
        self.marks: Dict[int, Tuple[int, int]] = {}

    def record_syntactic_position(  # type: ignore[override]
        self,
        node: cst.CSTNode,
        *,
        start_node: Optional[cst.CSTNode] = None,
        end_node: Optional[cst.CSTNode] = None,
    ):
        return _Mark(self, node) if id(node) in self.wanted else _NOTHING


def positions(module: cst.Module, nodes: Iterable[cst.CSTNode], text: str = "",
              tree: Optional[ast.Module] = None, tops: Optional[Dict[int, cst.CSTNode]] = None
              ) -> Dict[int, Position]:
    """Map id(node) to its (line, col, end_line, end_col) for every node given; ``tree`` is
    CPython's tree of ``text``, the module's source, when the caller has it; ``tops``: the
    module-level statement each node is believed to be in (by id), when the caller knows."""
    nodes = list(nodes)
    wanted = {id(n) for n in nodes}
    if not wanted:
        return {}
    if tree is not None:
        definitions = [n for n in nodes if isinstance(n, _DEFS)]
        found = _definitions(module, definitions, text, tree) if definitions else {}
        others = wanted - {id(n) for n in definitions}
        if found is not None and others:
            placed = _in_statements(module, others, text, tree, tops) if tops is not None else None
            found = None if placed is None else {**found, **placed}
        if found is not None:
            return found
    state = _MarkingState(module, wanted)
    module._codegen(state)
    return _places(state, 1)


def _places(state: _MarkingState, first_line: int) -> Dict[int, Position]:
    """The marks of ``state``, whose tokens start at column 0 of ``first_line``, as positions."""
    tokens = state.tokens
    # Token indexes to (line, col): walk the token list once, in index order.
    indexes = sorted({i for pair in state.marks.values() for i in pair})
    at: Dict[int, Tuple[int, int]] = {}
    line, col, done = first_line, 0, 0
    for index in indexes:
        chunk = "".join(tokens[done:index])
        newlines = chunk.count("\n")
        if newlines:
            line += newlines
            col = len(chunk) - chunk.rfind("\n") - 1
        else:
            col += len(chunk)
        done = index
        at[index] = (line, col)
    result: Dict[int, Position] = {}
    for key, (start, end) in state.marks.items():
        (l1, c1), (l2, c2) = at[start], at[end]
        result[key] = (l1, c1 + 1, l2, c2 + 1)
    return result


def _in_statements(module: cst.Module, wanted: set, text: str, tree: ast.Module,
                   tops: Dict[int, cst.CSTNode]) -> Optional[Dict[int, Position]]:
    """Generate only the module-level statements that hold the wanted nodes, each placed at
    the line CPython's tree gives its first token (the k-th statement of one tree is the k-th
    of the other).  Each one's code must be the text found there, every wanted node must be
    met, else None (then the caller generates the whole module)."""
    if "\r" in text and "\r" in text.replace("\r\n", ""):
        return None  # a lone \r ends a line for CPython, not for the line count here
    statements = {id(t): t for t in (tops.get(i) for i in wanted) if t is not None}
    if not statements:
        return None
    starts = _first_lines(module, tree)
    if starts is None:
        return None
    offsets = [0]  # where each line starts in the text
    for line in text.split("\n"):
        offsets.append(offsets[-1] + len(line) + 1)
    result: Dict[int, Position] = {}
    for key, statement in statements.items():
        first = starts.get(key)
        if first is None:
            return None
        state = _MarkingState(module, wanted)
        statement._codegen(state)
        if statement is module.body[-1] and not module.has_trailing_newline and not module.footer:
            state.pop_trailing_newline()  # as the module's own code generation does
        tokens = state.tokens
        # The statement's code starts with its leading blank and comment lines.
        leading = 0
        for token in tokens:
            if token.strip() and not token.lstrip().startswith("#"):
                break
            leading += token.count("\n")
        line = first - leading
        code = "".join(tokens)
        if line < 1 or text[offsets[line - 1]:offsets[line - 1] + len(code)] != code:
            return None
        result.update(_places(state, line))
    return result if len(result) == len(wanted) else None


def _first_lines(module: cst.Module, tree: ast.Module) -> Optional[Dict[int, int]]:
    """The line of the first token of each module-level statement (by id), from CPython's tree;
    None when the two trees do not pair up."""
    found: Dict[int, int] = {}
    theirs = tree.body
    k = 0
    for statement in module.body:
        if k >= len(theirs):
            return None
        twin = theirs[k]
        if isinstance(statement, cst.SimpleStatementLine):
            k += len(statement.body)
        else:
            k += 1
        decorators = getattr(twin, "decorator_list", None)
        found[id(statement)] = decorators[0].lineno if decorators else twin.lineno
    return found if k == len(theirs) else None


_DEFS = (cst.ClassDef, cst.FunctionDef)
_AST_DEFS = (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)
_INTO = (cst.BaseCompoundStatement, cst.BaseSuite, cst.Else, cst.ExceptHandler, cst.ExceptStarHandler,
         cst.Finally, cst.MatchCase)


def _definitions(module: cst.Module, nodes: List[cst.CSTNode], text: str,
                 tree: ast.Module) -> Optional[Dict[int, Position]]:
    """The places of ``nodes``, class and function definitions, from CPython's tree: the k-th
    definition in source order is the same in both trees.  None when the two trees or the line
    counts could disagree (then the caller generates the code)."""
    if "\r" in text or "\f" in text:
        return None
    ours: List[cst.CSTNode] = []
    _cst_defs(module, ours)
    theirs: List[ast.AST] = []
    _ast_defs(tree.body, theirs)
    if len(ours) != len(theirs) or any(a.name.value != b.name for a, b in zip(ours, theirs)):  # type: ignore
        return None
    lines = text.split("\n")
    wanted = {id(n) for n in nodes}
    result: Dict[int, Position] = {}
    for node, twin in zip(ours, theirs):
        if id(node) in wanted:
            line, end_line = twin.lineno, twin.end_lineno or twin.lineno
            col = _column(lines[line - 1], twin.col_offset)
            end = _column(lines[end_line - 1], twin.end_col_offset or 0)
            # libcst ends a definition with its last statement's trailing comment, CPython before it.
            rest = lines[end_line - 1][end:]
            if rest.lstrip().startswith("#"):
                end = len(lines[end_line - 1].rstrip())
            if _comment_follows(lines, end_line):
                return None  # libcst may give the block the comment lines after it: ask it
            result[id(node)] = (line, col + 1, end_line, end + 1)
    return result


def _cst_defs(node: cst.CSTNode, found: List[cst.CSTNode]) -> None:
    for child in children(node):
        if isinstance(child, _DEFS):
            found.append(child)
        if isinstance(child, _INTO):
            _cst_defs(child, found)


def _ast_defs(body: List[ast.stmt], found: List[ast.AST]) -> None:
    for stmt in body:
        if isinstance(stmt, _AST_DEFS):
            found.append(stmt)
        for field in ("body", "orelse", "handlers", "finalbody", "cases"):
            inner = getattr(stmt, field, None)
            if isinstance(inner, list):
                _ast_defs(inner, found)


def _comment_follows(lines: List[str], last: int) -> bool:
    """Whether comment lines come after line ``last`` (1-based) before the next code."""
    for line in lines[last:]:
        stripped = line.strip()
        if stripped:
            return stripped.startswith("#")
    return False


def _column(line: str, offset: int) -> int:
    """CPython's UTF-8 byte offset as a character count."""
    return offset if line.isascii() else len(line.encode("utf-8")[:offset].decode("utf-8", "replace"))
