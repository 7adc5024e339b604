"""Where running a module certainly stops on its Keras version, so that what follows never runs.

A finding states a failure the program reaches.  Code written for Keras 2 often meets Keras 3
with an earlier failure that is certain: a module-level ``keras.optimizers.SGD(lr=0.01)``
raises ``ValueError: Argument(s) not recognized: {'lr': 0.01}`` and ``LSTM(1,
batch_input_shape=[1, None, 1])`` raises ``ValueError: Unrecognized keyword arguments passed to
LSTM: {'batch_input_shape': [1, None, 1]}`` (TF 2.21 / Keras 3.15.1, every optimizer and layer
below; Keras 2 takes both; tests/test_stops.py runs them); and TensorFlow 1's ``tf.Session()``
raises AttributeError on every TensorFlow 2, so on every TensorFlow that runs Keras 3.  A notebook run from the top, a
script, or an import of the module ends there.

The engine finds the first module-level statement that makes such a call where it always runs
(``first_stop``), and ``unreached`` tells which reported nodes that run never gets to: those
at or after it, and those inside a function or class defined before it whose name the code
before it never mentions (so nothing before the stop can call it, and nothing outside can
import it: the import stops too).  Anything less certain (a call under ``if``/``try``, in a
lambda, a name the resolver cannot read) is no stop: unknown never silences a finding either.
"""

from __future__ import annotations

import re
from typing import List, Optional, Sequence

import libcst as cst

# keras.optimizers' optimizers: each passes its **kwargs to BaseOptimizer, which raises for `lr`.
OPTIMIZERS = frozenset({
    "Adadelta", "Adafactor", "Adagrad", "Adam", "AdamW", "Adamax", "Ftrl", "Lamb", "Lion", "Nadam",
    "RMSprop", "SGD",
})
# Every keras.layers class passes **kwargs to Layer.__init__, which raises for batch_input_shape;
# InputLayer alone still reads it (Input() raises TypeError for it: also a stop).
_TAKES_BATCH_INPUT_SHAPE = frozenset({"InputLayer"})
KEYWORDS = frozenset({"lr", "batch_input_shape"})


# TensorFlow 1 functions that TensorFlow 2 no longer has at its top (only under tf.compat.v1):
# ``tf.Session()`` raises AttributeError: module 'tensorflow' has no attribute 'Session'.
TF1_ONLY = frozenset({
    "enable_eager_execution", "Session", "InteractiveSession", "placeholder", "global_variables_initializer",
    "local_variables_initializer", "set_random_seed", "ConfigProto", "reset_default_graph", "get_variable",
    "variable_scope", "random_normal", "truncated_normal", "to_float",
})


def worth_resolving(call: cst.Call) -> bool:
    """A cheap first look: the call has a keyword or a callee name that ``raises`` knows."""
    func = call.func
    if type(func) is cst.Attribute and func.attr.value in TF1_ONLY:
        return True
    return any(arg.keyword is not None and arg.keyword.value in KEYWORDS for arg in call.args)


def raises(names: frozenset, keywords: Sequence[str], keras: int) -> bool:
    """A call of ``names`` (canonical, ``keras.optimizers.SGD``; every name the resolver finds
    for the callee, as under ``try: import ... except ImportError``) with these keyword
    arguments raises on ``keras``, whatever their values."""
    return keras == 3 and bool(names) and all(_raises(name, keywords) for name in names)


def _raises(name: str, keywords: Sequence[str]) -> bool:
    module, _, last = name.rpartition(".")
    if module == "tensorflow" and last in TF1_ONLY:
        return True  # Keras 3 runs on TensorFlow 2.16 or later
    if "lr" in keywords and module == "keras.optimizers" and last in OPTIMIZERS:
        return True
    return "batch_input_shape" in keywords and module == "keras.layers" and last[:1].isupper() \
        and last not in _TAKES_BATCH_INPUT_SHAPE


# The children a node always evaluates when it is evaluated itself: a call's callee and
# arguments, a list's elements...  Not a lambda's body, the branches of ``a if c else b``, the
# right side of ``and``/``or``, a comprehension's element: those may never run.
_ALWAYS = {
    cst.Expr: ("value",), cst.Assign: ("value",), cst.AnnAssign: ("value",), cst.AugAssign: ("value",),
    cst.Call: ("func", "args"), cst.Arg: ("value",), cst.Attribute: ("value",),
    cst.List: ("elements",), cst.Tuple: ("elements",), cst.Set: ("elements",),
    cst.Element: ("value",), cst.StarredElement: ("value",),
    cst.Dict: ("elements",), cst.DictElement: ("key", "value"), cst.StarredDictElement: ("value",),
    cst.Subscript: ("value", "slice"), cst.SubscriptElement: ("slice",), cst.Index: ("value",),
    cst.BinaryOperation: ("left", "right"), cst.UnaryOperation: ("expression",),
    cst.IfExp: ("test",), cst.BooleanOperation: ("left",), cst.Comparison: ("left",),
    cst.Await: ("expression",),
}


def always_runs(stack: Sequence[cst.CSTNode], node: cst.CSTNode) -> bool:
    """``node``, whose ancestors are ``stack`` (the module first), is evaluated whenever the
    module runs: it sits in a module-level simple statement, on a path of always-evaluated
    children."""
    if len(stack) < 3 or not isinstance(stack[0], cst.Module) or type(stack[1]) is not cst.SimpleStatementLine:
        return False
    path = list(stack[2:]) + [node]
    for parent, child in zip(path, path[1:]):
        fields = _ALWAYS.get(type(parent))
        if fields is None or not any(_holds(getattr(parent, f), child) for f in fields):
            return False
    return type(path[0]) in (cst.Expr, cst.Assign, cst.AnnAssign, cst.AugAssign)


def _holds(value: object, child: cst.CSTNode) -> bool:
    if isinstance(value, (list, tuple)):
        return any(item is child for item in value)
    return value is child


def defined_name(top: cst.CSTNode) -> Optional[str]:
    """The name a module-level ``def``/``class`` statement binds; None for other statements."""
    if isinstance(top, (cst.FunctionDef, cst.ClassDef)):
        return top.name.value
    return None


def mentioned_before(text: str, stop_line: int, name: str, definitions: int = 1) -> bool:
    """``name`` appears in the lines before ``stop_line`` other than in its own definition (a
    word search: a mention in a comment or a string counts too, which only keeps findings)."""
    before = "\n".join(text.split("\n")[: stop_line - 1])
    return len(re.findall(rf"(?<![\w.]){re.escape(name)}\b", before)) > definitions


def unreached(lines: List[int], tops: List[Optional[cst.CSTNode]], text: str, stop_line: int) -> List[bool]:
    """For reported nodes at ``lines`` within module-level statements ``tops`` (None when not
    known): whether the module never runs them because it stops at ``stop_line``."""
    out = []
    for line, top in zip(lines, tops):
        if line >= stop_line:
            out.append(True)
            continue
        name = defined_name(top) if top is not None else None
        out.append(name is not None and not mentioned_before(text, stop_line, name))
    return out
