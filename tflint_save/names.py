"""The shared name resolver: which TensorFlow/Keras API (or project class) a name refers to.

Resolution is deliberately small: an import table per scope, built from the import
statements of the file, and a canonical spelling for the many paths that reach the same
Keras object (``tf.keras.layers.Dense``, ``keras.src.layers.core.dense.Dense``,
``tf_keras.layers.Dense``...).  A name may have several candidates (a try/except import
fallback); every candidate is kept, so rules never depend on which branch ran.
"""

from __future__ import annotations

import functools
import os
from typing import Dict, FrozenSet, Iterable, List, Optional, Tuple

import libcst as cst

Names = FrozenSet[str]
EMPTY: Names = frozenset()
# A scope entry that is bound to something that is not an import: it hides outer imports.
SHADOWED: Names = frozenset({"<shadowed>"})

# Paths that reach the Keras API, longest first; all are spelled "keras." after canonical().
_KERAS_ROOTS = (
    "tensorflow.compat.v2.keras.",
    "tensorflow.compat.v1.keras.",
    "tensorflow.python.keras.",
    "tensorflow.keras.",
    "keras._tf_keras.keras.",
    "keras.api._v2.keras.",
    "keras.src.",
    "tf_keras.src.",
    "tf_keras.",
)
_KERAS_MODULES = {
    "tensorflow.keras",
    "tensorflow.python.keras",
    "tensorflow.compat.v2.keras",
    "tensorflow.compat.v1.keras",
    "tf_keras",
    "keras.src",
}
# Sub-packages whose deep paths collapse onto the public name: keras.losses.losses.X -> keras.losses.X
_FAMILIES = {
    "layers", "losses", "metrics", "models", "callbacks", "optimizers", "saving",
    "initializers", "activations", "regularizers", "constraints", "utils", "ops", "applications",
}
# Different public spellings of one object.
_SYNONYMS = {
    "keras.Layer": "keras.layers.Layer",
    "keras.Model": "keras.models.Model",
    "keras.Sequential": "keras.models.Sequential",
    "keras.Input": "keras.layers.Input",
    "keras.Loss": "keras.losses.Loss",
    "keras.Metric": "keras.metrics.Metric",
    "keras.Optimizer": "keras.optimizers.Optimizer",
    "keras.engine.base_layer.Layer": "keras.layers.Layer",
    "keras.engine.training.Model": "keras.models.Model",
    "keras.engine.sequential.Sequential": "keras.models.Sequential",
    "keras.engine.functional.Functional": "keras.models.Model",
    "keras.models.functional.Functional": "keras.models.Model",
    "keras.models.load_model": "keras.saving.load_model",
    "keras.models.save_model": "keras.saving.save_model",
    "keras.saving.saving_api.load_model": "keras.saving.load_model",
    "keras.utils.register_keras_serializable": "keras.saving.register_keras_serializable",
    "keras.utils.custom_object_scope": "keras.saving.custom_object_scope",
    "keras.utils.CustomObjectScope": "keras.saving.custom_object_scope",
    "keras.saving.CustomObjectScope": "keras.saving.custom_object_scope",
    "keras.utils.get_custom_objects": "keras.saving.get_custom_objects",
    "keras.utils.generic_utils.get_custom_objects": "keras.saving.get_custom_objects",
}


@functools.lru_cache(maxsize=8192)  # the same few hundred names, asked for every call of every module
def canonical(name: str) -> str:
    """The one spelling rules compare against: Keras objects as ``keras.<family>.<Name>``."""
    if name in _KERAS_MODULES:
        return "keras"
    for root in _KERAS_ROOTS:
        if name.startswith(root):
            name = "keras." + name[len(root):]
            break
    if name.startswith("keras."):
        parts = name.split(".")
        if len(parts) > 3 and parts[1] in _FAMILIES:
            name = f"keras.{parts[1]}.{parts[-1]}"
        name = _SYNONYMS.get(name, name)
    return name


def dotted(node: cst.BaseExpression) -> Optional[List[str]]:
    """``a.b.c`` as ['a', 'b', 'c']; None for anything that is not a plain dotted name."""
    parts: List[str] = []
    while isinstance(node, cst.Attribute):
        parts.append(node.attr.value)
        node = node.value
    if not isinstance(node, cst.Name):
        return None
    parts.append(node.value)
    parts.reverse()
    return parts


def module_parts(path: str) -> List[str]:
    """The dotted module path of a file, from its absolute path (matched by suffix later)."""
    parts = os.path.abspath(path).replace("\\", "/").split("/")
    parts = [p for p in parts if p]
    if parts and parts[-1].endswith((".py", ".ipynb")):
        parts[-1] = parts[-1].rsplit(".", 1)[0]
    if parts and parts[-1] == "__init__":
        parts.pop()
    return parts


class Scope:
    """One binding scope: module, class, function or lambda."""

    __slots__ = ("kind", "names", "values")

    def __init__(self, kind: str):
        self.kind = kind
        self.names: Dict[str, Names] = {}
        # The expression last assigned to a plain name in this scope (None: not knowable).
        self.values: Dict[str, Optional[cst.BaseExpression]] = {}

    def bind_import(self, alias: str, target: str) -> None:
        old = self.names.get(alias)
        if old and old is not SHADOWED:
            self.names[alias] = old | {target}
        else:
            self.names[alias] = frozenset({target})


class Resolver:
    """Import tables for the scopes of one file, queried while the file is walked."""

    def __init__(self, path: str, is_package: bool = False):
        self.module_parts = module_parts(path)
        self._is_package = is_package
        self.scopes: List[Scope] = [Scope("module")]
        # Every alias any import in the file binds: only these need shadowing checks.
        self.aliases: set = set()
        self.uses_tf_keras = False
        # Modules of ``from m import *`` outside TF/Keras: a name they may bind is of unknown origin.
        self.other_star_imports: List[str] = []
        self.definitions: Optional[frozenset] = None  # nodes.defined_here, read when needed
        self.options = None  # pathvalues.options: the file's command-line options, read when needed
        # names() of the nodes asked since the tables last changed: each call is asked about by
        # most rules (is it load_model? a metric? a callback?).  Holding the node keeps its id
        # from being reused by another.
        self._memo: Dict[int, Tuple[cst.BaseExpression, Names]] = {}

    # -- binding -----------------------------------------------------------------------
    def add_import(self, node: cst.CSTNode, scope: Optional[Scope] = None) -> None:
        self._memo.clear()
        scope = scope or self.scopes[-1]
        if isinstance(node, cst.Import):
            for alias in node.names:
                parts = dotted(alias.name)
                if not parts:
                    continue
                full = ".".join(parts)
                self._note(full)
                if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
                    local = alias.asname.name.value
                    scope.bind_import(local, full)
                else:
                    local = parts[0]
                    scope.bind_import(local, parts[0])
                self.aliases.add(local)
        elif isinstance(node, cst.ImportFrom):
            base = self._from_module(node)
            if base is not None and isinstance(node.names, cst.ImportStar) \
                    and canonical(base).split(".")[0] not in ("keras", "tensorflow", "tf_keras"):
                self.other_star_imports.append(base)
            if base is None or isinstance(node.names, cst.ImportStar):
                return
            self._note(base)
            for alias in node.names:
                if not isinstance(alias.name, cst.Name):
                    continue
                name = alias.name.value
                local = name
                if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
                    local = alias.asname.name.value
                scope.bind_import(local, f"{base}.{name}" if base else name)
                self.aliases.add(local)

    def _note(self, module: str) -> None:
        if module == "tf_keras" or module.startswith("tf_keras."):
            self.uses_tf_keras = True

    def _from_module(self, node: cst.ImportFrom) -> Optional[str]:
        parts = dotted(node.module) if node.module is not None else []
        if parts is None:
            return None
        level = len(node.relative)
        if not level:
            return ".".join(parts)
        package = self.module_parts if self._is_package else self.module_parts[:-1]
        if level > 1:
            package = package[: len(package) - (level - 1)]
        return ".".join(package + parts)

    def shadow(self, name: str) -> None:
        """``name`` is bound to a non-import value in the current scope."""
        if name in self.aliases:
            self._memo.clear()
            self.scopes[-1].names[name] = SHADOWED

    def rebind(self, name: str, value: cst.BaseExpression) -> None:
        """``name = value``: an alias of an import (``K = tf.keras``) or a shadowing value."""
        targets = self.raw(value)
        if name not in self.aliases and not targets:
            return
        self._memo.clear()
        self.aliases.add(name)
        self.scopes[-1].names[name] = targets if targets else SHADOWED

    def push(self, kind: str, params: Iterable[str] = ()) -> None:
        self._memo.clear()
        scope = Scope(kind)
        for name in params:
            scope.values[name] = None
            if name in self.aliases:
                scope.names[name] = SHADOWED
        self.scopes.append(scope)

    def pop(self) -> None:
        self._memo.clear()
        self.scopes.pop()

    # -- lookup ------------------------------------------------------------------------
    def _lookup(self, name: str) -> Names:
        scopes = self.scopes
        last = len(scopes) - 1
        for i in range(last, -1, -1):
            scope = scopes[i]
            # A class body's names are not visible inside its methods.
            if scope.kind == "class" and i != last:
                continue
            found = scope.names.get(name)
            if found is not None:
                return EMPTY if found is SHADOWED else found
        return EMPTY

    def raw(self, node: cst.BaseExpression) -> Names:
        """The import paths an expression names, as written (no canonical spelling)."""
        head = node
        while type(head) is cst.Attribute:
            head = head.value
        if type(head) is not cst.Name or head.value not in self.aliases:
            return EMPTY  # most calls: methods of locals, self.x(...)
        parts = dotted(node)
        if not parts:
            return EMPTY
        heads = self._lookup(parts[0])
        if not heads:
            return EMPTY
        if len(parts) == 1:
            return heads
        tail = ".".join(parts[1:])
        return frozenset(f"{h}.{tail}" for h in heads)

    def names(self, node: cst.BaseExpression) -> Names:
        """The canonical names an expression may refer to (empty when it is not an import)."""
        known = self._memo.get(id(node))
        if known is not None and known[0] is node:
            return known[1]
        raw = self.raw(node)
        found = frozenset(canonical(n) for n in raw) if raw else EMPTY
        self._memo[id(node)] = (node, found)
        return found


def param_names(params: cst.Parameters) -> List[str]:
    names = [p.name.value for p in params.params]
    names += [p.name.value for p in params.posonly_params]
    names += [p.name.value for p in params.kwonly_params]
    if isinstance(params.star_arg, cst.Param):
        names.append(params.star_arg.name.value)
    if params.star_kwarg is not None:
        names.append(params.star_kwarg.name.value)
    return names
