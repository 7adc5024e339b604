"""What one module shows about a Keras model: its output layer, its loss and its metrics.

The metric rules (TFS4xx) pair a metric with the loss and the output activation of the
model it is compiled into.  ``Tracker`` follows, during the one walk, the models a module
builds (``Sequential([...])``, ``model.add(...)``, ``Model(inputs, outputs)`` over a
functional graph, a module function that returns one) and what ``compile(...)`` gives
them; ``loss_of``, ``metric_of`` and ``output_of`` read expressions, following plain names
back to what was assigned to them.  Whatever cannot be known is None: rules do not guess.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple

import libcst as cst

from tflint_save import nodes
from tflint_save.analysis import Analysis

MAX_DEPTH = 12

# -- losses --------------------------------------------------------------------------------

BINARY, CATEGORICAL, SPARSE, REGRESSION = "binary", "categorical", "sparse", "regression"
CROSSENTROPY = (BINARY, CATEGORICAL, SPARSE)

_LOSS_CLASSES = {
    "BinaryCrossentropy": BINARY,
    "BinaryFocalCrossentropy": BINARY,
    "CategoricalCrossentropy": CATEGORICAL,
    "CategoricalFocalCrossentropy": CATEGORICAL,
    "SparseCategoricalCrossentropy": SPARSE,
    "MeanSquaredError": REGRESSION,
    "MeanAbsoluteError": REGRESSION,
    "MeanAbsolutePercentageError": REGRESSION,
    "MeanSquaredLogarithmicError": REGRESSION,
    "Huber": REGRESSION,
    "LogCosh": REGRESSION,
}
_LOSS_FUNCTIONS = {
    "binary_crossentropy": BINARY,
    "binary_focal_crossentropy": BINARY,
    "categorical_crossentropy": CATEGORICAL,
    "categorical_focal_crossentropy": CATEGORICAL,
    "sparse_categorical_crossentropy": SPARSE,
    "mean_squared_error": REGRESSION,
    "mean_absolute_error": REGRESSION,
    "mean_absolute_percentage_error": REGRESSION,
    "mean_squared_logarithmic_error": REGRESSION,
    "huber": REGRESSION,
    "log_cosh": REGRESSION,
    "logcosh": REGRESSION,
}
_LOSS_ALIASES = {"bce": BINARY, "BCE": BINARY, "mse": REGRESSION, "MSE": REGRESSION, "mae": REGRESSION,
                 "MAE": REGRESSION, "mape": REGRESSION, "MAPE": REGRESSION, "msle": REGRESSION, "MSLE": REGRESSION}
# Loss classes whose first positional parameter is from_logits (Keras 2 and 3 alike).
_FROM_LOGITS_FIRST = ("BinaryCrossentropy", "CategoricalCrossentropy", "SparseCategoricalCrossentropy")


@dataclass
class Loss:
    kind: str  # BINARY, CATEGORICAL, SPARSE or REGRESSION
    from_logits: Optional[bool]  # None: given, but not as a literal
    source: str  # a runnable expression, for --verify
    label: str  # how messages name it


def loss_of(ctx, expr: Optional[cst.BaseExpression], depth: int = 0) -> Optional[Loss]:
    """The loss an expression passed as ``loss=`` (or called as one) stands for."""
    if expr is None or depth > MAX_DEPTH:
        return None
    text = nodes.string(expr)
    if text is not None:
        kind = _LOSS_FUNCTIONS.get(text) or _LOSS_CLASSES.get(text) or _LOSS_ALIASES.get(text)
        return Loss(kind, False, repr(text), repr(text)) if kind else None
    if isinstance(expr, cst.Call):
        name = family_name(ctx, expr.func, "losses")
        kind = _LOSS_CLASSES.get(name) if name else None
        if kind is None:
            return None
        logits = nodes.arg(expr, 0 if name in _FROM_LOGITS_FIRST else None, "from_logits")
        from_logits = False if logits is None else nodes.constant(logits)
        if from_logits is not True and from_logits is not False:
            from_logits = None
        call = f"{name}({nodes.call_args(ctx.module, expr)})"
        return Loss(kind, from_logits, f"keras.losses.{call}", call)
    if isinstance(expr, (cst.Name, cst.Attribute)):
        name = family_name(ctx, expr, "losses")
        if name is not None:
            kind = _LOSS_FUNCTIONS.get(name)
            return Loss(kind, False, f"keras.losses.{name}", name) if kind else None
        if isinstance(expr, cst.Name):
            return loss_of(ctx, ctx.value_of(expr.value), depth + 1)
    return None


# -- metrics -------------------------------------------------------------------------------

STRING, OBJECT, CLASS, FUNCTION = "string", "object", "class", "function"

# What Keras names a metric object built without name= (Keras 3; the Keras 2 spelling after it).
DEFAULT_NAMES = {
    "Accuracy": ("accuracy",),
    "BinaryAccuracy": ("binary_accuracy",),
    "BinaryCrossentropy": ("binary_crossentropy",),
    "CategoricalAccuracy": ("categorical_accuracy",),
    "CategoricalCrossentropy": ("categorical_crossentropy",),
    "CategoricalHinge": ("categorical_hinge",),
    "CosineSimilarity": ("cosine_similarity",),
    "F1Score": ("f1_score",),
    "FBetaScore": ("fbeta_score",),
    "Hinge": ("hinge",),
    "KLDivergence": ("kl_divergence", "kullback_leibler_divergence"),
    "LogCoshError": ("logcosh",),
    "Mean": ("mean",),
    "MeanAbsoluteError": ("mean_absolute_error",),
    "MeanAbsolutePercentageError": ("mean_absolute_percentage_error",),
    "MeanSquaredError": ("mean_squared_error",),
    "MeanSquaredLogarithmicError": ("mean_squared_logarithmic_error",),
    "Poisson": ("poisson",),
    "R2Score": ("r2_score",),
    "RootMeanSquaredError": ("root_mean_squared_error",),
    "SparseCategoricalAccuracy": ("sparse_categorical_accuracy",),
    "SparseCategoricalCrossentropy": ("sparse_categorical_crossentropy",),
    "SparseTopKCategoricalAccuracy": ("sparse_top_k_categorical_accuracy",),
    "SquaredHinge": ("squared_hinge",),
    "Sum": ("sum",),
    "TopKCategoricalAccuracy": ("top_k_categorical_accuracy",),
}
# Built without name=, these get an automatic one: the class in snake case, made unique in
# the process ('auc', 'auc_1', ...).
AUTO_NAMED = (
    "AUC", "Precision", "Recall", "TruePositives", "TrueNegatives", "FalsePositives", "FalseNegatives",
    "PrecisionAtRecall", "RecallAtPrecision", "SensitivityAtSpecificity", "SpecificityAtSensitivity",
    "IoU", "BinaryIoU", "MeanIoU", "OneHotIoU", "OneHotMeanIoU",
)
# Metric classes whose first positional parameter is name=.
NAME_FIRST = (
    "Accuracy", "BinaryAccuracy", "CategoricalAccuracy", "SparseCategoricalAccuracy", "Mean", "Sum",
    "MeanSquaredError", "MeanAbsoluteError", "MeanAbsolutePercentageError", "MeanSquaredLogarithmicError",
    "RootMeanSquaredError", "Hinge", "SquaredHinge", "CategoricalHinge", "LogCoshError", "Poisson",
    "KLDivergence", "CosineSimilarity", "BinaryCrossentropy", "CategoricalCrossentropy",
    "SparseCategoricalCrossentropy",
)


def snake_case(name: str) -> str:
    """Keras's own ``to_snake_case``: 'AUC' -> 'auc', 'MeanIoU' -> 'mean_io_u'."""
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


_CLASS_BY_SNAKE = {snake_case(c): c for c in list(DEFAULT_NAMES) + list(AUTO_NAMED)}


@dataclass
class Metric:
    kind: str  # STRING, OBJECT (a constructor call), CLASS (uninstantiated) or FUNCTION
    name: str  # the string as written, the class name, or the function name
    node: cst.BaseExpression  # where it appears in the code being linted
    call: Optional[cst.Call] = None  # the constructor call of an OBJECT
    source: str = ""  # a runnable expression, for --verify
    custom: bool = False  # a class or function of the module itself

    @property
    def cls(self) -> Optional[str]:
        """The Keras metric class it stands for (strings: the class Keras looks up), if any."""
        if self.custom:
            return None
        if self.kind in (OBJECT, CLASS):
            return self.name
        if self.kind == STRING and self.name.lower() in ("accuracy", "acc"):
            return None  # Keras picks the accuracy from the shapes
        if self.name in DEFAULT_NAMES or self.name in AUTO_NAMED:
            return self.name if self.kind == STRING else None
        # 'binary_accuracy' (a string, or the function keras.metrics.binary_accuracy)
        return _CLASS_BY_SNAKE.get(self.name)

    @property
    def label(self) -> str:
        if self.kind == STRING:
            return repr(self.name)
        if self.kind == OBJECT:
            return f"{self.name}()"
        return self.name


def metric_of(ctx, expr: Optional[cst.BaseExpression], depth: int = 0, tracker: "Optional[Tracker]" = None,
              node: Optional[cst.BaseExpression] = None) -> Optional[Metric]:
    """The metric an expression stands for: a string, a metric object, class or function."""
    if expr is None or depth > MAX_DEPTH:
        return None
    node = node if node is not None else expr
    text = nodes.string(expr)
    if text is not None:
        return Metric(STRING, text, node, source=repr(text))
    if isinstance(expr, cst.Call):
        name = family_name(ctx, expr.func, "metrics")
        if name is not None and name[:1].isupper():
            return Metric(OBJECT, name, node, expr, f"keras.metrics.{name}({nodes.call_args(ctx.module, expr)})")
        if tracker is not None and isinstance(expr.func, cst.Name) and expr.func.value in tracker.metric_classes:
            if not ctx.names(expr.func):
                return Metric(OBJECT, expr.func.value, node, expr, custom=True)
        return None
    if isinstance(expr, (cst.Name, cst.Attribute)):
        name = family_name(ctx, expr, "metrics")
        if name is not None:
            kind = CLASS if name[:1].isupper() else FUNCTION
            return Metric(kind, name, node, source=f"keras.metrics.{name}")
        if isinstance(expr, cst.Name):
            if ctx.names(expr):
                return None
            value = ctx.value_of(expr.value)
            if value is not None:
                return metric_of(ctx, value, depth + 1, tracker, node)
            if tracker is not None and expr.value in tracker.functions:
                return Metric(FUNCTION, expr.value, node, custom=True)
        elif tracker is not None:
            return tracker.attribute_metric(expr, node)
    return None


def metrics_of(ctx, expr: Optional[cst.BaseExpression], tracker: "Optional[Tracker]" = None,
               depth: int = 0) -> Optional[List[Optional[Metric]]]:
    """The metrics of ``compile(metrics=...)``: one entry per element (None when unknown).

    None for the whole when it is not a list (a dict per output, a name bound elsewhere).
    """
    if expr is None:
        return []
    if depth > MAX_DEPTH:
        return None
    if isinstance(expr, cst.Name) and not ctx.names(expr):
        value = ctx.value_of(expr.value)
        if isinstance(value, (cst.List, cst.Tuple)):
            return metrics_of(ctx, value, tracker, depth + 1)
        if isinstance(value, cst.Name):
            return metrics_of(ctx, value, tracker, depth + 1)
        return None
    if nodes.constant(expr) is None:
        return []
    if isinstance(expr, (cst.List, cst.Tuple)):
        found: List[Optional[Metric]] = []
        for element in expr.elements:
            if isinstance(element, cst.StarredElement):
                found.append(None)
            else:
                found.append(metric_of(ctx, element.value, 0, tracker))
        return found
    if isinstance(expr, cst.Dict):
        return None
    return [metric_of(ctx, expr, 0, tracker)]


def family_name(ctx, expr: cst.BaseExpression, family: str) -> Optional[str]:
    """'Accuracy' for an expression naming keras.metrics.Accuracy (family 'metrics')."""
    prefix = f"keras.{family}."
    for name in ctx.names(expr):
        if name.startswith(prefix) and name.count(".") == 2:
            return name[len(prefix):]
    return None


# -- outputs -------------------------------------------------------------------------------

LINEAR = "linear"
PROBABILITIES = ("sigmoid", "softmax")
_ACTIVATION_MODULES = ("tensorflow", "tensorflow.nn", "tensorflow.math", "keras.activations", "keras.ops",
                       "keras.ops.nn", "keras.backend")
_UNIT_LAYERS = {"Dense": ("units", 0), "Conv1D": ("filters", 0), "Conv2D": ("filters", 0),
                "Conv3D": ("filters", 0), "Conv1DTranspose": ("filters", 0), "Conv2DTranspose": ("filters", 0),
                "Conv3DTranspose": ("filters", 0)}
_ACTIVATION_LAYERS = {"Softmax": "softmax", "ReLU": "relu", "LeakyReLU": "leaky_relu", "ELU": "elu",
                      "PReLU": "prelu"}
_PASS_THROUGH = ("Dropout", "SpatialDropout1D", "SpatialDropout2D", "SpatialDropout3D", "GaussianNoise",
                 "GaussianDropout", "AlphaDropout", "ActivityRegularization")
_MODEL_CLASSES = ("keras.models.Sequential", "keras.models.Model")


@dataclass(frozen=True)
class Output:
    activation: Optional[str] = None  # 'sigmoid', 'softmax', 'linear', 'relu'...; None: unknown
    units: Optional[int] = None  # size of the last axis, when a literal

    @property
    def probabilities(self) -> bool:
        return self.activation in PROBABILITIES


UNKNOWN = Output()


def activation_of(ctx, expr: Optional[cst.BaseExpression]) -> Optional[str]:
    """The activation an ``activation=`` value names: 'sigmoid', 'linear'... or None."""
    if expr is None:
        return LINEAR
    value = nodes.constant(expr)
    if value is None:
        return LINEAR
    if isinstance(value, str):
        return value
    for name in ctx.names(expr):
        module, _, last = name.rpartition(".")
        if module in _ACTIVATION_MODULES:
            return last
    return None


def probability_function(ctx, func: cst.BaseExpression) -> Optional[str]:
    """'sigmoid' or 'softmax' when ``func`` is one of TF's or Keras's functions of that name."""
    for name in ctx.names(func):
        module, _, last = name.rpartition(".")
        if last in PROBABILITIES and module in _ACTIVATION_MODULES:
            return last
    return None


def layer_output(ctx, layer: Optional[cst.BaseExpression], before, depth: int = 0) -> Output:
    """The output of a layer expression (a constructor call, or a name bound to one).

    ``before`` gives the output of what feeds the layer (for Activation and Dropout).
    """
    if depth > MAX_DEPTH:
        return UNKNOWN
    if isinstance(layer, cst.Name) and not ctx.names(layer):
        return layer_output(ctx, ctx.value_of(layer.value), before, depth + 1)
    if not isinstance(layer, cst.Call):
        return UNKNOWN
    name = family_name(ctx, layer.func, "layers")
    if name is None:
        return UNKNOWN
    if name in _UNIT_LAYERS:
        keyword, position = _UNIT_LAYERS[name]
        units = nodes.constant(nodes.arg(layer, position, keyword))
        units = units if isinstance(units, int) and not isinstance(units, bool) else None
        activation = nodes.arg(layer, 1 if name == "Dense" else None, "activation")
        return Output(activation_of(ctx, activation), units)
    if name == "Activation":
        given = nodes.arg(layer, 0, "activation")
        activation = activation_of(ctx, given) if given is not None else None
        return Output(activation, before().units)
    if name in _ACTIVATION_LAYERS:
        return Output(_ACTIVATION_LAYERS[name], before().units)
    if name in _PASS_THROUGH:
        return before()
    return UNKNOWN


def tensor_output(ctx, expr: Optional[cst.BaseExpression], depth: int = 0) -> Output:
    """The activation and size of a functional-API tensor: ``Dense(1, activation='sigmoid')(x)``."""
    if expr is None or depth > MAX_DEPTH:
        return UNKNOWN
    if isinstance(expr, cst.Name):
        if ctx.names(expr):
            return UNKNOWN
        return tensor_output(ctx, ctx.value_of(expr.value), depth + 1)
    if isinstance(expr, (cst.List, cst.Tuple)) and len(expr.elements) == 1:
        return tensor_output(ctx, expr.elements[0].value, depth + 1)
    if not isinstance(expr, cst.Call):
        return UNKNOWN
    function = probability_function(ctx, expr.func)
    if function is not None and expr.args:
        return Output(function, tensor_output(ctx, expr.args[0].value, depth + 1).units)
    if not expr.args or expr.args[0].keyword is not None:
        return UNKNOWN
    inputs = expr.args[0].value
    return layer_output(ctx, expr.func, lambda: tensor_output(ctx, inputs, depth + 1), depth + 1)


def sequential_output(ctx, layers: Optional[cst.BaseExpression], depth: int = 0) -> Output:
    """The output of ``Sequential([...])`` from its list of layers."""
    if isinstance(layers, cst.Name) and not ctx.names(layers) and depth < MAX_DEPTH:
        return sequential_output(ctx, ctx.value_of(layers.value), depth + 1)
    if not isinstance(layers, (cst.List, cst.Tuple)):
        return UNKNOWN
    elements = list(layers.elements)

    def last(i: int) -> Output:
        if i < 0 or isinstance(elements[i], cst.StarredElement):
            return UNKNOWN
        return layer_output(ctx, elements[i].value, lambda: last(i - 1))

    return last(len(elements) - 1)


def is_multi_output(ctx, outputs: Optional[cst.BaseExpression], depth: int = 0) -> bool:
    if isinstance(outputs, cst.Name) and not ctx.names(outputs) and depth < MAX_DEPTH:
        return is_multi_output(ctx, ctx.value_of(outputs.value), depth + 1)
    return isinstance(outputs, (cst.List, cst.Tuple, cst.Dict)) and len(outputs.elements) != 1


# -- models --------------------------------------------------------------------------------

@dataclass
class Compile:
    loss: Optional[Loss]  # None: not one of the losses above, or one per output
    metrics: Optional[List[Optional[Metric]]]  # None: not a plain list (a dict per output...)
    weighted: Optional[List[Optional[Metric]]]  # weighted_metrics=, read like metrics=
    output: Output  # the model's output, as known when compile() ran


@dataclass
class Model:
    output: Output = UNKNOWN
    multi_output: bool = False
    depth: int = 0  # conditional blocks around the construction
    compiled: Optional[Compile] = None


@dataclass
class _Kept:
    """A class's self.<attr>, as its methods bind and compile it."""

    bound: bool = False  # __init__ binds it (once)
    model: Optional[Model] = None  # ... to this model
    method: str = ""  # ... or to what this method returns ("Class.method")
    compiled: Optional[Compile] = None  # __init__ compiles it
    other: bool = False  # another method binds or compiles it, or __init__ does twice


def _method(ctx) -> Optional[str]:
    """The name of the method being walked, when directly in a class defined at module level."""
    if len(ctx.classes) != 1 or len(ctx.functions) != 1:
        return None
    stack = ctx.stack
    if stack.index(ctx.classes[0]) > stack.index(ctx.functions[0]):
        return None
    return ctx.functions[0].name.value


_CONDITIONAL = (cst.If, cst.For, cst.While, cst.Try)
METRIC_METHODS = ("update_state", "result", "reset_state", "reset_states")


def _conditional_depth(ctx) -> int:
    return sum(1 for n in ctx.stack if isinstance(n, _CONDITIONAL) or type(n).__name__ == "TryStar")


class Tracker(Analysis):
    """The models, compile() calls and metric attributes of one module, as the walk meets them.

    A shared analysis: the metric rules name it in ``uses`` and the engine hands it each node
    before them.
    """

    def __init__(self, ctx):
        super().__init__(ctx)
        self.models: Dict[int, Model] = {}  # id(construction call) -> model
        self.returns: Dict[str, Optional[Model]] = {}  # module function -> the model it returns
        self.compiles: List[Compile] = []
        self.functions: set = set()  # module-level function names
        self.metric_classes: Dict[str, Tuple[str, ...]] = {}  # the module's Metric subclasses -> methods
        self.attributes: Dict[Tuple[int, str], Metric] = {}  # (id(class), attr) -> metric in self.attr
        self._asked: Optional[cst.Call] = None  # metric_call's last question and answer
        self._answer: Tuple[Optional[Metric], Optional[str]] = (None, None)
        # A model a class keeps on self.<attr>: (id(class), attr) -> what __init__ binds and compiles
        # it with, and whether another method binds or compiles it too (then unknown).
        self._kept: Dict[Tuple[int, str], _Kept] = {}

    # -- the walk ------------------------------------------------------------------------
    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        if not self.ctx.functions and not self.ctx.classes:
            self.functions.add(node.name.value)

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        ctx = self.ctx
        for base in node.bases:
            names = ctx.names(base.value)
            local = isinstance(base.value, cst.Name) and base.value.value in self.metric_classes
            if local or any(n.startswith("keras.metrics.") for n in names):
                methods = tuple(nodes.methods(node))
                if local:
                    methods += self.metric_classes[base.value.value]
                self.metric_classes[node.name.value] = methods
                return

    def visit_Assign(self, node: cst.Assign) -> None:
        self._keep(node)
        if not isinstance(node.value, cst.Call):
            return
        ctx = self.ctx
        value = node.value
        names = ctx.names(value.func)
        if any(n in _MODEL_CLASSES for n in names):
            self._construct(value, names)
        elif ctx.classes and ctx.function is not None:
            for target in node.targets:
                t = target.target
                if isinstance(t, cst.Attribute) and isinstance(t.value, cst.Name) and t.value.value == "self":
                    metric = metric_of(ctx, value, 0, self)
                    if metric is not None and metric.kind == OBJECT:
                        self.attributes[(id(ctx.classes[-1]), t.attr.value)] = metric

    def _construct(self, call: cst.Call, names) -> Model:
        ctx = self.ctx
        model = Model(depth=_conditional_depth(ctx))
        if "keras.models.Sequential" in names:
            model.output = sequential_output(ctx, nodes.arg(call, 0, "layers"))
        else:
            outputs = nodes.arg(call, 1, "outputs")
            model.multi_output = is_multi_output(ctx, outputs)
            model.output = UNKNOWN if model.multi_output else tensor_output(ctx, outputs)
        self.models[id(call)] = model
        return model

    def visit_Return(self, node: cst.Return) -> None:
        ctx = self.ctx
        if ctx.function is None or len(ctx.functions) != 1 or len(ctx.classes) > 1:
            return
        name = ctx.function.name.value
        if ctx.classes:
            if _method(ctx) is None:
                return
            name = f"{ctx.classes[0].name.value}.{name}"  # a method: self.build_model()
        model = self.model(node.value) if node.value is not None else None
        if name in self.returns and self.returns[name] is not model:
            model = None  # two different returns: not knowable
        self.returns[name] = model

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        if not isinstance(func, cst.Attribute):
            return
        method = func.attr.value
        if method == "add":
            model = self.model(func.value)
            if model is not None and node.args and node.args[0].keyword is None:
                previous = model.output
                if _conditional_depth(self.ctx) > model.depth:
                    model.output = UNKNOWN  # added under an if or a loop: the last layer is not certain
                else:
                    model.output = layer_output(self.ctx, node.args[0].value, lambda: previous)
        elif method == "compile":
            self._compile(node)

    def _compile(self, node: cst.Call) -> None:
        ctx = self.ctx
        receiver = node.func.value
        kept = self._kept_at(receiver)
        if kept is not None and (kept.compiled is not None or _method(ctx) != "__init__"):
            kept.other = True  # compiled twice, or by a method the caller may not call
            kept = None
        model = self.model(receiver)
        if model is None and not nodes.model_like(receiver, ctx):
            return
        loss_expr = nodes.arg(node, 1, "loss")
        metrics_expr = nodes.arg(node, 2 if ctx.keras == 2 else 3, "metrics")
        if loss_expr is None and metrics_expr is None:
            return
        per_output = isinstance(loss_expr, (cst.Dict, cst.List, cst.Tuple))
        loss = None if per_output else loss_of(ctx, loss_expr)
        compiled = Compile(
            loss, metrics_of(ctx, metrics_expr, self),
            metrics_of(ctx, nodes.arg(node, None, "weighted_metrics"), self),
            model.output if model is not None else UNKNOWN,
        )
        self.compiles.append(compiled)
        if model is not None:
            model.compiled = compiled
        if kept is not None:
            kept.compiled = compiled

    def _kept_at(self, expr: cst.BaseExpression) -> "Optional[_Kept]":
        """The record of ``self.<attr>`` in a method of the class being walked."""
        ctx = self.ctx
        if not (isinstance(expr, cst.Attribute) and isinstance(expr.value, cst.Name) and expr.value.value == "self"
                and _method(ctx) is not None):
            return None
        return self._kept.setdefault((id(ctx.classes[0]), expr.attr.value), _Kept())

    def _keep(self, node: cst.Assign) -> None:
        for target in node.targets:
            kept = self._kept_at(target.target)
            if kept is None:
                continue
            if _method(self.ctx) != "__init__" or kept.bound or len(node.targets) > 1:
                kept.other = True
                continue
            kept.bound = True
            value = node.value
            func = value.func if isinstance(value, cst.Call) else None
            if isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name) and func.value.value == "self":
                kept.method = f"{self.ctx.classes[0].name.value}.{func.attr.value}"  # defined maybe later
            else:
                kept.model = self.model(value)

    # -- questions -----------------------------------------------------------------------
    def kept_model(self, cls: cst.ClassDef, attr: str) -> Optional[Model]:
        """After the walk: the model a class keeps on ``self.<attr>``, when only its __init__ binds
        it (to a model this module builds, or to what a method of the class returns) and compiles
        it, if anything does: every other method then sees that model."""
        kept = self._kept.get((id(cls), attr))
        if kept is None or kept.other or not kept.bound:
            return None
        model = self.returns.get(kept.method) if kept.method else kept.model
        if kept.compiled is not None:
            if model is not None and model.compiled is not None:
                return None  # compiled where it is built, and again in __init__
            return Model(model.output if model is not None else UNKNOWN, compiled=kept.compiled)
        return model

    def model(self, expr: Optional[cst.BaseExpression], depth: int = 0) -> Optional[Model]:
        """The model an expression refers to, when the module built it where it can be seen."""
        ctx = self.ctx
        if expr is None or depth > MAX_DEPTH:
            return None
        if isinstance(expr, cst.Name):
            if ctx.names(expr):
                return None
            return self.model(ctx.value_of(expr.value), depth + 1)
        if isinstance(expr, cst.Call):
            found = self.models.get(id(expr))
            if found is not None:
                # Built under an if or a loop that this point is not in: maybe another branch ran.
                return found if found.depth <= _conditional_depth(ctx) else None
            if isinstance(expr.func, cst.Name) and not ctx.names(expr.func):
                return self.returns.get(expr.func.value)
            names = ctx.names(expr.func)
            if any(n in _MODEL_CLASSES for n in names):
                return self._construct(expr, names)
        return None

    def metric_call(self, node: cst.Call) -> Tuple[Optional[Metric], Optional[str]]:
        """``m.update_state(...)``, ``m.result()``... on a known metric object: (metric, method).

        Calling the object itself (``m(y, p)``) updates its state too: method '__call__'.
        Several rules ask about the same call in a row: the last answer is kept.
        """
        if node is not self._asked:
            self._asked, self._answer = node, self._metric_call(node)
        return self._answer

    def _metric_call(self, node: cst.Call) -> Tuple[Optional[Metric], Optional[str]]:
        func = node.func
        if isinstance(func, cst.Attribute):
            method = func.attr.value
            if method not in METRIC_METHODS:
                return None, None
            found = metric_of(self.ctx, func.value, 0, self)
        elif isinstance(func, cst.Name):
            method = "__call__"
            found = metric_of(self.ctx, func, 0, self)
        else:
            return None, None
        if found is None or found.kind != OBJECT:
            return None, None
        return found, method

    def attribute_metric(self, expr: cst.Attribute, node: cst.BaseExpression) -> Optional[Metric]:
        """The metric object in ``self.<attr>``, as the enclosing class's methods assigned it."""
        ctx = self.ctx
        if not (isinstance(expr.value, cst.Name) and expr.value.value == "self" and ctx.classes):
            return None
        found = self.attributes.get((id(ctx.classes[-1]), expr.attr.value))
        if found is None:
            return None
        return Metric(found.kind, found.name, node, found.call, found.source, found.custom)

    def output_of_call(self, expr: cst.BaseExpression) -> Optional[Output]:
        """The output of ``model.predict(x)`` / ``model(x)`` when the model is known here."""
        if not isinstance(expr, cst.Call):
            return None
        func = expr.func
        if isinstance(func, cst.Attribute) and func.attr.value in ("predict", "predict_on_batch"):
            model = self.model(func.value)
        elif isinstance(func, cst.Name):
            model = self.model(func)
        else:
            return None
        return model.output if model is not None and not model.multi_output else None
