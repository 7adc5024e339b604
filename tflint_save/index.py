"""The project index: custom Keras classes and functions across every linted file.

While each file is walked, ``Collector`` (a shared analysis the engine runs on every file) notes its classes (bases, decorators, methods),
its module-level functions, ``get_custom_objects()`` registrations, and functions handed
to Keras as losses, metrics or activations.  Once every file is done, ``ProjectIndex``
answers what a class is (a Layer through two project base classes in other files...) and
what the project would need to register before ``load_model`` can work.
"""

from __future__ import annotations

from typing import Dict, Iterable, List, Optional, Sequence, Set, Tuple

import libcst as cst

from tflint_save import nodes
from tflint_save.analysis import Analysis
from tflint_save.findings import ClassInfo, Facts, FileResult

REGISTER = "keras.saving.register_keras_serializable"
GET_CUSTOM_OBJECTS = "keras.saving.get_custom_objects"

# What subclassing a Keras name makes a class.
_FAMILY_KIND = {
    "layers": "layer",
    "models": "model",
    "losses": "loss",
    "metrics": "metric",
    "callbacks": "callback",
    "optimizers": "optimizer",
}
# Kinds that a saved model records by class name and load_model must find again.
SERIALIZED_KINDS = ("layer", "model", "loss", "metric")


def _is_register(ctx, node: cst.BaseExpression) -> bool:
    if isinstance(node, cst.Call):
        node = node.func
    return REGISTER in ctx.names(node)


class Collector(Analysis):
    """Gathers one file's contribution to the index during the walk."""

    def __init__(self, ctx) -> None:
        super().__init__(ctx)
        self.classes: List[ClassInfo] = []
        self.functions: List[Tuple[str, bool]] = []
        self.registered: List[str] = []
        self.uses: List[Tuple[str, str]] = []
        self.registering: Set[str] = set()
        self.called: Set[str] = set()
        self.def_calls: Dict[str, Set[str]] = {}
        self._local: Set[str] = set()

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        ctx = self.ctx
        module = tuple(ctx.resolver.module_parts)
        bases = []
        for arg in node.bases:
            if arg.keyword is not None or arg.star:
                continue
            candidates = ctx.names(arg.value)
            if not candidates and isinstance(arg.value, cst.Name):
                candidates = frozenset({".".join(module + (arg.value.value,))})
            if candidates:
                bases.append(tuple(sorted(candidates)))
        methods = tuple(nodes.methods(node))
        registered = any(_is_register(ctx, d.decorator) for d in node.decorators)
        decorators = tuple(sorted({n for n in (_called_name(d.decorator) for d in node.decorators) if n}))
        self.classes.append(
            ClassInfo(ctx.path, module, node.name.value, tuple(bases), registered, methods, 0, decorators)
        )
        self._local.add(node.name.value)

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        ctx = self.ctx
        if len(ctx.resolver.scopes) == 1:  # module-level functions only
            registered = any(_is_register(ctx, d.decorator) for d in node.decorators)
            self.functions.append((node.name.value, registered))

    def leave_Call(self, node: cst.Call) -> None:
        ctx = self.ctx
        func = node.func
        names = ctx.names(func)
        name = _called_name(func)
        if name and not ctx.classes:
            # Sub-layers built inside another class are rebuilt by its constructor on load;
            # only what model-building code instantiates is looked up by name.
            self.called.add(name)
        if ctx.functions or ctx.classes:
            # Project decorators that register what they wrap, directly or through a helper
            # (keras_hub_export -> maybe_register_serializable -> register_keras_serializable).
            outer = _outermost(ctx).name.value
            if REGISTER in names:
                self.registering.add(outer)
            elif name:
                self.def_calls.setdefault(outer, set()).add(name)
        if isinstance(func, cst.Attribute):
            method = func.attr.value
            if method == "compile":
                self._compile_uses(node)
            elif method == "update" and isinstance(func.value, cst.Call):
                if GET_CUSTOM_OBJECTS in ctx.names(func.value.func):
                    for arg in node.args:
                        self._registered_dict(arg.value)
        if isinstance(func, cst.Call) and _is_register(ctx, func):
            for arg in node.args:  # register_keras_serializable()(MyLayer)
                if isinstance(arg.value, cst.Name):
                    self.registered.append(arg.value.value)
        for arg in node.args:
            if arg.keyword is not None and arg.keyword.value == "activation" and isinstance(arg.value, cst.Name):
                if not ctx.names(arg.value):
                    self.uses.append((arg.value.value, "activation"))
        stack = ctx.stack  # the call's ancestors (it has left the stack)
        if len(stack) >= 2 and GET_CUSTOM_OBJECTS in names:
            # get_custom_objects()["MyLayer"] = MyLayer
            subscript, assign_target = stack[-1], stack[-2]
            if isinstance(subscript, cst.Subscript) and isinstance(assign_target, cst.AssignTarget):
                statement = stack[-3] if len(stack) >= 3 else None
                if isinstance(statement, cst.Assign) and isinstance(statement.value, cst.Name):
                    self.registered.append(statement.value.value)

    def _registered_dict(self, value: cst.BaseExpression) -> None:
        if isinstance(value, cst.Dict):
            for element in value.elements:
                if isinstance(element, cst.DictElement) and isinstance(element.value, cst.Name):
                    self.registered.append(element.value.value)

    def _compile_uses(self, node: cst.Call) -> None:
        for arg in node.args:
            if arg.keyword is None:
                continue
            role = {"loss": "loss", "metrics": "metric", "weighted_metrics": "metric"}.get(arg.keyword.value)
            if role:
                for name in names_in(arg.value):
                    self.uses.append((name, role))

    def finish(self) -> None:
        result: FileResult = self.ctx.result
        result.classes = self.classes
        result.functions = self.functions
        result.registered_names = self.registered
        result.custom_functions = self.uses
        result.registering = sorted(self.registering)
        result.def_calls = {k: sorted(v) for k, v in self.def_calls.items()}
        result.called = sorted(self.called)


def _called_name(node: cst.BaseExpression) -> Optional[str]:
    """``@export("x")`` or ``@pkg.export`` -> 'export'."""
    return nodes.last_name(node.func if isinstance(node, cst.Call) else node)


def _outermost(ctx) -> cst.CSTNode:
    """The module-level function or class the walk is inside (asked only inside one: the engine
    puts a def on the stack before it enters its body)."""
    return next(node for node in ctx.stack if isinstance(node, (cst.FunctionDef, cst.ClassDef)))


def names_in(value: cst.BaseExpression) -> Iterable[str]:
    if isinstance(value, cst.Name):
        yield value.value
    elif isinstance(value, (cst.List, cst.Tuple)):
        for element in value.elements:
            yield from names_in(element.value)
    elif isinstance(value, cst.Dict):
        for element in value.elements:
            if isinstance(element, cst.DictElement):
                yield from names_in(element.value)


class ProjectIndex:
    """Answers questions about the project's own Keras classes and functions."""

    def __init__(self, results: Sequence[FileResult]):
        self.classes: Dict[str, ClassInfo] = {}
        self.by_name: Dict[str, List[ClassInfo]] = {}
        self.registered_names: Set[str] = set()
        self.functions: Dict[str, List[bool]] = {}
        self.uses: Set[Tuple[str, str]] = set()
        self.registering: Set[str] = set()
        self.called: Set[str] = set()
        def_calls: Dict[str, Set[str]] = {}
        for result in results:
            self.registering.update(result.registering)
            self.called.update(result.called)
            for name, calls in result.def_calls.items():
                def_calls.setdefault(name, set()).update(calls)
            for info in result.classes:
                self.classes[info.key] = info
                self.by_name.setdefault(info.name, []).append(info)
            self.registered_names.update(result.registered_names)
            for name, registered in result.functions:
                self.functions.setdefault(name, []).append(registered)
            self.uses.update(result.custom_functions)
        self._kinds: Dict[str, Set[str]] = {}
        # Deferred findings by (code, class key): what a rule noted about a class in its own file.
        self._deferred: Dict[Tuple[str, str], List[Facts]] = {}
        for result in results:
            for pending in result.pending:
                key = getattr(pending.data, "key", None)
                if isinstance(key, str):
                    self._deferred.setdefault((pending.code, key), []).append(pending.data)
        # What calls a registering callable registers too (to a fixed point).
        changed = True
        while changed:
            changed = False
            for name, calls in def_calls.items():
                if name not in self.registering and not calls.isdisjoint(self.registering):
                    self.registering.add(name)
                    changed = True

    def lookup(self, reference: str) -> List[ClassInfo]:
        """Project classes a base-class reference may mean: by module suffix, else by name."""
        module, _, name = reference.rpartition(".")
        candidates = self.by_name.get(name, [])
        wanted = tuple(module.split(".")) if module else ()
        exact = [c for c in candidates if wanted and c.module[-len(wanted):] == wanted]
        return exact or candidates

    def kinds(self, info: ClassInfo) -> Set[str]:
        """Every Keras kind (layer, model, loss, metric...) the class derives from."""
        key = info.key
        if key in self._kinds:
            return self._kinds[key]
        self._kinds[key] = set()  # cycle guard
        found: Set[str] = set()
        for candidates in info.bases:
            for base in candidates:
                if base.startswith("keras."):
                    parts = base.split(".")
                    kind = _FAMILY_KIND.get(parts[1]) if len(parts) > 2 else None
                    if kind:
                        found.add(kind)
                else:
                    for parent in self.lookup(base):
                        if parent.key != key:
                            found |= self.kinds(parent)
        self._kinds[key] = found
        return found

    def ancestors(self, info: ClassInfo) -> List[ClassInfo]:
        """The project's own base classes of ``info``, nearest first (no Keras classes)."""
        seen, order, todo = {info.key}, [], [info]
        while todo:
            current = todo.pop(0)
            for candidates in current.bases:
                for base in candidates:
                    if base.startswith("keras."):
                        continue
                    for parent in self.lookup(base):
                        if parent.key not in seen:
                            seen.add(parent.key)
                            order.append(parent)
                            todo.append(parent)
        return order

    def defines(self, info: ClassInfo, method: str) -> bool:
        """The class or one of its project ancestors defines ``method``."""
        return method in info.methods or any(method in a.methods for a in self.ancestors(info))

    def is_registered(self, info: ClassInfo) -> bool:
        return (
            info.registered
            or info.name in self.registered_names
            or any(d in self.registering for d in info.decorators)
        )

    def instantiated(self, info: ClassInfo) -> bool:
        """Code outside class bodies calls the class: only such classes are looked up by name
        when a saved model is loaded."""
        return info.name in self.called

    def keras_classes(self, kinds: Sequence[str] = SERIALIZED_KINDS) -> List[ClassInfo]:
        return [c for c in self.classes.values() if self.kinds(c) & set(kinds)]

    def unregistered_classes(self) -> List[ClassInfo]:
        """Custom layers, models, losses and metrics that the project builds and load_model
        cannot find by name (abstract bases and classes nobody instantiates are left out)."""
        return sorted(
            (c for c in self.keras_classes() if not self.is_registered(c) and self.instantiated(c)),
            key=lambda c: (c.name, c.path),
        )

    def unregistered_functions(self, roles: Sequence[str] = ("loss", "metric", "activation")) -> List[Tuple[str, str]]:
        """Project functions handed to Keras in ``roles`` and never registered."""
        found = set()
        for name, role in self.uses:
            if role in roles and name in self.functions and name not in self.registered_names:
                if not any(self.functions[name]):
                    found.add((name, role))
        return sorted(found)

    def find(self, key: str) -> Optional[ClassInfo]:
        return self.classes.get(key)

    def deferred(self, code: str, key: str) -> List[Facts]:
        """The facts of ``code``'s deferred findings whose ``key`` is the class ``key``:
        what a rule noted about a class in its file, to judge its subclasses in other files."""
        return self._deferred.get((code, key), [])
