"""Custom layers and models: get_config, **kwargs, untracked variables, HDF5 and Lambda saving (TFS3xx).

A class is a custom Layer or Model only once every file is indexed (its base may be a project
class in another file), so the class rules gather what the class itself says while the file is
walked (its ``__init__`` parameters, what ``get_config`` returns...), defer one finding per class
with those facts as data, and decide in ``resolve``.  The deferred data of a class also serves its
subclasses: ``ProjectIndex.deferred`` hands a rule what it noted about a base class in its file.
"""

from __future__ import annotations

import re
import weakref
from typing import Any, Dict, Iterator, List, Optional, Set, Tuple

import libcst as cst

from tflint_save import nodes
from tflint_save.checks.saving import names_if
from tflint_save.engine import Context, Rule
from tflint_save.findings import ClassInfo, Pending
from tflint_save.index import ProjectIndex
from tflint_save.names import dotted, module_parts

LAYER = "keras.layers.Layer"
MODEL = "keras.models.Model"
SEQUENTIAL = "keras.models.Sequential"
# Bases whose get_config() is the automatic one: only these give the outcomes of C07/C19.
PLAIN_BASES = (LAYER, MODEL)
# What Layer.get_config() adds itself: TFS303's business, never a "missing argument".
BASE_KEYS = ("name", "trainable", "dtype")
# What reloading does without each of them (C08).
_LOST = {"name": "the name changes", "trainable": "a frozen layer (trainable=False) reloads as trainable",
         "dtype": "a float64 one reloads as float32"}
TF_VARIABLES = ("tensorflow.Variable", "tensorflow.compat.v1.Variable", "tensorflow.compat.v2.Variable")
SAVE_MODEL = "keras.saving.save_model"
MODEL_CHECKPOINT = "keras.callbacks.ModelCheckpoint"
LAMBDA_LAYER = "keras.layers.Lambda"
H5 = (".h5", ".hdf5", ".he5")

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
        self.positional: List[str] = []
        self.params: List[Dict[str, Any]] = []
        self.kwargs = False
        self.kwargs_dropped = False
        self.super_names: Set[str] = set()
        self.functional = False
        self.call_args = ""
        self.maybe_model, self.maybe_keras = self._read_bases(ctx, node)
        if self.init is not None and self.maybe_keras:
            self._read_init(ctx, self.init, module_defs)

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

    def _read_init(self, ctx: Context, init: cst.FunctionDef, module_defs: Set[str]) -> None:
        params = init.params
        positional = list(params.posonly_params) + list(params.params)
        self.positional = [p.name.value for p in positional[1:]]
        for param in positional[1:] + list(params.kwonly_params):
            entry = {"name": param.name.value, "required": param.default is None,
                     "keyword_only": param in params.kwonly_params, "default": "", "annotation": "", "call": ""}
            if param.default is not None and _value_kind(ctx, param.default, module_defs) == "bad":
                entry["default"] = f"defaults to {_code(ctx, param.default)}"
            if param.annotation is not None and _annotation_kind(ctx, param.annotation.annotation) == "bad":
                entry["annotation"] = f"is annotated {_code(ctx, param.annotation.annotation)}"
            self.params.append(entry)
        kwargs = params.star_kwarg.name.value if params.star_kwarg is not None else None
        self.kwargs = kwargs is not None
        forwarded = super_init = False
        names: Set[str] = set()
        for node in nodes.walk(init.body):
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
        by_name = {p["name"]: p for p in self.params}
        index = 0
        for arg in call.args:
            if arg.star:
                break
            name = arg.keyword.value if arg.keyword is not None else (
                self.positional[index] if index < len(self.positional) else None)
            if arg.keyword is None:
                index += 1
            param = by_name.get(name)
            if param is not None and not param["call"] and _value_kind(ctx, arg.value, module_defs) == "bad":
                param["call"] = f"is given {_code(ctx, arg.value)} where {self.name} is built"

    def data(self) -> Dict[str, Any]:
        config = None
        if self.get_config is not None:
            read = read_get_config(self.get_config)
            uses_super = any(isinstance(n, cst.Call) and nodes.self_call(n, "get_config")
                             for n in nodes.walk(self.get_config.body))
            config = {"keys": sorted(read.keys), "super": uses_super,
                      "complete": read.complete and read.super == uses_super}
        return {
            "class": self.name, "call_args": self.call_args, "key": self.key, "keras": self.keras,
            "has_init": self.init is not None, "params": self.params, "kwargs": self.kwargs,
            "kwargs_dropped": self.kwargs_dropped, "super_names": sorted(self.super_names),
            "functional": self.functional, "get_config": config,
        }


class _FileState:
    """The class facts of one file, gathered once however many of the class rules run."""

    def __init__(self) -> None:
        self.classes: List[ClassFacts] = []
        self.by_name: Dict[str, ClassFacts] = {}
        self.module_defs: Set[str] = set()
        self.data: Dict[int, Dict[str, Any]] = {}
        self._last: Tuple[int, str] = (0, "")

    def first(self, node: cst.CSTNode, event: str) -> bool:
        """True for the first rule to see this event: the handlers of all rules run back to back."""
        mark = (id(node), event)
        if self._last == mark:
            return False
        self._last = mark
        return True

    def data_of(self, facts: ClassFacts) -> Dict[str, Any]:
        if id(facts) not in self.data:
            self.data[id(facts)] = facts.data()
        return self.data[id(facts)]


def _state(ctx: Context) -> _FileState:
    state = ctx.shared.get("custom classes")
    if state is None:
        state = ctx.shared["custom classes"] = _FileState()
    return state


class ClassRule(Rule):
    """Base of the rules that judge a class definition: gather in the walk, defer, resolve."""

    def __init__(self, ctx: Context):
        super().__init__(ctx)
        self.state = _state(ctx)

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        ctx = self.ctx
        if not ctx.classes and not ctx.functions:
            self.state.module_defs.add(node.name.value)

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        ctx = self.ctx
        if not ctx.classes and not ctx.functions:
            self.state.module_defs.add(node.name.value)

    def leave_ClassDef(self, node: cst.ClassDef) -> None:
        state = self.state
        if not node.bases or not state.first(node, "leave"):
            return
        facts = ClassFacts(self.ctx, node, state.module_defs)
        if facts.maybe_keras and (facts.init is not None or facts.get_config is not None):
            state.classes.append(facts)
            state.by_name[facts.name] = facts

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        if not isinstance(func, cst.Name):
            return
        state = self.state
        facts = state.by_name.get(func.value)
        if facts is not None and state.first(node, "call") and not self.ctx.raw_names(func):
            facts.call_site(self.ctx, node, state.module_defs)

    def finish(self) -> None:
        state = self.state
        for facts in state.classes:
            data = state.data_of(facts)
            where = self.where(facts, data)
            if where is not None:
                self.ctx.defer(where, self.code, dict(data))

    def where(self, facts: ClassFacts, data: Dict[str, Any]) -> Optional[cst.CSTNode]:
        """The node a finding about this class goes on; None when the class can give this rule
        neither a finding nor a fact its subclasses need (each deferral costs the file the
        computation of positions)."""
        return facts.node


# -- what the project knows about a class --------------------------------------------------

def _custom(pending: Pending, project: ProjectIndex, kinds=("layer", "model")) -> Optional[ClassInfo]:
    info = project.find(pending.data.get("key", ""))
    if info is None or not project.kinds(info) & set(kinds):
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


def _noted(project: ProjectIndex, code: str, key: str) -> Optional[Dict[str, Any]]:
    found = project.deferred(code, key)
    return found[0] if len(found) == 1 else None


def _config_keys(info: ClassInfo, project: ProjectIndex, code: str, depth: int = 0) -> Optional[Set[str]]:
    """The keys the class's get_config() surely returns; None when they cannot be known."""
    if depth > 12:
        return None
    if "get_config" in info.methods:
        noted = _noted(project, code, info.key)
        config = noted and noted.get("get_config")
        if not config or not config["complete"]:
            return None
        keys = set(config["keys"])
        if config["super"]:
            above = _super_keys(info, project, code, depth)
            if above is None:
                return None
            keys |= above
        return keys
    return _super_keys(info, project, code, depth)


def _super_keys(info: ClassInfo, project: ProjectIndex, code: str, depth: int) -> Optional[Set[str]]:
    parent = _single_base(info, project)
    if isinstance(parent, str):
        # A built-in layer's get_config records its own arguments, read from attributes we cannot see.
        return set(BASE_KEYS) if parent in PLAIN_BASES else None
    if parent is None:
        return None
    return _config_keys(parent, project, code, depth + 1)


def _quoted(names: List[str]) -> str:
    quoted = [f"'{n}'" for n in names]
    return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " and " + quoted[-1]


# -- the rules -----------------------------------------------------------------------------

class TFS301(ClassRule):
    """A custom Layer or Model without get_config whose arguments Keras cannot record."""

    code = "TFS301"

    def where(self, facts: ClassFacts, data: Dict[str, Any]) -> Optional[cst.CSTNode]:
        if facts.init is None or facts.get_config is not None:
            return None
        keras = facts.keras
        if any(p["call"] or p["annotation"] or keras == 3 and p["default"] for p in data["params"]):
            return facts.node
        if keras == 3 and facts.maybe_model and any(p["name"] not in BASE_KEYS for p in data["params"]):
            return facts.node
        return None

    @classmethod
    def resolve(cls, pending: Pending, project: ProjectIndex) -> Optional[str]:
        info = _custom(pending, project)
        data = pending.data
        if info is None or project.defines(info, "get_config") or not data["has_init"]:
            return None
        if abstract_base(info, project):
            return None
        bases = keras_bases(info, project)
        if not bases or not bases <= set(PLAIN_BASES):
            return None
        name, keras = data["class"], data["keras"]
        bad = []
        for param in data["params"]:
            reason = param["call"] or param["annotation"] or (param["default"] if keras == 3 else "")
            if reason:
                bad.append(f"'{param['name']}' {reason}")
        fix = ("add a get_config() that returns every __init__ argument (serialize callables and objects, "
               "e.g. keras.activations.serialize)")
        if keras == 3 and MODEL in bases and not data["functional"]:
            params = [p for p in data["params"] if p["name"] not in BASE_KEYS]
            required = [p["name"] for p in params if p["required"]]
            if bad or required:
                why = f"its argument {bad[0]}" if bad else (
                    f"__init__ requires {_quoted(required)} and Keras 3 builds a subclassed Model's automatic "
                    f"config from the defaults only")
                return (f"{name} is a subclassed Model without get_config(): {why}, so get_config() and "
                        f"model.save() raise NotImplementedError ('Object {name} was created by passing "
                        f"non-serializable argument values in __init__()'); {fix}")
            if not params:
                return None
            names = _quoted([p["name"] for p in params])
            return (f"{name} is a subclassed Model without get_config(): Keras 3 records its __init__ defaults, not "
                    f"the values passed, so a model built with other values of {names} reloads with the defaults: "
                    f"its weights no longer fit ('ValueError: A total of N objects could not be loaded') or it "
                    f"silently computes something else; add a get_config() that returns {names}")
        if not bad:
            return None
        if MODEL in bases:
            return (f"{name} has no get_config() and its __init__ argument {bad[0]}, which Keras 2 cannot record: "
                    f"get_config() logs 'Model's __init__() arguments contain non-serializable objects... Defaulting "
                    f"to empty config', so the saved model does not reload with its arguments; {fix}")
        return (f"{name} has no get_config() and its __init__ argument {bad[0]}, which Keras cannot record (only "
                f"plain str/int/float/bool/None values): get_config() and model.save() raise NotImplementedError "
                f"('{'Object' if keras == 3 else 'Layer'} {name} was created by passing non-serializable argument "
                f"values in __init__()'); {fix}")


class TFS302(ClassRule):
    """get_config() leaves out an __init__ argument: on reload it takes its default."""

    code = "TFS302"

    def where(self, facts: ClassFacts, data: Dict[str, Any]) -> Optional[cst.CSTNode]:
        config = data["get_config"]
        # Noted whenever its keys can be known: they serve subclasses, with or without __init__.
        return facts.get_config if config and config["complete"] else None

    @classmethod
    def resolve(cls, pending: Pending, project: ProjectIndex) -> Optional[str]:
        info = _custom(pending, project)
        data = pending.data
        config = data["get_config"]
        if info is None or not data["has_init"] or not config["complete"]:
            return None
        if project.defines(info, "from_config") or abstract_base(info, project):
            return None  # a custom from_config may rebuild an argument from other keys
        keys = set(config["keys"])
        passed: Set[str] = set()
        if config["super"]:
            above = _super_keys(info, project, cls.code, 0)
            if above is None:
                return None
            keys |= above
            passed = set(data["super_names"])
        missing = [p for p in data["params"] if p["name"] not in keys | passed and p["name"] not in BASE_KEYS]
        if not missing:
            return None
        data["missing"] = [p["name"] for p in missing]  # for --verify
        names = _quoted([p["name"] for p in missing])
        required = [p for p in missing if p["required"]]
        if required:
            first = required[0]
            kind = "keyword-only" if first["keyword_only"] else "positional"
            outcome = (f"loading fails with TypeError: {data['class']}.__init__() missing 1 required {kind} "
                       f"argument: '{first['name']}'")
        else:
            outcome = ("on reload it silently takes its default (e.g. scale=3.0 comes back as 1.0 and the "
                       "predictions change; a shape argument makes the weights fail to load)")
        plural = "s" if len(missing) > 1 else ""
        return (f"get_config() of {data['class']} does not return the __init__ argument{plural} {names}: "
                f"{outcome}; add {names} to the returned dict")


class TFS303(ClassRule):
    """get_config() without super().get_config(): name, dtype and trainable are lost."""

    code = "TFS303"

    def where(self, facts: ClassFacts, data: Dict[str, Any]) -> Optional[cst.CSTNode]:
        config = data["get_config"]
        if config and config["complete"] and not config["super"] and set(BASE_KEYS) - set(config["keys"]):
            return facts.get_config
        return None

    @classmethod
    def resolve(cls, pending: Pending, project: ProjectIndex) -> Optional[str]:
        info = _custom(pending, project)
        data = pending.data
        config = data["get_config"]
        if info is None or config["super"] or not config["complete"] or project.defines(info, "from_config"):
            return None
        if data["keras"] == 2 and MODEL in (keras_bases(info, project) or {MODEL}):
            return None  # Keras 2's Model.get_config() gives {} to an override: super() would add nothing
        lost = [k for k in BASE_KEYS if k not in config["keys"]]
        if not lost:
            return None
        kwargs = "" if not data["has_init"] or data["kwargs"] else (
            " (and let __init__ take **kwargs and pass them to super().__init__, or loading fails: TFS304)")
        effects = [_LOST[k] for k in lost]
        effects = ", ".join(effects[:-1]) + (" and " if len(effects) > 1 else "") + effects[-1]
        return (f"get_config() of {data['class']} builds its dict without super().get_config(): "
                f"{_quoted(lost)} {'is' if len(lost) == 1 else 'are'} not saved, so {effects}; start "
                f"from config = super().get_config(){kwargs}")


class TFS304(ClassRule):
    """__init__ without **kwargs, or with **kwargs it never passes to super().__init__."""

    code = "TFS304"

    def where(self, facts: ClassFacts, data: Dict[str, Any]) -> Optional[cst.CSTNode]:
        if facts.init is not None:
            accepted = {p["name"] for p in data["params"]}
            if data["kwargs_dropped"] or not data["kwargs"] and not set(BASE_KEYS) <= accepted:
                return facts.init
        config = data["get_config"]
        # What get_config() writes serves subclasses without **kwargs.
        return facts.node if config and (config["super"] or config["complete"]) else None

    @classmethod
    def resolve(cls, pending: Pending, project: ProjectIndex) -> Optional[str]:
        info = _custom(pending, project)
        data = pending.data
        if info is None or not data["has_init"] or project.defines(info, "from_config"):
            return None  # a custom from_config() decides what reaches __init__
        name = data["class"]
        if data["kwargs"]:
            if not data["kwargs_dropped"]:
                return None
            return (f"{name}.__init__ takes **kwargs but never passes them to super().__init__(): name=, "
                    f"trainable= and dtype= given at construction are silently dropped, and so are those of the "
                    f"saved config (a frozen layer reloads as trainable); call super().__init__(**kwargs)")
        accepted = {p["name"] for p in data["params"]}
        written = cls._config_written(info, data, project)
        if written is None:
            return None
        unexpected = [k for k in written if k not in accepted]
        if not unexpected:
            return None
        return (f"{name}.__init__ has no **kwargs, but the config Keras saves for it holds "
                f"{_quoted(list(written))}: loading fails with TypeError: {name}.__init__() got an unexpected "
                f"keyword argument '{unexpected[0]}'; take **kwargs and pass them to super().__init__(**kwargs)")

    @classmethod
    def _config_written(cls, info: ClassInfo, data: Dict[str, Any], project: ProjectIndex) -> Optional[List[str]]:
        """Which of name/trainable/dtype the saved config of the class holds, in the order Keras
        writes them ([] when none; None when it cannot be known)."""
        bases = keras_bases(info, project)
        if bases is None:
            return None
        # Keras 2's Model.get_config() gives an override {} and drops from its automatic config
        # what __init__ cannot take: only keys the class writes itself remain.
        keras2_model = data["keras"] == 2 and MODEL in bases
        owner = info if "get_config" in info.methods else next(
            (a for a in project.ancestors(info) if "get_config" in a.methods), None)
        if owner is not None:
            noted = data if owner is info else _noted(project, cls.code, owner.key)
            config = noted and noted.get("get_config")
            if not config:
                return None
            if config["super"] and not keras2_model:
                return list(BASE_KEYS)
            if not config["complete"]:
                return None
            return [k for k in BASE_KEYS if k in config["keys"]]
        if SEQUENTIAL in bases:
            return None  # Sequential rebuilds itself in its own from_config()
        if not bases <= set(PLAIN_BASES):
            return list(BASE_KEYS)  # a built-in layer's get_config() starts from Layer's
        if data["keras"] == 2:
            return []  # Keras 2's automatic config drops what __init__ cannot take
        # Keras 3's automatic config drops only 'name'; Layer.get_config() adds trainable and dtype.
        return ["trainable", "dtype"]


class TFS305(ClassRule):
    """Keras 3: self.x = tf.Variable(...) in a Layer, Model or Metric is not tracked."""

    code = "TFS305"
    keras_versions = (3,)

    def __init__(self, ctx: Context):
        super().__init__(ctx)
        self.found: List[Tuple[cst.CSTNode, cst.ClassDef, str, bool]] = []

    def visit_Assign(self, node: cst.Assign) -> None:
        if self.ctx.classes and self.ctx.function is not None:
            for target in node.targets:
                self._check(node, target.target, node.value)

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        if self.ctx.classes and self.ctx.function is not None and node.value is not None:
            self._check(node, node.target, node.value)

    def _check(self, node: cst.CSTNode, target: cst.BaseExpression, value: cst.BaseExpression) -> None:
        if not (isinstance(target, cst.Attribute) and isinstance(target.value, cst.Name)
                and target.value.value == "self"):
            return
        ctx = self.ctx
        if isinstance(value, cst.Name):
            value = ctx.value_of(value.value)
        if not isinstance(value, cst.Call) or not any(n in TF_VARIABLES for n in ctx.names(value.func)):
            return
        trainable = nodes.constant(nodes.arg(value, 1, "trainable")) is not False
        self.found.append((node, ctx.classes[-1], target.attr.value, trainable))

    def finish(self) -> None:
        module = tuple(module_parts(self.ctx.path))
        for node, owner, attribute, trainable in self.found:
            name = owner.name.value
            facts = self.state.by_name.get(name)
            call = facts.call_args if facts is not None and facts.node is owner else ""
            self.ctx.defer(node, self.code, {"class": name, "call_args": call, "key": ".".join(module + (name,)),
                                             "attribute": attribute, "trainable": trainable})

    @classmethod
    def resolve(cls, pending: Pending, project: ProjectIndex) -> Optional[str]:
        info = _custom(pending, project, ("layer", "model", "metric"))
        if info is None:
            return None
        data = pending.data
        attribute = f"self.{data['attribute']}"
        if "metric" in project.kinds(info):
            return (f"{attribute} is a tf.Variable, which Keras 3 does not track in a Metric: it is not in "
                    f"metric.variables and reset_state() does not reset it; create it with "
                    f"self.add_variable(...) or self.add_weight(...)")
        trained = "fit() does not train it, " if data["trainable"] else ""
        return (f"{attribute} is a tf.Variable, which Keras 3 does not track in a Layer or Model: it is not in "
                f"layer.weights, {trained}and neither save_weights() nor .keras saves it (it reloads at its initial "
                f"value); create it with self.add_weight(...) or keras.Variable(...)")


def saved_model(ctx: Context, call: cst.Call) -> Optional[Tuple[Optional[cst.BaseExpression], Optional[str], bool]]:
    """(model, path tail, h5 format asked) when the call saves a whole model; None otherwise."""
    names = ctx.names(call.func)
    if SAVE_MODEL in names:
        model, path = nodes.arg(call, 0, "model"), nodes.arg(call, 1, "filepath")
    elif not names and isinstance(call.func, cst.Attribute) and call.func.attr.value == "save":
        model, path = call.func.value, nodes.arg(call, 0, "filepath")
    else:
        return None
    tail = nodes.path_tail(path, ctx)
    known = tail is not None and tail.lower().endswith((".keras",) + H5)
    if not known and not nodes.model_like(model, ctx):
        return None  # an image, a DataFrame...
    h5 = tail is not None and tail.lower().endswith(H5) or nodes.string(nodes.arg(call, None, "save_format")) == "h5"
    return model, tail, h5


class TFS306(ClassRule):
    """A subclassed Model saved to .h5."""

    code = "TFS306"

    def __init__(self, ctx: Context):
        super().__init__(ctx)
        self.saves: List[Tuple[cst.Call, Dict[str, Any]]] = []

    def where(self, facts: ClassFacts, data: Dict[str, Any]) -> Optional[cst.CSTNode]:
        return facts.node if facts.functional else None  # noted: subclasses of functional models are fine

    def visit_Call(self, node: cst.Call) -> None:
        super().visit_Call(node)
        ctx = self.ctx
        if nodes.method_name(node) not in ("save", "save_model"):
            return
        saved = saved_model(ctx, node)
        if saved is None or not saved[2] or not isinstance(saved[0], cst.Name):
            return
        built = ctx.value_of(saved[0].value)
        if not isinstance(built, cst.Call) or any(n.startswith("keras.") for n in ctx.names(built.func)):
            return
        refs = sorted(ctx.raw_names(built.func))
        if not refs and isinstance(built.func, cst.Name):
            refs = [".".join(tuple(module_parts(ctx.path)) + (built.func.value,))]
        if refs:
            self.saves.append((node, {"class": (dotted(built.func) or [""])[-1], "call_args": nodes.call_args(ctx.module, built),
                                      "refs": refs, "path": saved[1] or "", "keras": ctx.keras}))

    def finish(self) -> None:
        super().finish()
        for node, data in self.saves:
            self.ctx.defer(node, self.code, data)

    @classmethod
    def resolve(cls, pending: Pending, project: ProjectIndex) -> Optional[str]:
        data = pending.data
        if "refs" not in data:
            return None  # a note about a functional subclass
        infos = [info for ref in data["refs"] for info in project.lookup(ref)]
        if not infos:
            return None
        for info in infos:
            bases = keras_bases(info, project)
            if bases is None or MODEL not in bases or SEQUENTIAL in bases:
                return None
            if any(_noted(project, cls.code, c.key) for c in [info] + project.ancestors(info)):
                return None
        name, path = data["class"], data["path"] or "an .h5 file"
        if data["keras"] == 2:
            return (f"{name} is a subclassed Model: Keras 2 refuses to save it to HDF5 ({path!r}) with "
                    f"NotImplementedError: Saving the model to HDF5 format requires the model to be a Functional "
                    f"model or a Sequential model; save to .keras (with get_config and registration) or use "
                    f"save_weights()")
        return (f"{name} is a subclassed Model: saving it to HDF5 ({path!r}) succeeds, but load_model() of that "
                f"file fails (ValueError: Layer count mismatch when loading weights from file. Model expected 0 "
                f"layers...), or returns it without the saved weights when it was saved before ever being called; "
                f"save to .keras (with get_config and registration) or use save_weights('*.weights.h5') into a "
                f"built instance")


class TFS307(Rule):
    """layers.Lambda(lambda ...) in a module that saves the model."""

    code = "TFS307"

    def __init__(self, ctx: Context):
        super().__init__(ctx)
        self.lambdas: List[cst.Call] = []
        self.saves: List[Optional[str]] = []

    def visit_Call(self, node: cst.Call) -> None:
        ctx = self.ctx
        func = node.func
        names = names_if(ctx, func, ("Lambda", "ModelCheckpoint"))
        if LAMBDA_LAYER in names:
            function = nodes.arg(node, 0, "function")
            if isinstance(function, cst.Name):
                function = ctx.value_of(function.value)
            # A Lambda built inside a class is not in the saved config of a subclassed model.
            if isinstance(function, cst.Lambda) and not ctx.classes:
                self.lambdas.append(node)
        elif MODEL_CHECKPOINT in names:
            if nodes.constant(nodes.arg(node, 4, "save_weights_only")) is not True:
                self.saves.append(nodes.path_tail(nodes.arg(node, 0, "filepath"), ctx))
        elif nodes.method_name(node) in ("save", "save_model"):
            saved = saved_model(ctx, node)
            if saved is not None:
                self.saves.append(saved[1])

    def finish(self) -> None:
        ctx = self.ctx
        saves = self.saves
        if ctx.keras == 2:  # Keras 2 loads a lambda from .h5 without safe_mode=False
            saves = [tail for tail in saves if tail is not None and tail.endswith(".keras")]
        if not saves or not self.lambdas:
            return
        if ctx.keras == 2:
            error = ("load_model() of the .keras file refuses it by default (ValueError: Requested the "
                     "deserialization of a Lambda layer with a Python `lambda` inside it...)")
        else:
            error = ("load_model() refuses it by default, from .keras and .h5 alike (ValueError: Requested the "
                     "deserialization of a `Lambda` layer whose `function` is a Python lambda...)")
        imports = "".join(
            ctx.module.code_for_node(s) for s in ctx.module.body
            if isinstance(s, cst.SimpleStatementLine)
            and all(isinstance(i, (cst.Import, cst.ImportFrom)) for i in s.body)
        )
        for node in self.lambdas:
            ctx.report(
                node, self.code,
                f"Lambda layer around a Python lambda, in a module that saves the model: {error}, and "
                f"safe_mode=False would let the file run code; write the computation as a small registered "
                f"custom layer",
                {"layer": ctx.module.code_for_node(node), "imports": imports, "keras": ctx.keras},
            )


RULES = [TFS301, TFS302, TFS303, TFS304, TFS305, TFS306, TFS307]
