"""Saving and resuming training: what keeps the optimizer state and what loses it (TFS1xx)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Dict, FrozenSet, List, NamedTuple, Optional, Set, Tuple

import libcst as cst

from tflint_save import nodes, summaries
from tflint_save.analysis import Analysis
from tflint_save.checks.common import (
    H5, LOAD_WEIGHTS_EXTENSIONS, MODEL_CHECKPOINT, SAVE_MODEL, TRAIN_METHODS, WEIGHTS, Flow, Path, alternative,
    basename, compiled_load, confirm_model, dotted_key, ends_with, model_call, names_if, path_of, project_callee,
    report_on_model, shown, text, weights_only, writes_orbax,
)
from tflint_save.engine import Rule
from tflint_save.findings import Decision, Facts, Pending, Resolved, optional
from tflint_save.index import ProjectIndex
from tflint_save.names import param_names

BACKUP = "keras.callbacks.BackupAndRestore"


# -- the facts of each finding, for --verify ------------------------------------------------

@dataclass(frozen=True, eq=False)
class Weights(Facts):
    """TFS101, TFS102: the path of the weights save or load (None: not known); for a load, whether
    the optimizer was built before it."""

    path: Optional[str] = None
    optimizer_built: Optional[bool] = optional()


@dataclass(frozen=True, eq=False)
class Optimizer(Facts):
    """TFS103: the new optimizer compile() gives the loaded model (None: the default one);
    TFS104: the optimizer a tf.train.Checkpoint leaves out, and what it does track (keys)."""

    optimizer: Optional[str] = None
    keys: Optional[Tuple[str, ...]] = optional()
    # The project function whose returned model the checkpoint holds, until its summary confirms
    # that it returns a Keras model (then dropped): see common.report_on_model.
    callee: Optional[str] = optional()


@dataclass(frozen=True, eq=False)
class WeightsDump(Facts):
    """TFS105: the function that dumps get_weights(), and whether it makes an object array."""

    function: str = ""
    object_array: bool = False


def is_training(ctx, call: cst.Call) -> bool:
    """fit()/train_on_batch() on a model, or an optimizer's apply_gradients()."""
    func = call.func
    if not isinstance(func, cst.Attribute):
        return False
    if func.attr.value == "apply_gradients":
        return True
    if func.attr.value in TRAIN_METHODS and project_callee(ctx, func.value) is not None:
        return True  # model = get_model() from the project
    return model_call(ctx, call, TRAIN_METHODS) is not None


def is_tf_checkpoint(names) -> bool:
    return any(n.startswith("tensorflow.") and n.endswith(("train.Checkpoint", "train.CheckpointManager"))
               for n in names)


def is_build_of(ctx, call: cst.Call) -> Optional[str]:
    """``opt.build(m.trainable_variables)`` / ``m.optimizer.build(...)``: the model's key."""
    func = call.func
    if not isinstance(func, cst.Attribute) or func.attr.value != "build":
        return None
    if isinstance(func.value, cst.Attribute) and func.value.attr.value == "optimizer":
        return dotted_key(func.value.value)
    first = nodes.arg(call, 0, "var_list")
    if isinstance(first, cst.Attribute) and first.attr.value in ("trainable_variables", "trainable_weights"):
        return dotted_key(first.value)
    return None


# -- when training runs ---------------------------------------------------------------------

def _called_name(call: cst.Call) -> Optional[str]:
    func = call.func
    if isinstance(func, cst.Name):
        return func.value
    if isinstance(func, cst.Attribute):
        return func.attr.value
    return None


def trains_parameter(ctx, call: cst.Call) -> bool:
    """``model.fit(...)`` (or another of TRAIN_METHODS) on a parameter of the function the walk is
    in: the caller's model.  Not ``opt.apply_gradients(...)``: a custom step given its optimizer
    trains whatever model its tape watched."""
    func, function = call.func, ctx.function
    return isinstance(func, cst.Attribute) and func.attr.value in TRAIN_METHODS and isinstance(func.value, cst.Name) \
        and function is not None and func.value.value in param_names(function.params)


class Timeline(Analysis):
    """Training in source order, the order a script or a notebook's "run all" executes it: a
    save at the top level that comes before every training call (and every call of a function
    of the module that trains), outside any loop, is an initial snapshot.  The model has not
    been trained yet, so no optimizer state exists to lose: loading it into a fresh model
    before training starts each run from the same initialisation, it resumes nothing.

    A shared analysis: TFS101-TFS103 name it in ``uses`` and the engine hands it each call
    before them, so a rule's ``visit_Call`` asks about the call it is looking at."""

    def __init__(self, ctx):
        super().__init__(ctx)
        self.trained = False
        self.training_functions: Set[str] = set()  # module functions and methods that train
        # Those whose every training call trains one of their parameters (def train(model, path):
        # model.fit(...)): a call of one trains the models it is given.
        self.trains_parameters: Dict[str, bool] = {}
        self._last: Optional[cst.Call] = None  # the call seen last, and whether it trains
        self._last_trains = False

    def visit_Call(self, node: cst.Call) -> None:
        ctx = self.ctx
        trains = is_training(ctx, node) or _called_name(node) in self.training_functions
        if trains:
            if ctx.functions:
                name = ctx.functions[0].name.value
                self.training_functions.add(name)
                on_parameter = len(ctx.functions) == 1 and trains_parameter(ctx, node)
                self.trains_parameters[name] = self.trains_parameters.get(name, True) and on_parameter
            else:
                self.trained = True
        self._last, self._last_trains = node, trains

    def trains(self, node: cst.Call) -> bool:
        """Whether ``node``, the call being visited, trains."""
        return node is self._last and self._last_trains

    def models_given(self, node: cst.Call) -> Optional[FrozenSet[str]]:
        """For a call of a module function that trains only its parameters, given only plain names
        and literals, those names: the models it may train; None otherwise."""
        name = node.func.value if isinstance(node.func, cst.Name) else None
        if name is None or not self.trains_parameters.get(name, False):
            return None
        if any(a.star or not isinstance(a.value, (cst.Name, cst.SimpleString, cst.Integer, cst.Float))
               for a in node.args):
            return None  # more(build()): what build() returns is not known here
        return frozenset(a.value.value for a in node.args if isinstance(a.value, cst.Name))

    def initial(self) -> bool:
        """Whether a save here precedes all training of the program."""
        ctx = self.ctx
        return not self.trained and not ctx.functions and not any(
            isinstance(n, (cst.For, cst.While)) for n in ctx.stack)


def path_keys(ctx, node: Optional[cst.BaseExpression]) -> Tuple[str, ...]:
    """What links a save to a load of the same file: the path's source text and, when it is
    wholly literal, its file name."""
    if node is None:
        return ()
    path = path_of(node, ctx)
    name = basename(path) if path else None
    return (text(ctx, node),) + ((name,) if name else ())


class Written:
    """The paths a module writes, split by whether each write is an initial snapshot."""

    def __init__(self) -> None:
        self.later: Set[str] = set()
        self.initial: Set[str] = set()

    def add(self, keys: Tuple[str, ...], initial: bool) -> None:
        (self.initial if initial else self.later).update(keys)

    def only_initial(self, keys: Tuple[str, ...]) -> bool:
        """Every write of this path is an initial snapshot (and there is one)."""
        return bool(set(keys) & self.initial) and not set(keys) & self.later


# -- TFS101 --------------------------------------------------------------------------------

def _skipped_message(what: str) -> str:
    return (
        f"{what} is the only way this training program persists the model, and the program resumes training "
        f"from that file (load_weights(), then training): the .weights.h5 file holds the optimizer variables, "
        f"but load_weights() restores them only into an optimizer that is already built "
        f"(optimizer.build(model.trainable_variables)); into a freshly compiled model they are skipped "
        f"('Skipping variable loading for optimizer ...') and the resumed run restarts at iteration 0 with zero "
        f"moments; save the full model with model.save('model.keras') and resume with load_model(), or "
        f"use tf.train.Checkpoint(model=model, optimizer=optimizer)"
    )


def _h5_message(what: str, path: Optional[Path]) -> str:
    return (
        f"{what} with {shown(path)} is the only way this training program persists the model, and the program "
        f"resumes training from that file (load_weights(), then training): an HDF5 weights file holds only the "
        f"layer weights, not the optimizer state, so the resumed run restarts the optimizer at iteration 0 "
        f"with zero moments; save the model with model.save('model.keras'), or use a TF-checkpoint path "
        f"without .h5 or tf.train.Checkpoint(model=model, optimizer=optimizer)"
    )


SAVERS = ("ModelCheckpoint", "save_model", "BackupAndRestore", "Checkpoint", "CheckpointManager", "OrbaxCheckpoint")


class _Load(NamedTuple):
    """A load_weights() that training may follow."""

    order: int  # calls seen before it
    function: Optional[int]  # id of the enclosing function, None at the top level
    keys: Tuple[str, ...]  # path_keys of its path
    parameter: bool  # its path is a parameter of its function: the caller says which file
    built: bool  # the model's optimizer was built before it (Keras 3 then restores the state)
    model: Optional[str]  # the variable it loads into (see TFS101._model); None: not known


class _Training(NamedTuple):
    order: int
    function: Optional[int]
    initial_epoch: bool  # fit(initial_epoch=...) other than 0: the run continues an earlier one
    model: Optional[str]  # the variable a fit()/train_on_batch() trains (see TFS101._model); None: not known
    among: Optional[FrozenSet[str]] = None  # a training function's call: the names it is given
    # It trains a parameter of its function: what the calls of that function give (trainings of
    # their own, with ``among``), not a model of its own.
    on_parameter: bool = False

    def of(self, load: _Load) -> bool:
        """Whether this may train the model ``load`` loaded into: reloading the best weights of
        one model to evaluate it, then training another, resumes nothing."""
        if load.model is None:
            return True
        if self.model is not None:
            return self.model == load.model
        return self.among is None or load.model in self.among


def _initial_epoch(call: cst.Call) -> bool:
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value == "initial_epoch":
            return nodes.constant(arg.value) != 0
    return False


def _method_of_self(ctx, call: cst.Call, path: Optional[cst.BaseExpression]) -> bool:
    """``self.model.load_weights(self.path)`` directly in a method of a class."""
    if not ctx.classes or len(ctx.functions) != 1 or ctx.stack.index(ctx.classes[-1]) > ctx.stack.index(
            ctx.functions[0]):
        return False
    method = ctx.functions[0].name.value
    if method != "__init__" and not _RESUME.search(method):
        return False  # a load to evaluate or predict with (load_best()), not to resume
    receiver = call.func.value if isinstance(call.func, cst.Attribute) else None
    return all(isinstance(n, cst.Attribute) and isinstance(n.value, cst.Name) and n.value.value == "self"
               for n in (receiver, path))


class TFS101(Rule):
    """A training program persists only weights and resumes training from them."""

    code = "TFS101"
    uses = (Timeline,)

    def __init__(self, ctx):
        super().__init__(ctx)
        self.timeline: Timeline = ctx.analysis(Timeline)
        self.full_state = False
        self.calls = 0
        self.saves: List[Tuple[cst.Call, str, Optional[Path], Tuple[str, ...]]] = []
        self.loads: List[_Load] = []
        self.trainings: List[_Training] = []
        self.built: Set[Tuple[Optional[int], str]] = set()

    def _function(self) -> Optional[int]:
        function = self.ctx.function
        return id(function) if function is not None else None

    def visit_Call(self, node: cst.Call) -> None:
        ctx = self.ctx
        self.calls += 1
        if self.timeline.trains(node):
            func = node.func
            trained = self._model(func.value) if isinstance(func, cst.Attribute) and func.attr.value in TRAIN_METHODS \
                else None
            self.trainings.append(_Training(self.calls, self._function(), _initial_epoch(node), trained,
                                            self.timeline.models_given(node), trains_parameter(ctx, node)))
            return
        built = is_build_of(ctx, node)
        if built is not None:
            self.built.add((self._function(), built))
            return
        method = model_call(ctx, node, ("save_weights", "save", "load_weights"))
        if method == "load_weights":
            self._load(node)
            return
        if method == "save_weights":
            if not self.timeline.initial():  # an initial snapshot holds no optimizer state anyway
                path_node = nodes.arg(node, 0, "filepath")
                self.saves.append((node, "save_weights()", path_of(path_node, ctx), path_keys(ctx, path_node)))
            return
        if method == "save":
            self.full_state = True
            return
        names = names_if(ctx, node.func, SAVERS)
        if not names:
            return
        if MODEL_CHECKPOINT in names:
            if weights_only(node) is True:
                path_node = nodes.arg(node, 0, "filepath")
                self.saves.append((node, "ModelCheckpoint(save_weights_only=True)", path_of(path_node, ctx),
                                   path_keys(ctx, path_node)))
            else:
                self.full_state = True
        elif SAVE_MODEL in names or BACKUP in names or is_tf_checkpoint(names):
            self.full_state = True
        elif writes_orbax(ctx, node, names):
            self.full_state = True

    def _load(self, node: cst.Call) -> None:
        ctx = self.ctx
        path_node = nodes.arg(node, 0, "filepath")
        function = ctx.function
        parameter = isinstance(path_node, cst.Name) and function is not None \
            and path_node.value in param_names(function.params) and ctx.value_of(path_node.value) is None
        # A method's load of a path the object holds (self.checkpoint_path) into its own model: the
        # caller picks the moment too (trainer.restore(), then trainer.train()).
        parameter = parameter or _method_of_self(ctx, node, path_node)
        receiver = dotted_key(node.func.value) if isinstance(node.func, cst.Attribute) else None
        built = receiver is not None and (self._function(), receiver) in self.built
        model = self._model(node.func.value) if isinstance(node.func, cst.Attribute) else None
        self.loads.append(_Load(self.calls, self._function(), path_keys(ctx, path_node), parameter, built, model))

    def _model(self, receiver: cst.BaseExpression) -> Optional[str]:
        """The model a call is on when it is a plain variable; None for anything else: an
        attribute (an agent's ``self.trainable_model`` is built on the layers of its
        ``self.model``), or a parameter of the function (the caller's model, whatever its name
        there)."""
        function = self.ctx.function
        if not isinstance(receiver, cst.Name):
            return None
        if function is not None and receiver.value in param_names(function.params):
            return None
        return receiver.value

    def _resume(self, keys: Tuple[str, ...]) -> Optional[_Load]:
        """A load_weights() of this save's file that training follows: the program resumes from it.
        Training follows a load later in its function (anywhere later for a top-level load), or
        anywhere when the load's path is a parameter: its caller picks the moment."""
        continued = any(t.initial_epoch for t in self.trainings)
        found = None
        for load in self.loads:
            # A path not known by name links to any save only where a fit() continues a run.
            linked = bool(set(keys) & set(load.keys)) or (continued and len(load.keys) < 2)
            if not linked:
                continue
            # A load whose path is a parameter of a function that does not train itself (a
            # restore helper): its caller picks the moment, so any training may follow it.
            helper = load.parameter and not any(t.function == load.function for t in self.trainings)
            if any(t.of(load) and not (t.on_parameter and t.function != load.function)
                   and (helper or (t.order > load.order and load.function in (None, t.function)))
                   for t in self.trainings):
                if not load.built:
                    return load
                found = load
        return found

    def finish(self) -> None:
        if not self.trainings or self.full_state:
            return
        for node, what, path, keys in self.saves:
            resume = self._resume(keys)
            if resume is None:
                continue  # kept for evaluation, prediction or export: nothing resumes from it
            message = self._message(what, path, resume.built)
            if message:
                self.ctx.report(node, self.code, message, Weights(path.tail if path else None))

    def _message(self, what: str, path: Optional[Path], built: bool) -> Optional[str]:
        if self.ctx.keras == 3:
            if path is not None and ends_with(path, WEIGHTS) is False:
                return None  # the save itself fails: TFS502
            return None if built else _skipped_message(what)
        # Keras 2 writes a TF checkpoint, which keeps the optimizer, unless the path ends in .h5
        if path is None:
            return None
        if ends_with(path, WEIGHTS):
            return None if built else _skipped_message(what)
        if ends_with(path, WEIGHTS) is False and ends_with(path, H5):
            return _h5_message(what, path)
        return None


# -- TFS102 --------------------------------------------------------------------------------

class _Weights:
    __slots__ = ("trained", "built", "loads", "helpers")

    def __init__(self) -> None:
        self.trained = False
        self.built = False
        self.loads: List[Tuple[cst.Call, Optional[Path], str, bool]] = []
        self.helpers: List[Tuple[cst.Call, str]] = []  # model = restore(path): a project function's model


@dataclass(frozen=True, eq=False)
class HelperLoad(Facts):
    """TFS102 deferred: training follows ``model = callee(...)``; the callee's summary says whether
    it loaded weights into that model and from which of its arguments (then ``Weights``)."""

    callee: str = ""
    # Each argument: (position or keyword, the Path of its value or None, the file writes it).
    arguments: Tuple[Tuple[str, Optional[Tuple[str, bool, bool]], bool], ...] = ()
    written: Tuple[str, ...] = ()  # the file names this module writes
    resumed: bool = False  # the training continues an earlier run (fit(initial_epoch=...))
    keras: int = 3


class TFS102(Flow):
    """load_weights() into a fresh model, then training resumes without the optimizer state."""

    code = "TFS102"
    uses = (Timeline,)
    follows_calls = True

    def __init__(self, ctx):
        super().__init__(ctx)
        self.resumes: List[Tuple[cst.Call, Optional[Path], str, bool, cst.Call]] = []
        self.helper_resumes: List[Tuple[cst.Call, str, cst.Call]] = []
        # load_weights() then a custom loop's apply_gradients() with a new optimizer:
        # (the load, its path, its source, the optimizer, the path is a 'resume' parameter)
        self.loop_resumes: List[Tuple[cst.Call, Optional[Path], str, str, bool]] = []
        self.compiled_with: Set[str] = set()  # what compile(optimizer=...) is given, as written
        self.checkpoints = False  # a tf.train.Checkpoint may hold the optimizer
        self.stacks: Dict[int, List[cst.CSTNode]] = {}  # where each load_weights() is
        self.written_names: Set[str] = set()
        self.written_texts: Set[str] = set()
        self.timeline: Timeline = ctx.analysis(Timeline)

    def _record(self, key) -> _Weights:
        found = self.state.get(key)
        if found is None:
            found = _Weights()
            self.track(key, found)
        return found

    def assigned(self, key, value) -> None:
        # model = load_checkpoint(path): a project function that may load weights into what it returns
        callee = project_callee(self.ctx, value) if isinstance(value, cst.Call) else None
        if callee is not None:
            self._record(key).helpers.append((value, callee))

    def _written(self, node: Optional[cst.BaseExpression]) -> None:
        if node is None:
            return
        self.written_texts.add(text(self.ctx, node))
        path = path_of(node, self.ctx)
        name = basename(path) if path else None
        if name:
            self.written_names.add(name)

    def visit_Call(self, node: cst.Call) -> None:
        ctx = self.ctx
        func = node.func
        if not isinstance(func, cst.Attribute) or func.attr.value in ("ModelCheckpoint", "Checkpoint"):
            names = names_if(ctx, func, ("ModelCheckpoint", "Checkpoint"))
            if MODEL_CHECKPOINT in names:
                self._written(nodes.arg(node, 0, "filepath"))
            self.checkpoints = self.checkpoints or is_tf_checkpoint(names)
            return
        method = func.attr.value
        if method == "compile":
            given = nodes.arg(node, 0, "optimizer")
            if given is not None:
                self.compiled_with.add(text(ctx, given))
            return
        if method == "apply_gradients":
            self._applied(node, func.value)
            return
        if method == "build":
            key = is_build_of(ctx, node)
            if key is not None:
                self._record((id(ctx.function), key)).built = True
            return
        if method in ("save_weights", "save"):
            # An initial snapshot is where fresh runs start from, not what a run resumes.
            model = nodes.model_like(func.value, ctx) or project_callee(ctx, func.value) is not None
            if model and not self.timeline.initial():
                self._written(nodes.arg(node, 0, "filepath"))
            return
        if method not in TRAIN_METHODS and method != "load_weights":
            return
        key = self.key(func.value)
        if key is None:
            return
        model = nodes.model_like(func.value, ctx)
        if not model and not (self.live(key) and self.state[key].helpers):
            return
        record = self._record(key)
        if method == "load_weights":
            # A project function's value is a model only as its summary says (helper_resumes).
            if not record.trained and model:
                self.stacks[id(node)] = list(ctx.stack)
                path_node = nodes.arg(node, 0, "filepath")
                source = text(ctx, path_node) if path_node is not None else ""
                record.loads.append((node, path_of(path_node, ctx), source, record.built))
            return
        for load, path, source, built in record.loads:
            if not alternative(self.stacks.get(id(load), []), ctx.stack):  # if exists: load, else: fit
                self.resumes.append((load, path, source, built, node))
        for call, callee in record.helpers:
            self.helper_resumes.append((call, callee, node))
        record.loads = []
        record.helpers = []
        record.trained = True

    def _applied(self, node: cst.Call, optimizer: cst.BaseExpression) -> None:
        """``optimizer.apply_gradients(zip(grads, model.trainable_variables))`` with a new optimizer
        (made by a keras.optimizers call, with state worth keeping): the training of a custom loop,
        after the load_weights() of that model in this function."""
        ctx = self.ctx
        if not isinstance(optimizer, cst.Name):
            return
        made = new_optimizer(optimizer, ctx)
        if not isinstance(made, cst.Call) or stateless(ctx, made):
            return
        applied = text(ctx, node)
        function = id(ctx.function)
        resume_names = {p for p in param_names(ctx.function.params) if _RESUME.search(p)} if ctx.function else set()
        for key, record in list(self.state.items()):
            if key[0] != function or not isinstance(record, _Weights) or record.trained or not self.live(key):
                continue
            if not any(f"{key[1]}.{v}" in applied for v in ("trainable_variables", "trainable_weights")):
                continue
            for load, path, source, _ in record.loads:
                if not alternative(self.stacks.get(id(load), []), ctx.stack):
                    self.loop_resumes.append((load, path, source, optimizer.value, source in resume_names))
            record.loads = []
            record.trained = True

    def finish(self) -> None:
        ctx = self.ctx
        for load, path, source, optimizer, resume_parameter in self.loop_resumes:
            if self.checkpoints or optimizer in self.compiled_with:
                continue  # the optimizer may be saved and restored another way
            name = basename(path) if path else None
            if not (resume_parameter or (name and name in self.written_names) or source in self.written_texts):
                continue  # pretrained weights to start from, not a resumed run
            ctx.report(
                load, self.code,
                f"load_weights() restores only the model's variables, and this custom training loop then updates "
                f"with {optimizer}.apply_gradients(), a new optimizer the model does not track (never given to "
                f"compile()): its state (iterations, moments) is in no saved file, so the resumed run restarts it at "
                f"iteration 0 with zero moments; save and restore both with "
                f"tf.train.Checkpoint(model=model, optimizer={optimizer})",
                Weights(path.tail if path else None, False),
            )
        for call, callee, train in self.helper_resumes:
            arguments = []
            for position, arg in enumerate(call.args):
                if arg.star:
                    break
                path = path_of(arg.value, ctx)
                name = basename(path) if path else None
                written = bool(name and name in self.written_names) or text(ctx, arg.value) in self.written_texts
                key = arg.keyword.value if arg.keyword is not None else str(position)
                arguments.append((key, (path.tail, path.known, path.whole) if path else None, written))
            resumed = any(a.keyword is not None and a.keyword.value == "initial_epoch" for a in train.args)
            ctx.defer(call, self.code, HelperLoad(callee, tuple(arguments), tuple(sorted(self.written_names)),
                                                  resumed, ctx.keras))
        for load, path, source, built, train in self.resumes:
            resumed = any(a.keyword is not None and a.keyword.value == "initial_epoch" for a in train.args)
            name = basename(path) if path else None
            if not resumed and not ((name and name in self.written_names) or source in self.written_texts):
                continue  # pretrained weights to start from, not a resumed run
            message = _load_message(path, built, ctx.keras)
            if message:
                self.ctx.report(load, self.code, message, Weights(path.tail if path else None, built))

    @classmethod
    def resolve(cls, pending: Pending, project: ProjectIndex) -> Decision:
        """``model = callee(args)`` then training: a finding when the callee's summary says it
        returns a model it loaded weights into (into an unbuilt optimizer), and the file is one
        this program writes (or the training continues an earlier run)."""
        facts: HelperLoad = pending.data
        found = project.callee(pending.finding.path, facts.callee)
        returned = project.returned(pending.finding.path, facts.callee)
        if found is None or returned is None or returned.kind not in (summaries.MODEL, summaries.LOADED):
            return None
        function = found[1]
        weights = returned.weights
        path, written = None, False
        if weights.startswith("="):
            path = Path(weights[1:], True, True)
            written = basename(path) in facts.written
        elif weights.startswith("param:") and function.returns is not None and function.returns.weights == weights:
            parameter = weights[len("param:"):]
            params = list(function.params)
            if "." in function.name and params[:1] == ["self"]:
                params = params[1:]
            position = str(params.index(parameter)) if parameter in params else None
            given = next((a for a in facts.arguments if a[0] in (parameter, position)), None)
            if given is None:
                return None  # the parameter's default: not followed
            path = Path(*given[1]) if given[1] else None
            written = given[2]
        elif weights != "?":
            return None  # no load_weights() into the model it returns
        if not (facts.resumed or written):
            return None  # pretrained weights to start from, not a resumed run
        message = _load_message(path, returned.built, facts.keras)
        if not message:
            return None
        name = facts.callee.rpartition(".")[2]
        return Resolved(f"{name}() calls {message}", Weights(path.tail if path else None, returned.built))


# A parameter that names the file a run resumes from (resume_from, restore_path, continue_from).
_RESUME = re.compile(r"(?i)resum|restor|continu")


def _load_message(path: Optional[Path], built: bool, keras: int) -> Optional[str]:
    """TFS102's message for a load_weights() of ``path`` that training follows, or None."""
    keras3 = keras == 3
    if path is None:
        if not keras3:
            return None  # Keras 2 restores a TF checkpoint, which an unknown path may be
        return None if built else _skip_on_load()
    if keras3 and ends_with(path, LOAD_WEIGHTS_EXTENSIONS) is False:
        return None  # load_weights itself fails: TFS502
    if ends_with(path, WEIGHTS):
        return None if built else _skip_on_load()
    if ends_with(path, WEIGHTS) is False and ends_with(path, H5):
        return (
            f"load_weights({shown(path)}) and training continues: an .h5 file gives load_weights() only "
            f"the layer weights, never the optimizer state (even a built optimizer stays at iteration 0), "
            f"so the resumed run restarts the optimizer; save and resume with model.save('model.keras') "
            f"and load_model(), or tf.train.Checkpoint(model=model, optimizer=optimizer)"
        )
    if keras3 and ends_with(path, (".keras",)):
        return None if built else _skip_on_load()
    return None


def _skip_on_load() -> str:
    return (
        "load_weights() into a model whose optimizer is not built yet, and training continues: the saved "
        "optimizer variables are skipped ('Skipping variable loading for optimizer ...') and the resumed run "
        "restarts at iteration 0 with zero moments; call model.optimizer.build(model.trainable_variables) "
        "before load_weights(), or resume with model.save('model.keras') and load_model()"
    )


# -- TFS103 --------------------------------------------------------------------------------

def _is_model_optimizer(node: Optional[cst.BaseExpression], ctx, depth: int = 0) -> bool:
    if isinstance(node, cst.Attribute):
        return node.attr.value == "optimizer"
    if isinstance(node, cst.Name) and depth < 4:
        return _is_model_optimizer(ctx.value_of(node.value), ctx, depth + 1)
    return False


def new_optimizer(node: Optional[cst.BaseExpression], ctx, depth: int = 0) -> Optional[cst.BaseExpression]:
    """The expression that makes a new optimizer (a string or a keras.optimizers call), else None."""
    if node is None or depth > 4:
        return None
    if isinstance(nodes.constant(node), str):
        return node
    if isinstance(node, cst.Call):
        names = ctx.names(node.func)
        return node if any(n.startswith("keras.optimizers.") for n in names) else None
    if isinstance(node, cst.Name):
        return new_optimizer(ctx.value_of(node.value), ctx, depth + 1)
    return None


def _schedule(ctx, node: Optional[cst.BaseExpression], depth: int = 0) -> bool:
    """A learning-rate schedule (it counts the optimizer's iterations); False when not known to be one."""
    if isinstance(node, cst.Name) and depth < 4:
        return _schedule(ctx, ctx.value_of(node.value), depth + 1)
    if isinstance(node, cst.Call):
        return any(".schedules." in n for n in ctx.raw_names(node.func)) or any(
            n.startswith("keras.optimizers.") and n.endswith(("Decay", "Schedule", "PiecewiseConstant"))
            for n in ctx.names(node.func))
    return False


def stateless(ctx, made: cst.BaseExpression) -> bool:
    """A new optimizer with no state worth keeping: plain SGD, without momentum, EMA, the Keras 2
    ``decay`` (which counts iterations) or a known learning-rate schedule."""
    if isinstance(made, cst.Call):
        if "keras.optimizers.SGD" not in ctx.names(made.func):
            return False
        for position, arg in enumerate(made.args):
            if arg.star:
                return False
            name = arg.keyword.value if arg.keyword is not None else ("learning_rate", "momentum")[position] \
                if position < 2 else None
            if name in ("learning_rate", "lr"):
                if _schedule(ctx, arg.value):
                    return False
            elif name in ("momentum", "decay", "use_ema"):
                if nodes.constant(arg.value) not in (0, False, None):  # a literal that turns it off
                    return False
            elif name not in ("nesterov", "name", "weight_decay", "clipnorm", "clipvalue", "global_clipnorm"):
                return False
        return True
    value = nodes.constant(made)
    return isinstance(value, str) and value.lower() == "sgd"


class TFS103(Flow):
    """A model from load_model() is compiled again with a new optimizer and trained."""

    code = "TFS103"
    follows_calls = True
    uses = (Timeline,)

    def __init__(self, ctx):
        super().__init__(ctx)
        self.timeline: Timeline = ctx.analysis(Timeline)
        self.written = Written()

    def assigned(self, key, value) -> None:
        ctx = self.ctx
        loaded = compiled_load(ctx, value)
        if loaded is None:
            return
        if self.written.only_initial(path_keys(ctx, nodes.arg(value, 0, "filepath"))):
            return  # saved before any training: it has no optimizer state to lose
        path = loaded[0]
        # Keras 3 drops the moments of a legacy .h5 model anyway, and fit() needs a new compile() then.
        if ctx.keras == 3 and (path is None or not ends_with(path, (".keras",))):
            return
        self.track(key, None)

    def visit_Assign(self, node: cst.Assign) -> None:
        super().visit_Assign(node)
        for target in node.targets:
            if isinstance(target.target, cst.Attribute) and target.target.attr.value == "trainable":
                self._fine_tuning()

    def _fine_tuning(self) -> None:
        # Changing what is trainable (fine-tuning) needs compile() again, with a fresh optimizer.
        function = id(self.ctx.function)
        for key in [k for k in self.state if k[0] == function]:
            self.drop(key)

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        if isinstance(func, cst.Attribute) and func.attr.value == "save":
            self.written.add(path_keys(self.ctx, nodes.arg(node, 0, "filepath")), self.timeline.initial())
        elif SAVE_MODEL in names_if(self.ctx, func, ("save_model",)):
            self.written.add(path_keys(self.ctx, nodes.arg(node, 1, "filepath")), self.timeline.initial())
        if not isinstance(func, cst.Attribute) or not self.state:
            return
        key = self.key(func.value)
        if not self.live(key):
            return
        method = func.attr.value
        if method == "compile":
            self._compiled(key, node)
        elif method in ("add", "pop"):
            self.drop(key)
        elif method in TRAIN_METHODS:
            compiled = self.drop(key)
            if compiled is not None:
                self._report(key[1], *compiled)

    def _compiled(self, key, node: cst.Call) -> None:
        ctx = self.ctx
        given = nodes.arg(node, 0, "optimizer")
        if given is None:
            if nodes.has_keyword(node, "optimizer"):  # **kwargs
                self.drop(key)
                return
            self.state[key] = (node, "the default 'rmsprop'")
            return
        made = new_optimizer(given, ctx)
        if made is None or _is_model_optimizer(given, ctx) or stateless(ctx, made):
            self.drop(key)  # the same optimizer, an unknown one, or one that has nothing to lose
            return
        self.state[key] = (node, text(ctx, made))

    def _report(self, name: str, node: cst.Call, optimizer: str) -> None:
        self.ctx.report(
            node, self.code,
            f"{name} came from load_model() with its optimizer state (iterations and moments), but this "
            f"compile() gives it a new optimizer ({optimizer}) that starts again at iteration 0 before training "
            f"continues; pass optimizer={name}.optimizer to keep the state, or leave out compile(): load_model() "
            f"already compiled the model",
            Optimizer(None if optimizer.startswith("the default") else optimizer),
        )


# -- TFS104 --------------------------------------------------------------------------------

def _keras_model_class(ctx) -> bool:
    """Inside a class that is (or may be) a Keras Model: self.optimizer is the compiled one."""
    if not ctx.classes:
        return False
    bases = [b.value for b in ctx.classes[-1].bases if b.keyword is None]
    for base in bases:
        names = ctx.names(base)
        if not names:
            if not (isinstance(base, cst.Name) and base.value == "object"):
                return True  # a project base class: it may be a Model
        elif any(n.startswith("keras.models.") for n in names):
            return True
    return False


Owner = Optional[Tuple[str, str]]  # ("def" or "class", name) of the outermost definition; None: top level


def _owner(ctx) -> Owner:
    for node in ctx.stack:
        if isinstance(node, cst.FunctionDef):
            return ("def", node.name.value)
        if isinstance(node, cst.ClassDef):
            return ("class", node.name.value)
    return None


# ``zip(grads, model.trainable_variables)``: the model an update is for.
_TRAINED = re.compile(r"([A-Za-z_][\w.]*)\.trainable_(?:variables|weights)\b")


class TFS104(Rule):
    """tf.train.Checkpoint(model=...) without the optimizer of a custom training loop."""

    code = "TFS104"

    def __init__(self, ctx):
        super().__init__(ctx)
        # (the call, its keywords, their values' text, where it is, the callee of a model the
        # project makes: None when a value is a model by itself)
        self.checkpoints: List[Tuple[cst.Call, Set[str], Set[str], Owner, Optional[str]]] = []
        self.optimizers: Dict[str, Tuple[cst.Call, Owner]] = {}
        self.compiled: Set[str] = set()
        self.calls: Dict[Owner, Set[str]] = {}  # the module functions each definition may call
        self.updated: Set[str] = set()  # the models whose variables apply_gradients() updates

    def visit_Call(self, node: cst.Call) -> None:
        ctx = self.ctx
        func = node.func
        if isinstance(func, cst.Name):
            self.calls.setdefault(_owner(ctx), set()).add(func.value)
        if isinstance(func, cst.Attribute):
            method = func.attr.value
            if method == "apply_gradients":
                self._applied(func.value, node)
                return
            if method == "compile":
                given = nodes.arg(node, 0, "optimizer")
                if given is not None:
                    self.compiled.add(text(ctx, given))
                return
        names = names_if(ctx, func, ("Checkpoint",))
        if not names or not any(n.startswith("tensorflow.") and n.endswith("train.Checkpoint") for n in names):
            return
        if any(a.star for a in node.args) or any(a.keyword is None for a in node.args):
            return  # **objects or a root object: cannot tell what it holds
        keywords = {a.keyword.value for a in node.args}
        values = {text(ctx, a.value) for a in node.args}
        if any(nodes.model_like(a.value, ctx) for a in node.args):
            self.checkpoints.append((node, keywords, values, _owner(ctx), None))
            return
        callee = next((c for c in (project_callee(ctx, a.value) for a in node.args) if c is not None), None)
        if callee is not None:  # model = get_model(): the callee's summary says (resolve)
            self.checkpoints.append((node, keywords, values, _owner(ctx), callee))

    def _applied(self, optimizer: cst.BaseExpression, node: cst.Call) -> None:
        ctx = self.ctx
        if isinstance(optimizer, cst.Attribute) and optimizer.attr.value == "optimizer":
            owner = optimizer.value
            if nodes.model_like(owner, ctx):
                return  # model.optimizer: given by compile()
            if isinstance(owner, cst.Name) and owner.value == "self" and _keras_model_class(ctx):
                return  # a Model's own train_step
        name = dotted_key(optimizer)
        if name is not None:
            self.optimizers.setdefault(name, (node, _owner(ctx)))
        applied = text(ctx, node)
        self.updated.update(m.group(1) for m in _TRAINED.finditer(applied))

    def _reached(self, owner: Owner) -> Optional[Set[Owner]]:
        """The definitions whose training a checkpoint made in ``owner`` saves: that function (or
        class, whose methods share self) and the module functions it calls, transitively; None for
        the top level, which may run every function of the module."""
        if owner is None:
            return None
        reached, todo = {owner}, [owner]
        while todo:
            for name in self.calls.get(todo.pop(), ()):
                callee = ("def", name)
                if callee not in reached:
                    reached.add(callee)
                    todo.append(callee)
        return reached

    def finish(self) -> None:
        detached = [name for name in self.optimizers if name not in self.compiled]
        if not detached:
            return
        for node, keywords, values, owner, callee in self.checkpoints:
            reached = self._reached(owner)
            trained = [name for name in detached if reached is None or self.optimizers[name][1] in reached]
            if not trained or any("opt" in k.lower() for k in keywords) or any(name in values for name in trained):
                continue
            if callee is not None and not values & self.updated:
                continue  # a project model restored (pretrained), not the one the loop trains
            name = trained[0]
            report_on_model(
                self.ctx, node, self.code,
                f"tf.train.Checkpoint holds the model but not the optimizer: this custom training loop updates "
                f"with {name}.apply_gradients(), and {name} is never given to model.compile(), so the model "
                f"does not track it and the checkpoint saves no optimizer variables; a restore restarts it at "
                f"iteration 0 with zero moments; add optimizer={name} to the Checkpoint",
                Optimizer(name, tuple(sorted(keywords))), callee,
            )

    @classmethod
    def resolve(cls, pending: Pending, project: ProjectIndex) -> Decision:
        # A factory that compiles the model with an optimizer it is given (get_model(optimizer))
        # may be given this one: then the model tracks it.
        return confirm_model(pending, project, lambda returned: not returned.optimizer.isidentifier())


# -- TFS105 --------------------------------------------------------------------------------

DUMPS = {"numpy.save": (1, "arr"), "pickle.dump": (0, "obj"), "joblib.dump": (0, "value")}


class TFS105(Rule):
    """np.save / pickle.dump / joblib.dump of model.get_weights()."""

    code = "TFS105"

    def _weights(self, node: Optional[cst.BaseExpression], depth: int = 0) -> Optional[bool]:
        """True for model.get_weights(), False for it wrapped in an object array, else None."""
        ctx = self.ctx
        if node is None or depth > 4:
            return None
        if isinstance(node, cst.Name):
            return self._weights(ctx.value_of(node.value), depth + 1)
        if not isinstance(node, cst.Call):
            return None
        if model_call(ctx, node, ("get_weights",)):
            return True
        if {"numpy.array", "numpy.asarray"} & ctx.names(node.func) and node.args:
            if self._weights(node.args[0].value, depth + 1) is not None:
                dtype = nodes.arg(node, 1, "dtype")
                # np.array(weights) fails like np.save(weights); dtype=object makes the object array
                return not (isinstance(dtype, cst.Name) and dtype.value == "object")
        return None

    def visit_Call(self, node: cst.Call) -> None:
        if not node.args:
            return
        ctx = self.ctx
        names = names_if(ctx, node.func, ("save", "dump"))
        dump = next((n for n in names if n in DUMPS), None)
        if dump is None:
            return
        position, keyword = DUMPS[dump]
        plain = self._weights(nodes.arg(node, position, keyword))
        if plain is None:
            return
        short = {"numpy.save": "np.save", "pickle.dump": "pickle.dump", "joblib.dump": "joblib.dump"}[dump]
        if dump != "numpy.save":
            problem = (
                "the file holds only the weight arrays, without the architecture or the optimizer state: they can "
                "only be put back with set_weights() into an identically built model, and resumed training "
                "restarts the optimizer"
            )
        elif plain:
            problem = (
                "the arrays differ in shape, so NumPy refuses them ('ValueError: setting an array element with a "
                "sequence. The requested array has an inhomogeneous shape'), and even as an object array they "
                "keep neither the architecture nor the optimizer state"
            )
        else:
            problem = (
                "np.load() refuses the object array ('ValueError: Object arrays cannot be loaded when "
                "allow_pickle=False'), and it keeps neither the architecture nor the optimizer state"
            )
        ctx.report(
            node, self.code,
            f"{short}() of model.get_weights(): {problem}; use model.save('model.keras') (everything) or "
            f"model.save_weights('model.weights.h5')",
            WeightsDump(dump, not plain),
        )


RULES = [TFS101, TFS102, TFS103, TFS104, TFS105]
