"""Loading models: custom objects, SavedModel directories, unsafe mode, compile=False (TFS2xx)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Dict, List, Optional, Set, Tuple

import libcst as cst

from tflint_save import nodes
from tflint_save.checks.common import MODEL_EXTENSIONS, is_load_model, writes_orbax
from tflint_save.engine import Rule
from tflint_save.findings import Decision, Facts, Pending, Resolved, many, optional
from tflint_save.index import ProjectIndex, names_in as index_names

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
    """TFS201: a load_model() without custom_objects."""

    compile: bool = True
    built_here: Tuple[str, ...] = many()  # what the module builds itself: the model it loads holds these
    used_here: Tuple[str, ...] = many()  # names it hands to compile(loss=, metrics=) or activation=
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
                if isinstance(call, cst.Call) and any(s in ctx.names(call.func) for s in SCOPES):
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


class TFS201(Rule):
    """load_model() while the project has custom Keras objects nobody registered."""

    code = "TFS201"

    def __init__(self, ctx):
        super().__init__(ctx)
        # (call, statement, compile, how this file spells register_keras_serializable)
        self.loads: List[Tuple[cst.Call, Optional[cst.CSTNode], bool, str]] = []
        # What this module builds itself: class references and names handed to compile/activation.
        self.built: Set[str] = set()
        self.used: Set[str] = set()

    def visit_Call(self, node: cst.Call) -> None:
        ctx = self.ctx
        if (nodes.method_name(node) or "")[:1].isupper():
            self._built(node.func)
        for arg in node.args:
            if arg.keyword is not None and arg.keyword.value in ("loss", "metrics", "activation"):
                self.used.update(index_names(arg.value))
        if not is_load_model(ctx, node):
            return
        if nodes.has_keyword(node, "custom_objects") or _in_custom_object_scope(ctx):
            return
        path = nodes.arg(node, 0, "filepath")
        tail = nodes.path_tail(path, ctx)
        if ctx.keras == 2 and tail is not None and not tail.endswith(MODEL_EXTENSIONS):
            return  # Keras 2 revives a SavedModel directory without the Python classes
        compile_arg = nodes.constant(nodes.arg(node, 2, "compile"))
        self.loads.append((node, ctx.statement, compile_arg is not False, register_spelling(ctx)))

    def _built(self, func: cst.BaseExpression) -> None:
        names = self.ctx.names(func)
        if names:
            self.built.update(n for n in names if not n.startswith(("keras.", "tensorflow.")))
        elif isinstance(func, cst.Name):
            self.built.add(".".join(self.ctx.resolver.module_parts + [func.value]))

    def finish(self) -> None:
        built, used = tuple(sorted(self.built)), tuple(sorted(self.used))
        for node, statement, compiled, register in self.loads:
            self.ctx.defer(node, self.code, ModelLoad(compiled, built, used, register=register), statement=statement)

    @classmethod
    def resolve(cls, pending: Pending, project: ProjectIndex) -> Decision:
        load: ModelLoad = pending.data
        compiled = load.compile
        kinds = ("layer", "model", "loss", "metric") if compiled else ("layer", "model")
        classes = [c for c in project.unregistered_classes() if project.kinds(c) & set(kinds)]
        roles = ("loss", "metric", "activation") if compiled else ("activation",)
        functions = project.unregistered_functions(roles)
        # A module that builds the model it loads tells which custom objects that model holds.
        built = {
            c.key for ref in load.built_here for c in project.lookup(ref) if project.kinds(c)
        }
        if built:
            classes = [c for c in classes if c.key in built]
            used = set(load.used_here)
            functions = [f for f in functions if f[0] in used]
        missing = [c.name for c in classes] + [name for name, _ in functions]
        if not missing:
            return None
        # For --verify: what to rebuild, save and load again.
        objects = tuple(
            CustomObject(c.name, path=c.path, kind=next(k for k in kinds if k in project.kinds(c))) for c in classes
        ) + tuple(CustomObject(name, role=role) for name, role in functions)
        return Resolved(
            f"load_model() without custom_objects: {_names(missing)} not registered, so loading a model "
            f"that uses them fails (Keras cannot locate the class or function); pass custom_objects="
            f"{{...}} or decorate them with @{load.register or 'keras.saving.register_keras_serializable'}()",
            replace(load, objects=objects),
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
        tail = nodes.path_tail(nodes.arg(node, 0, "filepath"), ctx)
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


RULES = [TFS201, TFS202, TFS203, TFS204, TFS206]
