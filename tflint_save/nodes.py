"""Small questions rules ask about libcst nodes: arguments, literal values, receivers."""

from __future__ import annotations

import dataclasses
import re
from typing import Dict, Iterator, List, Optional, Tuple

import libcst as cst

from tflint_save.names import dotted

MISSING = object()


def last_name(node: cst.BaseExpression) -> Optional[str]:
    """``a.b.fit`` -> 'fit'; ``fit`` -> 'fit'; None for anything else."""
    if isinstance(node, cst.Attribute):
        return node.attr.value
    if isinstance(node, cst.Name):
        return node.value
    return None


def method_name(call: cst.Call) -> Optional[str]:
    """``x.fit(...)`` -> 'fit'; ``fit(...)`` -> 'fit'."""
    return last_name(call.func)


def receiver(call: cst.Call) -> Optional[cst.BaseExpression]:
    """The object a method is called on: ``model`` in ``model.fit(...)``."""
    return call.func.value if isinstance(call.func, cst.Attribute) else None


def arg(call: cst.Call, position: Optional[int], keyword: Optional[str]) -> Optional[cst.BaseExpression]:
    """The value passed for a parameter, by keyword or by position (None when absent).

    Positions count only plain positional arguments before any ``*args``.
    """
    index = 0
    for a in call.args:
        if a.keyword is not None:
            if keyword is not None and a.keyword.value == keyword:
                return a.value
            continue
        if a.star:
            break
        if position is not None and index == position:
            return a.value
        index += 1
    return None


def has_keyword(call: cst.Call, keyword: str) -> bool:
    return any(a.keyword is not None and a.keyword.value == keyword for a in call.args) or any(
        a.star == "**" for a in call.args
    )


def string(node: Optional[cst.BaseExpression]) -> Optional[str]:
    """The value of a plain string literal (also implicit concatenation), else None."""
    if isinstance(node, cst.SimpleString):
        value = node.evaluated_value
        return value if isinstance(value, str) else None
    if isinstance(node, cst.ConcatenatedString):
        left, right = string(node.left), string(node.right)
        if left is not None and right is not None:
            return left + right
    return None


def constant(node: Optional[cst.BaseExpression]):
    """True/False/None, a number, or a string literal; MISSING for anything else."""
    if isinstance(node, cst.Name) and node.value in ("True", "False", "None"):
        return {"True": True, "False": False, "None": None}[node.value]
    if isinstance(node, cst.Integer):
        return int(node.value.replace("_", ""), 0) if not node.value.startswith("0") or node.value == "0" or node.value[1:2] in "xXoObB" else MISSING
    if isinstance(node, cst.Float):
        return float(node.value.replace("_", ""))
    if isinstance(node, cst.UnaryOperation) and isinstance(node.operator, cst.Minus):
        value = constant(node.expression)
        return -value if isinstance(value, (int, float)) and not isinstance(value, bool) else MISSING
    value = string(node)
    return MISSING if value is None else value


# Fields that hold only whitespace, punctuation or operators: never worth descending into.
_SKIP_FIELD = re.compile(
    r"^(whitespace.*|lpar|rpar|lbracket|rbracket|lbrace|rbrace|comma|semicolon|colon|dot|"
    r"equal|star|operator|leading_lines|lines_after_decorators|header|footer|newline|"
    r"trailing_whitespace|asynchronous|first_line|empty_lines)$"
)
_WALK_INFO: Dict[type, Tuple[Tuple[str, ...], bool]] = {}
# isinstance() against libcst's abstract base classes goes through ABCMeta.__instancecheck__ for
# every node and field value the walk meets: ask once per type instead.
IS_NODE: Dict[type, bool] = {}


def walk_info(cls: type) -> Tuple[Tuple[str, ...], bool]:
    """The fields of a node type worth descending into, and whether it is a statement."""
    found = _WALK_INFO.get(cls)
    if found is None:
        # dataclasses.fields() leaves out the ClassVar ``__slots__`` that __dataclass_fields__
        # lists (a tuple of strings the walk would step through on every node); a field
        # declared ``str`` (Name.value, Integer.value...) never holds a node.
        found = (tuple(f.name for f in dataclasses.fields(cls) if f.type not in (str, "str")
                       and not _SKIP_FIELD.match(f.name)),
                 issubclass(cls, (cst.SimpleStatementLine, cst.BaseCompoundStatement)))
        _WALK_INFO[cls] = found
    return found


def is_node(cls: type) -> bool:
    known = IS_NODE.get(cls)
    if known is None:
        known = IS_NODE[cls] = issubclass(cls, cst.CSTNode)
    return known


def children(node: cst.CSTNode) -> List[cst.CSTNode]:
    """A node's children in source order, through the fields the walk follows (libcst's
    ``.children`` also yields whitespace and punctuation and rebuilds each list)."""
    found: List[cst.CSTNode] = []
    for name in walk_info(type(node))[0]:
        value = getattr(node, name)
        kind = type(value)
        if kind is tuple or kind is list:
            found.extend(child for child in value if is_node(type(child)))
        elif is_node(kind):
            found.append(value)
    return found


def walk(node: cst.CSTNode, into_defs: bool = True) -> Iterator[cst.CSTNode]:
    """Every node below ``node``, in source order (for small subtrees only: rules must not
    re-walk files); with ``into_defs=False``, not below the functions, lambdas and classes
    defined inside it."""
    todo = [node]
    while todo:
        current = todo.pop()
        yield current
        if into_defs or current is node or not isinstance(current, (cst.FunctionDef, cst.ClassDef, cst.Lambda)):
            todo.extend(reversed(children(current)))


def methods(cls: cst.ClassDef) -> Dict[str, cst.FunctionDef]:
    """The functions defined directly in a class body, by name (the last one of a name wins)."""
    body = cls.body.body if isinstance(cls.body, cst.IndentedBlock) else ()
    return {s.name.value: s for s in body if isinstance(s, cst.FunctionDef)}


def self_call(call: cst.Call, method: str) -> bool:
    """``super().m(...)``, ``super(C, self).m(...)`` or ``Base.m(self, ...)``."""
    func = call.func
    if not isinstance(func, cst.Attribute) or func.attr.value != method:
        return False
    owner = func.value
    if isinstance(owner, cst.Call):
        return isinstance(owner.func, cst.Name) and owner.func.value == "super"
    if dotted(owner) and call.args and not call.args[0].keyword and not call.args[0].star:
        first = call.args[0].value
        return isinstance(first, cst.Name) and first.value == "self"
    return False


def call_args(module: cst.Module, call: cst.Call) -> str:
    """The arguments of a call as source text (``16, activation="relu"``): what --verify builds
    the user's object with."""
    return ", ".join(
        (f"{a.keyword.value}=" if a.keyword is not None else a.star) + module.code_for_node(a.value)
        for a in call.args
    )


_MODEL_NAME = re.compile(
    r"(?i)(^|_)(model|models|net|network|classifier|regressor|autoencoder|vae|gan|generator|"
    r"discriminator|critic|actor|transformer|unet|resnet|cnn|rnn|lstm|mlp|keras_model|teacher|student)"
    r"(_?\d+)?($|_)"
)
_MODEL_FACTORIES = (
    "keras.models.Sequential",
    "keras.models.Model",
    "keras.saving.load_model",
    "keras.models.clone_model",
)


def model_like(node: Optional[cst.BaseExpression], ctx) -> bool:
    """Whether an expression is (by construction or, failing that, by name) a Keras model."""
    if node is None:
        return False
    if isinstance(node, cst.Attribute):
        # self.model in callbacks; trainer.model; self.generator...
        return bool(_MODEL_NAME.search(node.attr.value))
    if isinstance(node, cst.Call):
        return _makes_model(ctx.names(node.func))
    if not isinstance(node, cst.Name):
        return False
    value = ctx.value_of(node.value)
    if isinstance(value, cst.Call):
        names = ctx.names(value.func)
        if names:  # a model factory, else a known non-model API (tf.train.Checkpoint, np.load...)
            return _makes_model(names)
        if isinstance(value.func, cst.Name) and ctx.resolver.other_star_imports \
                and value.func.value not in defined_here(ctx):
            # From a star import of another library (fastai's unet_learner): unknown, not a model
            return False
        called = (dotted(value.func) or [""])[-1]
        if re.search(r"(?i)model|net", called):
            return True
    return bool(_MODEL_NAME.search(node.value))


def defined_here(ctx) -> frozenset:
    """The names the module defines outside functions (defs, classes, assignments); read once
    per file, and only for files that star-import another library."""
    resolver = ctx.resolver
    if resolver.definitions is None:
        found = set()
        for node in walk(ctx.module, into_defs=False):
            if isinstance(node, (cst.FunctionDef, cst.ClassDef)):
                found.add(node.name.value)
            elif isinstance(node, cst.AssignTarget) and isinstance(node.target, cst.Name):
                found.add(node.target.value)
        resolver.definitions = frozenset(found)
    return resolver.definitions


def _makes_model(names) -> bool:
    return any(n in _MODEL_FACTORIES or n.startswith("keras.applications.") for n in names)
