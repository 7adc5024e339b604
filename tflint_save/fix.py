"""Autofix: ``--fix`` applies the safe fixes in place, ``--diff`` prints them, ``--unsafe-fixes``
adds those that change behaviour or what ends up on disk.

A finding carries what its fix needs: its position (the same ``positions()`` the engine
placed it with) and the facts its rule noted in ``data``.  Fixing a file parses it again,
finds the call or class at each finding's position, and asks the finding's fixer for a
``Fix``: original nodes and the libcst nodes that replace them, so comments and formatting
outside the replaced nodes stay exactly as they were.  Fixes that touch the same nodes wait
for the next pass; after every pass the file is linted again (in memory) and the project
settled again, until nothing more can be fixed, so ``--fix`` twice changes nothing the second
time.  A result that does not parse, or no longer compiles, is not applied.  Files are
written atomically, in their own encoding (BOM and coding cookie included) and newlines.

``attach`` puts ``{"applicability", "message"}`` on each finding that has a fix
(``Finding.fix``, which the JSON output shows).
"""

from __future__ import annotations

import difflib
import io
import os
import stat
import sys
import tokenize
import warnings
from dataclasses import dataclass, field, replace
from typing import Callable, Dict, Iterable, List, Mapping, Optional, Sequence, Set, Tuple

import libcst as cst

from tflint_save import nodes, source
from tflint_save.checks.classes import BASE_KEYS
from tflint_save.findings import Finding
from tflint_save.names import dotted
from tflint_save.positions import positions

SAFE, UNSAFE = "safe", "unsafe"
MAX_PASSES = 10
Span = Tuple[int, int, int, int]


@dataclass
class Fix:
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
        name = finding.data.get("class")
        return found if name in (None, found.name.value) else None


def _span(f: Finding) -> Span:
    return (f.line, f.col, f.end_line or f.line, f.end_col or f.col)


def _contains(outer: Span, inner: Span) -> bool:
    return outer[:2] <= inner[:2] and outer[2:] >= inner[2:]


# -- layout helpers ----------------------------------------------------------------------------

def _plain(ws):
    """Whitespace to reuse between new items: without the comment or blank lines it may hold."""
    if isinstance(ws, cst.ParenthesizedWhitespace):
        return ws.with_changes(first_line=cst.TrailingWhitespace(), empty_lines=())
    return ws


def _after_comma(item) -> Optional[cst.BaseParenthesizableWhitespace]:
    comma = getattr(item, "comma", None)
    return comma.whitespace_after if isinstance(comma, cst.Comma) else None


def _separated(items: Sequence, extra: Sequence, opening) -> List:
    """``items`` then ``extra``, laid out as the items are: one per line (with the trailing
    comma kept) or on one line.  ``opening`` is the whitespace after the opening bracket."""
    if not items:
        spaced = [e.with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))) for e in extra[:-1]]
        return spaced + [extra[-1]]
    last = items[-1]
    sep = _after_comma(items[-2]) if len(items) >= 2 else None
    if sep is None:
        sep = opening if isinstance(opening, cst.ParenthesizedWhitespace) else cst.SimpleWhitespace(" ")
    sep = _plain(sep)
    closing = _after_comma(last)
    if closing is not None:  # a trailing comma: the new items go before the closing bracket
        if isinstance(closing, cst.ParenthesizedWhitespace) and isinstance(sep, cst.ParenthesizedWhitespace):
            # keep the last item's own comment on its line, continue at the items' indentation
            between = sep.with_changes(first_line=closing.first_line, empty_lines=closing.empty_lines)
        else:
            between = closing if isinstance(closing, cst.ParenthesizedWhitespace) else sep
        new_last = last.with_changes(comma=last.comma.with_changes(whitespace_after=between))
        tail = [e.with_changes(comma=cst.Comma(whitespace_after=sep)) for e in extra[:-1]]
        tail.append(extra[-1].with_changes(comma=cst.Comma(whitespace_after=_plain(closing))))
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


def _without(args: Sequence[cst.Arg], index: int) -> Tuple[cst.Arg, ...]:
    """``args`` without ``args[index]``: its comment goes with it, comment lines below it stay."""
    kept = list(args)
    removed = kept.pop(index)
    if not kept or index == 0:
        return tuple(kept)
    before = kept[index - 1]
    mine, theirs = _after_comma(before), _after_comma(removed)
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


def _quote(elements: Sequence[cst.BaseDictElement]) -> str:
    for element in elements:
        if isinstance(element, cst.DictElement) and isinstance(element.key, cst.SimpleString):
            return element.key.value[-1]
    return '"'


def _entry(key: str, value: str, quote: str) -> cst.DictElement:
    return cst.DictElement(key=cst.SimpleString(f"{quote}{key}{quote}"), value=cst.parse_expression(value),
                           whitespace_before_colon=cst.SimpleWhitespace(""),
                           whitespace_after_colon=cst.SimpleWhitespace(" "))


# -- the fixers ----------------------------------------------------------------------------------

FIXERS: Dict[str, Tuple[str, Callable[[Tree, Finding], Optional[Fix]]]] = {}


def fixer(code: str, applicability: str):
    def register(function):
        FIXERS[code] = (applicability, function)
        return function
    return register


@fixer("TFS405", SAFE)
def _reset_state(tree: Tree, f: Finding) -> Optional[Fix]:
    call = tree.call_at(f, lambda c: nodes.method_name(c) == "reset_states" and
                        isinstance(c.func, cst.Attribute) and not c.args)
    if call is None:
        return None
    attr = call.func.attr
    return Fix("Replace reset_states() with reset_state()", SAFE,
               {id(attr): (attr, attr.with_changes(value="reset_state"))})


MODEL_FILES = (".keras", ".h5", ".hdf5")


def _keyword(call: cst.Call, name: str) -> Optional[int]:
    return next((i for i, a in enumerate(call.args) if a.keyword is not None and a.keyword.value == name), None)


@fixer("TFS501", SAFE)
def _drop_save_format(tree: Tree, f: Finding) -> Optional[Fix]:
    call = tree.call_at(f, lambda c: _keyword(c, "save_format") is not None)
    if call is None:
        return None
    position = 1 if nodes.method_name(call) == "save_model" else 0
    tail = nodes.path_tail(nodes.arg(call, position, "filepath"))
    if tail is None:
        tail = f.data.get("path")  # a name: what the rule found assigned to it
    if not isinstance(tail, str) or not tail.endswith(MODEL_FILES):
        return None  # without the extension the format would change, or the save would fail
    new = call.with_changes(args=_without(call.args, _keyword(call, "save_format")))
    return Fix("Remove save_format=: the path's extension already chooses the format", SAFE, {id(call): (call, new)})


WEIGHTS_CALLS = ("save_weights", "load_weights")


@fixer("TFS502", SAFE)
def _weights_h5(tree: Tree, f: Finding) -> Optional[Fix]:
    if f.data.get("call", "save_weights") != "save_weights":
        return None  # load_weights() of .h5 works; ModelCheckpoint paths are not renamed
    call = tree.call_at(f, lambda c: nodes.method_name(c) == "save_weights")
    if call is None:
        return None
    literal = _tail_literal(tree, nodes.arg(call, 0, "filepath"))
    if literal is None or not _raw_tail(literal).endswith(".h5") or _raw_tail(literal).endswith(".weights.h5"):
        return None
    # Every path literal of save_weights()/load_weights() in the module, and where they come from.
    sites = set()
    for other in tree.calls:
        if nodes.method_name(other) in WEIGHTS_CALLS:
            found = _tail_literal(tree, nodes.arg(other, 0, "filepath"))
            if found is not None:
                sites.add(id(found))
    same = [lit for lit in tree.literals if _same_literal(tree, lit, literal)]
    if not all(id(lit) in sites for lit in same):
        return None  # the name is also used for something else: renaming only some would split them
    changes = {id(lit): (lit, _renamed(lit)) for lit in same}
    old = _literal_value(tree, literal)
    return Fix(f"Rename {old!r} to end in .weights.h5, in every save_weights()/load_weights() of this module",
               SAFE, changes)


def _tail_literal(tree: Tree, node: Optional[cst.BaseExpression], depth: int = 0) -> Optional[cst.BaseExpression]:
    """The string literal that ends a path expression (``nodes.path_tail`` in reverse): a name
    counts when it is assigned once in the module, from an expression that has one."""
    if node is None or depth > 8:
        return None
    if isinstance(node, (cst.SimpleString, cst.FormattedString)):
        return node
    if isinstance(node, cst.ConcatenatedString):
        return _tail_literal(tree, node.right, depth + 1)
    if isinstance(node, cst.BinaryOperation):
        if isinstance(node.operator, (cst.Divide, cst.Add)):
            return _tail_literal(tree, node.right, depth + 1)
        if isinstance(node.operator, cst.Modulo) and isinstance(node.left, cst.SimpleString):
            return node.left
        return None
    if isinstance(node, cst.Call):
        parts = dotted(node.func) or []
        if ".".join(parts).endswith("path.join") or parts[-1:] in (["Path"], ["PurePath"], ["joinpath"]):
            return _tail_literal(tree, node.args[-1].value, depth + 1) if node.args and not node.args[-1].star else None
        if parts[-1:] in (["str"], ["fspath"]) and len(node.args) == 1:
            return _tail_literal(tree, node.args[0].value, depth + 1)
        if parts[-1:] == ["format"] and isinstance(node.func, cst.Attribute) and isinstance(node.func.value, cst.SimpleString):
            return node.func.value
        return None
    if isinstance(node, cst.Name) and _only_read(tree, node.value):
        return _tail_literal(tree, tree.assigns[node.value][0].value, depth + 1)
    return None


def _only_read(tree: Tree, name: str) -> bool:
    """``name`` is assigned once in the module and otherwise only read, as an argument or an
    object (``os.path.exists(name)``, ``name.replace(...)``): its value is that assignment's."""
    assigned = tree.assigns.get(name, [])
    if len(assigned) != 1:
        return False
    target = assigned[0].targets[0].target
    for use in tree.uses.get(name, ()):
        above = tree.parent.get(id(use))
        if use is not target and not (isinstance(above, cst.Arg) and above.value is use) and \
                not (isinstance(above, cst.Attribute) and above.value is use):
            return False
    return True


def _raw_tail(literal: cst.BaseExpression) -> str:
    """The source text at the end of a literal, before its closing quote."""
    if isinstance(literal, cst.SimpleString):
        value = literal.value
        quote = value[-3:] if value[-3:] in ('"""', "'''") else value[-1]
        return value[: len(value) - len(quote)]
    last = literal.parts[-1] if literal.parts else None
    return last.value if isinstance(last, cst.FormattedStringText) else ""


def _literal_value(tree: Tree, literal: cst.BaseExpression):
    if isinstance(literal, cst.SimpleString):
        return literal.evaluated_value
    return tree.module.code_for_node(literal)


def _same_literal(tree: Tree, a: cst.BaseExpression, b: cst.BaseExpression) -> bool:
    if type(a) is not type(b):
        return False
    try:
        return _literal_value(tree, a) == _literal_value(tree, b)
    except Exception:  # a literal libcst cannot evaluate (bytes...)
        return False


def _renamed(literal: cst.BaseExpression) -> cst.BaseExpression:
    if isinstance(literal, cst.SimpleString):
        value = literal.value
        quote = value[-3:] if value[-3:] in ('"""', "'''") else value[-1]
        body = value[: len(value) - len(quote)]
        return literal.with_changes(value=body[:-3] + ".weights.h5" + quote)
    last = literal.parts[-1]
    return literal.with_changes(parts=tuple(literal.parts[:-1]) + (last.with_changes(value=last.value[:-3] + ".weights.h5"),))


# -- custom layers and models (TFS301-TFS304) ------------------------------------------------

GETTERS = ("activations", "initializers", "regularizers", "constraints")


def _method(cls: cst.ClassDef, name: str) -> Optional[cst.FunctionDef]:
    body = cls.body.body if isinstance(cls.body, cst.IndentedBlock) else ()
    found = [s for s in body if isinstance(s, cst.FunctionDef) and s.name.value == name]
    return found[0] if len(found) == 1 else None


def _method_at(tree: Tree, f: Finding, name: str) -> Optional[cst.FunctionDef]:
    """Method ``name`` of the class the finding is about."""
    cls = tree.class_at(f)
    return _method(cls, name) if cls is not None else None


def _stored(init: cst.FunctionDef, name: str) -> Optional[str]:
    """What get_config() returns for __init__ parameter ``name``: ``self.x`` when __init__ keeps
    it as given, ``activations.serialize(self.x)`` when it keeps ``activations.get(name)``...;
    None when it does not keep it in one attribute (or keeps another value there too)."""
    found: Dict[str, Optional[str]] = {}
    for node in nodes.walk(init.body, into_defs=False):
        if not isinstance(node, cst.Assign) or len(node.targets) != 1:
            continue
        target = node.targets[0].target
        if not (isinstance(target, cst.Attribute) and isinstance(target.value, cst.Name) and target.value.value == "self"):
            continue
        attr, value, how = target.attr.value, node.value, None
        if isinstance(value, cst.Name) and value.value == name:
            how = f"self.{attr}"
        elif (isinstance(value, cst.Call) and isinstance(value.func, cst.Attribute) and value.func.attr.value == "get"
              and len(value.args) == 1 and isinstance(value.args[0].value, cst.Name)
              and value.args[0].value.value == name and not value.args[0].keyword):
            owner = dotted(value.func.value)
            if owner and owner[-1] in GETTERS:
                how = f"{'.'.join(owner)}.serialize(self.{attr})"
        found[attr] = how if attr not in found else None  # assigned twice: cannot tell which value stays
    kept = [how for how in found.values() if how is not None]
    return kept[0] if len(kept) == 1 else None


def _passed_to_super(init: cst.FunctionDef) -> Set[str]:
    """Parameters given to super().__init__ as ``p=p``: the base config holds them."""
    passed = set()
    for node in nodes.walk(init.body, into_defs=False):
        if isinstance(node, cst.Call) and nodes.self_call(node, "__init__"):
            for a in node.args:
                if a.keyword is not None and isinstance(a.value, cst.Name) and a.value.value == a.keyword.value:
                    passed.add(a.keyword.value)
    return passed


def _entries(init: cst.FunctionDef, params: Sequence[dict]) -> Optional[List[Tuple[str, str]]]:
    """(key, value source) for each parameter; None when one of them cannot be returned faithfully."""
    passed = _passed_to_super(init)
    out = []
    for param in params:
        name = param.get("name")
        if not isinstance(name, str) or name in BASE_KEYS or name in passed:
            continue
        how = _stored(init, name)
        if how is None:
            return None
        if how.startswith("self.") and (param.get("default") or param.get("annotation") or param.get("call")):
            # A callable or object kept as given: get_config() alone cannot round-trip it,
            # __init__ would have to deserialize it too.
            return None
        out.append((name, how))
    return out


@fixer("TFS301", UNSAFE)
def _add_get_config(tree: Tree, f: Finding) -> Optional[Fix]:
    cls = tree.class_at(f)
    if cls is None or _method(cls, "get_config") is not None or not isinstance(f.data.get("params"), list):
        return None
    init = _method(cls, "__init__")
    entries = _entries(init, f.data["params"]) if init is not None else None
    if not entries:
        return None
    module = tree.module
    nl, ind = module.default_newline, module.default_indent
    lines = ["def get_config(self):", f"{ind}return {{", f"{ind * 2}**super().get_config(),"]
    lines += [f'{ind * 2}"{name}": {value},' for name, value in entries]
    lines.append(f"{ind}}}")
    method = cst.parse_statement(nl.join(lines) + nl, config=module.config_for_parsing)
    method = method.with_changes(leading_lines=(cst.EmptyLine(indent=False),))
    body = list(cls.body.body)
    body.insert(body.index(init) + 1, method)
    names = ", ".join(repr(name) for name, _ in entries)
    return Fix(f"Add a get_config() that returns {names} on top of super().get_config()", UNSAFE,
               {id(cls.body): (cls.body, cls.body.with_changes(body=tuple(body)))})


@fixer("TFS302", UNSAFE)
def _complete_get_config(tree: Tree, f: Finding) -> Optional[Fix]:
    get_config, init = _method_at(tree, f, "get_config"), _method_at(tree, f, "__init__")
    if get_config is None or init is None or not isinstance(f.data.get("params"), list):
        return None
    named = f.data.get("missing") or ()  # the parameters the finding names
    missing = [p for p in f.data["params"] if isinstance(p, dict) and p.get("name") in named]
    dicts = [d for d in nodes.walk(get_config.body, into_defs=False) if isinstance(d, cst.Dict) and any(
        isinstance(e, cst.DictElement) and nodes.string(e.key) is not None for e in d.elements)]
    entries = _entries(init, missing) if missing else None
    if not entries or len(dicts) != 1:
        return None  # no single dict literal to complete
    target = dicts[0]
    quote = _quote(target.elements)
    added = [_entry(name, value, quote) for name, value in entries]
    new = target.with_changes(elements=_separated(target.elements, added, target.lbrace.whitespace_after))
    names = " and ".join(repr(name) for name, _ in entries)
    return Fix(f"Add {names} to the dict get_config() returns", UNSAFE, {id(target): (target, new)})


def _super_config() -> cst.BaseExpression:
    return cst.parse_expression("super().get_config()")


@fixer("TFS303", UNSAFE)
def _merge_super_config(tree: Tree, f: Finding) -> Optional[Fix]:
    get_config = _method_at(tree, f, "get_config")
    if get_config is None:
        return None
    returns = [r for r in nodes.walk(get_config.body, into_defs=False) if isinstance(r, cst.Return)]
    if not returns or any(r.value is None for r in returns):
        return None
    changes = {}
    for r in returns:
        value = r.value
        if isinstance(value, cst.Dict) and not value.lpar:
            first = cst.StarredDictElement(_super_config())
            elements = value.elements
            opening = value.lbrace.whitespace_after
            if isinstance(opening, cst.ParenthesizedWhitespace):
                sep = _plain(opening)
            else:
                sep = _plain(_after_comma(elements[0])) if len(elements) >= 2 and _after_comma(elements[0]) else \
                    cst.SimpleWhitespace(" ")
            if elements:
                first = first.with_changes(comma=cst.Comma(whitespace_after=sep))
            new = value.with_changes(elements=(first,) + tuple(elements))
        else:
            new = cst.Dict([cst.StarredDictElement(_super_config(), comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))),
                            cst.StarredDictElement(value)])
        changes[id(value)] = (value, new)
    return Fix("Start the returned dict from super().get_config()", UNSAFE, changes)


@fixer("TFS304", UNSAFE)
def _forward_kwargs(tree: Tree, f: Finding) -> Optional[Fix]:
    init = _method_at(tree, f, "__init__")
    if init is None:
        return None
    params = init.params
    kwargs = params.star_kwarg
    name = kwargs.name.value if kwargs is not None else "kwargs"
    everything = list(params.posonly_params) + list(params.params) + list(params.kwonly_params)
    if kwargs is None and any(p.name.value == name for p in everything):
        return None
    calls = [c for c in nodes.walk(init.body, into_defs=False) if isinstance(c, cst.Call) and nodes.self_call(c, "__init__")]
    if len(calls) != 1:
        return None
    call = calls[0]
    new = init
    stars = [a for a in call.args if a.star == "**"]
    if not stars:
        extra = cst.Arg(cst.Name(name), star="**")
        new = new.deep_replace(call, call.with_changes(args=_separated(call.args, [extra], call.whitespace_before_args)))
    elif kwargs is None or not any(isinstance(a.value, cst.Name) and a.value.value == name for a in stars):
        return None  # some other ** mapping already goes there: adding ours could pass a key twice
    if kwargs is None:
        new = new.with_changes(params=_with_star_kwarg(new.params, name, init.whitespace_before_params))
    if new is init:
        return None
    message = "Pass **kwargs on to super().__init__()" if kwargs is not None else \
        "Add **kwargs to __init__() and pass them on to super().__init__()"
    return Fix(message, UNSAFE, {id(init): (init, new)})


def _with_star_kwarg(params: cst.Parameters, name: str, opening) -> cst.Parameters:
    """``params`` with ``**name`` at the end, laid out as the others are."""
    order = ["posonly_params", "posonly_ind", "params", "star_arg", "kwonly_params"]
    seq: List[Tuple[str, int, cst.CSTNode]] = []
    for where in order:
        value = getattr(params, where)
        if isinstance(value, (list, tuple)):
            seq.extend((where, i, v) for i, v in enumerate(value))
        elif isinstance(value, (cst.Param, cst.ParamStar, cst.ParamSlash)):
            seq.append((where, -1, value))
    star = cst.Param(cst.Name(name), star="**")
    laid = _separated([v for _, _, v in seq], [star], opening)
    if not seq:
        return params.with_changes(star_kwarg=laid[-1])
    where, index, _ = seq[-1]
    last = laid[-2]
    if index < 0:
        changed = params.with_changes(**{where: last})
    else:
        values = list(getattr(params, where))
        values[index] = last
        changed = params.with_changes(**{where: tuple(values)})
    return changed.with_changes(star_kwarg=laid[-1])


# -- applying fixes ---------------------------------------------------------------------------

class _Replace(cst.CSTTransformer):
    def __init__(self, changes: Dict[int, Tuple[cst.CSTNode, cst.CSTNode]]):
        super().__init__()
        self.changes = changes

    def on_leave(self, original_node, updated_node):
        found = self.changes.get(id(original_node))
        return found[1] if found is not None and found[0] is original_node else updated_node


def _compiles(text: str) -> bool:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the user's own invalid escapes...
            compile(text, "<fix>", "exec", dont_inherit=True)
        return True
    except Exception:
        return False


def _result(module: cst.Module, changes: Dict[int, Tuple[cst.CSTNode, cst.CSTNode]],
            compiled: bool) -> Optional[str]:
    """The fixed text, or None when it does not parse (or no longer compiles)."""
    try:
        text = module.visit(_Replace(changes)).code
        cst.parse_module(text)
    except Exception:
        return None
    if compiled and not _compiles(text):
        return None
    return text


def allowed(applicability: str, unsafe: bool) -> bool:
    return applicability == SAFE or unsafe


def fix_for(tree: Tree, finding: Finding) -> Optional[Fix]:
    entry = FIXERS.get(finding.code)
    if entry is None:
        return None
    try:
        return entry[1](tree, finding)
    except Exception:  # a fixer bug, or a shape it did not foresee: no fix rather than a crash
        return None


def fix_text(text: str, findings: Sequence[Finding], unsafe: bool = False) -> Tuple[str, List[Finding]]:
    """One pass over one file: the text with every fix that fits applied, and the findings fixed."""
    wanted = [f for f in findings if f.code in FIXERS and allowed(FIXERS[f.code][0], unsafe)]
    if not wanted:
        return text, []
    try:
        tree = Tree(text)
    except Exception:
        return text, []
    chosen: List[Tuple[Fix, List[Finding]]] = []
    changed: Set[int] = set()
    lineage: Set[int] = set()
    for f in sorted(wanted, key=Finding.sort_key):
        fix = fix_for(tree, f)
        if fix is None:
            continue
        same = next((c for c in chosen if c[1][0].code == f.code and c[0].changes.keys() == fix.changes.keys()), None)
        if same is not None:  # one rename serving several findings
            same[1].append(f)
            continue
        mine = set(fix.changes)
        line = mine | {id(a) for old, _ in fix.changes.values() for a in tree.ancestors(old)}
        if mine & lineage or line & changed:
            continue  # overlaps a fix already chosen: the next pass
        chosen.append((fix, [f]))
        changed |= mine
        lineage |= line
    if not chosen:
        return text, []
    compiled = _compiles(text)
    merged = {k: v for fix, _ in chosen for k, v in fix.changes.items()}
    result = _result(tree.module, merged, compiled)
    if result is not None:
        return result, [f for _, found in chosen for f in found]
    # Some fix broke the file: keep the first one that does not, alone; the next pass does the rest.
    for fix, found in chosen:
        result = _result(tree.module, fix.changes, compiled)
        if result is not None:
            return result, found
    return text, []


def attach(findings: Sequence[Finding], texts: Optional[Dict[str, str]] = None) -> List[Finding]:
    """The findings, each with ``fix`` set when a fix for it exists (safe or not)."""
    texts = texts or {}
    out = list(findings)
    by_path: Dict[str, List[int]] = {}
    for i, f in enumerate(findings):
        if f.code in FIXERS and f.cell is None and (f.path in texts or f.path.endswith(".py")):
            by_path.setdefault(f.path, []).append(i)
    for path, indexes in by_path.items():
        try:
            text = texts[path] if path in texts else source.read(path)[1]
            tree = Tree(text)
        except Exception:
            continue
        for i in indexes:
            fix = fix_for(tree, out[i])
            if fix is not None:
                out[i] = replace(out[i], fix={"applicability": fix.applicability, "message": fix.message})
    return out


# -- a whole run -------------------------------------------------------------------------------

@dataclass
class Outcome:
    report: object  # run.Report: the findings left
    fixed: int = 0
    files: Dict[str, Tuple[bytes, str, str]] = field(default_factory=dict)  # path -> (bytes, text, fixed text)

    def diff(self) -> str:
        out = []
        for path, (_, before, after) in sorted(self.files.items()):
            out.extend(unified_diff(path, before, after))
        return "".join(out)


def fix_run(report, settings, unsafe: bool = False, texts: Optional[Mapping[str, str]] = None) -> Outcome:
    """Fix every file of a settled run (``report.results``) in memory, pass after pass.
    ``texts``: files read from standard input, by name (fixed from that text, never from disk)."""
    from tflint_save import run

    texts = texts or {}
    results = list(report.results)
    rules = run.enabled_rules(settings)
    where = {r.path: i for i, r in enumerate(results)}
    outcome = Outcome(report)
    seen: Dict[str, Set[str]] = {}
    for _ in range(MAX_PASSES):
        todo: Dict[str, List[Finding]] = {}
        for f in outcome.report.findings:
            if f.code in FIXERS and allowed(FIXERS[f.code][0], unsafe) and f.path in where \
                    and (f.path.endswith(".py") or f.path in texts) and f.cell is None:
                todo.setdefault(f.path, []).append(f)
        progress = False
        for path, found in sorted(todo.items()):
            if path not in outcome.files:
                try:
                    data, text = (texts[path].encode("utf-8"), texts[path]) if path in texts else source.read(path)
                except source.SourceError:
                    continue
                outcome.files[path] = (data, text, text)
            data, original, current = outcome.files[path]
            new, done = fix_text(current, found, unsafe)
            if not done or new in seen.setdefault(path, {original}):
                continue
            seen[path].add(new)
            outcome.files[path] = (data, original, new)
            outcome.fixed += len(done)
            results[where[path]] = run.lint_file(path, settings, rules, text=new)
            progress = True
        if not progress:
            break
        outcome.report = run.settle(results, settings, report.others, report.support)
    outcome.files = {p: v for p, v in outcome.files.items() if v[1] != v[2]}
    return outcome


def unified_diff(path: str, before: str, after: str) -> List[str]:
    lines = []
    for line in difflib.unified_diff(before.splitlines(True), after.splitlines(True), path, path):
        lines.append(line if line.endswith(("\n", "\r")) else line + "\n\\ No newline at end of file\n")
    return lines


def encoding_of(data: bytes) -> str:
    try:
        return tokenize.detect_encoding(io.BytesIO(data).readline)[0]  # 'utf-8-sig' keeps a BOM
    except SyntaxError:
        return "utf-8"


def write(path: str, original: bytes, text: str) -> Optional[str]:
    """Replace the file atomically with ``text`` in its own encoding; an error message, or None."""
    real = os.path.realpath(path)
    try:
        data = text.encode(encoding_of(original))
        with open(real, "rb") as handle:
            if handle.read() != original:
                return "it changed while it was being fixed; run again"
        source.write_atomic(real, data, stat.S_IMODE(os.stat(real).st_mode))
    except (OSError, UnicodeError) as exc:
        return getattr(exc, "strerror", None) or str(exc)
    return None


@dataclass
class Applied:
    """What --fix or --diff did: the findings left (each with the fix still on offer), how many
    were fixed (or would be) in how many files, the diff (--diff) and the fixed text of each
    file read from standard input."""

    report: object  # run.Report
    fixed: int
    files: int
    diff: Optional[str]
    texts: Dict[str, str]


def apply(report, settings, texts: Dict[str, str], unsafe: bool = False, diff: bool = False) -> Applied:
    """--fix (or, with ``diff``, --diff).  ``texts``: what was read from standard input, by its
    name: fixed in memory, never written.  A file that cannot be written is an error (on stderr,
    and the report's internal_error makes the exit code 2)."""
    outcome = fix_run(report, settings, unsafe, texts)
    left = outcome.report
    if not diff:
        for path, (original, _, fixed) in sorted(outcome.files.items()):
            if path in texts:
                continue
            error = write(path, original, fixed)
            if error is not None:
                sys.stderr.write(f"tflint-save: error: cannot write the fixes to {path}: {error}\n")
                left.internal_error = True  # exit code 2, as for any error
    now = dict(texts)
    now.update({path: fixed for path, (_, _, fixed) in outcome.files.items()})
    left.findings = attach(left.findings, now)
    return Applied(left, outcome.fixed, len(outcome.files), outcome.diff() if diff else None,
                   {path: now[path] for path in texts})
