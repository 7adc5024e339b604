"""What several rule families ask of a call or a path: saving and loading APIs, path tails and
extensions, model method calls, and the ``Flow`` base that follows a model variable through one
function.  Family modules import from here, never from each other."""

from __future__ import annotations

import dataclasses
from typing import Dict, List, NamedTuple, Optional, Tuple

import libcst as cst

from tflint_save import nodes, summaries
from tflint_save.engine import Rule
from tflint_save.findings import Resolved
from tflint_save.names import EMPTY, dotted
from tflint_save.pathvalues import PathValue, evaluate

TRAIN_METHODS = ("fit", "fit_generator", "train_on_batch")
SAVE_MODEL = "keras.saving.save_model"
LOAD_MODEL = "keras.saving.load_model"
MODEL_CHECKPOINT = "keras.callbacks.ModelCheckpoint"
MODEL_EXTENSIONS = (".keras", ".h5", ".hdf5")
WEIGHTS = (".weights.h5",)
H5 = (".h5", ".hdf5")
LOAD_WEIGHTS_EXTENSIONS = (".keras", ".h5", ".hdf5", ".weights.json")


# What is known of a path (its literal end, whether its file name and all of it are literal).
Path = PathValue


def path_of(node: Optional[cst.BaseExpression], ctx) -> Optional[Path]:
    return evaluate(node, ctx)


def ends_with(path: Path, extensions: Tuple[str, ...]) -> Optional[bool]:
    """Whether the path ends with one of ``extensions``; None when a dynamic part of the
    file name could still complete one (f"{name}.h5" may be "x.weights.h5")."""
    return path.ends_with(extensions)


def basename(path: Path) -> Optional[str]:
    """The file name, when it is wholly literal."""
    return path.name


def renamed(path: Optional[Path], extension: str) -> str:
    """A suggestion: the path (or, when only its end is known, the file name) with
    ``extension`` in place of its own."""
    name = (path.tail if path.whole else basename(path)) if path else None
    if not name or name.endswith("/"):
        return (name or "") + "model" + extension
    for old in WEIGHTS + (".keras", ".h5", ".hdf5", ".tf", ".ckpt", ".pb"):
        if name.endswith(old):
            return name[: -len(old)] + extension
    return name + extension


def shown(path: Optional[Path]) -> str:
    if path is None:
        return "the path"
    return repr(path.tail if path.whole else "..." + path.tail)


def text(ctx, node: cst.CSTNode) -> str:
    return ctx.module.code_for_node(node)


def dotted_key(node: Optional[cst.BaseExpression]) -> Optional[str]:
    parts = dotted(node) if node is not None else None
    return ".".join(parts) if parts else None


def model_call(ctx, call: cst.Call, methods: Tuple[str, ...]) -> Optional[str]:
    """The method name when ``call`` is ``<model-like>.<one of methods>(...)``."""
    func = call.func
    if not isinstance(func, cst.Attribute) or func.attr.value not in methods:
        return None
    return func.attr.value if nodes.model_like(func.value, ctx) else None


def names_if(ctx, func: cst.BaseExpression, attributes: Tuple[str, ...]):
    """The canonical names of a called expression, asked only when it can be one of the APIs a
    rule wants: a plain name (maybe an alias), or an attribute spelled like one of them."""
    if isinstance(func, cst.Attribute):
        return ctx.names(func) if func.attr.value in attributes else EMPTY
    return ctx.names(func) if isinstance(func, cst.Name) else EMPTY


def weights_only(call: cst.Call):
    """ModelCheckpoint's save_weights_only: True, False, or MISSING when not a literal."""
    value = nodes.arg(call, 4, "save_weights_only")
    if value is None:
        return nodes.MISSING if nodes.has_keyword(call, "save_weights_only") else False
    found = nodes.constant(value)
    return found if isinstance(found, bool) else nodes.MISSING


def alternative(first: List[cst.CSTNode], second: List[cst.CSTNode]) -> bool:
    """Whether two places (their ancestor stacks) are in different branches of one if/try,
    so that at most one of them runs."""
    shared = 0
    for a, b in zip(first, second):
        if a is not b:
            break
        shared += 1
    if shared == 0 or shared >= len(first) or shared >= len(second):
        return False
    parent, a, b = first[shared - 1], first[shared], second[shared]
    if isinstance(parent, cst.If):
        return a is not parent.test and b is not parent.test
    if isinstance(parent, cst.Try):
        return isinstance(a, cst.ExceptHandler) or isinstance(b, cst.ExceptHandler)
    return False


class Flow(Rule):
    """Rules that follow a model variable through one function: state per (function, name),
    dropped when the name is bound again, unless that happens in another branch of an if."""

    def __init__(self, ctx):
        super().__init__(ctx)
        self.state: Dict[Tuple[int, str], object] = {}
        self.origin: Dict[Tuple[int, str], List[cst.CSTNode]] = {}

    def key(self, node: Optional[cst.BaseExpression]) -> Optional[Tuple[int, str]]:
        name = dotted_key(node)
        return (id(self.ctx.function), name) if name else None

    def track(self, key: Tuple[int, str], value: object) -> None:
        self.state[key] = value
        self.origin[key] = list(self.ctx.stack)

    def live(self, key: Optional[Tuple[int, str]]) -> bool:
        """Whether the state of ``key`` applies here (not in a branch that excludes its origin)."""
        return key in self.state and not alternative(self.origin[key], self.ctx.stack)

    def drop(self, key: Tuple[int, str]):
        self.origin.pop(key, None)
        return self.state.pop(key, None)

    # Whether ``assigned`` wants to see assignments of calls (load_model...).
    follows_calls = False

    def assigned(self, key: Tuple[int, str], value: Optional[cst.BaseExpression]) -> None:
        """``name = value`` was seen (before ``value`` itself is visited)."""

    def _bind(self, target: cst.BaseExpression, value: Optional[cst.BaseExpression]) -> None:
        if not self.state and not (self.follows_calls and isinstance(value, cst.Call)):
            return
        key = self.key(target)
        if key is None or (key in self.state and not self.live(key)):
            return  # `else: model = build_model()` leaves the loaded model of the `if` branch
        self.drop(key)
        self.assigned(key, value)

    def visit_Assign(self, node: cst.Assign) -> None:
        single = len(node.targets) == 1
        for target in node.targets:
            self._bind(target.target, node.value if single else None)

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        self._bind(node.target, node.value)


def compiled_load(ctx, value: Optional[cst.BaseExpression]) -> Optional[Tuple[Optional[Path]]]:
    """For ``load_model(p)`` that compiles the model (the default): (the path of p,), else None."""
    if not isinstance(value, cst.Call) or not is_load_model(ctx, value):
        return None
    given = nodes.arg(value, 2, "compile")
    if given is None and nodes.has_keyword(value, "compile"):
        return None  # **kwargs
    if given is not None and nodes.constant(given) is not True:
        return None  # compile=False (TFS204's business), or not knowable
    return (path_of(nodes.arg(value, 0, "filepath"), ctx),)


# -- loading -----------------------------------------------------------------------------

def is_load_model(ctx, call: cst.Call) -> bool:
    return LOAD_MODEL in ctx.names(call.func)


def writes_orbax(ctx, call: cst.Call, names=None) -> bool:
    """``keras.callbacks.OrbaxCheckpoint(...)``: Keras 3 load_model() and load_weights() read its
    directories.  ``names``: the callee's canonical names, when the caller has them already."""
    if names is None:
        func = call.func
        if isinstance(func, cst.Attribute) and not func.attr.value.endswith("OrbaxCheckpoint"):
            return False
        names = ctx.names(func)
    return any(n.endswith("OrbaxCheckpoint") for n in names)


# -- calls of the project's own functions ------------------------------------------------------

_LIBRARY_ROOTS = ("keras", "tensorflow", "tf_keras")


def project_callee(ctx, node: Optional[cst.BaseExpression]) -> Optional[str]:
    """For a value made by calling a project function (``get_model()``, imported or defined here,
    or ``self.build_model()``), or a name last bound to one: the callee as
    ``index.ProjectIndex.returned`` takes it, whose summary says what it returns.  None for
    anything else (a Keras API, a method of some object, an unknown value)."""
    if isinstance(node, cst.Name):
        node = ctx.value_of(node.value)
    if not isinstance(node, cst.Call):
        return None
    func = node.func
    names = ctx.names(func)
    if names:
        if any(n.split(".", 1)[0] in _LIBRARY_ROOTS for n in names):
            return None
        raw = ctx.raw_names(func)
        return next(iter(raw)) if len(raw) == 1 else None
    parts = dotted(func)
    if parts is None or len(parts) > 2:
        return None
    if len(parts) == 2:
        if parts[0] != "self" or not ctx.classes:
            return None
        return f"{ctx.classes[-1].name.value}.{parts[1]}"
    if any(parts[0] in scope.values for scope in ctx.resolver.scopes):
        return None  # a parameter or a variable: a callable the caller gives, not a def
    return parts[0]


def report_on_model(ctx, node: cst.CSTNode, code: str, message: str, facts, callee: Optional[str]) -> None:
    """Report, or, when the receiver is what the project function ``callee`` returns, defer until
    its summary says that it is a Keras model (``confirm_model``)."""
    if callee is None:
        ctx.report(node, code, message, facts)
    else:
        ctx.defer(node, code, dataclasses.replace(facts, callee=callee), message)


def confirm_model(pending, project, accept=lambda returned: True):
    """``resolve`` of a finding deferred by ``report_on_model``: its message when the callee
    returns a Keras model (built or loaded, in whatever module) that ``accept`` takes, else None
    (unknown)."""
    facts = pending.data
    returned = project.returned(pending.finding.path, facts.callee)
    if returned is None or returned.kind not in (summaries.MODEL, summaries.LOADED) or not accept(returned):
        return None
    return Resolved(pending.finding.message, dataclasses.replace(facts, callee=None))
