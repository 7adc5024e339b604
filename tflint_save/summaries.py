"""Summaries of functions and methods: what each one returns and what it does to its parameters.

A rule that meets ``model = get_model()``, or ``model = load_checkpoint(path)``, cannot see from
the call what it holds; the callee's summary says it: a Keras model it built (and the optimizer
it compiled it with), a model it loaded, the model another callee returns, and whether it called
``load_weights()`` on it first (from which parameter, and with the optimizer built or not).  The
summaries are read from the same CPython ``ast`` tree as the rest of ``modulefacts.Summary``
(one parse), kept in it and cached with it as plain data, so a call is followed into any module of
the program, linted or not.  The questions across modules (which function a call means, what it
returns after following calls) are ``index.ProjectIndex.returned``.

Whatever one function does not show for certain stays unknown (``""``): a name bound twice to
different things, a return of something else on one path, a path that is not a parameter or a
literal.  Unknown never makes a finding.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, replace
from typing import Callable, Dict, FrozenSet, Iterable, List, Optional, Tuple

# What a returned value is.
MODEL = "model"  # a Keras model the function builds (Sequential, Model, keras.applications...)
LOADED = "loaded"  # a model from load_model()
CALL = "call"  # what ``callee`` returns: followed by the project index

_MODEL_APIS = ("keras.models.Sequential", "keras.models.Model", "keras.models.clone_model")
_LOAD_MODEL = "keras.saving.load_model"

Names = Callable[[ast.AST], FrozenSet[str]]


@dataclass(frozen=True)
class Returned:
    """The value a function returns, as its own body shows it."""

    kind: str  # MODEL, LOADED or CALL
    callee: str = ""  # CALL: the function or class called, as the module spells it resolved
    optimizer: str = ""  # the compile(optimizer=...) it gave the model, as written; "" none or unknown
    # load_weights() into it before the return: "param:<name>" (the caller's argument), "=<literal>",
    # "?" (a path we cannot follow); "" none.
    weights: str = ""
    built: bool = False  # its optimizer was built before that load_weights()
    compiled: bool = False  # compile() was called on it here


@dataclass(frozen=True)
class Function:
    """A module-level function (``name``) or a method (``Class.name``)."""

    name: str
    params: Tuple[str, ...]
    returns: Optional[Returned] = None
    # What the function calls on its parameters: (parameter, method) for fit, compile,
    # load_weights, save_weights, save, apply_gradients.
    effects: Tuple[Tuple[str, str], ...] = ()


EFFECTS = ("fit", "compile", "load_weights", "save_weights", "save", "train_on_batch")
_UNKNOWN = Returned("")


def read(tree: ast.Module, names: Names, raw: Names) -> Dict[str, Function]:
    """The summaries of a module's functions and methods worth one: those that return a model (or
    what another callee returns) or act on a parameter.  ``names``/``raw``: the module's
    canonical and as-imported names of an expression (``modulefacts`` resolves its imports)."""
    defs: List[Tuple[ast.AST, str]] = []
    for statement in _module_level(tree.body):
        if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)):
            defs.append((statement, ""))
        elif isinstance(statement, ast.ClassDef):
            defs += [(inner, statement.name) for inner in statement.body
                     if isinstance(inner, (ast.FunctionDef, ast.AsyncFunctionDef))]
    seen: Dict[str, int] = {}
    for node, cls in defs:
        key = f"{cls}.{node.name}" if cls else node.name
        seen[key] = seen.get(key, 0) + 1
    found: Dict[str, Function] = {}
    for node, cls in defs:
        if seen[f"{cls}.{node.name}" if cls else node.name] > 1:
            continue  # defined twice (a redefinition, one per branch): which one runs is not known
        function = _Body(node, cls, names, raw).summary()
        if function is not None:
            found[function.name] = function
    return found


def _module_level(body: Iterable[ast.stmt]) -> Iterable[ast.stmt]:
    """Module-level statements, into if/try/with blocks (a def under a guard is defined too)."""
    for statement in body:
        yield statement
        if isinstance(statement, (ast.If, ast.Try, ast.With)) or type(statement).__name__ == "TryStar":
            for block in ("body", "orelse", "finalbody"):
                yield from _module_level(getattr(statement, block, ()))
            for handler in getattr(statement, "handlers", ()):
                yield from _module_level(handler.body)


def dotted(node: ast.AST) -> Optional[List[str]]:
    """``a.b.c`` as ['a', 'b', 'c']; None for anything that is not a plain dotted name."""
    parts: List[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    parts.append(node.id)
    parts.reverse()
    return parts


def _statements(body: Iterable[ast.stmt]) -> Iterable[ast.AST]:
    """The nodes of a function body that ``_Body`` reads, in source order, without nested
    definitions and lambdas.  Every function of every module is read, linted or not, so this
    is hand-rolled: ``ast.iter_child_nodes`` made it four times slower."""
    todo: List[ast.AST] = [node for node in reversed(list(body)) if type(node) not in _PASSED]
    pop, push = todo.pop, todo.append
    while todo:
        node = pop()
        if type(node) in _READ:
            yield node
        push_children(node, push, _PASSED)


def push_children(node: ast.AST, push: Callable[[ast.AST], None], passed: FrozenSet[type]) -> None:
    """Hand ``node``'s children to ``push``, last first (a stack then pops them in source
    order), except those of a type in ``passed`` and what fields of names, operators, contexts
    and annotations hold."""
    fields = _FIELDS.get(type(node))
    if fields is None:
        fields = _FIELDS[type(node)] = tuple(reversed([f for f in type(node)._fields if f not in _LEAF_FIELDS]))
    for name in fields:
        value = getattr(node, name, None)
        if type(value) is list:
            for child in reversed(value):
                if type(child) not in passed and isinstance(child, ast.AST):
                    push(child)
        elif type(value) not in passed and isinstance(value, ast.AST):
            push(value)


_READ = frozenset({ast.Assign, ast.AnnAssign, ast.Call, ast.Return, ast.For, ast.AsyncFor, ast.With, ast.AsyncWith,
                   ast.AugAssign, ast.NamedExpr})
# Not entered: nested scopes, and nodes with nothing of _READ below them.
_PASSED = frozenset({ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda, ast.Name, ast.Constant,
                     ast.Load, ast.Store, ast.Del, ast.Pass, ast.Break, ast.Continue, ast.alias, ast.Global,
                     ast.Nonlocal, ast.JoinedStr})
# Fields that hold names, numbers, operators, contexts or annotations: never a call worth reading.
_LEAF_FIELDS = frozenset({"ctx", "op", "ops", "attr", "id", "name", "asname", "arg", "level", "lineno", "col_offset",
                          "end_lineno", "end_col_offset", "type_comment", "conversion", "kind", "is_async",
                          "simple", "format_spec", "annotation", "returns", "type_params", "type_ignores"})
_FIELDS: Dict[type, Tuple[str, ...]] = {}


class _Body:
    """One function's body, read once in source order."""

    def __init__(self, node: ast.AST, cls: str, names: Names, raw: Names):
        self.node = node
        self.cls = cls
        self.names = names
        self.raw = raw
        args = node.args
        self.params = tuple(a.arg for a in args.posonlyargs + args.args + args.kwonlyargs)
        self.values: Dict[str, Returned] = {}
        self.bound: Dict[str, int] = {}  # how many times each name is bound
        self.effects: List[Tuple[str, str]] = []
        self.returns: List[Returned] = []

    def summary(self) -> Optional[Function]:
        for node in _statements(self.node.body):
            kind = type(node)
            if kind is ast.Assign or kind is ast.AnnAssign:
                self._assign(node)
            elif kind is ast.Call:
                self._call(node)
            elif kind is ast.Return:
                self.returns.append(self.value(node.value) if node.value is not None else _UNKNOWN)
            else:
                for target in _targets(node):
                    self._bind(target, _UNKNOWN)
        returned = None
        if self.returns and all(r == self.returns[0] for r in self.returns) and self.returns[0].kind:
            returned = self.returns[0]
        effects = tuple(dict.fromkeys(self.effects))
        if returned is None and not effects:
            return None
        name = f"{self.cls}.{self.node.name}" if self.cls else self.node.name
        return Function(name, self.params, returned, effects)

    # -- values ----------------------------------------------------------------------------
    def value(self, node: Optional[ast.AST]) -> Returned:
        if isinstance(node, ast.Name):
            if self.bound.get(node.id, 0) != 1:
                return _UNKNOWN  # a parameter, or bound more than once
            return self.values.get(node.id, _UNKNOWN)
        if not isinstance(node, ast.Call):
            return _UNKNOWN
        canonical = self.names(node.func)
        if canonical:
            if any(n in _MODEL_APIS or n.startswith("keras.applications.") for n in canonical):
                return Returned(MODEL)
            if _LOAD_MODEL in canonical:
                return Returned(LOADED)
            raw = self.raw(node.func)
            if len(raw) == 1 and not any(n.split(".", 1)[0] in ("keras", "tensorflow", "tf_keras")
                                         for n in canonical):
                return Returned(CALL, next(iter(raw)))  # a project function another module defines
            return _UNKNOWN
        parts = dotted(node.func)
        if parts is None:
            return _UNKNOWN
        callee = ".".join(parts)
        head = parts[0]
        if head == "self" and (len(parts) != 2 or not self.cls) or len(parts) > 2 or len(parts) == 2 and head != "self":
            return _UNKNOWN  # self(x), a method of some object
        if head in self.params and head != "self" or head in self.bound:
            return _UNKNOWN  # a callable the caller gives, or a local
        if head == "self":
            callee = f"{self.cls}.{parts[1]}"
        return Returned(CALL, callee)

    def _bind(self, target: ast.AST, value: Returned) -> None:
        if isinstance(target, ast.Name):
            self.bound[target.id] = self.bound.get(target.id, 0) + 1
            self.values[target.id] = value
        elif isinstance(target, (ast.Tuple, ast.List)):
            for element in target.elts:
                self._bind(element, _UNKNOWN)
        elif isinstance(target, ast.Starred):
            self._bind(target.value, _UNKNOWN)

    def _assign(self, node: ast.AST) -> None:
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        if node.value is None:
            return
        value = self.value(node.value) if len(targets) == 1 else _UNKNOWN
        for target in targets:
            self._bind(target, value)

    def _call(self, node: ast.Call) -> None:
        func = node.func
        if not isinstance(func, ast.Attribute):
            return
        method = func.attr
        receiver = func.value
        if method == "build":
            self._built(node, receiver)
            return
        if method not in EFFECTS:
            return
        if isinstance(receiver, ast.Name):
            name = receiver.id
            if name in self.params and name not in self.bound:
                self.effects.append((name, method))
                return
            held = self.values.get(name)
            if held is None or not held.kind or self.bound.get(name, 0) != 1:
                return
            if method == "load_weights":
                self.values[name] = replace(held, weights=self._path(node))
            elif method == "compile":
                self.values[name] = replace(held, compiled=True, optimizer=_optimizer(node))
        elif isinstance(receiver, ast.Attribute) and isinstance(receiver.value, ast.Name) \
                and receiver.value.id == "self" and self.cls:
            self.effects.append((f"self.{receiver.attr}", method))

    def _built(self, node: ast.Call, receiver: ast.AST) -> None:
        """``m.optimizer.build(...)`` or ``opt.build(m.trainable_variables)``: m's optimizer is built."""
        model = None
        if isinstance(receiver, ast.Attribute) and receiver.attr == "optimizer" and \
                isinstance(receiver.value, ast.Name):
            model = receiver.value.id
        elif node.args and isinstance(node.args[0], ast.Attribute) and isinstance(node.args[0].value, ast.Name) \
                and node.args[0].attr in ("trainable_variables", "trainable_weights"):
            model = node.args[0].value.id
        held = self.values.get(model or "")
        if held is not None and held.kind and not held.weights:
            self.values[model] = replace(held, built=True)

    def _path(self, node: ast.Call) -> str:
        path = node.args[0] if node.args else next((k.value for k in node.keywords if k.arg == "filepath"), None)
        if isinstance(path, ast.Constant) and isinstance(path.value, str):
            return "=" + path.value
        if isinstance(path, ast.Name) and path.id in self.params and path.id not in self.bound:
            return "param:" + path.id
        return "?"


def _targets(node: ast.AST) -> List[ast.AST]:
    if isinstance(node, (ast.For, ast.AsyncFor)):
        return [node.target]
    if isinstance(node, (ast.With, ast.AsyncWith)):
        return [i.optional_vars for i in node.items if i.optional_vars is not None]
    if isinstance(node, (ast.AugAssign, ast.NamedExpr)):
        return [node.target]
    return []


def _optimizer(node: ast.Call) -> str:
    given = node.args[0] if node.args else next((k.value for k in node.keywords if k.arg == "optimizer"), None)
    if given is None or any(k.arg is None for k in node.keywords):
        return ""
    try:
        return ast.unparse(given)
    except Exception:  # very deep expressions
        return ""


# -- JSON (the cache) -----------------------------------------------------------------------

def from_json(raw: Dict[str, dict]) -> Dict[str, Function]:
    found = {}
    for name, f in raw.items():
        returns = Returned(**f["returns"]) if f.get("returns") else None
        found[name] = Function(f["name"], tuple(f["params"]), returns, tuple(tuple(e) for e in f["effects"]))
    return found
