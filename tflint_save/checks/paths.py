"""Keras 3 file names and removed APIs: what raises before anything is written (TFS5xx)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Set, Tuple

import libcst as cst

from tflint_save import nodes, pathvalues
from tflint_save.checks.common import (
    H5, LOAD_WEIGHTS_EXTENSIONS, MODEL_CHECKPOINT, MODEL_EXTENSIONS, SAVE_MODEL, TRAIN_METHODS, WEIGHTS, Flow, Path,
    basename, compiled_load, confirm_model, dotted_key, ends_with, model_call, names_if, path_of, project_callee,
    renamed, report_on_model, shown, text, weights_only, writes_orbax,
)
from tflint_save.edits import SAFE, Fix, Tree, without
from tflint_save.engine import Rule
from tflint_save.findings import Decision, Facts, Finding, Pending, optional
from tflint_save.index import ProjectIndex
from tflint_save.names import dotted


# -- the facts of each finding, for --fix and --verify -------------------------------------

@dataclass(frozen=True, eq=False)
class ModelSave(Facts):
    """TFS501: the path model.save() writes (None: not known) and the save_format= it is given."""

    path: Optional[str] = None
    save_format: Any = optional()


@dataclass(frozen=True, eq=False)
class WeightsPath(Facts):
    """TFS502: the call (save_weights, load_weights, ModelCheckpoint) and its path."""

    call: str = "save_weights"
    path: Optional[str] = None
    # The project function whose returned model it is called on, until its summary confirms
    # that it returns a Keras model (then dropped): see common.report_on_model.
    callee: Optional[str] = optional()


@dataclass(frozen=True, eq=False)
class CheckpointPath(WeightsPath):
    """TFS502 on a ModelCheckpoint: and its save_weights_only (None: not a literal)."""

    save_weights_only: Optional[bool] = None


@dataclass(frozen=True, eq=False)
class H5Reload(Facts):
    """TFS503: the .h5 path, the loss alias Keras 3 cannot deserialize, or a retrained reload."""

    path: str = ""
    loss: Optional[str] = None
    retrained: bool = False


@dataclass(frozen=True, eq=False)
class RemovedAttribute(Facts):
    """TFS504: the tf.keras attribute Keras 3 no longer has."""

    attribute: str = ""


def _saved_path(ctx, node: cst.Call) -> Optional[Tuple[cst.BaseExpression, Optional[cst.BaseExpression]]]:
    """For ``model.save(p)`` / ``save_model(model, p)``: (the model, the path node)."""
    if model_call(ctx, node, ("save",)):
        return node.func.value, nodes.arg(node, 0, "filepath")
    if SAVE_MODEL in names_if(ctx, node.func, ("save_model",)):
        return nodes.arg(node, 0, "model"), nodes.arg(node, 1, "filepath")
    return None


class TFS501(Rule):
    """Keras 3 model.save() / save_model() with a path it refuses, save_format=, or .weights.h5."""

    code = "TFS501"
    applicability = SAFE
    keras_versions = (3,)

    def visit_Call(self, node: cst.Call) -> None:
        ctx = self.ctx
        found = _saved_path(ctx, node)
        if found is None:
            return
        path_node = found[1]
        path = path_of(path_node, ctx)
        if path is not None and path.tail.startswith("hf://"):
            return
        save_format = nodes.arg(node, None, "save_format")
        if save_format is not None and nodes.constant(save_format) not in (None, False, ""):
            self._save_format(node, save_format, path)
            return
        if nodes.has_keyword(node, "zipped") or path is None:
            return  # zipped=False writes a directory under any name
        if ends_with(path, MODEL_EXTENSIONS) is False:
            ctx.report(
                node, self.code,
                f"Keras 3 model.save() only writes .keras and .h5 files: {shown(path)} raises 'ValueError: Invalid "
                f"filepath extension for saving'; save to {renamed(path, '.keras')!r}, or use model.export(path) "
                f"for a TF SavedModel (serving, TFLite)",
                ModelSave(path.tail),
            )
        elif ends_with(path, WEIGHTS):
            ctx.report(
                node, self.code,
                f"model.save({shown(path)}) writes a full legacy HDF5 model, not a weights file, so "
                f"load_weights() on it fails ('ValueError: A total of ... objects could not be loaded'); use "
                f"model.save_weights() for weights, or save the model to {renamed(path, '.keras')!r}",
                ModelSave(path.tail),
            )

    def _save_format(self, node: cst.Call, save_format: cst.BaseExpression, path: Optional[Path]) -> None:
        value = nodes.constant(save_format)
        shown_format = repr(value) if value is not nodes.MISSING else text(self.ctx, save_format)
        if path is not None and ends_with(path, MODEL_EXTENSIONS):
            effect = "is deprecated and ignored (Keras only logs a warning); remove it"
        else:
            where = "with this path" if path is not None and ends_with(path, MODEL_EXTENSIONS) is False else \
                "unless the path ends in .keras or .h5"
            effect = (
                f"raises 'ValueError: The `save_format` argument is deprecated in Keras 3' {where}; remove it "
                f"and save to a .keras path (model.export(path) writes a SavedModel)"
            )
        self.ctx.report(
            node, self.code,
            f"save_format={shown_format} in Keras 3 {effect}",
            ModelSave(path.tail if path else None, value if value is not nodes.MISSING else shown_format),
        )

    @staticmethod
    def fix(tree: Tree, f: Finding) -> Optional[Fix]:
        call = tree.call_at(f, lambda c: _keyword(c, "save_format") is not None)
        if call is None:
            return None
        position = 1 if nodes.method_name(call) == "save_model" else 0
        tail = pathvalues.tail(nodes.arg(call, position, "filepath"))
        if tail is None:
            tail = getattr(f.data, "path", None)  # a name: what the rule found assigned to it
        if not isinstance(tail, str) or not tail.endswith(MODEL_EXTENSIONS):
            return None  # without the extension the format would change, or the save would fail
        new = call.with_changes(args=without(call.args, _keyword(call, "save_format")))
        return Fix("Remove save_format=: the path's extension already chooses the format", SAFE, {id(call): (call, new)})


class TFS502(Rule):
    """Keras 3 save_weights()/load_weights()/ModelCheckpoint with a path they refuse."""

    code = "TFS502"
    applicability = SAFE
    keras_versions = (3,)

    def __init__(self, ctx):
        super().__init__(ctx)
        self.orbax = False
        self.loads: List[Tuple[cst.Call, Path, Optional[str]]] = []

    def visit_Call(self, node: cst.Call) -> None:
        ctx = self.ctx
        method = model_call(ctx, node, ("save_weights", "load_weights"))
        callee = None
        if method is None and isinstance(node.func, cst.Attribute) and \
                node.func.attr.value in ("save_weights", "load_weights"):
            # model = get_model() from the project: its summary decides (resolve)
            callee = project_callee(ctx, node.func.value)
            method = node.func.attr.value if callee is not None else None
        if method == "save_weights":
            if nodes.arg(node, 2, "max_shard_size") is not None or nodes.has_keyword(node, "max_shard_size"):
                return
            path = path_of(nodes.arg(node, 0, "filepath"), ctx)
            if path is not None and ends_with(path, WEIGHTS) is False:
                report_on_model(
                    ctx, node, self.code,
                    f"Keras 3 save_weights() only writes .weights.h5 files: {shown(path)} raises 'ValueError: The "
                    f"filename must end in `.weights.h5`'; use {renamed(path, '.weights.h5')!r}",
                    WeightsPath("save_weights", path.tail), callee,
                )
            return
        if method == "load_weights":
            path = path_of(nodes.arg(node, 0, "filepath"), ctx)
            if path is not None and "://" not in path.tail and ends_with(path, LOAD_WEIGHTS_EXTENSIONS) is False:
                self.loads.append((node, path, callee))
            return
        func = node.func
        if isinstance(func, cst.Attribute) and func.attr.value != "ModelCheckpoint":
            if writes_orbax(ctx, node):
                self.orbax = True
            return
        names = names_if(ctx, func, ("ModelCheckpoint",))
        if MODEL_CHECKPOINT in names:
            self._checkpoint(node)
        elif writes_orbax(ctx, node, names):
            self.orbax = True

    def _checkpoint(self, node: cst.Call) -> None:
        path = path_of(nodes.arg(node, 0, "filepath"), self.ctx)
        if path is None:
            return
        mode = weights_only(node)
        if mode is True:
            if ends_with(path, WEIGHTS) is False:
                self._report_checkpoint(
                    node, path, True,
                    f"ModelCheckpoint(save_weights_only=True) needs a .weights.h5 path in Keras 3: {shown(path)} "
                    f"raises 'ValueError: When using `save_weights_only=True` in `ModelCheckpoint`, the filepath "
                    f"provided must end in `.weights.h5`' when the callback is created; use "
                    f"{renamed(path, '.weights.h5')!r}",
                )
        elif ends_with(path, (".keras", ".h5")) is False:
            if mode is False:
                message = (
                    f"ModelCheckpoint saving full models needs a .keras (or .h5) path in Keras 3: {shown(path)} "
                    f"raises 'ValueError: The filepath provided must end in `.keras`' when the callback is created; "
                    f"use {renamed(path, '.keras')!r}, or save_weights_only=True with a .weights.h5 path"
                )
            else:
                message = (
                    f"Keras 3 ModelCheckpoint accepts {shown(path)} neither for weights (.weights.h5) nor for full "
                    f"models (.keras or .h5): it raises ValueError when the callback is created; use a .keras or "
                    f".weights.h5 path"
                )
            self._report_checkpoint(node, path, mode if isinstance(mode, bool) else None, message)

    def _report_checkpoint(self, node: cst.Call, path: Path, mode: Optional[bool], message: str) -> None:
        self.ctx.report(node, self.code, message,
                        CheckpointPath("ModelCheckpoint", path.tail, save_weights_only=mode))

    def finish(self) -> None:
        if self.orbax:  # Keras 3 load_weights() also reads Orbax checkpoint directories
            return
        for node, path, callee in self.loads:
            report_on_model(
                self.ctx, node, self.code,
                f"Keras 3 load_weights() reads only .weights.h5, .keras and .h5 files (or Orbax checkpoint "
                f"directories): {shown(path)} raises 'ValueError: File format not supported'; save the weights "
                f"again with save_weights('{renamed(path, '.weights.h5')}')",
                WeightsPath("load_weights", path.tail), callee,
            )

    @classmethod
    def resolve(cls, pending: Pending, project: ProjectIndex) -> Decision:
        return confirm_model(pending, project)

    @staticmethod
    def fix(tree: Tree, f: Finding) -> Optional[Fix]:
        if (getattr(f.data, "call", None) or "save_weights") != "save_weights":
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


# Keras knows these aliases in lower or upper case only ('Mse' is no loss at all).
SHORT_LOSSES = ("mse", "mae", "mape", "msle")
SHORT_LOSSES += tuple(alias.upper() for alias in SHORT_LOSSES)


def _short_losses(node: Optional[cst.BaseExpression]) -> Set[str]:
    """The loss aliases a legacy .h5 file cannot load back ('mse'...), in a loss argument."""
    found: Set[str] = set()
    value = nodes.constant(node)
    if isinstance(value, str):
        if value in SHORT_LOSSES:
            found.add(value)
    elif isinstance(node, (cst.List, cst.Tuple)):
        for element in node.elements:
            found |= _short_losses(element.value)
    elif isinstance(node, cst.Dict):
        for element in node.elements:
            if isinstance(element, cst.DictElement):
                found |= _short_losses(element.value)
    return found


def _builder(ctx, model: Optional[cst.BaseExpression]) -> Optional[str]:
    """``build_model`` when ``model`` was last assigned ``build_model(...)``."""
    if not isinstance(model, cst.Name):
        return None
    value = ctx.value_of(model.value)
    if isinstance(value, cst.Call) and isinstance(value.func, cst.Name):
        return value.func.value
    return None


class TFS503(Flow):
    """Keras 3 model.save('*.h5') of a model that is trained again after loading, or compiled with 'mse'."""

    code = "TFS503"
    keras_versions = (3,)
    follows_calls = True

    def __init__(self, ctx):
        super().__init__(ctx)
        self.saves: List[Tuple[cst.Call, object, Optional[str], Path]] = []
        # Loss aliases of each compile(), by (function, model name) and by function name
        self.losses: Dict[object, List[Set[str]]] = {}
        self.builders: Dict[str, List[Set[str]]] = {}
        self.retrained: Set[str] = set()

    def assigned(self, key, value) -> None:
        loaded = compiled_load(self.ctx, value)
        path = loaded[0] if loaded else None
        name = basename(path) if path else None
        if name and ends_with(path, H5):
            self.track(key, name)

    def visit_Call(self, node: cst.Call) -> None:
        ctx = self.ctx
        func = node.func
        if isinstance(func, cst.Attribute):
            method = func.attr.value
            if method == "compile":
                self._compiled(node)
                return
            if method in TRAIN_METHODS and self.state:
                key = self.key(func.value)
                name = self.drop(key) if self.live(key) else None
                if name:
                    self.retrained.add(name)
                return
        found = _saved_path(ctx, node)
        if found is None:
            return
        path = path_of(found[1], ctx)
        if path is not None and ends_with(path, H5) and not ends_with(path, WEIGHTS):
            self.saves.append((node, self.key(found[0]), _builder(ctx, found[0]), path))

    def _compiled(self, node: cst.Call) -> None:
        key = self.key(node.func.value)
        if self.live(key):
            self.drop(key)  # compiled again: a fresh optimizer, fit() works
        if key is None or not nodes.model_like(node.func.value, self.ctx):
            return
        aliases = _short_losses(nodes.arg(node, 1, "loss"))
        self.losses.setdefault(key, []).append(aliases)
        function = self.ctx.function
        if function is not None:
            self.builders.setdefault(function.name.value, []).append(aliases)

    def finish(self) -> None:
        for node, key, builder, path in self.saves:
            # The compile() calls of that model: in the same function, else in the module's
            # function that built it (model = build_model()).
            compiled = self.losses.get(key) or self.builders.get(builder or "", [])
            if compiled and all(compiled):
                alias = sorted(compiled[0])[0]
                self.ctx.report(
                    node, self.code,
                    f"model.save({shown(path)}) writes the legacy HDF5 format, and Keras 3 cannot load it back "
                    f"for a model compiled with loss={alias!r} ('ValueError: Could not deserialize "
                    f"'keras.metrics.{alias}' because it is not a KerasSaveable subclass') unless compile=False; "
                    f"save to {renamed(path, '.keras')!r}",
                    H5Reload(path.tail, alias, False),
                )
            elif basename(path) in self.retrained:
                self.ctx.report(
                    node, self.code,
                    f"model.save({shown(path)}) writes the legacy HDF5 format, and this code loads it back and "
                    f"trains it again: Keras 3 restores the optimizer without its moments and fit() fails with "
                    f"'ValueError: Unknown variable: ... This optimizer can only be called for the variables it was "
                    f"originally built with'; save to {renamed(path, '.keras')!r} (it keeps the optimizer state), or "
                    f"compile() the loaded model again",
                    H5Reload(path.tail, None, True),
                )


TF_KERAS = ("tensorflow.keras", "tensorflow.compat.v1.keras", "tensorflow.compat.v2.keras")


def _catches_attribute_error(handler: cst.ExceptHandler) -> bool:
    kinds = handler.type
    if kinds is None:
        return True
    found = kinds.elements if isinstance(kinds, cst.Tuple) else [kinds]
    names = [(e.value if isinstance(e, cst.Element) else e) for e in found]
    return any(isinstance(n, cst.Name) and n.value in ("AttributeError", "Exception", "BaseException") for n in names)


def _version_test(test: cst.BaseExpression) -> bool:
    for node in nodes.walk(test):
        if isinstance(node, cst.Name) and (node.value == "hasattr" or "version" in node.value.lower()):
            return True
        if isinstance(node, cst.Attribute) and "version" in node.attr.value.lower():
            return True
    return False


def _guarded(stack) -> bool:
    """Inside code written for both Keras versions: a try that catches AttributeError, or an
    if on hasattr()/a version."""
    for i, node in enumerate(stack[:-1]):
        child = stack[i + 1]
        if isinstance(node, cst.Try) and child is node.body and any(_catches_attribute_error(h) for h in node.handlers):
            return True
        if isinstance(node, (cst.If, cst.IfExp)) and child is not node.test and _version_test(node.test):
            return True
    return False


class TFS504(Rule):
    """Keras 3: tf.keras.saving.X (attribute access) does not exist."""

    code = "TFS504"
    keras_versions = (3,)

    def __init__(self, ctx):
        super().__init__(ctx)
        self.imported = False
        self.uses: List[Tuple[cst.Attribute, str, str]] = []

    def visit_Import(self, node: cst.Import) -> None:
        for alias in node.names:
            if (dotted_key(alias.name) or "").startswith("tensorflow.keras.saving"):
                self.imported = True

    def visit_ImportFrom(self, node: cst.ImportFrom) -> None:
        module = dotted_key(node.module) if node.module is not None and not node.relative else None
        if module is None:
            return
        if module.startswith("tensorflow.keras.saving"):
            self.imported = True
        elif module == "tensorflow.keras" and not isinstance(node.names, cst.ImportStar):
            if any(isinstance(a.name, cst.Name) and a.name.value == "saving" for a in node.names):
                self.imported = True

    def visit_Attribute(self, node: cst.Attribute) -> None:
        if node.attr.value != "saving":
            return
        ctx = self.ctx
        raw = ctx.raw_names(node.value)
        if not raw or not any(r in TF_KERAS for r in raw):
            return
        stack = ctx.stack
        if _guarded(stack):
            return
        if stack and isinstance(stack[-1], cst.Attribute) and stack[-1].value is node:
            outer, member, tail = stack[-1], stack[-1].attr.value, "saving." + stack[-1].attr.value
        else:
            outer, member, tail = node, "X", "saving"
        # Resolved here: at finish() only the module's imports are in scope, not a function's.
        self.uses.append((outer, member, min(f"{r}.{tail}" for r in raw)))

    def finish(self) -> None:
        if self.imported:  # importing tensorflow.keras.saving makes the attribute exist
            return
        ctx = self.ctx
        for node, member, attribute in self.uses:
            ctx.report(
                node, self.code,
                f"{text(ctx, node)}: under Keras 3 tf.keras has no 'saving' attribute ('AttributeError: module ... "
                f"has no attribute 'saving''); use keras.saving.{member} after "
                f"`import keras`, or `from tensorflow.keras.saving import {member}`",
                RemovedAttribute(attribute),
            )


# -- fixes (TFS501, TFS502) -----------------------------------------------------------------

WEIGHTS_CALLS = ("save_weights", "load_weights")


def _keyword(call: cst.Call, name: str) -> Optional[int]:
    return next((i for i, a in enumerate(call.args) if a.keyword is not None and a.keyword.value == name), None)


def _tail_literal(tree: Tree, node: Optional[cst.BaseExpression], depth: int = 0) -> Optional[cst.BaseExpression]:
    """The string literal that ends a path expression (``pathvalues.evaluate`` in reverse, for the fix to rename it): a name
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


RULES = [TFS501, TFS502, TFS503, TFS504]
