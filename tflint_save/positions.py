"""Line and column of a few nodes, without libcst's metadata machinery.

libcst's PositionProvider records a range for every node of the module (about twice
the cost of parsing).  A linter only needs the nodes it reports, so this code generates
the module once and notes where the wanted nodes start and end.  Only files with a
finding pay for it.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Dict, Iterable, Iterator, Optional, Tuple

import libcst as cst
from libcst._nodes.internal import CodegenState

Position = Tuple[int, int, int, int]  # line, column, end line, end column (1-based)


class _MarkingState(CodegenState):
    __slots__ = ("wanted", "marks")

    def __init__(self, module: cst.Module, wanted: set):
        super().__init__(default_indent=module.default_indent, default_newline=module.default_newline)
        self.wanted = wanted
        self.marks: Dict[int, Tuple[int, int]] = {}

    @contextmanager
    def record_syntactic_position(
        self,
        node: cst.CSTNode,
        *,
        start_node: Optional[cst.CSTNode] = None,
        end_node: Optional[cst.CSTNode] = None,
    ) -> Iterator[None]:
        key = id(node)
        if key not in self.wanted:
            yield
            return
        start = len(self.tokens)
        try:
            yield
        finally:
            end = len(self.tokens)
            if isinstance(node, cst.BaseCompoundStatement):
                # libcst ends a compound statement at its last body statement, before the
                # newline and dedent that follow it.
                while end > start and not self.tokens[end - 1].strip():
                    end -= 1
            self.marks[key] = (start, end)


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
