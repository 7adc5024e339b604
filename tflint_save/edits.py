"""What a fixer builds its edit with: ``Tree`` (the module parsed again, with what fixers ask of
it: the call or class at a finding, parents, names, literals) and ``Fix`` (original nodes and the
libcst nodes that replace them), and the helpers that lay new items out as the code around them.

A rule's fixer sits beside its detection, in its family module (``fix`` and ``applicability`` on
the rule class); fix.py applies what they return.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Dict, Iterable, List, Optional, Sequence, Tuple

import libcst as cst

from tflint_save import nodes
from tflint_save.findings import Finding
from tflint_save.positions import positions

SAFE, UNSAFE = "safe", "unsafe"
Span = Tuple[int, int, int, int]


@dataclass
class Fix:
    """A fixer's edit: what it does (for --diff and the JSON report), and the nodes it replaces."""

    message: str
    applicability: str
    changes: Dict[int, Tuple[cst.CSTNode, cst.CSTNode]]  # id(original) -> (original, replacement)


# -- finding the nodes a finding is about ------------------------------------------------------

class Tree:
    """A parsed module and what fixers ask of it: parents, names, literals, spans."""

    def __init__(self, text: str):
        self.module = cst.parse_module(text)
        self.parent: Dict[int, cst.CSTNode] = {}
        self.calls: List[cst.Call] = []
        self.classes: List[cst.ClassDef] = []
        self.literals: List[cst.BaseExpression] = []  # SimpleString and f-strings
        self.uses: Dict[str, List[cst.Name]] = {}  # every Name that is a variable, by name
        self.assigns: Dict[str, List[cst.Assign]] = {}  # single-target assignments to a name
        self._walk()
        self.spans: Dict[int, Span] = positions(self.module, self.calls + self.classes)

    def _walk(self) -> None:
        todo: List[cst.CSTNode] = [self.module]
        parent = self.parent
        while todo:
            node = todo.pop()
            cls = type(node)
            if cls is cst.Call:
                self.calls.append(node)
            elif cls is cst.ClassDef:
                self.classes.append(node)
            elif cls is cst.SimpleString or cls is cst.FormattedString:
                self.literals.append(node)
            elif cls is cst.Name:
                above = parent.get(id(node))
                if not (isinstance(above, cst.Attribute) and above.attr is node) and not (
                        isinstance(above, cst.Arg) and above.keyword is node):
                    self.uses.setdefault(node.value, []).append(node)
            elif cls is cst.Assign and len(node.targets) == 1 and isinstance(node.targets[0].target, cst.Name):
                self.assigns.setdefault(node.targets[0].target.value, []).append(node)
            for child in nodes.children(node):
                parent[id(child)] = node
                todo.append(child)

    def ancestors(self, node: cst.CSTNode) -> Iterable[cst.CSTNode]:
        above = self.parent.get(id(node))
        while above is not None:
            yield above
            above = self.parent.get(id(above))

    def call_at(self, finding: Finding, accept: Callable[[cst.Call], bool]) -> Optional[cst.Call]:
        """The accepted call around the finding's span (the innermost), else the only one inside it."""
        want = _span(finding)
        around = [c for c in self.calls if accept(c) and _contains(self.spans[id(c)], want)]
        if around:
            return max(around, key=lambda c: self.spans[id(c)][:2])
        inside = [c for c in self.calls if accept(c) and _contains(want, self.spans[id(c)])]
        return inside[0] if len(inside) == 1 else None

    def class_at(self, finding: Finding) -> Optional[cst.ClassDef]:
        """The innermost class whose definition holds the finding (the class, or one of its methods)."""
        want = _span(finding)
        around = [c for c in self.classes if _contains(self.spans[id(c)], want)]
        if not around:
            return None
        found = max(around, key=lambda c: self.spans[id(c)][:2])
        name = getattr(finding.data, "class_", None)
        return found if name in (None, found.name.value) else None


def _span(f: Finding) -> Span:
    return (f.line, f.col, f.end_line or f.line, f.end_col or f.col)


def _contains(outer: Span, inner: Span) -> bool:
    return outer[:2] <= inner[:2] and outer[2:] >= inner[2:]


# -- layout helpers ----------------------------------------------------------------------------

def plain_space(ws):
    """Whitespace to reuse between new items: without the comment or blank lines it may hold."""
    if isinstance(ws, cst.ParenthesizedWhitespace):
        return ws.with_changes(first_line=cst.TrailingWhitespace(), empty_lines=())
    return ws


def after_comma(item) -> Optional[cst.BaseParenthesizableWhitespace]:
    comma = getattr(item, "comma", None)
    return comma.whitespace_after if isinstance(comma, cst.Comma) else None


def separated(items: Sequence, extra: Sequence, opening) -> List:
    """``items`` then ``extra``, laid out as the items are: one per line (with the trailing
    comma kept) or on one line.  ``opening`` is the whitespace after the opening bracket."""
    if not items:
        spaced = [e.with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))) for e in extra[:-1]]
        return spaced + [extra[-1]]
    last = items[-1]
    sep = after_comma(items[-2]) if len(items) >= 2 else None
    if sep is None:
        sep = opening if isinstance(opening, cst.ParenthesizedWhitespace) else cst.SimpleWhitespace(" ")
    sep = plain_space(sep)
    closing = after_comma(last)
    if closing is not None:  # a trailing comma: the new items go before the closing bracket
        if isinstance(closing, cst.ParenthesizedWhitespace) and isinstance(sep, cst.ParenthesizedWhitespace):
            # keep the last item's own comment on its line, continue at the items' indentation
            between = sep.with_changes(first_line=closing.first_line, empty_lines=closing.empty_lines)
        else:
            between = closing if isinstance(closing, cst.ParenthesizedWhitespace) else sep
        new_last = last.with_changes(comma=last.comma.with_changes(whitespace_after=between))
        tail = [e.with_changes(comma=cst.Comma(whitespace_after=sep)) for e in extra[:-1]]
        tail.append(extra[-1].with_changes(comma=cst.Comma(whitespace_after=plain_space(closing))))
        return list(items[:-1]) + [new_last] + tail
    # No trailing comma: the last item gets one, and the whitespace before the closing bracket
    # (a newline when the bracket is on a line of its own) moves to the new last item.
    moved = {}
    for name in ("whitespace_after_arg", "whitespace_after_param"):
        ws = getattr(last, name, None)
        if isinstance(ws, cst.ParenthesizedWhitespace) and hasattr(extra[-1], name):
            moved = {name: ws}
    new_last = last.with_changes(comma=cst.Comma(whitespace_after=sep), **{k: cst.SimpleWhitespace("") for k in moved})
    tail = [e.with_changes(comma=cst.Comma(whitespace_after=sep)) for e in extra[:-1]]
    tail.append(extra[-1].with_changes(**moved))
    return list(items[:-1]) + [new_last] + tail


def without(args: Sequence[cst.Arg], index: int) -> Tuple[cst.Arg, ...]:
    """``args`` without ``args[index]``: its comment goes with it, comment lines below it stay."""
    kept = list(args)
    removed = kept.pop(index)
    if not kept or index == 0:
        return tuple(kept)
    before = kept[index - 1]
    mine, theirs = after_comma(before), after_comma(removed)
    if index < len(kept):
        if isinstance(mine, cst.ParenthesizedWhitespace) and isinstance(theirs, cst.ParenthesizedWhitespace) \
                and theirs.empty_lines:
            ws = mine.with_changes(empty_lines=tuple(mine.empty_lines) + tuple(theirs.empty_lines))
            kept[index - 1] = before.with_changes(comma=before.comma.with_changes(whitespace_after=ws))
        return tuple(kept)
    # The last one went: its predecessor now ends the call as it did (trailing comma or not),
    # keeping its own comment.
    if theirs is None:
        comma = cst.MaybeSentinel.DEFAULT
    elif isinstance(mine, cst.ParenthesizedWhitespace) and isinstance(theirs, cst.ParenthesizedWhitespace):
        comma = before.comma.with_changes(
            whitespace_after=theirs.with_changes(first_line=mine.first_line, empty_lines=mine.empty_lines))
    else:
        comma = removed.comma
    kept[-1] = before.with_changes(comma=comma)
    return tuple(kept)


def dict_quote(elements: Sequence[cst.BaseDictElement]) -> str:
    for element in elements:
        if isinstance(element, cst.DictElement) and isinstance(element.key, cst.SimpleString):
            return element.key.value[-1]
    return '"'


def dict_entry(key: str, value: str, quote: str) -> cst.DictElement:
    return cst.DictElement(key=cst.SimpleString(f"{quote}{key}{quote}"), value=cst.parse_expression(value),
                           whitespace_before_colon=cst.SimpleWhitespace(""),
                           whitespace_after_colon=cst.SimpleWhitespace(" "))


def find_method(cls: cst.ClassDef, name: str) -> Optional[cst.FunctionDef]:
    body = cls.body.body if isinstance(cls.body, cst.IndentedBlock) else ()
    found = [s for s in body if isinstance(s, cst.FunctionDef) and s.name.value == name]
    return found[0] if len(found) == 1 else None


def method_at(tree: Tree, f: Finding, name: str) -> Optional[cst.FunctionDef]:
    """Method ``name`` of the class the finding is about."""
    cls = tree.class_at(f)
    return find_method(cls, name) if cls is not None else None
