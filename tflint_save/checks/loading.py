"""Loading models: custom objects, SavedModel directories, unsafe mode, compile=False (TFS2xx)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from typing import Dict, Optional, Set, Tuple

import libcst as cst

from tflint_save import nodes, pathvalues
from tflint_save.checks.common import MODEL_EXTENSIONS, is_load_model, writes_orbax
from tflint_save.engine import Rule
from tflint_save.findings import Decision, Facts, Pending, Resolved, optional
from tflint_save.index import ProjectIndex
from tflint_save.programs import stores_config

SCOPES = ("keras.saving.custom_object_scope",)


# -- the facts of each finding, for --verify ------------------------------------------------

@dataclass(frozen=True, eq=False)
class CustomObject(Facts):
    """A custom class (its file and Keras kind) or function (its role) a loaded model may hold."""

    name: str = ""
    path: Optional[str] = optional()
    kind: Optional[str] = optional()
    role: Optional[str] = optional()


@dataclass(frozen=True, eq=False)
class ModelLoad(Facts):
    """TFS201 and TFS205: a load_model() without custom_objects."""

    compile: bool = True
    keras: int = 3
    h5: bool = False  # the path ends in .h5/.hdf5 (the error Keras prints differs)
    # The path is known to end in .keras/.h5/.hdf5: the formats Keras 2 rebuilds from the classes.
    config_path: bool = False
    objects: Optional[Tuple[CustomObject, ...]] = field(default=None, metadata={"optional": True, "of": CustomObject})
    register: str = ""  # how this file spells register_keras_serializable (see register_spelling)


@dataclass(frozen=True, eq=False)
class LoadPath(Facts):
    """TFS202: the path load_model() reads."""

    path: str = ""


@dataclass(frozen=True, eq=False)
class UncompiledUse(Facts):
    """TFS204: the method called on a model loaded with compile=False."""

    method: str = ""


@dataclass(frozen=True, eq=False)
class LatestCheckpointLoad(Facts):
    """TFS206: what reads the path tf.train.latest_checkpoint() returned (``load_weights`` or
    ``load_model``)."""

    loader: str = ""


def _in_custom_object_scope(ctx) -> bool:
    for node in ctx.stack:
        if isinstance(node, cst.With):
            for item in node.items:
                call = item.item
                if isinstance(call, cst.Call) and (any(s in ctx.names(call.func) for s in SCOPES) or (
                        nodes.method_name(call) or "").lower().endswith("scope")):
                    # Libraries' own scopes register their objects too (tfmot's prune_scope(),
                    # quantize_scope(), cluster_scope()).
                    return True
    return False


def _names(items) -> str:
    items = sorted(set(items))
    if len(items) == 1:
        return f"{items[0]} is"
    shown = items if len(items) <= 4 else items[:4] + [f"{len(items) - 4} more"]
    return ", ".join(shown[:-1]) + f" and {shown[-1]} are"


def register_spelling(ctx) -> str:
    """How this file can spell register_keras_serializable on its Keras version.  Observed on
    TF 2.21 / Keras 3.15: keras.saving.X after ``import keras`` works, but ``tf.keras.saving`` and
    ``keras.saving`` after ``from tensorflow import keras`` raise AttributeError (TFS504), while
    ``.utils.register_keras_serializable`` works through every route; on TF 2.15 all of them do."""
    by_target: Dict[str, str] = {}
    for local, targets in ctx.resolver.scopes[0].names.items():
        for target in targets:
            by_target.setdefault(target, local)
    direct = sorted(local for target, local in by_target.items() if target.endswith(".register_keras_serializable"))
    if direct:
        return direct[0]
    for target, attribute in (("keras", "saving"), ("tf_keras", "saving"), ("tensorflow.keras", "utils"),
                              ("tensorflow", "keras.utils")):
        if target in by_target:
            return f"{by_target[target]}.{attribute}.register_keras_serializable"
    return "keras.saving.register_keras_serializable" if ctx.keras == 3 else "tf.keras.utils.register_keras_serializable"


@dataclass(frozen=True)
class Unregistered:
    """A custom object a linked save may put in the loaded model, that nothing registers."""

    name: str
    kind: str  # a class's Keras kind (layer, model...) or "function <role>"
    path: str  # the module defining it


@dataclass(frozen=True)
class RegisteredElsewhere:
    """A custom object registered only in a module the loading program never imports."""

    name: str
    kind: str
    registering: str  # the module whose import registers it
    entry: str  # the loading program's entry point


@dataclass(frozen=True)
class LoadFacts:
    """What a load_model() call may meet, by the program model (computed by resolve, not kept)."""

    unregistered: Tuple[Unregistered, ...]
    elsewhere: Tuple[RegisteredElsewhere, ...]


def load_facts(pending: Pending, project: ProjectIndex) -> Optional[LoadFacts]:
    """None when the load is not in the model (unknown never creates a finding)."""
    finding = pending.finding
    load: ModelLoad = pending.data
    programs = project.programs
    site = programs.load_at(finding.path, finding.line, finding.cell)
    if site is None or site.custom_objects:
        return None
    kinds = ("layer", "model", "loss", "metric") if load.compile else ("layer", "model")
    roles = ("loss", "metric", "activation") if load.compile else ("activation",)
    objects: Dict[Tuple[str, str, str], Set[str]] = {}  # (name, kind, path) -> where it is registered
    # Keras 2 revives a SavedModel directory from its traced functions, without the Python classes:
    # only a file known to be .keras/.h5 (by the load's path, else by the save's) needs them.
    known = load.config_path or stores_config(programs.key(finding.path, site))
    for where, save in programs.linked_saves(finding.path, site):
        if load.keras == 2 and not (known or stores_config(programs.key(where, save))):
            continue
        reached = project.saved_objects(where, save.receiver)
        for key in sorted(reached["class"]):
            info = project.find(key)
            kind = next((k for k in kinds if info is not None and k in project.kinds(info)), None)
            if kind is not None:
                objects[(info.name, kind, info.path)] = project.registered_in(info)
        for role in roles:
            for ref in sorted(reached[role]):
                path, _, name = ref.rpartition(":")
                objects[(name, "function " + role, path)] = project.function_registered_in(name, path)
    unregistered, elsewhere = [], []
    programs_here = programs.programs_of(finding.path)
    for (name, kind, path), registered in sorted(objects.items()):
        if not registered:
            unregistered.append(Unregistered(name, kind, path))
            continue
        modules = {programs.norm(r) for r in registered}
        for program in programs_here:
            if not program.open and not modules & program.modules:
                elsewhere.append(RegisteredElsewhere(name, kind, sorted(registered)[0], program.entry))
                break
    return LoadFacts(tuple(unregistered), tuple(elsewhere))


class TFS201(Rule):
    """load_model() of a model that holds custom Keras objects nobody registered."""

    code = "TFS201"

    def visit_Call(self, node: cst.Call) -> None:
        ctx = self.ctx
        if not is_load_model(ctx, node):
            return
        if nodes.has_keyword(node, "custom_objects") or nodes.arg(node, 1, None) is not None:
            return  # load_model(path, custom_objects): the second positional parameter
        if _in_custom_object_scope(ctx):
            return
        path = nodes.arg(node, 0, "filepath")
        tail = pathvalues.tail(path, ctx)
        if ctx.keras == 2 and tail is not None and not tail.endswith(MODEL_EXTENSIONS):
            return  # Keras 2 revives a SavedModel directory without the Python classes
        compile_arg = nodes.constant(nodes.arg(node, 2, "compile"))
        h5 = tail is not None and tail.lower().endswith((".h5", ".hdf5"))
        config_path = tail is not None and tail.lower().endswith(MODEL_EXTENSIONS)
        ctx.defer(node, self.code, ModelLoad(compile_arg is not False, ctx.keras, h5, config_path,
                                             register=register_spelling(ctx)))

    @classmethod
    def resolve(cls, pending: Pending, project: ProjectIndex) -> Decision:
        load: ModelLoad = pending.data
        facts = load_facts(pending, project)
        if facts is None or not facts.unregistered:
            return None
        # For --verify: what to rebuild, save and load again.
        objects = tuple(
            CustomObject(o.name, role=o.kind.split()[1]) if o.kind.startswith("function ") else
            CustomObject(o.name, path=o.path, kind=o.kind)
            for o in facts.unregistered
        )
        missing = [o.name for o in facts.unregistered]
        return Resolved(
            f"load_model() without custom_objects: {_names(missing)} not registered, so loading a model "
            f"that uses them fails (Keras cannot locate the class or function); pass custom_objects="
            f"{{...}} or decorate them with @{load.register or 'keras.saving.register_keras_serializable'}()",
            replace(load, objects=objects),
        )


class TFS205(Rule):
    """load_model() in a program that never imports the module registering a custom object."""

    code = "TFS205"
    visit_Call = TFS201.visit_Call

    @classmethod
    def resolve(cls, pending: Pending, project: ProjectIndex) -> Decision:
        load: ModelLoad = pending.data
        facts = load_facts(pending, project)
        if facts is None or not facts.elsewhere:
            return None
        first = facts.elsewhere[0]
        name, registering, entry = first.name, first.registering, first.entry
        module = os.path.splitext(os.path.basename(registering))[0]
        if module == "__init__":
            module = os.path.basename(os.path.dirname(registering))
        others = sorted({o.name for o in facts.elsewhere[1:]} - {name})
        also = f" (and {', '.join(others)})" if others else ""
        function = first.kind.startswith("function ")
        # What each version printed (docs/facts/tfs205_registration_not_imported.*.out).
        if load.keras == 3 and load.h5:
            error = "ValueError: Unknown layer" if not function else "Keras cannot find it by name"
        elif load.keras == 3:
            error = (f"TypeError: Could not locate {'function' if function else 'class'} "
                     f"{'...' if function else repr(name)}. Make sure custom classes and functions are decorated "
                     f"with @keras.saving.register_keras_serializable(). If they are already decorated, make sure "
                     f"they are all imported so that the decorator is run before trying to load them.")
        elif function:
            error = "from .keras 'TypeError: Could not locate function', from .h5 'ValueError: Unknown loss function'"
        else:
            error = ("from .keras 'TypeError: The added layer must be an instance of class Layer', from .h5 "
                     "'ValueError: Unknown layer'")
        return (
            f"load_model() without custom_objects: {name}{also} is registered in {os.path.basename(registering)}, "
            f"which this program ({os.path.basename(entry)}) never imports, so the registration never runs and "
            f"loading fails ({error}); import {module} before loading, or pass custom_objects={{...}}"
        )


def _saves_unzipped(call: cst.Call) -> bool:
    """``model.save(path, zipped=False)`` / ``save_model(model, path, zipped=...)``: a directory
    (zipped= not literally True)."""
    if nodes.method_name(call) not in ("save", "save_model"):
        return False
    zipped = next((a.value for a in call.args if a.keyword is not None and a.keyword.value == "zipped"), None)
    return zipped is not None and nodes.constant(zipped) is not True


class TFS202(Rule):
    """Keras 3 load_model() of a SavedModel directory."""

    code = "TFS202"
    keras_versions = (3,)

    def __init__(self, ctx):
        super().__init__(ctx)
        # The module writes directories Keras 3 load_model() reads: Orbax checkpoints, or
        # unzipped .keras directories (model.save(path, zipped=False)).
        self.writes_dirs = False
        self.loads = []

    def visit_Call(self, node: cst.Call) -> None:
        ctx = self.ctx
        if writes_orbax(ctx, node) or _saves_unzipped(node):
            self.writes_dirs = True
        if not is_load_model(ctx, node):
            return
        tail = pathvalues.tail(nodes.arg(node, 0, "filepath"), ctx)
        if tail is None or tail.endswith(MODEL_EXTENSIONS) or "://" in tail:  # hf://, gs://...
            return
        self.loads.append((node, tail))

    def finish(self) -> None:
        if self.writes_dirs:
            return
        for node, tail in self.loads:
            self.ctx.report(
                node, self.code,
                f"Keras 3 load_model() only reads .keras and .h5 files, so this path without an extension "
                f"({tail!r}) fails with 'File format not supported'; reload a SavedModel with "
                f"keras.layers.TFSMLayer(path, call_endpoint='serving_default') or tf.saved_model.load(path)",
                LoadPath(tail),
            )


# The loaders that take safe_mode= (model_from_json does not: it raises TypeError).
UNSAFE_CALLS = (
    "keras.saving.load_model",
    "keras.saving.deserialize_keras_object",
    "keras.utils.deserialize_keras_object",
)
ENABLE_UNSAFE = (
    "keras.config.enable_unsafe_deserialization",  # Keras 3
    "keras.__internal__.enable_unsafe_deserialization",  # Keras 2.15
    # keras.src.saving.serialization_lib.enable_unsafe_deserialization (both versions), canonically
    "keras.saving.enable_unsafe_deserialization",
)


class TFS203(Rule):
    """safe_mode=False or enable_unsafe_deserialization(): loading runs code from the file."""

    code = "TFS203"

    def visit_Call(self, node: cst.Call) -> None:
        ctx = self.ctx
        names = ctx.names(node.func)
        if any(n in ENABLE_UNSAFE for n in names):
            ctx.report(
                node, self.code,
                "enable_unsafe_deserialization() lets every later load run arbitrary Python code stored in "
                "the file (a Lambda layer's lambda); replace the lambda with a registered custom layer and "
                "keep safe mode on",
            )
            return
        if not any(n in UNSAFE_CALLS for n in names):
            return
        safe = next((a for a in node.args if a.keyword is not None and a.keyword.value == "safe_mode"), None)
        if safe is not None and nodes.constant(safe.value) is False:
            ctx.report(
                safe, self.code,
                "safe_mode=False lets loading run arbitrary Python code stored in the file (a Lambda "
                "layer's lambda); load only files you trust, or replace the lambda with a registered "
                "custom layer so safe mode can stay on",
            )


TRAIN_OR_EVAL = ("fit", "evaluate", "train_on_batch", "test_on_batch")


class TFS204(Rule):
    """A model loaded with compile=False is fitted or evaluated without compile()."""

    code = "TFS204"

    def __init__(self, ctx):
        super().__init__(ctx)
        # (function node id, variable) -> the load_model call, while not compiled
        self.uncompiled: Dict[Tuple[int, str], cst.Call] = {}

    def _key(self, name: str) -> Tuple[int, str]:
        return (id(self.ctx.function), name)

    def visit_Assign(self, node: cst.Assign) -> None:
        value = node.value
        for target in node.targets:
            if not isinstance(target.target, cst.Name):
                continue
            key = self._key(target.target.value)
            self.uncompiled.pop(key, None)
            if isinstance(value, cst.Call) and is_load_model(self.ctx, value):
                if nodes.constant(nodes.arg(value, 2, "compile")) is False:
                    self.uncompiled[key] = value

    def visit_Call(self, node: cst.Call) -> None:
        target = nodes.receiver(node)
        if not isinstance(target, cst.Name):
            return
        key = self._key(target.value)
        if key not in self.uncompiled:
            return
        method = nodes.method_name(node)
        if method == "compile":
            del self.uncompiled[key]
        elif method in TRAIN_OR_EVAL:
            error = (
                "ValueError: You must call `compile()` before using the model"
                if self.ctx.keras == 3
                else "RuntimeError: You must compile your model before training/testing"
            )
            self.ctx.report(
                node, self.code,
                f"{target.value} was loaded with compile=False and is used in {method}() without "
                f"compile(): it fails with '{error}'; call {target.value}.compile(...) first, or load "
                f"with compile=True to keep the saved optimizer and loss",
                UncompiledUse(method),
            )


# -- TFS206 ---------------------------------------------------------------------------------

LATEST_CHECKPOINT = ("tensorflow.train.latest_checkpoint", "tensorflow.compat.v1.train.latest_checkpoint")


class TFS206(Rule):
    """Keras 3: tf.train.latest_checkpoint(...) handed to load_weights() or load_model()."""

    code = "TFS206"
    keras_versions = (3,)

    def __init__(self, ctx):
        super().__init__(ctx)
        self.orbax = False

    def visit_Call(self, node: cst.Call) -> None:
        ctx = self.ctx
        if writes_orbax(ctx, node):
            self.orbax = True  # Keras 3 reads Orbax directories; what the file resumes from is not clear
            return
        if is_load_model(ctx, node):
            loader, path = "load_model()", nodes.arg(node, 0, "filepath")
        elif (isinstance(node.func, cst.Attribute) and node.func.attr.value == "load_weights"
              and nodes.model_like(node.func.value, ctx)):
            loader, path = "load_weights()", nodes.arg(node, 0, "filepath")
        else:
            return
        if self.orbax or not self._latest(path):
            return
        ctx.report(
            node, self.code,
            f"tf.train.latest_checkpoint() only finds TensorFlow checkpoints: for a folder of Keras 3 .weights.h5 "
            f"or .keras files it returns None (so the resume silently starts from scratch, or {loader} raises "
            f"TypeError on None), and Keras 3 {loader} cannot read the TF checkpoint prefix it returns otherwise "
            f"(ValueError: File format not supported); pick the newest file yourself, e.g. "
            f"max(glob.glob(os.path.join(folder, '*.weights.h5')), key=os.path.getmtime)",
            LatestCheckpointLoad(loader.rstrip("()")),
        )

    def _latest(self, path: Optional[cst.BaseExpression]) -> bool:
        """Whether ``path`` is tf.train.latest_checkpoint(...), directly or through one plain name."""
        ctx = self.ctx
        if isinstance(path, cst.Name) and not ctx.names(path):
            path = ctx.value_of(path.value)
        return isinstance(path, cst.Call) and any(n in LATEST_CHECKPOINT for n in ctx.names(path.func))


RULES = [TFS201, TFS202, TFS203, TFS204, TFS205, TFS206]
