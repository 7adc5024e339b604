"""Line and column of a few nodes, without libcst's metadata machinery.

libcst's PositionProvider records a range for every node of the module (about twice
the cost of parsing).  A linter only needs the nodes it reports, so this code generates
the module once and notes where the wanted nodes start and end.  Only files with a
finding pay for it.
"""

from __future__ import annotations

from typing import Dict, Iterable, Optional, Tuple

import libcst as cst
from libcst._nodes.internal import CodegenState

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


def positions(module: cst.Module, nodes: Iterable[cst.CSTNode]) -> Dict[int, Position]:
    """Map id(node) to its (line, col, end_line, end_col) for every node given."""
    wanted = {id(n) for n in nodes}
    if not wanted:
        return {}
    state = _MarkingState(module, wanted)
    module._codegen(state)
    tokens = state.tokens
    # Token indexes to (line, col): walk the token list once, in index order.
    indexes = sorted({i for pair in state.marks.values() for i in pair})
    at: Dict[int, Tuple[int, int]] = {}
    line, col, done = 1, 0, 0
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
