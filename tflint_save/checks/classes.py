"""Custom Keras classes: what a class definition says about itself (``ClassFacts``: its
``__init__`` parameters, what ``get_config`` returns, what reaches ``super().__init__``) and what
the project index knows about it (its Keras bases through project classes in other files).

The class rules (TFS3xx, checks/custom.py) and the fixers beside them read these.
"""

from __future__ import annotations

import re
import weakref
from dataclasses import dataclass, replace
from typing import Dict, Iterator, List, Optional, Set, Tuple

import libcst as cst

from tflint_save import nodes
from tflint_save.analysis import Analysis
from tflint_save.engine import Context
from tflint_save.findings import ClassInfo, Facts, Pending, inner, many, named, optional
from tflint_save.index import ProjectIndex
from tflint_save.names import dotted, module_parts

LAYER = "keras.layers.Layer"
MODEL = "keras.models.Model"
SEQUENTIAL = "keras.models.Sequential"
# Bases whose get_config() is the automatic one: only these give the outcomes of C07/C19.
PLAIN_BASES = (LAYER, MODEL)
# What Layer.get_config() adds itself: TFS303's business, never a "missing argument".
BASE_KEYS = ("name", "trainable", "dtype")

# numpy names that are plain Python numbers (np.pi is a float) and numpy calls that are not.
_NUMPY_NUMBERS = {"pi", "e", "inf", "nan", "euler_gamma", "newaxis", "Inf", "NaN", "NAN", "PINF", "NINF", "infty"}
_NUMPY_OBJECTS = re.compile(
    r"^(u?int\d+|float(16|32)|bool_|complex\d*|array|asarray|zeros|ones|full|arange|linspace|eye)$"
)
# keras/tf calls that return plain values.
_PLAIN_CALLS = {"floatx", "epsilon", "image_data_format", "backend", "executing_eagerly"}
_BUILTIN_PLAIN = {"int", "float", "str", "bool"}
_PRIMITIVE_TYPES = {"str", "int", "float", "bool", "None", "NoneType"}
_CONTAINERS = {"list", "List", "tuple", "Tuple", "Sequence", "Iterable", "dict", "Dict", "Mapping", "set", "Set"}
_UNIONS = {"Optional", "Union"}
# Bases that add nothing to a Keras class's config: a class may mix them in.
_NEUTRAL_BASES = {"abc.ABC", "typing.Generic", "typing.Protocol"}
# Where a base class imported from is surely not the project (nor Keras).
_FOREIGN_ROOTS = {"tensorflow", "torch", "jax", "flax", "numpy", "abc", "typing", "enum", "collections",
                  "dataclasses", "builtins", "sklearn"}


def _code(ctx: Context, node: cst.CSTNode, limit: int = 40) -> str:
    """Source of an expression on one line (a multi-line list loses its line breaks)."""
    text = " ".join(ctx.module.code_for_node(node).split())
    text = re.sub(r"([\[({]) | ([\])}])", r"\1\2", text.replace(", )", ")").replace(", ]", "]"))
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _literal_source(node: Optional[cst.BaseExpression]) -> str:
    """A default written as a plain literal (``1.0``, ``-1``, ``'relu'``, ``None``), as written; '' otherwise."""
    if isinstance(node, cst.UnaryOperation) and isinstance(node.operator, cst.Minus):
        inner = _literal_source(node.expression)
        return "-" + inner if inner and isinstance(node.expression, (cst.Integer, cst.Float)) else ""
    if isinstance(node, (cst.Integer, cst.Float, cst.SimpleString)):
        return node.value if len(node.value) <= 30 else ""
    if isinstance(node, cst.Name) and node.value in ("True", "False", "None"):
        return node.value
    return ""


def _small_statements(block: cst.BaseSuite) -> Iterator[cst.BaseSmallStatement]:
    """The simple statements of a function body in order, into if/for/with/try, not into defs."""
    for statement in block.body:
        if isinstance(statement, cst.SimpleStatementLine):
            yield from statement.body
        elif isinstance(statement, cst.BaseSmallStatement):  # a one-line suite's body
            yield statement
        elif isinstance(statement, (cst.FunctionDef, cst.ClassDef)):
            continue
        else:
            for name in ("body", "orelse", "finalbody"):
                part = getattr(statement, name, None)
                if isinstance(part, (cst.Else, cst.Finally)):
                    part = part.body
                elif isinstance(part, cst.If):  # elif
                    yield from _small_statements(cst.IndentedBlock(body=[part]))
                    continue
                if isinstance(part, cst.BaseSuite):
                    yield from _small_statements(part)
            for handler in getattr(statement, "handlers", ()):
                yield from _small_statements(handler.body)
            for case in getattr(statement, "cases", ()):  # match
                yield from _small_statements(case.body)


# -- what get_config() returns ------------------------------------------------------------

class _Config:
    """The literal keys of a dict, whether super().get_config() went into it, and whether
    anything unknown did (then nothing can be said about the keys it lacks)."""

    def __init__(self, complete: bool = True):
        self.keys: Set[str] = set()
        self.super = False
        self.complete = complete

    def merge(self, other: "_Config") -> None:
        self.keys |= other.keys
        self.super = self.super or other.super
        self.complete = self.complete and other.complete

    def copy(self) -> "_Config":
        new = _Config(self.complete)
        new.merge(self)
        return new


def _dict_value(expr: cst.BaseExpression, env: Dict[str, _Config], depth: int = 0) -> _Config:
    value = _Config()
    if depth > 8:
        return _Config(False)
    if isinstance(expr, cst.Dict):
        for element in expr.elements:
            if isinstance(element, cst.StarredDictElement):
                value.merge(_dict_value(element.value, env, depth + 1))
            else:
                key = nodes.string(element.key)
                if key is None:
                    value.complete = False
                else:
                    value.keys.add(key)
        return value
    if isinstance(expr, cst.Name):
        return env[expr.value].copy() if expr.value in env else _Config(False)
    if isinstance(expr, cst.BinaryOperation) and isinstance(expr.operator, (cst.BitOr, cst.Add)):
        value.merge(_dict_value(expr.left, env, depth + 1))
        value.merge(_dict_value(expr.right, env, depth + 1))
        return value
    if not isinstance(expr, cst.Call):
        return _Config(False)
    if nodes.self_call(expr, "get_config"):
        value.super = True
        return value
    func = expr.func
    name = dotted(func) or []
    if name in (["dict"], ["list"], ["copy", "copy"], ["copy", "deepcopy"]):
        # dict(base, k=v), dict(list(a.items()) + list(b.items())), copy.deepcopy(config)
        for arg in expr.args:
            if arg.keyword is not None:
                value.keys.add(arg.keyword.value)
            elif arg.star == "*":
                value.complete = False
            else:
                value.merge(_dict_value(arg.value, env, depth + 1))
        return value
    if isinstance(func, cst.Attribute) and func.attr.value in ("copy", "items") and not expr.args:
        return _dict_value(func.value, env, depth + 1)
    return _Config(False)


def _names_in(node: cst.CSTNode) -> Set[str]:
    return {n.value for n in nodes.walk(node) if isinstance(n, cst.Name)}


def read_get_config(func: cst.FunctionDef) -> _Config:
    """What the returned dict surely holds, following the usual ways of building it."""
    env: Dict[str, _Config] = {}
    returned = _Config()
    returns = 0
    for small in _small_statements(func.body):
        if isinstance(small, cst.Return):
            returns += 1
            returned.merge(_dict_value(small.value, env) if small.value is not None else _Config(False))
            continue
        if isinstance(small, cst.Assign) and len(small.targets) == 1:
            target = small.targets[0].target
            if isinstance(target, cst.Name):
                env[target.value] = _dict_value(small.value, env)
                continue
            if isinstance(target, cst.Subscript) and isinstance(target.value, cst.Name) and target.value.value in env:
                key = nodes.string(target.slice[0].slice.value) if len(target.slice) == 1 and isinstance(
                    target.slice[0].slice, cst.Index) else None
                config = env[target.value.value]
                if key is None:
                    config.complete = False
                else:
                    config.keys.add(key)
                config.complete = config.complete and not (_names_in(small.value) & set(env) - {target.value.value})
                continue
        if isinstance(small, cst.AugAssign) and isinstance(small.target, cst.Name) and small.target.value in env:
            if isinstance(small.operator, cst.BitOrAssign):
                env[small.target.value].merge(_dict_value(small.value, env))
                continue
        if isinstance(small, cst.Expr) and isinstance(small.value, cst.Call):
            call = small.value
            owner = nodes.receiver(call)
            method = nodes.method_name(call)
            if isinstance(owner, cst.Name) and owner.value in env and method in ("update", "setdefault", "pop"):
                config = env[owner.value]
                if method == "update":
                    for arg in call.args:
                        if arg.keyword is not None:
                            config.keys.add(arg.keyword.value)
                        else:
                            config.merge(_dict_value(arg.value, env))
                else:
                    key = nodes.string(nodes.arg(call, 0, None))
                    if key is None:
                        config.complete = False
                    elif method == "setdefault":
                        config.keys.add(key)
                    else:
                        config.keys.discard(key)
                continue
        # Anything else that touches a dict being built may add keys we cannot see.
        for name in _names_in(small) & set(env):
            env[name].complete = False
    if not returns:
        return _Config(False)
    return returned


# -- what an __init__ parameter may hold -------------------------------------------------

def _value_kind(ctx: Context, expr: Optional[cst.BaseExpression], module_defs: Set[str], depth: int = 0) -> str:
    """'primitive' (str/int/float/bool/None or containers of them), 'bad' (known not to be),
    or 'unknown'."""
    if expr is None or depth > 4:
        return "unknown"
    if nodes.constant(expr) is not nodes.MISSING:
        return "primitive"
    if isinstance(expr, cst.Lambda):
        return "bad"
    if isinstance(expr, (cst.List, cst.Tuple, cst.Dict)):
        if isinstance(expr, cst.Dict):
            items = [e.value for e in expr.elements if isinstance(e, cst.DictElement)]
            if len(items) != len(expr.elements) or any(nodes.constant(e.key) is nodes.MISSING for e in expr.elements):
                return "unknown"
        else:
            items = [e.value for e in expr.elements if isinstance(e, cst.Element)]
            if len(items) != len(expr.elements):
                return "unknown"
        kinds = {_value_kind(ctx, item, module_defs, depth + 1) for item in items}
        return "bad" if "bad" in kinds else "primitive" if kinds <= {"primitive"} else "unknown"
    if isinstance(expr, cst.Call):
        names = ctx.names(expr.func)
        if names:
            return "bad" if all(_returns_object(n) for n in names) else "unknown"
        func = dotted(expr.func)
        if func and len(func) == 1 and func[0] in _BUILTIN_PLAIN:
            return "primitive"
        if func and len(func) == 1 and func[0] in module_defs and func[0][:1].isupper():
            return "bad"  # an instance of a class of this module
        return "unknown"
    if isinstance(expr, (cst.Name, cst.Attribute)):
        names = ctx.names(expr)
        if names:
            return "bad" if all(_is_object(n) for n in names) else "unknown"
        if isinstance(expr, cst.Name):
            if expr.value in module_defs:
                return "bad"  # a function or class of this module
            return _value_kind(ctx, ctx.value_of(expr.value), module_defs, depth + 1)
    return "unknown"


def _root(name: str) -> str:
    return name.split(".", 1)[0]


def _is_object(name: str) -> bool:
    """A TF/Keras/numpy name that is a function, class, dtype or module, not a plain number."""
    root, last = _root(name), name.rsplit(".", 1)[-1]
    if root == "numpy":
        return last not in _NUMPY_NUMBERS
    return root in ("keras", "tensorflow") and last not in ("__version__", "newaxis")


def _returns_object(name: str) -> bool:
    root, last = _root(name), name.rsplit(".", 1)[-1]
    if root == "numpy":
        return bool(_NUMPY_OBJECTS.match(last))
    if root in ("keras", "tensorflow"):
        return last not in _PLAIN_CALLS and (last[:1].isupper() or last == "get" or root == "tensorflow")
    return False


def _annotation_kind(ctx: Context, expr: cst.BaseExpression, depth: int = 0) -> str:
    """Like _value_kind, for a type annotation ('none' for None itself)."""
    if depth > 4:
        return "unknown"
    parts = dotted(expr)
    if parts:
        last = parts[-1]
        if len(parts) == 1 and last in ("None", "NoneType"):
            return "none"
        if len(parts) == 1 and last in _PRIMITIVE_TYPES:
            return "primitive"
        if last == "Callable" and (len(parts) == 1 or parts[0] in ("typing", "collections")):
            return "bad"
        names = ctx.names(expr)
        if names and all(_is_object(n) for n in names):
            return "bad"
        return "unknown"
    if isinstance(expr, cst.BinaryOperation) and isinstance(expr.operator, cst.BitOr):  # X | None
        return _alternatives([_annotation_kind(ctx, e, depth + 1) for e in (expr.left, expr.right)])
    if isinstance(expr, cst.Subscript):
        head = (dotted(expr.value) or [""])[-1]
        if head == "Callable":
            return "bad"
        kinds = [_annotation_kind(ctx, e.slice.value, depth + 1) for e in expr.slice if isinstance(e.slice, cst.Index)]
        if head in _UNIONS:
            return _alternatives(kinds)
        if head in _CONTAINERS and kinds:
            return "bad" if "bad" in kinds else "primitive" if set(kinds) <= {"primitive", "none"} else "unknown"
    return "unknown"


def _alternatives(kinds: List[str]) -> str:
    """A union is bad only when every alternative but None is (Union[str, Callable] may be a str)."""
    kinds = [k for k in kinds if k != "none"] or ["none"]
    if len(set(kinds)) == 1:
        return kinds[0]
    return "unknown"


# -- arguments that only name things ------------------------------------------------------

@dataclass(frozen=True)
class _InitFlow:
    """The assignments in ``__init__`` and the values of the class's ``name=`` arguments."""

    assigns: Tuple[Tuple[Tuple[cst.BaseExpression, ...], cst.BaseExpression], ...]
    name_args: Tuple[cst.BaseExpression, ...]


def _init_flow(cls: cst.ClassDef, init: cst.FunctionDef) -> _InitFlow:
    assigns = []
    for node in nodes.walk(init.body):
        if isinstance(node, cst.Assign):
            assigns.append((tuple(t.target for t in node.targets), node.value))
        elif isinstance(node, (cst.AnnAssign, cst.AugAssign)) and node.value is not None:
            assigns.append(((node.target,), node.value))
    name_args = tuple(node.value for node in nodes.walk(cls) if isinstance(node, cst.Arg)
                      and node.keyword is not None and node.keyword.value == "name")
    return _InitFlow(tuple(assigns), name_args)


def _only_names(cls: cst.ClassDef, init: cst.FunctionDef, flow: _InitFlow, param: str) -> bool:
    """The ``__init__`` parameter only names what the layer builds: its value reaches nothing but
    ``name=`` arguments of calls (``Dense(8, name=prefix + "q")``), directly or through local
    variables and ``self`` attributes that are used only that way.

    Such a value is not state: Keras restores weights by attribute path (``.keras``), by position
    (``.h5``) or by the object graph (a Keras 2 SavedModel), never by a sub-layer's name, so a
    layer rebuilt with the default name prefix predicts the same (run on TF 2.21/Keras 3.15 and
    TF 2.15/Keras 2.15: .keras, .h5 and SavedModel reload with the same predictions, the
    sub-layers named 'q' instead of 'first_q'). ``super().__init__(name=...)`` is not naming
    only: the config's own 'name' then collides with it on reload.

    ``flow`` holds what the class says once for all its parameters (found by one walk each)."""
    if not flow.name_args:
        return False  # nothing is named with anything: nothing says a value is not state
    locals_ = {param}
    attrs: Set[str] = set()
    assigns = flow.assigns
    changed = True
    while changed:  # what the parameter flows into, by assignment
        changed = False
        for targets, value in assigns:
            if not _mentions(value, locals_, attrs):
                continue
            if not _text_expr(value):
                return False  # handed to a call, indexed...: it may be state
            for target in targets:
                if isinstance(target, cst.Name) and target.value not in locals_:
                    locals_.add(target.value)
                    changed = True
                elif _self_attr(target) and target.attr.value not in attrs:
                    attrs.add(target.attr.value)
                    changed = True
                elif not isinstance(target, cst.Name) and not _self_attr(target):
                    return False  # unpacked or stored in a container: followed no further
    flows = {id(value) for targets, value in assigns if _mentions(value, locals_, attrs)}
    named = any(_mentions(value, locals_, attrs) for value in flow.name_args)
    if not named:
        return False  # stored and never used to name anything: nothing says it is not state
    for method in nodes.methods(cls).values():
        names = locals_ if method is init else set()
        if not _uses_only_name(method.body, names, attrs, flows, inside=False):
            return False
    body = cls.body.body if isinstance(cls.body, cst.IndentedBlock) else ()
    return all(isinstance(s, cst.FunctionDef) or _uses_only_name(s, set(), attrs, flows, False) for s in body)


_TEXT_NODES = (cst.Name, cst.SimpleString, cst.ConcatenatedString, cst.FormattedString,
               cst.FormattedStringExpression, cst.FormattedStringText, cst.BinaryOperation, cst.IfExp,
               cst.Comparison, cst.ComparisonTarget, cst.Integer, cst.BaseBinaryOp, cst.BaseCompOp)


def _text_expr(expr: cst.CSTNode) -> bool:
    """An expression that computes a name from names: concatenation, formatting, a conditional."""
    if _self_attr(expr):
        return True
    return isinstance(expr, _TEXT_NODES) and all(_text_expr(c) for c in nodes.children(expr))


def _self_attr(node: cst.CSTNode) -> bool:
    return (isinstance(node, cst.Attribute) and isinstance(node.value, cst.Name) and node.value.value == "self")


def _mentions(expr: cst.CSTNode, names: Set[str], attrs: Set[str]) -> bool:
    return not _uses_only_name(expr, names, attrs, set(), inside=False)


def _uses_only_name(node: cst.CSTNode, names: Set[str], attrs: Set[str], flows: Set[int], inside: bool) -> bool:
    """No use of the names or self attributes below ``node`` other than inside a ``name=`` argument
    (``inside``), an assignment value that flows on (``flows``) or an assignment target."""
    if id(node) in flows:
        return True
    if _self_attr(node):
        return inside or node.attr.value not in attrs
    if isinstance(node, cst.Name):
        return inside or node.value not in names
    if isinstance(node, cst.Attribute):  # x.attr: the attribute's name is not a use of a variable
        return _uses_only_name(node.value, names, attrs, flows, inside)
    if isinstance(node, cst.Call):
        if not _uses_only_name(node.func, names, attrs, flows, inside):
            return False
        naming_call = not (isinstance(node.func, cst.Attribute) and node.func.attr.value == "__init__")
        return all(_uses_only_name(a.value, names, attrs, flows, inside or (
            naming_call and a.keyword is not None and a.keyword.value == "name")) for a in node.args)
    if isinstance(node, cst.Assign):
        return (all(_target_ok(t.target, names, attrs, flows, inside) for t in node.targets)
                and _uses_only_name(node.value, names, attrs, flows, inside))
    if isinstance(node, (cst.AnnAssign, cst.AugAssign)):
        return (_target_ok(node.target, names, attrs, flows, inside) and (
            node.value is None or _uses_only_name(node.value, names, attrs, flows, inside)))
    if isinstance(node, cst.Param):  # a parameter's own name, not a use of it
        return node.default is None or _uses_only_name(node.default, names, attrs, flows, inside)
    if isinstance(node, cst.Arg):
        return _uses_only_name(node.value, names, attrs, flows, inside)
    return all(_uses_only_name(c, names, attrs, flows, inside) for c in nodes.children(node))


def _target_ok(target: cst.BaseExpression, names: Set[str], attrs: Set[str], flows: Set[int], inside: bool) -> bool:
    if isinstance(target, cst.Name) or _self_attr(target):
        return True  # a store, not a use
    return _uses_only_name(target, names, attrs, flows, inside)


# -- one class, as its own definition tells -----------------------------------------------

class ClassFacts:
    """What a class definition says about itself; its bases are judged later, in resolve."""

    def __init__(self, ctx: Context, node: cst.ClassDef, module_defs: Set[str]):
        self.node = node
        self.name = node.name.value
        self.key = ".".join(tuple(module_parts(ctx.path)) + (self.name,))
        self.keras = ctx.keras
        methods = nodes.methods(node)
        self.init = methods.get("__init__")
        self.get_config = methods.get("get_config")
        self.config_read = read_get_config(self.get_config) if self.get_config is not None else None
        self.positional: List[str] = []
        self.params: List[Param] = []
        self.kwargs = False
        self.kwargs_dropped = False
        self.super_names: Set[str] = set()
        self.functional = False
        self.call_args = ""
        self.maybe_model, self.maybe_keras = self._read_bases(ctx, node)
        if self.init is not None and self.maybe_keras:
            self._read_init(ctx, node, self.init, module_defs)

    @staticmethod
    def _read_bases(ctx: Context, node: cst.ClassDef) -> Tuple[bool, bool]:
        """Whether the class may be a Model, and may be a Keras class at all, by its direct bases
        (a base that is not a Keras import may be a project class, and so lead to anything)."""
        model = keras = False
        for arg in node.bases:
            if arg.keyword is not None or arg.star:
                continue
            names = ctx.names(arg.value)
            if not names or any(_root(n) not in _FOREIGN_ROOTS and not n.startswith("keras.") for n in names):
                return True, True
            keras = keras or any(n.startswith("keras.") for n in names)
            model = model or any(n.startswith("keras.models.") for n in names)
        return model, keras

    def _read_init(self, ctx: Context, node_of_class: cst.ClassDef, init: cst.FunctionDef,
                   module_defs: Set[str]) -> None:
        params = init.params
        positional = list(params.posonly_params) + list(params.params)
        self.positional = [p.name.value for p in positional[1:]]
        flow = None
        # Whether an argument only names things matters to TFS302 alone: for an argument that
        # get_config() leaves out of a config it surely builds.
        read = self.config_read
        left_out = set() if read is None or not read.complete else (
            {p.name.value for p in positional[1:] + list(params.kwonly_params)}
            - set(read.keys) - set(BASE_KEYS) - {"weights"})
        for param in positional[1:] + list(params.kwonly_params):
            default = annotation = ""
            if param.default is not None and _value_kind(ctx, param.default, module_defs) == "bad":
                default = f"defaults to {_code(ctx, param.default)}"
            if param.annotation is not None and _annotation_kind(ctx, param.annotation.annotation) == "bad":
                annotation = f"is annotated {_code(ctx, param.annotation.annotation)}"
            naming = False
            if param.default is not None and param.name.value in left_out:
                flow = flow or _init_flow(node_of_class, init)
                naming = _only_names(node_of_class, init, flow, param.name.value)
            self.params.append(Param(param.name.value, param.default is None, param in params.kwonly_params,
                                     default, annotation, literal=_literal_source(param.default), naming=naming))
        body = list(nodes.walk(init.body))
        objects = _used_as_objects(init, body, {p.name for p in self.params})
        self.params = [replace(p, used=True) if p.name in objects else p for p in self.params]
        kwargs = params.star_kwarg.name.value if params.star_kwarg is not None else None
        self.kwargs = kwargs is not None
        forwarded = super_init = False
        names: Set[str] = set()
        for node in body:
            if isinstance(node, cst.Name):
                names.add(node.value)
            elif isinstance(node, cst.Call) and nodes.self_call(node, "__init__"):
                super_init = True
                args = node.args if isinstance(node.func.value, cst.Call) else node.args[1:]
                for arg in args:
                    forwarded = forwarded or bool(arg.star)
                    self.super_names |= _names_in(arg.value)
                keywords = {a.keyword.value for a in args if a.keyword is not None}
                positional_count = sum(1 for a in args if a.keyword is None and not a.star)
                self.functional = self.functional or bool(keywords & {"inputs", "outputs"}) or positional_count >= 2
        if kwargs is not None and super_init and not forwarded:
            self.kwargs_dropped = kwargs not in names

    def call_site(self, ctx: Context, call: cst.Call, module_defs: Set[str]) -> None:
        """Arguments seen where the class is built: for --verify, and values Keras cannot record."""
        if not call.args:
            return
        if not self.call_args:
            self.call_args = nodes.call_args(ctx.module, call)
        by_name = {p.name: i for i, p in enumerate(self.params)}
        index = 0
        for arg in call.args:
            if arg.star:
                break
            name = arg.keyword.value if arg.keyword is not None else (
                self.positional[index] if index < len(self.positional) else None)
            if arg.keyword is None:
                index += 1
            i = by_name.get(name)
            param = self.params[i] if i is not None else None
            if param is not None and not param.call and _value_kind(ctx, arg.value, module_defs) == "bad":
                self.params[i] = replace(param, call=f"is given {_code(ctx, arg.value)} where {self.name} is built")

    def data(self) -> "CustomClass":
        config = None
        read = self.config_read
        if read is not None and self.get_config is not None:
            uses_super = any(isinstance(n, cst.Call) and nodes.self_call(n, "get_config")
                             for n in nodes.walk(self.get_config.body))
            config = ConfigKeys(tuple(sorted(read.keys)), uses_super, read.complete and read.super == uses_super)
        return CustomClass(
            self.name, self.call_args, self.key, self.keras, self.init is not None,
            tuple(self.params), self.kwargs, self.kwargs_dropped,
            tuple(sorted(self.super_names)), self.functional, config,
        )


# -- the facts of a class finding (TFS301-TFS304), for --fix and --verify -------------------

@dataclass(frozen=True, eq=False)
class Param(Facts):
    """An ``__init__`` parameter, and why Keras cannot record its value ('' when it can)."""

    name: str = ""
    required: bool = False
    keyword_only: bool = False
    default: str = ""  # "defaults to <a function or object>"
    annotation: str = ""  # "is annotated <a callable or object type>"
    call: str = ""  # "is given <a function or object> where <the class> is built"
    literal: str = ""  # the default as written when it is a plain literal ("1.0", "'relu'"), for TFS302
    naming: bool = False  # its value only names sub-layers or weights (name=...): for TFS302, not state
    # __init__ reads an attribute of it or calls it (config.units, activation_fn(x)): an object, which
    # Keras 3's automatic config cannot record (get_config() raises NotImplementedError at the save).
    used: bool = False


# What an argument Keras can record (a str, a number, or a list, tuple or dict of them) may be
# asked in __init__: io_config.copy() is no sign of an object.
_PLAIN_METHODS = frozenset(name for kind in (str, int, float, list, tuple, dict) for name in dir(kind)
                           if not name.startswith("_"))


# Annotations of values Keras's automatic config records (and of containers, left to their items).
_PLAIN_TYPES = frozenset(_PRIMITIVE_TYPES | _CONTAINERS | {"Any", "object"})


def _used_as_objects(init: cst.FunctionDef, body: List[cst.CSTNode], params: Set[str]) -> Set[str]:
    """The parameters __init__ (``body``: the nodes of its body) treats as objects: annotated with
    a class (``config: ModelConfig``, not int/str/... nor a subscripted type), or whose attributes
    it reads (not a method of str, a number, a list or a dict), also once kept on self (``self._config = config``, then
    ``self._config.units``), or that it calls."""
    found: Set[str] = set()
    every = list(init.params.posonly_params) + list(init.params.params) + list(init.params.kwonly_params)
    for param in every:
        annotation = param.annotation.annotation if param.annotation is not None else None
        if param.name.value in params and isinstance(annotation, (cst.Name, cst.Attribute)):
            if nodes.last_name(annotation) not in _PLAIN_TYPES:
                found.add(param.name.value)
    kept: Dict[str, str] = {}  # self.<attribute> -> the parameter assigned to it
    for node in body:
        if isinstance(node, cst.Assign) and isinstance(node.value, cst.Name) and node.value.value in params:
            for target in node.targets:
                attribute = target.target
                if isinstance(attribute, cst.Attribute) and isinstance(attribute.value, cst.Name) \
                        and attribute.value.value == "self":
                    kept[attribute.attr.value] = node.value.value
    for node in body:
        if isinstance(node, cst.Attribute) and node.attr.value not in _PLAIN_METHODS:
            held = node.value
            if isinstance(held, cst.Name) and held.value in params:
                found.add(held.value)
            elif isinstance(held, cst.Attribute) and isinstance(held.value, cst.Name) and held.value.value == "self" \
                    and held.attr.value in kept:
                found.add(kept[held.attr.value])
        elif isinstance(node, cst.Call) and isinstance(node.func, cst.Name) and node.func.value in params:
            found.add(node.func.value)
    return found


@dataclass(frozen=True, eq=False)
class ConfigKeys(Facts):
    """What get_config() surely returns: its literal keys, whether it starts from
    super().get_config(), and whether nothing unknown goes into it."""

    keys: Tuple[str, ...] = many()
    super: bool = False
    complete: bool = False


@dataclass(frozen=True, eq=False)
class CustomClass(Facts):
    """What a class definition says about itself, as the class rules defer it."""

    class_: str = named("class", "")
    call_args: str = ""  # where the module builds it: for --verify
    key: str = ""  # module path and name: the project index's key
    keras: int = 3
    has_init: bool = False
    params: Tuple[Param, ...] = many(Param)
    kwargs: bool = False
    kwargs_dropped: bool = False  # takes **kwargs and never passes them to super().__init__()
    super_names: Tuple[str, ...] = many()  # every name passed to super().__init__()
    functional: bool = False
    get_config: Optional[ConfigKeys] = inner(ConfigKeys)
    missing: Optional[Tuple[str, ...]] = optional()  # TFS302: set by resolve


class FileClasses(Analysis):
    """The facts of every class of the file that may be a Keras class, gathered in the walk: a
    shared analysis, read by the class rules (TFS3xx)."""

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.classes: List[ClassFacts] = []
        self.by_name: Dict[str, ClassFacts] = {}
        self.module_defs: Set[str] = set()
        self.data: Dict[int, CustomClass] = {}

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        ctx = self.ctx
        if not ctx.classes and not ctx.functions:
            self.module_defs.add(node.name.value)

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        ctx = self.ctx
        if not ctx.classes and not ctx.functions:
            self.module_defs.add(node.name.value)

    def leave_ClassDef(self, node: cst.ClassDef) -> None:
        if not node.bases:
            return
        facts = ClassFacts(self.ctx, node, self.module_defs)
        if facts.maybe_keras and (facts.init is not None or facts.get_config is not None):
            self.classes.append(facts)
            self.by_name[facts.name] = facts

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        if not isinstance(func, cst.Name):
            return
        facts = self.by_name.get(func.value)
        if facts is not None and not self.ctx.raw_names(func):
            facts.call_site(self.ctx, node, self.module_defs)

    def data_of(self, facts: ClassFacts) -> CustomClass:
        if id(facts) not in self.data:
            self.data[id(facts)] = facts.data()
        return self.data[id(facts)]


# -- what the project knows about a class --------------------------------------------------

def custom_class(pending: Pending, project: ProjectIndex, kinds=("layer", "model"), reached: bool = True
                 ) -> Optional[ClassInfo]:
    """The class a deferred finding is about, when it is a custom Keras class of ``kinds`` and (for
    the config rules, ``reached``) a failure of its config can happen: the class reaches a save or
    serialization in some program, or is public API of a library (see ProjectIndex.reached)."""
    info = project.find(getattr(pending.data, "key", ""))
    if info is None or not project.kinds(info) & set(kinds):
        return None
    if reached and not project.reached(info, getattr(pending.data, "keras", 3)):
        return None
    return info


def keras_bases(info: ClassInfo, project: ProjectIndex) -> Optional[Set[str]]:
    """The Keras classes a class derives from through the project's own classes; None when some
    base is neither (a class from another library may define anything)."""
    found: Set[str] = set()
    for cls in [info] + project.ancestors(info):
        for candidates in cls.bases:
            known = {b for b in candidates if b.startswith("keras.")}
            if known:
                found |= known
            elif not any(b in _NEUTRAL_BASES or b.endswith(".object") or project.lookup(b) for b in candidates):
                return None
    return found


def _single_base(info: ClassInfo, project: ProjectIndex):
    """The one base of a class: a Keras name, a project ClassInfo, or None."""
    if len(info.bases) != 1:
        return None
    candidates = info.bases[0]
    known = [b for b in candidates if b.startswith("keras.")]
    if known:
        return known[0] if len(known) == 1 else None
    found = [c for b in candidates for c in project.lookup(b) if c.key != info.key]
    return found[0] if len(found) == 1 else None


_SUBCLASSED: "weakref.WeakKeyDictionary[ProjectIndex, Set[str]]" = weakref.WeakKeyDictionary()


def abstract_base(info: ClassInfo, project: ProjectIndex) -> bool:
    """A base class the project subclasses and never builds itself (BaseConv takes the 'rank'
    its subclasses pass): only its subclasses are ever saved."""
    subclassed = _SUBCLASSED.get(project)
    if subclassed is None:
        subclassed = _SUBCLASSED[project] = {
            parent.key for cls in project.classes.values() for candidates in cls.bases
            for base in candidates if not base.startswith("keras.") for parent in project.lookup(base)
            if parent.key != cls.key
        }
    return info.key in subclassed and not project.instantiated(info)


def noted_facts(project: ProjectIndex, code: str, key: str) -> Optional["CustomClass"]:
    found = project.deferred(code, key)
    return found[0] if len(found) == 1 else None


def _config_keys(info: ClassInfo, project: ProjectIndex, code: str, depth: int = 0) -> Optional[Set[str]]:
    """The keys the class's get_config() surely returns; None when they cannot be known."""
    if depth > 12:
        return None
    if "get_config" in info.methods:
        noted = noted_facts(project, code, info.key)
        config = noted.get_config if noted is not None else None
        if not config or not config.complete:
            return None
        keys = set(config.keys)
        if config.super:
            above = super_keys(info, project, code, depth)
            if above is None:
                return None
            keys |= above
        return keys
    return super_keys(info, project, code, depth)


def super_keys(info: ClassInfo, project: ProjectIndex, code: str, depth: int) -> Optional[Set[str]]:
    parent = _single_base(info, project)
    if isinstance(parent, str):
        # A built-in layer's get_config records its own arguments, read from attributes we cannot see.
        return set(BASE_KEYS) if parent in PLAIN_BASES else None
    if parent is None:
        return None
    return _config_keys(parent, project, code, depth + 1)
