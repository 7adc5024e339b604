"""Metrics: mismatched metric/loss pairs, logits, resets, argument order, callback keys (TFS4xx).

The pairing rules read what ``checks.modelinfo`` gathers during the walk (each
compile() with its loss, metrics and the model's output layer) and decide in ``finish``.
Messages quote what TF 2.21 / Keras 3.15 and TF 2.15 / Keras 2.15 were seen to do
(the maintainers' TF facts C11-C16 and C21; messages quote the outcomes, never the ids).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Dict, List, Optional, Set, Tuple

import libcst as cst

from tflint_save import nodes
from tflint_save.checks import modelinfo
from tflint_save.edits import SAFE, Fix, Tree
from tflint_save.engine import Rule
from tflint_save.findings import Facts, Finding, Pending, many, named, optional
from tflint_save.index import ProjectIndex
from tflint_save.checks.modelinfo import (
    BINARY, CATEGORICAL, CLASS, CROSSENTROPY, FUNCTION, OBJECT, SPARSE, STRING, Compile, Metric, metric_of,
)


class _Traced(Rule):
    """A rule that asks the module's tracker about models, metrics and losses."""

    uses = (modelinfo.Tracker,)

    def __init__(self, ctx):
        super().__init__(ctx)
        self.models: modelinfo.Tracker = ctx.analysis(modelinfo.Tracker)

    def metric(self, expr: Optional[cst.BaseExpression]) -> Optional[Metric]:
        return metric_of(self.ctx, expr, 0, self.models)

    def metric_call(self, node: cst.Call) -> Tuple[Optional[Metric], Optional[str]]:
        return self.models.metric_call(node)

    def source(self, node: cst.CSTNode) -> str:
        return self.ctx.module.code_for_node(node)


# -- the facts of each finding, for --fix and --verify -------------------------------------

@dataclass(frozen=True, eq=False)
class Pairing(Facts):
    """TFS401-TFS403: what --verify needs to rerun the pairing: runnable loss and metric, the
    output layer, and the labels the loss implies (binary 0/1, sparse integers, categorical
    one-hot).  None where the code does not say."""

    loss: Optional[str] = None
    metric: Optional[str] = None
    activation: Optional[str] = None
    units: Optional[int] = None
    labels: Optional[str] = None


@dataclass(frozen=True, eq=False)
class Monitor(Pairing):
    """TFS409: the pairing, and the callback watching a key the model never logs."""

    callback: str = ""
    monitor: str = ""
    mode: Optional[str] = None
    save_best_only: bool = False
    validation: Optional[bool] = None
    metrics: Tuple[Optional[str], ...] = many()


@dataclass(frozen=True, eq=False)
class MetricUse(Facts):
    """TFS404: the metric read every epoch and never reset; TFS405: the method Keras 3 metrics no
    longer have; TFS406: what was passed first and second."""

    metric: Optional[str] = None
    reset: Optional[bool] = optional()
    method: Optional[str] = optional()
    first: Optional[str] = optional()
    second: Optional[str] = optional()


@dataclass(frozen=True, eq=False)
class Truncation(Facts):
    """TFS407: how probabilities are cast to an integer dtype."""

    cast: str = ""
    dtype: str = ""
    activation: Optional[str] = None
    of: str = ""


@dataclass(frozen=True, eq=False)
class MetricClass(Facts):
    """TFS408: the custom Metric class and the arguments it is built with here."""

    class_: str = named("class", "")
    call_args: str = ""


@dataclass(frozen=True, eq=False)
class MetricsNames(Facts):
    """TFS410: how metrics_names labels the scores (``zip`` or ``index``)."""

    form: str = ""


@dataclass(frozen=True, eq=False)
class NotAdapted(Facts):
    """TFS411: the source of the Normalization() construction nothing adapts."""

    layer: str = ""


@dataclass(frozen=True, eq=False)
class ResetStates(Facts):
    """TFS412: the model class the AttributeError names (``Sequential``, ``Functional``; None
    when it is not known)."""

    model: Optional[str] = None


def _facts(compiled: Compile, metric: Optional[Metric]) -> Pairing:
    """The pairing facts of a compiled model and one of its metrics."""
    loss, output = compiled.loss, compiled.output
    labels = loss.kind if loss is not None and loss.kind in CROSSENTROPY else None
    if labels is None and output.activation == "sigmoid":
        labels = BINARY
    return Pairing(
        loss=loss.source if loss is not None else None,
        metric=(metric.source or None) if metric is not None else None,
        activation=output.activation,
        units=output.units,
        labels=labels,
    )


def _compiled_metrics(models: modelinfo.Tracker):
    for compiled in models.compiles:
        for metric in (compiled.metrics or []) + (compiled.weighted or []):
            if metric is not None:
                yield compiled, metric


def probabilities(ctx, models: modelinfo.Tracker, expr: Optional[cst.BaseExpression], depth: int = 0) -> Optional[str]:
    """'sigmoid' or 'softmax' when an expression is known to hold such probabilities."""
    if expr is None or depth > modelinfo.MAX_DEPTH:
        return None
    if isinstance(expr, cst.Name):
        if ctx.names(expr):
            return None
        return probabilities(ctx, models, ctx.value_of(expr.value), depth + 1)
    if isinstance(expr, cst.Subscript):
        return probabilities(ctx, models, expr.value, depth + 1)
    if not isinstance(expr, cst.Call):
        return None
    function = modelinfo.probability_function(ctx, expr.func)
    if function is not None:
        return function
    func = expr.func
    if isinstance(func, cst.Attribute) and func.attr.value == "numpy" and not expr.args:
        return probabilities(ctx, models, func.value, depth + 1)
    output = models.output_of_call(expr)
    return output.activation if output is not None and output.probabilities else None


# -- TFS401 ---------------------------------------------------------------------------------

class TFS401(_Traced):
    """keras.metrics.Accuracy() on probabilities: exact equality, so 0.0 or a shape error."""

    code = "TFS401"

    def __init__(self, ctx):
        super().__init__(ctx)
        self.updates: List[Tuple[cst.CSTNode, str, Metric, str]] = []

    def visit_Call(self, node: cst.Call) -> None:
        # A hand-written loop: acc.update_state(y, tf.nn.sigmoid(logits)) or model(x) output.
        metric, method = self.metric_call(node)
        if metric is None or metric.cls != "Accuracy" or method not in ("update_state", "__call__"):
            return
        predictions = nodes.arg(node, 1, "y_pred")
        activation = probabilities(self.ctx, self.models, predictions)
        if activation is not None:
            self.updates.append((node, activation, metric, self.source(predictions)))

    def finish(self) -> None:
        for compiled, metric in _compiled_metrics(self.models):
            if metric.kind not in (OBJECT, CLASS) or metric.cls != "Accuracy":
                continue
            loss, output = compiled.loss, compiled.output
            kind = loss.kind if loss is not None and loss.kind in CROSSENTROPY else None
            if kind is None and output.probabilities:
                kind = BINARY if output.activation == "sigmoid" else "softmax"
            if kind is None:
                continue
            why = f"the loss is {loss.label}" if loss is not None and loss.kind in CROSSENTROPY else \
                f"the model ends in a {output.activation}"
            self.ctx.report(metric.node, self.code, self._message(kind, why), _facts(compiled, metric))
        for node, activation, metric, predictions in self.updates:
            kind = BINARY if activation == "sigmoid" else "softmax"
            why = f"{predictions} holds {activation} probabilities"
            self.ctx.report(node, self.code, self._message(kind, why), Pairing(
                None, metric.source or None, activation, None, BINARY if activation == "sigmoid" else None,
            ))

    def _message(self, kind: str, why: str) -> str:
        if kind == BINARY:
            effect = "it reports 0.0 (observed: 0.0 where the true accuracy is 0.99)"
            instead = "BinaryAccuracy()"
        elif kind == SPARSE:
            if self.ctx.keras == 3:
                # Keras 3.15 fit()/evaluate(): labels (n,) raise, labels (n, 1) compare elementwise
                effect = ("with integer labels of shape (n,) it fails with 'ValueError: Dimensions must be "
                          "equal', with labels of shape (n, 1) it reports 0.0")
            else:
                effect = "with integer labels it fails with 'ValueError: Shapes (32, 1) and (32, 3) are incompatible'"
            instead = "SparseCategoricalAccuracy()"
        elif kind == CATEGORICAL:
            effect = "one-hot labels never equal probabilities, so it reports 0.0"
            instead = "CategoricalAccuracy()"
        else:
            integer = ("fails with a shape error with integer labels of shape (n,) and reports 0.0 with labels "
                       "of shape (n, 1)" if self.ctx.keras == 3 else "fails with a shape error with integer labels")
            effect = f"it reports 0.0 with one-hot labels and {integer}"
            instead = "SparseCategoricalAccuracy() or CategoricalAccuracy()"
        return (
            f"keras.metrics.Accuracy() counts exact matches between labels and predictions, but {why}: "
            f"{effect}; use metrics=['accuracy'] (Keras then picks the accuracy that fits the output) "
            f"or {instead}"
        )


# -- TFS402 ---------------------------------------------------------------------------------

_FITTING_ACCURACY = {SPARSE: "SparseCategoricalAccuracy()", CATEGORICAL: "CategoricalAccuracy()",
                     BINARY: "BinaryAccuracy()"}
_ACCURACY_KINDS = {"SparseCategoricalAccuracy": SPARSE, "CategoricalAccuracy": CATEGORICAL, "BinaryAccuracy": BINARY}


class TFS402(_Traced):
    """A sparse/categorical/binary accuracy metric that does not fit the labels the loss implies."""

    code = "TFS402"

    def finish(self) -> None:
        for compiled, metric in _compiled_metrics(self.models):
            loss = compiled.loss
            wanted = _ACCURACY_KINDS.get(metric.cls or "")
            if loss is None or wanted is None or loss.kind not in CROSSENTROPY or wanted == loss.kind:
                continue
            effect = self._effect(wanted, loss.kind)
            if effect is None:
                continue
            fix = _FITTING_ACCURACY[loss.kind]
            labels = {SPARSE: "integer class labels", CATEGORICAL: "one-hot labels", BINARY: "0/1 labels"}[loss.kind]
            self.ctx.report(
                metric.node, self.code,
                f"{metric.label} does not fit {loss.label}, which takes {labels}: {effect}; use {fix} "
                f"or metrics=['accuracy'], which Keras matches to the labels",
                _facts(compiled, metric),
            )

    def _effect(self, metric: str, loss: str) -> Optional[str]:
        keras3 = self.ctx.keras == 3
        # SPARSE with a binary loss is left alone: 0/1 labels of shape (n, 1) are valid sparse labels
        if metric == SPARSE and loss == CATEGORICAL:
            error = ("InvalidArgumentError: Incompatible shapes: [32,10] vs. [32]" if keras3
                     else "ValueError: Can not squeeze dim[1], expected a dimension of 1, got 10")
            return f"with one-hot labels it fails with '{error}'"
        if metric == CATEGORICAL and loss == SPARSE:
            seen = "0.055 where the true accuracy is 0.957" if keras3 else "0.097 where the true accuracy is 0.90"
            return f"it takes the argmax of integer labels, so the value is silently wrong (observed: {seen})"
        if metric == BINARY and loss == CATEGORICAL:
            seen = "0.990 where the true accuracy is 0.957" if keras3 else "0.981 where the true accuracy is 0.90"
            return ("it thresholds every class probability against the one-hot labels, so the value is "
                    f"silently inflated (observed: {seen})")
        if metric == BINARY and loss == SPARSE:
            if keras3:
                return ("with integer labels it fails with 'InvalidArgumentError: Incompatible shapes: "
                        "[32] vs. [32,10]'")
            return "with integer labels the value is silently wrong (observed: 0.088 where the true accuracy is 0.90)"
        return None


# -- TFS403 ---------------------------------------------------------------------------------

_THRESHOLD_STRINGS = ("binary_accuracy", "BinaryAccuracy", "AUC", "Precision", "Recall")
_THRESHOLD_STRINGS_K3 = ("auc", "precision", "recall")
_LOGITS_LOSS_FUNCTIONS = ("keras.losses.binary_crossentropy", "keras.backend.binary_crossentropy",
                          "keras.metrics.binary_crossentropy")
_SIGMOID_CE = ("tensorflow.nn.sigmoid_cross_entropy_with_logits",)
_LOGITS_LOSS_NAMES = ("binary_crossentropy", "sigmoid_cross_entropy_with_logits")


def thresholds_logits(metric: Metric, keras: int) -> Optional[str]:
    """How a metric treats logits as probabilities ('threshold 0.5'...), None when it does not.

    Strings 'accuracy'/'acc' are left to the caller: they depend on the output's size.
    """
    name = metric.cls
    if metric.kind == STRING and metric.name not in _THRESHOLD_STRINGS + (_THRESHOLD_STRINGS_K3 if keras == 3 else ()):
        return None
    call = metric.call if metric.kind == OBJECT else None
    if name == "BinaryAccuracy":
        given = nodes.arg(call, 2, "threshold") if call is not None else None
        return _nonzero(given, "threshold=0.5", "threshold")
    if name in ("Precision", "Recall"):
        given = nodes.arg(call, 0, "thresholds") if call is not None else None
        return _nonzero(given, "thresholds=0.5", "thresholds")
    if name == "AUC":
        if call is not None:
            logits = nodes.arg(call, None, "from_logits")
            if logits is not None and nodes.constant(logits) is not False:
                return None
            if nodes.arg(call, 5, "thresholds") is not None:
                return None  # explicit thresholds: the author chose the scale
        return "thresholds in [0, 1] (no from_logits=True)"
    return None


def _nonzero(given: Optional[cst.BaseExpression], default: str, keyword: str) -> Optional[str]:
    if given is None:
        return default
    value = nodes.constant(given)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return None if value == 0 else f"{keyword}={value}"
    return None  # not a literal: cannot know


class TFS403(_Traced):
    """Logits (from_logits=True) measured by metrics that threshold probabilities at 0.5."""

    code = "TFS403"

    def __init__(self, ctx):
        super().__init__(ctx)
        self.logits: Dict[int, str] = {}  # id(value of a name a logits loss was computed on) -> loss
        self.updates: List[Tuple[cst.Call, Metric, str, int]] = []

    def visit_Call(self, node: cst.Call) -> None:
        ctx = self.ctx
        metric, method = self.metric_call(node)
        if metric is not None:
            if method in ("update_state", "__call__"):
                how = thresholds_logits(metric, ctx.keras)
                value = self._value(nodes.arg(node, 1, "y_pred"))
                if how is not None and value is not None:
                    self.updates.append((node, metric, how, value))
            return
        # loss_fn(y, logits) with loss_fn = BinaryCrossentropy(from_logits=True), and the like
        loss_label = self._logits_loss(node)
        if loss_label is not None:
            predictions = nodes.arg(node, 1, "y_pred")
            if predictions is None:
                predictions = nodes.arg(node, None, "logits")
            value = self._value(predictions)
            if value is not None:
                self.logits[value] = loss_label

    def _value(self, expr: Optional[cst.BaseExpression]) -> Optional[int]:
        """Identity of what a plain name holds here (the expression last assigned to it)."""
        if not isinstance(expr, cst.Name) or self.ctx.names(expr):
            return None
        value = self.ctx.value_of(expr.value)
        return id(value) if value is not None else None

    def _logits_loss(self, node: cst.Call) -> Optional[str]:
        ctx = self.ctx
        func = node.func
        if isinstance(func, cst.Attribute) and func.attr.value not in _LOGITS_LOSS_NAMES:
            return None
        names = ctx.names(func)
        if any(n in _SIGMOID_CE for n in names):
            return "tf.nn.sigmoid_cross_entropy_with_logits"
        if any(n in _LOGITS_LOSS_FUNCTIONS for n in names):
            if nodes.constant(nodes.arg(node, None, "from_logits")) is True:
                return "binary_crossentropy(..., from_logits=True)"
            return None
        if isinstance(node.func, cst.Name) and not names:
            loss = modelinfo.loss_of(ctx, ctx.value_of(node.func.value))
            if loss is not None and loss.kind == BINARY and loss.from_logits is True:
                return loss.label
        return None

    def finish(self) -> None:
        for compiled, metric in _compiled_metrics(self.models):
            loss, output = compiled.loss, compiled.output
            if loss is None or loss.kind != BINARY or loss.from_logits is not True or output.probabilities:
                continue
            if metric.kind == STRING and metric.name.lower() in ("accuracy", "acc"):
                # Keras picks BinaryAccuracy (threshold 0.5) only for a single output unit.
                how = "threshold=0.5" if output.units == 1 else None
            else:
                how = thresholds_logits(metric, self.ctx.keras)
            if how is not None:
                message = self._message(metric, how, loss.label)
                self.ctx.report(metric.node, self.code, message, _facts(compiled, metric))
        for node, metric, how, value in self.updates:
            loss_label = self.logits.get(value)
            if loss_label is not None:
                self.ctx.report(node, self.code, self._message(metric, how, loss_label), Pairing(
                    None, metric.source or None, "linear", 1, BINARY,
                ))

    def _message(self, metric: Metric, how: str, loss: str) -> str:
        name = metric.cls or metric.name
        keras3 = self.ctx.keras == 3
        if name == "AUC":
            fix = "AUC(from_logits=True)"
            effect = ("it bins logits as if they were probabilities "
                      "(observed: AUC 0.9967 where from_logits=True gives 0.9999)")
        elif name in ("Precision", "Recall"):
            fix = f"{name}(thresholds=0.0)"
            effect = ("a logit in (0, 0.5] (probability 0.5 to 0.62) counts as negative "
                      f"(observed: Recall {'0.92' if keras3 else '0.90'} where the true recall is 0.99)")
        else:
            fix = "BinaryAccuracy(threshold=0.0)"
            effect = ("a logit in (0, 0.5] (probability 0.5 to 0.62) counts as negative "
                      f"(observed: {'0.715' if keras3 else '0.721'} where the true accuracy is 0.7445)")
        return (
            f"{loss} means the model outputs logits, but {metric.label} compares them with "
            f"{how} as if they were probabilities: {effect}; use {fix}"
        )


# -- TFS404 ---------------------------------------------------------------------------------

_EPOCH = re.compile(r"(?i)epoch")


def _mentions_epochs(node: Optional[cst.BaseExpression], depth: int = 0) -> bool:
    """A name like 'epoch' in a loop's target or iterable: ``range(args.num_epochs)``, ``tqdm(...)``."""
    if node is None or depth > 4:
        return False
    if isinstance(node, cst.Name):
        return bool(_EPOCH.search(node.value))
    if isinstance(node, cst.Attribute):
        return bool(_EPOCH.search(node.attr.value)) or _mentions_epochs(node.value, depth + 1)
    if isinstance(node, cst.Call):
        return any(_mentions_epochs(a.value, depth + 1) for a in node.args[:3])
    if isinstance(node, (cst.Tuple, cst.List)):
        return any(_mentions_epochs(e.value, depth + 1) for e in node.elements[:3])
    if isinstance(node, (cst.BinaryOperation, cst.Comparison)):
        right = node.right if isinstance(node, cst.BinaryOperation) else node.comparisons[0].comparator
        return _mentions_epochs(node.left, depth + 1) or _mentions_epochs(right, depth + 1)
    if isinstance(node, cst.Subscript):
        return _mentions_epochs(node.value, depth + 1)
    return False


class _Loop:
    """One for/while statement: its enclosing loop and function, and whether it counts epochs."""

    __slots__ = ("node", "parent", "function", "epochs", "depth")

    def __init__(self, node: cst.CSTNode, parent: "Optional[_Loop]", function: Optional[str], epochs: bool):
        self.node = node
        self.parent = parent
        self.function = function
        self.epochs = epochs
        self.depth = parent.depth + 1 if parent is not None else 0

    def within(self, outer: "_Loop") -> bool:
        loop: Optional[_Loop] = self
        while loop is not None:
            if loop is outer:
                return True
            loop = loop.parent
        return False


class _Op:
    __slots__ = ("kind", "key", "loop", "function", "node", "metric")

    def __init__(self, kind, key, loop, function, node, metric):
        self.kind, self.key, self.loop, self.function, self.node, self.metric = kind, key, loop, function, node, metric


class TFS404(_Traced):
    """A hand-written epoch loop reads a metric every epoch but never resets it."""

    code = "TFS404"

    def __init__(self, ctx):
        super().__init__(ctx)
        self.stack: List[_Loop] = []
        self.loops: List[_Loop] = []
        self.ops: List[_Op] = []
        self.calls: List[Tuple[str, Optional[_Loop], Optional[str]]] = []
        self.made: Dict[int, Tuple[Optional[_Loop], Optional[str]]] = {}

    def _where(self) -> Tuple[Optional[_Loop], Optional[str]]:
        function = self.ctx.function
        return (self.stack[-1] if self.stack else None), (function.name.value if function is not None else None)

    def _enter(self, node: cst.CSTNode, parts) -> None:
        epochs = any(_mentions_epochs(part) for part in parts)
        loop, function = self._where()
        self.stack.append(_Loop(node, loop, function, epochs))
        self.loops.append(self.stack[-1])

    def visit_For(self, node: cst.For) -> None:
        self._enter(node, (node.target, node.iter))

    def leave_For(self, node: cst.For) -> None:
        self.stack.pop()

    def visit_While(self, node: cst.While) -> None:
        self._enter(node, (node.test,))

    def leave_While(self, node: cst.While) -> None:
        self.stack.pop()

    def visit_Assign(self, node: cst.Assign) -> None:
        self._made(node.value, [t.target for t in node.targets])

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        self._made(node.value, [node.target])

    def _made(self, value: Optional[cst.BaseExpression], targets) -> None:
        if isinstance(value, cst.Call):
            metric = self.metric(value)
            if metric is not None and metric.kind == OBJECT:
                loop, function = self._where()
                if any(isinstance(t, cst.Attribute) for t in targets):
                    function = None  # self.metric lives as long as the object, not the method call
                self.made[id(value)] = (loop, function)

    def visit_Call(self, node: cst.Call) -> None:
        loop, function = self._where()
        if loop is None and function is None:
            return  # module-level code outside loops: runs once, in no epoch loop
        func = node.func
        metric, method = self.metric_call(node)
        if metric is not None:
            kind = "result" if method == "result" else "reset" if method.startswith("reset") else "update"
            self.ops.append(_Op(kind, id(metric.call), loop, function, node, metric))
            return
        if isinstance(func, cst.Attribute):
            if func.attr.value in ("reset_state", "reset_states", "reset_metrics"):
                self.ops.append(_Op("reset", None, loop, function, node, None))  # on something unknown
            elif isinstance(func.value, cst.Name) and func.value.value == "self":
                self.calls.append((func.attr.value, loop, function))
        elif isinstance(func, cst.Name) and not self.ctx.names(func):
            self.calls.append((func.value, loop, function))
        for a in node.args:  # strategy.run(train_step, args=...)
            if isinstance(a.value, cst.Name):
                self.calls.append((a.value.value, loop, function))

    def _reached(self, loop: _Loop, under: Dict[int, list], by_function: Dict[str, list]) -> Dict[str, bool]:
        """Functions called (transitively) from inside ``loop``: name -> called per batch."""
        reached: Dict[str, bool] = {}
        todo = [(name, at is not loop) for name, at, _ in under.get(id(loop), ())]
        while todo:
            name, deep = todo.pop()
            if name in reached and (reached[name] or not deep):
                continue
            reached[name] = deep
            for callee, at, _ in by_function.get(name, ()):
                todo.append((callee, deep or (at is not None and at.function == name)))
        return reached

    def finish(self) -> None:
        by_key: Dict[int, List[_Op]] = {}
        for op in self.ops:
            if op.key is not None:
                by_key.setdefault(op.key, []).append(op)
        wanted = [(key, ops) for key, ops in by_key.items() if key in self.made
                  and any(op.kind == "result" for op in ops) and any(op.kind == "update" for op in ops)]
        if not wanted:
            return
        under: Dict[int, list] = {}  # id(loop) -> the calls made anywhere inside it
        by_function: Dict[str, list] = {}
        for call in self.calls:
            loop = call[1]
            while loop is not None:
                under.setdefault(id(loop), []).append(call)
                loop = loop.parent
            if call[2] is not None:
                by_function.setdefault(call[2], []).append(call)
        reached = {id(loop): self._reached(loop, under, by_function) for loop in self.loops}
        for key, ops in wanted:
            best: Optional[Tuple[_Loop, List[_Op]]] = None
            for loop in self.loops:
                reads = self._epoch_reads(key, ops, loop, reached[id(loop)])
                if reads is not None and (best is None or loop.depth > best[0].depth):
                    best = (loop, reads)
            if best is not None:
                self._report(best[0], best[1])

    def _epoch_reads(self, key: int, ops: List[_Op], loop: _Loop, reached: Dict[str, bool]) -> Optional[List[_Op]]:
        """The result() reads of the metric when ``loop`` is an epoch loop that never resets it."""
        made_loop, made_function = self.made[key]
        if made_function is not None and made_function != loop.function:
            return None  # a fresh metric per call of the function that makes it
        if made_loop is not None and made_loop.within(loop):
            return None  # a fresh metric per iteration

        def here(op: _Op) -> bool:
            return op.loop is not None and op.loop.within(loop)

        def per_batch(op: _Op) -> bool:
            if here(op):
                return op.loop is not loop or loop.epochs
            if op.function in reached:
                own_loop = op.loop is not None and op.loop.function == op.function
                return reached[op.function] or loop.epochs or own_loop
            return False

        for op in self.ops:
            if op.kind == "reset" and op.key in (key, None) and (here(op) or op.function in reached):
                return None
        if any(op.kind == "reset" and op.function not in (None, loop.function) for op in ops):
            return None  # reset in another function: it may well run every epoch
        reads = [op for op in ops if op.kind == "result" and (here(op) or op.function in reached)]
        if not reads or not any(op.kind == "update" and per_batch(op) for op in ops):
            return None
        return reads

    def _report(self, loop: _Loop, reads: List[_Op]) -> None:
        direct = [op for op in reads if op.loop is not None and op.loop.within(loop)]
        read = (direct or reads)[0]
        node = read.node if direct else loop.node
        func = read.node.func
        name = self.source(func.value) if isinstance(func, cst.Attribute) else self.source(func)
        self.ctx.report(
            node, self.code,
            f"{name} is updated every batch and its result() is read every epoch, but it is never reset in "
            f"this loop: each epoch reports the running value since the first epoch (observed: an all-wrong "
            f"second epoch shows 0.5, not 0.0); call {name}.reset_state() at the start of each epoch",
            MetricUse(read.metric.source or None, reset=False),
        )


# -- TFS405 ---------------------------------------------------------------------------------

_COMPREHENSIONS = (cst.ListComp, cst.SetComp, cst.GeneratorExp, cst.DictComp)


class TFS405(_Traced):
    """Keras 3: Metric.reset_states() no longer exists."""

    code = "TFS405"
    applicability = SAFE
    keras_versions = (3,)

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        if not isinstance(func, cst.Attribute) or func.attr.value != "reset_states" or node.args:
            return
        metric, _ = self.metric_call(node)
        if metric is not None:
            if metric.custom and "reset_states" in self.models.metric_classes.get(metric.name, ()):
                return  # the class defines it
            cls: Optional[str] = metric.name
        else:
            cls = self._iterated_metric(func.value)
            if cls is None:
                return
        receiver = self.source(func.value)
        error = (f"AttributeError: '{cls}' object has no attribute 'reset_states'" if cls
                 else "AttributeError (the metric object has no attribute 'reset_states')")
        self.ctx.report(
            node, self.code,
            f"Keras 3 metrics have no reset_states(): {receiver}.reset_states() raises {error}; "
            f"call {receiver}.reset_state()",
            MetricUse((metric.source if metric is not None else "") or None, method="reset_states"),
        )

    def _iterated_metric(self, expr: cst.BaseExpression) -> Optional[str]:
        """For a loop variable over ``model.metrics`` or a list of metric objects: the class of the
        first metric, the one that raises ('' when not known); None for anything else."""
        ctx = self.ctx
        if not isinstance(expr, cst.Name) or ctx.names(expr) or ctx.value_of(expr.value) is not None:
            return None
        for node in reversed(ctx.stack):
            loops = []
            if isinstance(node, cst.For):
                loops.append((node.target, node.iter))
            elif isinstance(node, _COMPREHENSIONS):
                comp = node.for_in
                while comp is not None:
                    loops.append((comp.target, comp.iter))
                    comp = comp.inner_for_in
            for target, iterated in loops:
                if isinstance(target, cst.Name) and target.value == expr.value:
                    return self._metrics_collection(iterated)
        return None

    def _metrics_collection(self, expr: cst.BaseExpression) -> Optional[str]:
        ctx = self.ctx
        if isinstance(expr, cst.Attribute) and expr.attr.value == "metrics":
            owner = expr.value
            if isinstance(owner, cst.Name) and owner.value == "self" and ctx.classes:
                subclass = any(n.startswith(("keras.models.", "keras.layers."))
                               for base in ctx.classes[-1].bases for n in ctx.names(base.value))
                return "" if subclass else None
            if not nodes.model_like(owner, ctx):
                return None
            model = self.models.model(owner)
            if model is not None and model.compiled is not None:
                return "Mean"  # compile() puts its loss tracker, a Mean, first in model.metrics
            return ""
        if isinstance(expr, (cst.List, cst.Tuple)) and expr.elements:
            classes = []
            for element in expr.elements:
                metric = self.metric(element.value)
                if metric is None or metric.kind != OBJECT or metric.custom:
                    return None
                classes.append(metric.name)
            return classes[0]
        return None

    @staticmethod
    def fix(tree: Tree, f: Finding) -> Optional[Fix]:
        call = tree.call_at(f, lambda c: nodes.method_name(c) == "reset_states" and
                            isinstance(c.func, cst.Attribute) and not c.args)
        if call is None:
            return None
        attr = call.func.attr
        return Fix("Replace reset_states() with reset_state()", SAFE,
                   {id(attr): (attr, attr.with_changes(value="reset_state"))})


# -- TFS406 ---------------------------------------------------------------------------------

_ASYMMETRIC = {
    "BinaryAccuracy": "observed: 1.0 becomes 0.115",
    "AUC": "observed: 1.0 becomes 0.0",
    "Precision": "every nonzero prediction then counts as a positive label",
    "Recall": "observed: 1.0 becomes 0.56",
    "SparseCategoricalAccuracy": "observed: 0.87 becomes 1.0 on Keras 3 and 0.0 on Keras 2",
    "BinaryCrossentropy": "observed: 0.26 becomes 3.43",
    "CategoricalCrossentropy": "observed: 0.41 becomes 4.81",
    "SparseCategoricalCrossentropy": "it raises a ValueError about the shapes of labels and predictions",
    "KLDivergence": "observed: 0.107 becomes 1.764",
    "Hinge": "observed: 0.654 becomes 0.531",
    "MeanAbsolutePercentageError": "observed: 122886496 becomes 56.8",
}
# Where Keras 2.15 gave another value than Keras 3.15 (C16, tf215 run).
_ASYMMETRIC_K2 = {"BinaryCrossentropy": "observed: 0.26 becomes 3.29"}
_PREDICTION_WORDS = ("pred", "preds", "logits", "output", "outputs", "probs", "y_pred", "y_hat", "scores")
_LABEL_WORDS = ("label", "labels", "target", "targets", "y_true", "y", "truth", "gt")


def _named(name: str, words) -> bool:
    name = name.lower()
    return any(name == w or name.endswith("_" + w) for w in words)


def _role(expr: Optional[cst.BaseExpression]) -> Optional[str]:
    if not isinstance(expr, cst.Name):
        return None
    prediction, label = _named(expr.value, _PREDICTION_WORDS), _named(expr.value, _LABEL_WORDS)
    if prediction != label:
        return "prediction" if prediction else "label"
    return None


class TFS406(_Traced):
    """update_state(predictions, labels) on a metric where the order matters."""

    code = "TFS406"

    def visit_Call(self, node: cst.Call) -> None:
        metric, method = self.metric_call(node)
        if metric is None or method not in ("update_state", "__call__") or metric.cls not in _ASYMMETRIC:
            return
        first, second = nodes.arg(node, 0, "y_true"), nodes.arg(node, 1, "y_pred")
        if _role(first) != "prediction" or _role(second) != "label":
            return
        receiver = self.source(node.func.value if isinstance(node.func, cst.Attribute) else node.func)
        call = f"{receiver}.update_state" if method == "update_state" else receiver
        seen = (_ASYMMETRIC_K2 if self.ctx.keras == 2 else {}).get(metric.cls) or _ASYMMETRIC[metric.cls]
        self.ctx.report(
            node, self.code,
            f"{call}(y_true, y_pred) takes the labels first, but {first.value} (predictions) is passed as "
            f"y_true and {second.value} (labels) as y_pred; {metric.cls} is not symmetric, so the value is "
            f"wrong ({seen}); call {call}({second.value}, {first.value})",
            MetricUse(metric.source or None, first="prediction", second="label"),
        )


# -- TFS407 ---------------------------------------------------------------------------------

_CASTS = ("tensorflow.cast", "tensorflow.dtypes.cast", "keras.ops.cast", "keras.backend.cast")
_INT_DTYPES = ("int", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64", "int_", "intc")
_DTYPE_MODULES = ("tensorflow", "tensorflow.dtypes", "numpy", "keras.ops")


def _int_dtype(ctx, expr: Optional[cst.BaseExpression]) -> Optional[str]:
    if expr is None:
        return None
    value = nodes.string(expr)
    if value is not None:
        return value if value in _INT_DTYPES else None
    if isinstance(expr, cst.Name) and expr.value == "int" and not ctx.names(expr) and ctx.value_of("int") is None:
        return "int"
    for name in ctx.names(expr):
        module, _, last = name.rpartition(".")
        if module in _DTYPE_MODULES and last in _INT_DTYPES:
            return last
    return None


class TFS407(_Traced):
    """Probabilities cast to an integer type: truncation makes 0.8 a 0."""

    code = "TFS407"

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        method = nodes.method_name(node)
        if method == "astype" and isinstance(func, cst.Attribute):
            value, dtype, how = func.value, nodes.arg(node, 0, "dtype"), "astype"
        elif method == "cast" and any(n in _CASTS for n in self.ctx.names(func)):
            value, dtype, how = nodes.arg(node, 0, "x"), nodes.arg(node, 1, "dtype"), "cast"
        else:
            return
        dtype_name = _int_dtype(self.ctx, dtype)
        if dtype_name is None or value is None:
            return
        activation = probabilities(self.ctx, self.models, value)
        if activation is not None:
            what, effect = f"{activation} probabilities", "so nearly every prediction becomes class 0"
        elif self._predicted(value):
            what, effect = "model.predict() output", "so a classifier's predictions nearly all become class 0"
        else:
            return
        text = self.source(value)
        if activation == "softmax":
            fix = f"tf.argmax({text}, axis=-1)" if how == "cast" else f"{text}.argmax(axis=-1)"
        else:
            fix = f"tf.round({text}) or tf.cast({text} > 0.5, ...)" if how == "cast" else f"({text} > 0.5).astype(...)"
        self.ctx.report(
            node, self.code,
            f"casting {what} ({text}) to {dtype_name} truncates toward zero: 0.8 becomes 0, {effect} "
            f"(observed: BinaryAccuracy 0.4 where rounding gives 0.8); use {fix}",
            Truncation(how, dtype_name, activation, "probabilities"),
        )

    def _predicted(self, expr: cst.BaseExpression, depth: int = 0) -> bool:
        """``model.predict(x)`` (also through names, subscripts) on a model not known to be a regressor."""
        ctx = self.ctx
        if depth > modelinfo.MAX_DEPTH:
            return False
        if isinstance(expr, cst.Name) and not ctx.names(expr):
            value = ctx.value_of(expr.value)
            return value is not None and self._predicted(value, depth + 1)
        if isinstance(expr, cst.Subscript):
            return self._predicted(expr.value, depth + 1)
        if not isinstance(expr, cst.Call) or not isinstance(expr.func, cst.Attribute):
            return False
        if expr.func.attr.value not in ("predict", "predict_on_batch") or not nodes.model_like(expr.func.value, ctx):
            return False
        output = self.models.output_of_call(expr)
        return output is None or output.activation is None or output.probabilities


# -- TFS408 ---------------------------------------------------------------------------------

_CONTAINER_CALLS = ("collections.deque", "collections.defaultdict", "collections.OrderedDict")
_MUTATORS = ("append", "extend", "insert", "add", "update", "appendleft", "pop", "clear", "setdefault")
_WEIGHT_MAKERS = ("add_weight", "add_variable")


def _self_attr(expr: cst.BaseExpression) -> Optional[str]:
    if isinstance(expr, cst.Attribute) and isinstance(expr.value, cst.Name) and expr.value.value == "self":
        return expr.attr.value
    return None


def _reads(value: cst.BaseExpression, attr: str) -> bool:
    """Whether an expression reads ``self.<attr>`` (an accumulation such as ``self.n = self.n + 1``)."""
    return any(_self_attr(n) == attr for n in nodes.walk(value) if isinstance(n, cst.Attribute))


def _creates_variable(ctx, value: cst.BaseExpression) -> bool:
    """``self.add_weight(...)`` (also made lazily in update_state), ``tf.Variable(...)``."""
    if not isinstance(value, cst.Call):
        return False
    if isinstance(value.func, cst.Attribute) and _self_attr(value.func) in _WEIGHT_MAKERS:
        return True
    return any(n in ("tensorflow.Variable", "keras.Variable", "keras.backend.Variable") for n in ctx.names(value.func))


_TENSOR_MODULES = ("tensorflow.", "keras.ops.", "keras.backend.")
_NUMBER_BUILTINS = ("int", "float", "len", "round", "abs")
TENSOR, NUMBER = "tensor", "number"


def _holds(ctx, expr: Optional[cst.BaseExpression], tensors: Set[str], depth: int = 0) -> Optional[str]:
    """What a value stored in a Python attribute is: TENSOR (a TF/Keras op, update_state's
    y_true/y_pred), NUMBER (a literal, int(...), len(...)) or None when it cannot be told."""
    if expr is None or depth > 8:
        return None
    if isinstance(expr, (cst.Integer, cst.Float)):
        return NUMBER
    if isinstance(expr, cst.Name):
        return TENSOR if expr.value in tensors else None
    if isinstance(expr, cst.Call):
        names = ctx.names(expr.func)
        if any(n.startswith(_TENSOR_MODULES) for n in names):
            return TENSOR
        func = expr.func
        return NUMBER if isinstance(func, cst.Name) and func.value in _NUMBER_BUILTINS and not names else None
    if isinstance(expr, cst.UnaryOperation):
        return _holds(ctx, expr.expression, tensors, depth + 1)
    if isinstance(expr, cst.BinaryOperation):
        # self.n = self.n + x: the attribute read adds nothing; a tensor on either side makes a tensor
        sides = [_holds(ctx, e, tensors, depth + 1) for e in (expr.left, expr.right) if _self_attr(e) is None]
        if TENSOR in sides:
            return TENSOR
        return NUMBER if sides and all(side == NUMBER for side in sides) else None
    return None


_PYTHON_FUNCTIONS = ("py_function", "numpy_function", "py_func", "eager_py_func")


def _calls_python_function(ctx, node: cst.CSTNode) -> bool:
    """Whether ``node`` calls tf.py_function/tf.numpy_function (or the TF1 py_func), which run
    their Python function at every step of a traced function."""
    for sub in nodes.walk(node):
        if isinstance(sub, cst.Call):
            func = sub.func
            last = func.attr.value if isinstance(func, cst.Attribute) else func.value if isinstance(func, cst.Name) else ""
            if last in _PYTHON_FUNCTIONS and any(
                    n.startswith("tensorflow.") and n.endswith(_PYTHON_FUNCTIONS) for n in ctx.names(func)):
                return True
    return False


def _initial_zero(ctx, expr: Optional[cst.BaseExpression]) -> Optional[bool]:
    """Whether an initializer is all zeros (True), not (False), or cannot be known (None)."""
    if expr is None:
        return None
    text = nodes.string(expr)
    if text is not None:
        return text in ("zeros", "zero", "Zeros")
    if not isinstance(expr, cst.Call):
        return None
    names = ctx.names(expr.func)
    if any(n in ("keras.initializers.Zeros", "tensorflow.zeros_initializer") for n in names):
        return True
    if any(n in ("keras.initializers.Ones", "tensorflow.ones_initializer") for n in names):
        return False
    if any(n in ("keras.initializers.Constant", "tensorflow.constant_initializer") for n in names):
        value = nodes.constant(nodes.arg(expr, 0, "value"))
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return value == 0
    return None


class TFS408(_Traced):
    """A custom Metric keeping state in Python attributes, or resetting variables to the wrong value."""

    code = "TFS408"

    def __init__(self, ctx):
        super().__init__(ctx)
        self.found: List[Tuple[cst.CSTNode, str, str]] = []  # (node, class, message)
        self.call_args: Dict[str, str] = {}

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        methods = self.models.metric_classes.get(node.name.value)
        if methods is None or not isinstance(node.body, cst.IndentedBlock):
            return
        defs = nodes.methods(node)
        containers, variables = set(), set()
        for name, method in defs.items():
            for sub in nodes.walk(method):
                if isinstance(sub, cst.Assign):
                    for target in sub.targets:
                        attr = _self_attr(target.target)
                        if attr is not None and self._container(sub.value):
                            containers.add(attr)
                        elif attr is not None and _creates_variable(self.ctx, sub.value):
                            variables.add(attr)
                elif isinstance(sub, cst.Call) and isinstance(sub.func, cst.Attribute) \
                        and _self_attr(sub.func) in _WEIGHT_MAKERS:
                    self._initializer(node.name.value, sub, methods)
        update = defs.get("update_state")
        if update is None:
            return
        if self._runs_python(node, update):
            if "reset_state" not in methods and "reset_states" not in methods:
                self._python_state(node.name.value, update, containers, variables, each_step=True)
            return
        self._python_state(node.name.value, update, containers, variables)

    def _runs_python(self, cls: cst.ClassDef, update: cst.FunctionDef) -> bool:
        """Whether the update_state that runs is not the traced Python read here: it goes through
        tf.py_function/numpy_function (in its body or a decorator), or something rebinds it
        (``obj.update_state = ...`` in ``__new__``/``__init__``, ``update_state = ...`` in the class)."""
        if _calls_python_function(self.ctx, update.body):
            return True
        for decorator in update.decorators:
            if _calls_python_function(self.ctx, decorator.decorator) or self._wrapping_decorator(decorator.decorator):
                return True
        for sub in nodes.walk(cls.body):
            targets = []
            if isinstance(sub, cst.Assign):
                targets = [t.target for t in sub.targets]
            elif isinstance(sub, (cst.AnnAssign, cst.AugAssign)):
                targets = [sub.target]
            for target in targets:
                if (isinstance(target, cst.Attribute) and target.attr.value == "update_state") or \
                        (isinstance(target, cst.Name) and target.value == "update_state"):
                    return True
        return False

    def _wrapping_decorator(self, decorator: cst.BaseExpression) -> bool:
        """A decorator of this module whose definition runs the method through tf.py_function."""
        func = decorator.func if isinstance(decorator, cst.Call) else decorator
        if not isinstance(func, cst.Name) or self.ctx.names(func):
            return False
        for statement in self.ctx.module.body:
            if isinstance(statement, cst.FunctionDef) and statement.name.value == func.value:
                return _calls_python_function(self.ctx, statement.body)
        return False

    def _container(self, value: cst.BaseExpression) -> bool:
        if isinstance(value, (cst.List, cst.Dict, cst.Set)):
            return True
        if isinstance(value, cst.Call):
            func = value.func
            if isinstance(func, cst.Name) and func.value in ("list", "dict", "set") and not self.ctx.names(func):
                return True
            return any(n in _CONTAINER_CALLS for n in self.ctx.raw_names(func))
        return False

    def _python_state(self, cls: str, update: cst.FunctionDef, containers: Set[str], variables: Set[str],
                      each_step: bool = False) -> None:
        """``each_step``: update_state runs through tf.py_function, so only the reset is wrong."""
        # update_state(self, y_true, y_pred, ...): fit() passes tensors
        tensors = {p.name.value for p in update.params.params[1:3]}
        for sub in nodes.walk(update.body):
            attr, how, value = None, "", None
            if isinstance(sub, cst.AugAssign):
                attr = _self_attr(sub.target)
                how = f"self.{attr} {self.source(sub.operator).strip()} ..."
                value = sub.value
            elif isinstance(sub, cst.Assign) and not _creates_variable(self.ctx, sub.value):
                value = sub.value
                for target in sub.targets:
                    attr = _self_attr(target.target)
                    item = target.target.value if isinstance(target.target, cst.Subscript) else None
                    if attr is None and item is not None and _self_attr(item) in containers:
                        attr = _self_attr(item)
                        how = f"self.{attr}[...] = ..."
                        break
                    if attr is not None and _reads(sub.value, attr):
                        how = f"self.{attr} = self.{attr} ..."
                        break
                    attr = None
            elif isinstance(sub, cst.Call) and isinstance(sub.func, cst.Attribute) and sub.func.attr.value in _MUTATORS:
                owner = _self_attr(sub.func.value)
                if owner in containers:
                    attr, how = owner, f"self.{owner}.{sub.func.attr.value}(...)"
                    value = sub.args[-1].value if sub.args else None
            if attr is None:
                continue
            if attr in variables:
                message = (
                    f"{cls}.update_state rebinds self.{attr} ({how}) from its metric variable to a new tensor: "
                    f"reset_state() then no longer resets it (observed: 8.0 stays 8.0 after reset_state()); update the "
                    f"variable in place with self.{attr}.assign_add(...)"
                )
            elif each_step:
                # Observed on TF 2.21 / Keras 3.15.1 and TF 2.15: a counter updated through
                # tf.py_function logged 64.0, 128.0, 192.0 over three epochs of 64 samples.
                message = (
                    f"{cls}.update_state changes the Python attribute self.{attr} ({how}) through "
                    f"tf.py_function, so fit() sees every step, but the class has no reset_state(): the default "
                    f"one resets only metric variables, so self.{attr} runs on across epochs (observed: 64.0, "
                    f"128.0, 192.0 where each epoch counts 64); override reset_state() to reset it"
                )
            else:
                message = (
                    f"{cls}.update_state changes the Python attribute self.{attr} ({how}) instead of a metric "
                    f"variable: inside fit() update_state runs only while the step is traced, so "
                    f"{self._traced_effect(_holds(self.ctx, value, tensors))}, and the default reset_state() "
                    f"does not reset it (observed: 8 stays 8); keep the state in "
                    f"self.add_weight(..., initializer='zeros') and update it with assign_add()"
                )
            self.found.append((sub, cls, message))
            return

    def _traced_effect(self, held: Optional[str]) -> str:
        frozen = "the value freezes (observed: 32 per epoch where 64 is right)"
        if self.ctx.keras == 3:
            tensor = ("fit() logs graph tensors such as <tf.Tensor 'add_3:0' shape=() dtype=float32> instead "
                      "of numbers when result() returns them")
        else:
            tensor = ("fit() raises 'TypeError: <tf.Tensor 'add:0' shape=() dtype=float32> is out of scope and "
                      "cannot be used here' when result() reads them")
        if held == NUMBER:
            return frozen
        if held == TENSOR:
            return f"it keeps graph tensors of the traced step: {tensor}"
        return f"a Python number there freezes (observed: 32 per epoch where 64 is right) and for tensors {tensor}"

    def _initializer(self, cls: str, call: cst.Call, methods) -> None:
        if "reset_state" in methods or "reset_states" in methods:
            return
        given = nodes.arg(call, 1 if call.func.attr.value == "add_variable" else None, "initializer")
        if _initial_zero(self.ctx, given) is not False:
            return
        name = nodes.string(nodes.arg(call, None, "name"))
        label = f"'{name}'" if name else "variable"
        self.found.append((call, cls, (
            f"{cls}: the state {label} starts at initializer={self.source(given)}, but the default reset_state() sets "
            f"every variable to 0, not back to its initializer (observed: initializer='ones' gives 1 at first and "
            f"0 after reset_state()), so every epoch after the first starts from 0; override reset_state() "
            f"to assign the initial value"
        )))

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        if isinstance(func, cst.Name) and func.value in self.models.metric_classes and func.value not in self.call_args:
            self.call_args[func.value] = nodes.call_args(self.ctx.module, node)

    def finish(self) -> None:
        for node, cls, message in self.found:
            self.ctx.report(node, self.code, message, MetricClass(cls, self.call_args.get(cls, "")))


# -- TFS409 ---------------------------------------------------------------------------------

# callback -> positions of monitor=, mode= and save_best_only= (None: keyword only)
_MONITORS = {
    "EarlyStopping": (0, 4, None),
    "ReduceLROnPlateau": (0, 4, None),
    "ModelCheckpoint": (1, 5, 3),
}
_ALWAYS_LOGGED = ("loss", "lr", "learning_rate")


def logged_names(metric: Metric) -> Optional[List[Tuple[str, str]]]:
    """The keys Keras logs a compiled metric under (no 'val_' prefix): (shown, regular expression)."""
    if metric.kind == STRING:
        names = [_exact(metric.name)]
        if metric.cls is not None:  # on Keras 2 a string naming a class logs the class's own name
            names += _class_names(metric.cls) or []
        return names
    if metric.kind == FUNCTION:
        return [_exact(metric.name)]
    if metric.custom:
        return None
    if metric.call is not None:
        given = nodes.arg(metric.call, 0 if metric.name in modelinfo.NAME_FIRST else None, "name")
        if given is not None:
            text = nodes.string(given)
            return [_exact(text)] if text is not None else None
    return _class_names(metric.name)


def _exact(name: str) -> Tuple[str, str]:
    return name, re.escape(name)


def _class_names(cls: str) -> Optional[List[Tuple[str, str]]]:
    if cls in modelinfo.DEFAULT_NAMES:
        return [_exact(n) for n in modelinfo.DEFAULT_NAMES[cls]]
    if cls in modelinfo.AUTO_NAMED:
        name = modelinfo.snake_case(cls)
        return [(name, re.escape(name) + r"(?:_\d+)?")]  # 'auc', 'auc_1'... unique in the process
    return None


class TFS409(_Traced):
    """EarlyStopping/ModelCheckpoint/ReduceLROnPlateau watching a key the model never logs."""

    code = "TFS409"

    def __init__(self, ctx):
        super().__init__(ctx)
        self.fits: List[Tuple[Compile, List[Tuple[str, cst.Call]], Optional[bool]]] = []
        # fit() on self.<attr>: the class's model, known once the whole class is read
        self.kept: List[Tuple[cst.ClassDef, str, List[Tuple[str, cst.Call]], Optional[bool]]] = []

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        if not isinstance(func, cst.Attribute) or func.attr.value not in ("fit", "fit_generator"):
            return
        model = self.models.model(func.value)
        kept = self._kept(func.value) if model is None else None
        if kept is None and (model is None or model.compiled is None):
            return
        positional = func.attr.value == "fit"
        callbacks = self._callbacks(nodes.arg(node, 5 if positional else None, "callbacks"))
        if callbacks and kept is not None:
            self.kept.append((kept[0], kept[1], callbacks, self._validation(node, positional)))
        elif callbacks:
            self.fits.append((model.compiled, callbacks, self._validation(node, positional)))

    def _kept(self, receiver: cst.BaseExpression) -> Optional[Tuple[cst.ClassDef, str]]:
        ctx = self.ctx
        if isinstance(receiver, cst.Attribute) and isinstance(receiver.value, cst.Name) and \
                receiver.value.value == "self" and len(ctx.classes) == 1:
            return ctx.classes[0], receiver.attr.value
        return None

    def _callbacks(self, expr: Optional[cst.BaseExpression], depth: int = 0) -> List[Tuple[str, cst.Call]]:
        ctx = self.ctx
        if isinstance(expr, cst.Name) and not ctx.names(expr) and depth < modelinfo.MAX_DEPTH:
            return self._callbacks(ctx.value_of(expr.value), depth + 1)
        found = []
        if isinstance(expr, (cst.List, cst.Tuple)):
            for element in expr.elements:
                value = element.value
                if isinstance(value, cst.Name) and not ctx.names(value):
                    value = ctx.value_of(value.value)
                if isinstance(value, cst.Call):
                    cls = modelinfo.family_name(ctx, value.func, "callbacks")
                    if cls in _MONITORS:
                        found.append((cls, value))
        return found

    def _validation(self, node: cst.Call, positional: bool) -> Optional[bool]:
        """Whether fit() gets validation data: True, False, or None when it cannot be told."""
        if any(a.star for a in node.args):
            return None
        data = nodes.arg(node, 7 if positional else None, "validation_data")
        split = nodes.arg(node, 6 if positional else None, "validation_split")
        if data is not None and nodes.constant(data) is not None:
            return True
        if split is None:
            return False
        value = nodes.constant(split)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return value > 0
        return None if value is nodes.MISSING else False

    def finish(self) -> None:
        seen: Set[int] = set()
        for cls, attr, callbacks, validation in self.kept:
            model = self.models.kept_model(cls, attr)
            if model is not None and model.compiled is not None:
                self.fits.append((model.compiled, callbacks, validation))
        for compiled, callbacks, validation in self.fits:
            names = self._names(compiled)
            if names is None:
                continue
            for cls, call in callbacks:
                if id(call) not in seen and self._check(compiled, cls, call, names, validation):
                    seen.add(id(call))

    def _names(self, compiled: Compile) -> Optional[List[Tuple[str, str]]]:
        if compiled.metrics is None:
            return None
        names: List[Tuple[str, str]] = []
        for metric in compiled.metrics + (compiled.weighted or []):
            found = logged_names(metric) if metric is not None else None
            if found is None:
                return None
            names += found
        return names

    def _check(self, compiled: Compile, cls: str, call: cst.Call, names: List[Tuple[str, str]],
               validation: Optional[bool]) -> bool:
        ctx = self.ctx
        monitor_pos, mode_pos, best_pos = _MONITORS[cls]
        monitor_node = nodes.arg(call, monitor_pos, "monitor")
        monitor = nodes.string(monitor_node)
        if monitor is None:
            return False
        base = monitor[4:] if monitor.startswith("val_") else monitor
        expressions = [r for _, r in names] + [re.escape(n) for n in _ALWAYS_LOGGED]
        # '<output>_accuracy', '<output>_loss': a model with several outputs logs those
        known = bool(re.fullmatch(r"(?:.*_)?(?:%s)" % "|".join(expressions), base))
        missing_val = monitor.startswith("val_") and validation is False
        if known and not missing_val:
            return False
        mode = nodes.arg(call, mode_pos, "mode")
        mode_value = "auto" if mode is None else nodes.constant(mode)
        mode_value = mode_value if isinstance(mode_value, str) else None
        auto = mode_value == "auto"
        best = nodes.constant(nodes.arg(call, best_pos, "save_best_only")) is True
        effect = self._effect(cls, monitor, ctx.keras == 3 and auto and not known, best)
        if effect is None:
            return False
        if not known:
            logged = ", ".join(self._shown(names, validation))
            why = f"the compiled model logs {logged}"
        else:
            why = "fit() gets no validation data (no validation_data= or validation_split=), so no 'val_' key is logged"
        ctx.report(
            monitor_node, self.code,
            f"{cls}(monitor={monitor!r}) watches a key this model never logs: {why}; {effect}; "
            f"monitor one of the logged keys",
            Monitor(**_facts(compiled, None).fields(), callback=cls, monitor=monitor, mode=mode_value,
                    save_best_only=best, validation=validation,
                    metrics=tuple(m.source or None for m in compiled.metrics or [])),
        )
        return True

    def _effect(self, cls: str, monitor: str, raises: bool, best: bool) -> Optional[str]:
        if raises:
            return (f"Keras 3 stops training at the end of the first epoch with 'ValueError: {cls} callback "
                    f"received monitor={monitor}, but Keras isn't able to automatically determine whether that "
                    f"metric should be maximized or minimized'")
        if cls == "EarlyStopping":
            return (f"it warns 'Early stopping conditioned on metric `{monitor}` which is not available' "
                    f"every epoch and never stops training")
        if cls == "ReduceLROnPlateau":
            return (f"it warns 'Learning rate reduction is conditioned on metric `{monitor}` which is not "
                    f"available' every epoch and never lowers the learning rate")
        if not best:
            return None  # without save_best_only the monitored value is not used
        if self.ctx.keras == 3:
            return (f"it warns 'Can save best model only with {monitor} available.' and saves every epoch, "
                    f"so the file holds the last model, not the best")
        return f"it logs 'Can save best model only with {monitor} available, skipping.' and never saves"

    @staticmethod
    def _shown(names: List[Tuple[str, str]], validation: Optional[bool]) -> List[str]:
        plain = ["loss"] + list(dict.fromkeys(n for n, _ in names))
        shown = [f"'{n}'" for n in plain]
        if validation is not False:
            shown += [f"'val_{n}'" for n in plain]
        return shown


# -- TFS410 ---------------------------------------------------------------------------------

# What runs the model's metrics and so, on Keras 2, fills metrics_names.
_RUNS_METRICS = ("fit", "fit_generator", "evaluate", "evaluate_generator", "train_on_batch", "test_on_batch")
_RETURNS_SCORES = ("evaluate", "evaluate_generator", "train_on_batch", "test_on_batch")
_OWN_NAMES = ("metrics", "metrics_names", "train_step", "test_step")
_FIX_410 = "call evaluate(..., return_dict=True), which returns a dict keyed by the metric names"


def _metrics_names(expr: Optional[cst.BaseExpression]) -> Optional[cst.BaseExpression]:
    """``m`` of ``m.metrics_names``."""
    if isinstance(expr, cst.Attribute) and expr.attr.value == "metrics_names":
        return expr.value
    return None


class TFS410(_Traced):
    """model.metrics_names zipped with or indexed like the values evaluate() returns."""

    code = "TFS410"

    def __init__(self, ctx):
        super().__init__(ctx)
        self.ran: Set[str] = set()  # receivers whose metrics a fit()/evaluate() has run so far
        self.compiled: Dict[str, bool] = {}  # receiver -> whether each of its compile() calls had metrics

    def visit_Call(self, node: cst.Call) -> None:
        ctx = self.ctx
        method = nodes.method_name(node)
        if method in _RUNS_METRICS and isinstance(node.func, cst.Attribute):
            self.ran.add(self.source(node.func.value))
            return
        if ctx.keras == 2 and not (isinstance(node.func, cst.Name) and node.func.value in ("print", "zip")):
            # A model handed to a function (train(model, ...), Trainer(model)) may be fit there,
            # which fills its names on Keras 2: no longer known to be fresh.
            self.ran.update(arg.value.value for arg in node.args if isinstance(arg.value, cst.Name))
        if method == "compile" and isinstance(node.func, cst.Attribute):
            key = self.source(node.func.value)
            metrics = modelinfo.metrics_of(ctx, nodes.arg(node, 2 if ctx.keras == 2 else 3, "metrics"), self.models)
            self.compiled[key] = self.compiled.get(key, True) and bool(metrics)
            return
        if not (isinstance(node.func, cst.Name) and node.func.value == "zip" and len(node.args) == 2
                and not any("zip" in scope.names or "zip" in scope.values for scope in ctx.resolver.scopes)
                and "zip" not in self.models.functions):
            return
        first, second = node.args[0].value, node.args[1].value
        model = _metrics_names(first)
        if model is None or not self._scores(second, direct=ctx.keras == 2):
            return
        if ctx.keras == 3:
            if self._compiled_metrics(model):
                ctx.report(
                    node, self.code,
                    f"On Keras 3 {self.source(model)}.metrics_names is ['loss', 'compile_metrics'] whatever was "
                    f"compiled, while evaluate() returns the loss and then each metric: zip() labels the first "
                    f"metric 'compile_metrics' and drops any further one; {_FIX_410}",
                    MetricsNames("zip"),
                )
        elif self._fresh(model):
            ctx.report(
                node, self.code,
                f"On Keras 2 a freshly compiled model's metrics_names is [] until its first fit() or evaluate(), "
                f"and zip() reads {self.source(model)}.metrics_names before evaluate() runs: the result is empty "
                f"({{}}); {_FIX_410}",
                MetricsNames("zip"),
            )

    def visit_Subscript(self, node: cst.Subscript) -> None:
        model = _metrics_names(node.value)
        if model is None or len(node.slice) != 1 or not isinstance(node.slice[0].slice, cst.Index):
            return
        index = nodes.constant(node.slice[0].slice.value)
        if not isinstance(index, int) or isinstance(index, bool) or index < 1:
            return
        ctx = self.ctx
        shown = f"{self.source(model)}.metrics_names[{index}]"
        if ctx.keras == 3:
            if not self._compiled_metrics(model):
                return
            what = ("is 'compile_metrics', not the metric's name" if index == 1 else
                    "raises IndexError: list index out of range")
            ctx.report(
                node, self.code,
                f"On Keras 3 metrics_names is ['loss', 'compile_metrics'] whatever was compiled: {shown} {what}; "
                f"{_FIX_410}",
                MetricsNames("index"),
            )
        elif self._fresh(model):
            ctx.report(
                node, self.code,
                f"{shown} raises IndexError: list index out of range: on Keras 2 a freshly compiled model's "
                f"metrics_names is [] until its first fit() or evaluate(); {_FIX_410}",
                MetricsNames("index"),
            )

    def _scores(self, expr: cst.BaseExpression, direct: bool) -> bool:
        """Whether ``expr`` is what evaluate()/train_on_batch()/test_on_batch() returned as a list:
        the call itself or (unless ``direct``) a plain name assigned it."""
        ctx = self.ctx
        if isinstance(expr, cst.Name) and not direct and not ctx.names(expr):
            expr = ctx.value_of(expr.value)
        if not (isinstance(expr, cst.Call) and nodes.method_name(expr) in _RETURNS_SCORES):
            return False
        return not nodes.has_keyword(expr, "return_dict") or nodes.constant(nodes.arg(expr, None, "return_dict")) is False

    def _compiled_metrics(self, receiver: cst.BaseExpression) -> bool:
        """Keras 3: whether the model is known to be compiled with at least one metric (the model
        the module builds, or else every compile() the module calls on the same expression)."""
        model = self.models.model(receiver)
        if model is not None:
            compiled = model.compiled
            return compiled is not None and bool(compiled.metrics) and not model.multi_output
        if self._own_names(receiver):
            return False
        return self.compiled.get(self.source(receiver), False)

    def _own_names(self, receiver: cst.BaseExpression) -> bool:
        """Whether the model may be a subclass that decides its own names: an instance of a class
        of this module that defines ``metrics``/``metrics_names``/``train_step``/``test_step``
        (Keras 3.15.1: a ``metrics`` property returning [loss_tracker, mae] makes metrics_names
        ['loss', 'mae'], and evaluate() returns the values in that order), or of a class the module
        imports (a project's or a library's Model subclass: not seen)."""
        ctx = self.ctx
        if isinstance(receiver, cst.Name) and not ctx.names(receiver):
            receiver = ctx.value_of(receiver.value)
        if not isinstance(receiver, cst.Call):
            return False
        callee = nodes.last_name(receiver.func) or ""
        if not isinstance(receiver.func, cst.Name) or ctx.names(receiver.func):
            return callee[:1].isupper()  # an imported class (keras' own models are known above)
        return _defines(ctx.module, _OWN_NAMES, callee)

    def _fresh(self, receiver: cst.BaseExpression) -> bool:
        """Keras 2: a model built and compiled in this very scope, with no fit()/evaluate() seen
        before this point (load_model() gives back the names; unknown models stay silent)."""
        ctx = self.ctx
        if not isinstance(receiver, cst.Name) or receiver.value not in ctx.resolver.scopes[-1].values:
            return False
        model = self.models.model(receiver)
        return model is not None and model.compiled is not None and self.source(receiver) not in self.ran


# -- TFS411 ---------------------------------------------------------------------------------

NORMALIZATION = "keras.layers.Normalization"
_TRAINS = ("fit", "fit_generator", "train_on_batch")
# What gives a built layer its statistics besides adapt(): the weights of a model holding it
# (its mean and variance are weights: load_weights() of an adapted model's weights file restores
# them, seen on TF 2.15 and TF 2.21), or a checkpoint restore.
_GIVES_STATISTICS = ("adapt", "load_weights", "set_weights", "restore")


class TFS411(_Traced):
    """A Normalization() layer that nothing adapts and that gets no mean/variance."""

    code = "TFS411"

    def __init__(self, ctx):
        super().__init__(ctx)
        self.layers: List[Tuple[cst.Call, Optional[str]]] = []  # (construction, the name it is bound to)
        self.adapted: Set[str] = set()
        self.unknown_adapt = False  # an adapt() on something else than a plain name
        self.trains = False

    def visit_Call(self, node: cst.Call) -> None:
        ctx = self.ctx
        func = node.func
        method = nodes.method_name(node)
        if isinstance(func, cst.Attribute):
            if method == "adapt" and isinstance(func.value, cst.Name):
                self.adapted.add(func.value.value)
                return
            if method in _GIVES_STATISTICS:
                self.unknown_adapt = True  # on what it lands (a model holding the layer?) is not followed
                return
            if method in _TRAINS:
                self.trains = True
        names = _callee_names(ctx, func, "Normalization")
        if NORMALIZATION not in names or ctx.classes:
            return
        if nodes.arg(node, 1, "mean") is not None or nodes.arg(node, 2, "variance") is not None:
            return
        if any(arg.star for arg in node.args):
            return  # **kwargs may hold mean and variance
        parent = ctx.stack[-1] if ctx.stack else None
        if isinstance(parent, cst.Assign):
            targets = parent.targets
            if len(targets) == 1 and isinstance(targets[0].target, cst.Name) and parent.value is node:
                self.layers.append((node, targets[0].target.value))
            return  # self.norm = ..., a, b = ...: who adapts it is not followed
        if isinstance(parent, cst.Call) or _in_sequential(ctx, parent):
            self.layers.append((node, None))  # Normalization()(x), Sequential([Normalization(), ...])

    def finish(self) -> None:
        if not self.trains or not self.layers:
            return
        ctx = self.ctx
        bound = {name for _, name in self.layers if name}
        escaped = _escaped(ctx.module, bound)
        # layer.adapt(x) on a name no Normalization() is bound to (``for layer in model.layers:``)
        # may adapt any of them.
        unknown_adapt = self.unknown_adapt or bool(self.adapted - bound)
        for node, name in self.layers:
            if name is None:
                if unknown_adapt:
                    continue
                shown, fix = "Normalization()", "keep the layer in a variable and call its adapt(training_features)"
            else:
                if name in self.adapted or name in escaped or unknown_adapt:
                    continue
                shown, fix = f"{name} = Normalization()", f"call {name}.adapt(training_features)"
            # Another module of the program may adapt it (``model.get_layer("norm").adapt(x)``).
            ctx.defer(
                node, self.code, NotAdapted(self.source(node)),
                f"{shown} is never adapted and gets no mean=/variance=: fit() runs and the layer keeps mean 0 and "
                f"variance 1, so the inputs are silently not normalized; {fix} before fit(), or pass mean= and "
                f"variance=",
            )

    @classmethod
    def resolve(cls, pending: Pending, project: ProjectIndex) -> Optional[str]:
        """Silent when a program running the module may give the layer its statistics elsewhere:
        another of its modules calls adapt()/load_weights()/set_weights()/restore(), or the program
        is open (library code: whoever imports it may)."""
        programs = project.programs
        path = programs.norm(pending.finding.path)
        elsewhere = {programs.norm(m) for name in _GIVES_STATISTICS for m in project.callers.get(name, ())} - {path}
        for program in programs.programs_of(path):
            if program.open or elsewhere & program.modules:
                return None
        return pending.finding.message


def _callee_names(ctx, func: cst.BaseExpression, last: str):
    """The canonical names of a callee spelled ``...<last>`` (the others are not asked)."""
    if nodes.last_name(func) != last:
        return ()
    return ctx.names(func)


def _in_sequential(ctx, parent: Optional[cst.CSTNode]) -> bool:
    """Whether the node whose parent is ``parent`` is an element of ``Sequential([...])``."""
    stack = ctx.stack
    if not isinstance(parent, cst.Element) or len(stack) < 4:
        return False
    call = stack[-4]
    return (isinstance(stack[-2], cst.List) and isinstance(stack[-3], cst.Arg) and isinstance(call, cst.Call)
            and "keras.models.Sequential" in ctx.names(call.func))


def _escaped(module: cst.Module, names: Set[str]) -> Set[str]:
    """The names that appear anywhere else than as a layer call ``n(x)``, an element of a list or
    tuple, ``model.add(n)``, ``n.adapt(...)`` or their own assignment: passed to a helper,
    returned, stored elsewhere... then something else may adapt the layer."""
    if not names:
        return set()
    escaped: Set[str] = set()

    def visit(node: cst.CSTNode, parent: Optional[cst.CSTNode], grand: Optional[cst.CSTNode]) -> None:
        if isinstance(node, cst.Name) and node.value in names:
            if not _layer_use(node, parent, grand):
                escaped.add(node.value)
            return
        for child in nodes.children(node):
            visit(child, node, parent)

    visit(module, None, None)
    return escaped


def _layer_use(name: cst.Name, parent: Optional[cst.CSTNode], grand: Optional[cst.CSTNode]) -> bool:
    if isinstance(parent, cst.Call) and parent.func is name:
        return True  # norm(x)
    if isinstance(parent, cst.Attribute) and parent.value is name:
        return parent.attr.value == "adapt"
    if isinstance(parent, cst.AssignTarget):
        return True
    if isinstance(parent, cst.Element) and isinstance(grand, (cst.List, cst.Tuple)):
        return True
    if isinstance(parent, cst.Arg) and isinstance(grand, cst.Call) and nodes.method_name(grand) == "add":
        return True
    return False


# -- TFS412 ---------------------------------------------------------------------------------

_MODEL_MAKERS = ("keras.saving.load_model", "keras.models.clone_model")


class TFS412(_Traced):
    """Keras 3: model.reset_states() no longer exists."""

    code = "TFS412"
    keras_versions = (3,)

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        if not isinstance(func, cst.Attribute) or func.attr.value != "reset_states" or node.args:
            return
        found = self._model_class(func.value)
        if found is None:
            return
        receiver = self.source(func.value)
        error = (f"AttributeError: '{found}' object has no attribute 'reset_states'" if found
                 else "AttributeError (the model has no attribute 'reset_states')")
        self.ctx.report(
            node, self.code,
            f"Keras 3 models have no reset_states(): {receiver}.reset_states() raises {error}, also for a model of "
            f"stateful LSTMs (only the layers kept it); reset the stateful layers: for layer in {receiver}.layers: "
            f"if getattr(layer, 'stateful', False): layer.reset_state()",
            ResetStates(found or None),
        )

    def _model_class(self, expr: cst.BaseExpression) -> Optional[str]:
        """The class named in the AttributeError ('' when the model's class is not known); None
        when ``expr`` is not known to be a Keras model."""
        ctx = self.ctx
        if isinstance(expr, cst.Attribute) and expr.attr.value == "model":
            owner = expr.value
            if isinstance(owner, cst.Name) and owner.value == "self" and ctx.classes:
                callback = any(n.startswith("keras.callbacks.")
                               for base in ctx.classes[-1].bases for n in ctx.names(base.value))
                if not callback or _defines(ctx.module, ("reset_states",)):
                    return None  # the module's own model class may be what it trains
                return ""  # a Callback's self.model is the model being trained
            return None
        if not isinstance(expr, cst.Name) or ctx.names(expr):
            return None
        value = ctx.value_of(expr.value)
        if isinstance(value, cst.Call):
            names = ctx.names(value.func)
            if "keras.models.Sequential" in names:
                return "Sequential"
            if "keras.models.Model" in names:
                functional = nodes.arg(value, 1, "outputs") is not None
                return "Functional" if functional else None
            if any(n in _MODEL_MAKERS for n in names):
                return ""
        return "" if self.models.model(expr) is not None else None


def _defines(module: cst.Module, methods: Tuple[str, ...], name: Optional[str] = None) -> bool:
    """Whether a top-level class of the module (the one called ``name``, when given) defines one
    of ``methods``."""
    return any(isinstance(s, cst.ClassDef) and name in (None, s.name.value)
               and any(isinstance(f, cst.FunctionDef) and f.name.value in methods for f in s.body.body)
               for s in module.body)


RULES = [TFS401, TFS402, TFS403, TFS404, TFS405, TFS406, TFS407, TFS408, TFS409, TFS410, TFS411, TFS412]
