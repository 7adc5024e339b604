"""Custom layers and models: get_config, **kwargs, untracked variables, HDF5 and Lambda saving (TFS3xx).

A class is a custom Layer or Model only once every file is indexed (its base may be a project
class in another file), so the class rules gather what the class itself says while the file is
walked (the shared analysis ``classes.FileClasses``: its ``__init__`` parameters, what
``get_config`` returns...), defer one finding per class with those facts (``CustomClass``), and
decide in ``resolve``.  The deferred facts of a class also serve its subclasses:
``ProjectIndex.deferred`` hands a rule what it noted about a base class in its file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Dict, List, Optional, Sequence, Set, Tuple

import libcst as cst

from tflint_save import nodes, pathvalues
from tflint_save.checks.classes import (
    BASE_KEYS, MODEL, PLAIN_BASES, SEQUENTIAL, ClassFacts, CustomClass, FileClasses, Param, abstract_base,
    custom_class, keras_bases, noted_facts, super_keys,
)
from tflint_save.checks.common import MODEL_CHECKPOINT, SAVE_MODEL, names_if
from tflint_save.edits import (
    UNSAFE, Fix, Tree, after_comma, dict_entry, dict_quote, find_method, method_at, plain_space, separated,
)
from tflint_save.engine import Context, Rule
from tflint_save.findings import ClassInfo, Decision, Facts, Finding, Pending, Resolved, many, named
from tflint_save.index import ProjectIndex
from tflint_save.names import dotted, module_parts

# What reloading does without each of them (C08).
_LOST = {"name": "the name changes", "trainable": "a frozen layer (trainable=False) reloads as trainable",
         "dtype": "a float64 one reloads as float32"}
TF_VARIABLES = ("tensorflow.Variable", "tensorflow.compat.v1.Variable", "tensorflow.compat.v2.Variable")
LAMBDA_LAYER = "keras.layers.Lambda"
H5 = (".h5", ".hdf5", ".he5")



# -- the facts of each finding, for --fix and --verify -------------------------------------
# (TFS301-TFS304 report a class's CustomClass facts, from checks/classes.py)

@dataclass(frozen=True, eq=False)
class UntrackedVariable(Facts):
    """TFS305: the class, where it is built, and its tf.Variable attribute."""

    class_: str = named("class", "")
    call_args: str = ""
    key: str = ""
    attribute: str = ""
    trainable: bool = True


@dataclass(frozen=True, eq=False)
class H5Save(Facts):
    """TFS306: the subclassed model saved to HDF5, how it is built, and where it is saved."""

    class_: str = named("class", "")
    call_args: str = ""
    refs: Tuple[str, ...] = many()  # what the constructor may name: project class keys
    path: str = ""
    keras: int = 3


@dataclass(frozen=True, eq=False)
class LambdaLayer(Facts):
    """TFS307: the Lambda layer's source, the module's imports, and what deserializes the model
    (``save``: a file load_model() reads; ``model_from_json``, ``from_config``, ``clone_model``)."""

    layer: str = ""
    imports: str = ""
    keras: int = 3
    how: str = "save"


class ClassRule(Rule):
    """Base of the rules that judge a class definition: gather in the walk, defer, resolve."""

    uses = (FileClasses,)

    def __init__(self, ctx: Context):
        super().__init__(ctx)
        self.state: FileClasses = ctx.analysis(FileClasses)

    def finish(self) -> None:
        state = self.state
        for facts in state.classes:
            data = state.data_of(facts)
            where = self.where(facts, data)
            if where is not None:
                self.ctx.defer(where, self.code, data)

    def where(self, facts: ClassFacts, data: CustomClass) -> Optional[cst.CSTNode]:
        """The node a finding about this class goes on; None when the class can give this rule
        neither a finding nor a fact its subclasses need (each deferral costs the file the
        computation of positions)."""
        return facts.node


# -- what the project knows about a class --------------------------------------------------


def built_elsewhere(info, data: CustomClass, project: ProjectIndex) -> List[str]:
    """"'config' is given cfg where X is built" for each argument that some module of the project
    gives the class as an instance of a plain project class (no base class: not a str, dict or
    list), which Keras cannot record (see ``modulefacts.Summary.built_with``)."""
    programs = project.programs
    positional = [p.name for p in data.params if not p.keyword_only]
    names = {p.name for p in data.params}
    where = (programs.norm(info.path), info.name)
    found = []
    for summary in programs.summaries.values():
        for callee, key, instance, shown in summary.built_with:
            if project.defining(summary.path, callee) != where:
                continue
            made = project.defining(summary.path, instance)
            classes = programs.summaries[made[0]].classes if made else ()
            if not any(c.name == made[1] and not c.bases for c in classes):
                continue
            name = positional[int(key)] if key.isdigit() and int(key) < len(positional) else key
            if name in names:
                found.append(f"'{name}' is given {shown} where {info.name} is built")
    return sorted(set(found))


def _quoted(names: List[str]) -> str:
    quoted = [f"'{n}'" for n in names]
    return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " and " + quoted[-1]


# -- the rules -----------------------------------------------------------------------------

class TFS301(ClassRule):
    """A custom Layer or Model without get_config whose arguments Keras cannot record."""

    code = "TFS301"
    applicability = UNSAFE

    def where(self, facts: ClassFacts, data: CustomClass) -> Optional[cst.CSTNode]:
        if facts.init is None or facts.get_config is not None:
            return None
        keras = facts.keras
        if any(p.call or p.annotation or keras == 3 and p.default for p in data.params):
            return facts.node
        if keras == 3 and facts.maybe_model and any(p.name not in BASE_KEYS for p in data.params):
            return facts.node
        if any(not p.keyword_only or p.required for p in data.params):
            return facts.node  # another module may build it with an object (resolve: built_elsewhere)
        return None

    @classmethod
    def resolve(cls, pending: Pending, project: ProjectIndex) -> Decision:
        verdict = cls.verdict(pending, project)
        return verdict[1] if verdict else None

    @classmethod
    def verdict(cls, pending: Pending, project: ProjectIndex) -> Optional[Tuple[bool, str]]:
        """(the save itself fails, the message), or None when there is nothing to report."""
        info = custom_class(pending, project)
        data = pending.data
        if info is None or project.defines(info, "get_config") or not data.has_init:
            return None
        if abstract_base(info, project):
            return None
        bases = keras_bases(info, project)
        if not bases or not bases <= set(PLAIN_BASES):
            return None
        name, keras = data.class_, data.keras
        bad = []
        for param in data.params:
            reason = param.call or param.annotation or (param.default if keras == 3 else "")
            if reason:
                bad.append(f"'{param.name}' {reason}")
        bad = bad or built_elsewhere(info, data, project)
        fix = ("add a get_config() that returns every __init__ argument (serialize callables and objects, "
               "e.g. keras.activations.serialize)")
        if keras == 3 and MODEL in bases and not data.functional:
            params = [p for p in data.params if p.name not in BASE_KEYS]
            required = [p.name for p in params if p.required]
            if bad or required:
                why = f"its argument {bad[0]}" if bad else (
                    f"__init__ requires {_quoted(required)} and Keras 3 builds a subclassed Model's automatic "
                    f"config from the defaults only")
                return True, (f"{name} is a subclassed Model without get_config(): {why}, so get_config() and "
                              f"model.save() raise NotImplementedError ('Object {name} was created by passing "
                              f"non-serializable argument values in __init__()'); {fix}")
            if not params:
                return None
            names = _quoted([p.name for p in params])
            return False, (
                f"{name} is a subclassed Model without get_config(): Keras 3 records its __init__ defaults, not "
                f"the values passed, so a model built with other values of {names} reloads with the defaults: "
                f"its weights no longer fit ('ValueError: A total of N objects could not be loaded') or it "
                f"silently computes something else; add a get_config() that returns {names}")
        if not bad:
            return None
        if MODEL in bases:
            return False, (
                f"{name} has no get_config() and its __init__ argument {bad[0]}, which Keras 2 cannot record: "
                f"get_config() logs 'Model's __init__() arguments contain non-serializable objects... Defaulting "
                f"to empty config', so the saved model does not reload with its arguments; {fix}")
        return True, (
            f"{name} has no get_config() and its __init__ argument {bad[0]}, which Keras cannot record (only "
            f"plain str/int/float/bool/None values): get_config() and model.save() raise NotImplementedError "
            f"('{'Object' if keras == 3 else 'Layer'} {name} was created by passing non-serializable argument "
            f"values in __init__()'); {fix}")

    @staticmethod
    def fix(tree: Tree, f: Finding) -> Optional[Fix]:
        cls = tree.class_at(f)
        params = getattr(f.data, "params", None)
        if cls is None or find_method(cls, "get_config") is not None or not isinstance(params, tuple):
            return None
        init = find_method(cls, "__init__")
        entries = _entries(init, params, f.data.super_names) if init is not None else None
        if not entries:
            return None
        module = tree.module
        nl, ind = module.default_newline, module.default_indent
        lines = ["def get_config(self):", f"{ind}return {{", f"{ind * 2}**super().get_config(),"]
        lines += [f'{ind * 2}"{name}": {value},' for name, value in entries]
        lines.append(f"{ind}}}")
        method = cst.parse_statement(nl.join(lines) + nl, config=module.config_for_parsing)
        method = method.with_changes(leading_lines=(cst.EmptyLine(indent=False),))
        body = list(cls.body.body)
        body.insert(body.index(init) + 1, method)
        names = ", ".join(repr(name) for name, _ in entries)
        return Fix(f"Add a get_config() that returns {names} on top of super().get_config()", UNSAFE,
                   {id(cls.body): (cls.body, cls.body.with_changes(body=tuple(body)))})


class TFS302(ClassRule):
    """get_config() leaves out an __init__ argument: on reload it takes its default."""

    code = "TFS302"
    applicability = UNSAFE

    def where(self, facts: ClassFacts, data: CustomClass) -> Optional[cst.CSTNode]:
        config = data.get_config
        # Noted whenever its keys can be known: they serve subclasses, with or without __init__.
        return facts.get_config if config and config.complete else None

    @classmethod
    def resolve(cls, pending: Pending, project: ProjectIndex) -> Decision:
        info = custom_class(pending, project)
        data = pending.data
        config = data.get_config
        if info is None or not data.has_init or not config.complete:
            return None
        if project.defines(info, "from_config") or abstract_base(info, project):
            return None  # a custom from_config may rebuild an argument from other keys
        keys = set(config.keys)
        passed: Set[str] = set()
        if config.super:
            above = super_keys(info, project, cls.code, 0)
            if above is None:
                return None
            keys |= above
            passed = set(data.super_names)
        # 'weights' (the Keras 2 initial weights) is never part of a config, Keras's own layers leave it
        # out: the saved weights are loaded over whatever the constructor starts from.
        # An argument that only names sub-layers (name=prefix + "q") is not state either: weights are
        # restored by attribute path or position, so the default rebuilds the same layer, named otherwise.
        missing = [p for p in data.params
                   if p.name not in keys | passed and p.name not in BASE_KEYS + ("weights",) and not p.naming]
        if not missing:
            return None
        names = _quoted([p.name for p in missing])
        required = [p for p in missing if p.required]
        if required:
            first = required[0]
            kind = "keyword-only" if first.keyword_only else "positional"
            outcome = (f"loading fails with TypeError: {data.class_}.__init__() missing 1 required {kind} "
                       f"argument: '{first.name}'")
        else:
            outcome = _reload_outcome(missing)
        plural = "s" if len(missing) > 1 else ""
        message = (f"get_config() of {data.class_} does not return the __init__ argument{plural} {names}: "
                   f"{outcome}; add {names} to the returned dict")
        return Resolved(message, replace(data, missing=tuple(p.name for p in missing)))  # for --fix and --verify

    @staticmethod
    def fix(tree: Tree, f: Finding) -> Optional[Fix]:
        get_config, init = method_at(tree, f, "get_config"), method_at(tree, f, "__init__")
        params = getattr(f.data, "params", None)
        if get_config is None or init is None or not isinstance(params, tuple):
            return None
        named = f.data.missing or ()  # the parameters the finding names
        missing = [p for p in params if p.name in named]
        dicts = [d for d in nodes.walk(get_config.body, into_defs=False) if isinstance(d, cst.Dict) and any(
            isinstance(e, cst.DictElement) and nodes.string(e.key) is not None for e in d.elements)]
        entries = _entries(init, missing, f.data.super_names) if missing else None
        if not entries or len(dicts) != 1:
            return None  # no single dict literal to complete
        target = dicts[0]
        quote = dict_quote(target.elements)
        added = [dict_entry(name, value, quote) for name, value in entries]
        new = target.with_changes(elements=separated(target.elements, added, target.lbrace.whitespace_after))
        names = " and ".join(repr(name) for name, _ in entries)
        return Fix(f"Add {names} to the dict get_config() returns", UNSAFE, {id(target): (target, new)})


def _reload_outcome(missing: List[Param]) -> str:
    """What reloading does to arguments that all have defaults: each takes its own, as written."""
    shown = [f"{p.name}={p.literal}" for p in missing if p.literal]
    if len(missing) == 1:
        subject = "it silently takes " + (f"its default {shown[0]}" if shown else "its default")
    else:
        listed = f" ({', '.join(shown)}{', ...' if len(shown) < len(missing) else ''})" if shown else ""
        subject = "they silently take their defaults" + listed
    return (f"on reload {subject}, not the value{'s' if len(missing) > 1 else ''} the object was built with "
            "(the outputs change, or the weights fail to load when it sets a shape)")


class TFS303(ClassRule):
    """get_config() without super().get_config(): name, dtype and trainable are lost."""

    code = "TFS303"
    applicability = UNSAFE

    def where(self, facts: ClassFacts, data: CustomClass) -> Optional[cst.CSTNode]:
        config = data.get_config
        if config and config.complete and not config.super and set(BASE_KEYS) - set(config.keys):
            return facts.get_config
        return None

    @classmethod
    def resolve(cls, pending: Pending, project: ProjectIndex) -> Decision:
        info = custom_class(pending, project)
        data = pending.data
        config = data.get_config
        if info is None or config.super or not config.complete or project.defines(info, "from_config"):
            return None
        if data.keras == 2 and MODEL in (keras_bases(info, project) or {MODEL}):
            return None  # Keras 2's Model.get_config() gives {} to an override: super() would add nothing
        lost = [k for k in BASE_KEYS if k not in config.keys]
        if not lost:
            return None
        kwargs = "" if not data.has_init or data.kwargs else (
            " (and let __init__ take **kwargs and pass them to super().__init__, or loading fails: TFS304)")
        effects = [_LOST[k] for k in lost]
        effects = ", ".join(effects[:-1]) + (" and " if len(effects) > 1 else "") + effects[-1]
        return (f"get_config() of {data.class_} builds its dict without super().get_config(): "
                f"{_quoted(lost)} {'is' if len(lost) == 1 else 'are'} not saved, so {effects}; start "
                f"from config = super().get_config(){kwargs}")

    @staticmethod
    def fix(tree: Tree, f: Finding) -> Optional[Fix]:
        get_config = method_at(tree, f, "get_config")
        if get_config is None:
            return None
        returns = [r for r in nodes.walk(get_config.body, into_defs=False) if isinstance(r, cst.Return)]
        if not returns or any(r.value is None for r in returns):
            return None
        changes = {}
        for r in returns:
            value = r.value
            if isinstance(value, cst.Dict) and not value.lpar:
                first = cst.StarredDictElement(_super_config())
                elements = value.elements
                opening = value.lbrace.whitespace_after
                if isinstance(opening, cst.ParenthesizedWhitespace):
                    sep = plain_space(opening)
                else:
                    sep = plain_space(after_comma(elements[0])) if len(elements) >= 2 and after_comma(elements[0]) else \
                        cst.SimpleWhitespace(" ")
                if elements:
                    first = first.with_changes(comma=cst.Comma(whitespace_after=sep))
                new = value.with_changes(elements=(first,) + tuple(elements))
            else:
                new = cst.Dict([cst.StarredDictElement(_super_config(), comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))),
                                cst.StarredDictElement(value)])
            changes[id(value)] = (value, new)
        return Fix("Start the returned dict from super().get_config()", UNSAFE, changes)


class TFS304(ClassRule):
    """__init__ without **kwargs, or with **kwargs it never passes to super().__init__."""

    code = "TFS304"
    applicability = UNSAFE

    def where(self, facts: ClassFacts, data: CustomClass) -> Optional[cst.CSTNode]:
        if facts.init is not None:
            accepted = {p.name for p in data.params}
            if data.kwargs_dropped or not data.kwargs and not set(BASE_KEYS) <= accepted:
                return facts.init
        config = data.get_config
        # What get_config() writes serves subclasses without **kwargs.
        return facts.node if config and (config.super or config.complete) else None

    @classmethod
    def resolve(cls, pending: Pending, project: ProjectIndex) -> Decision:
        info = custom_class(pending, project)
        data = pending.data
        if info is None or not data.has_init or project.defines(info, "from_config"):
            return None  # a custom from_config() decides what reaches __init__
        noted = noted_facts(project, TFS301.code, info.key)
        if noted is not None:
            verdict = TFS301.verdict(Pending(TFS301.code, replace(pending.finding, data=noted)), project)
            if verdict and verdict[0]:
                return None  # the save already fails (TFS301): the load error is never reached
        name = data.class_
        if data.kwargs:
            if not data.kwargs_dropped:
                return None
            return (f"{name}.__init__ takes **kwargs but never passes them to super().__init__(): name=, "
                    f"trainable= and dtype= given at construction are silently dropped, and so are those of the "
                    f"saved config (a frozen layer reloads as trainable); call super().__init__(**kwargs)")
        accepted = {p.name for p in data.params}
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
    def _config_written(cls, info: ClassInfo, data: CustomClass, project: ProjectIndex) -> Optional[List[str]]:
        """Which of name/trainable/dtype the saved config of the class holds, in the order Keras
        writes them ([] when none; None when it cannot be known)."""
        bases = keras_bases(info, project)
        if bases is None:
            return None
        # Keras 2's Model.get_config() gives an override {} and drops from its automatic config
        # what __init__ cannot take: only keys the class writes itself remain.
        keras2_model = data.keras == 2 and MODEL in bases
        owner = info if "get_config" in info.methods else next(
            (a for a in project.ancestors(info) if "get_config" in a.methods), None)
        if owner is not None:
            noted = data if owner is info else noted_facts(project, cls.code, owner.key)
            config = noted.get_config if noted is not None else None
            if not config:
                return None
            if config.super and not keras2_model:
                return list(BASE_KEYS)
            if not config.complete:
                return None
            return [k for k in BASE_KEYS if k in config.keys]
        if SEQUENTIAL in bases:
            return None  # Sequential rebuilds itself in its own from_config()
        if not bases <= set(PLAIN_BASES):
            return list(BASE_KEYS)  # a built-in layer's get_config() starts from Layer's
        if data.keras == 2:
            return []  # Keras 2's automatic config drops what __init__ cannot take
        if any(p.used for p in data.params):
            # An argument __init__ treats as an object: the automatic config cannot record it and the
            # save raises NotImplementedError first, so no config is ever loaded.
            return None
        # Keras 3's automatic config drops only 'name'; Layer.get_config() adds trainable and dtype.
        return ["trainable", "dtype"]

    @staticmethod
    def fix(tree: Tree, f: Finding) -> Optional[Fix]:
        init = method_at(tree, f, "__init__")
        if init is None:
            return None
        params = init.params
        kwargs = params.star_kwarg
        name = kwargs.name.value if kwargs is not None else "kwargs"
        everything = list(params.posonly_params) + list(params.params) + list(params.kwonly_params)
        if kwargs is None and any(p.name.value == name for p in everything):
            return None
        calls = [c for c in nodes.walk(init.body, into_defs=False) if isinstance(c, cst.Call) and nodes.self_call(c, "__init__")]
        if len(calls) != 1:
            return None
        call = calls[0]
        new = init
        stars = [a for a in call.args if a.star == "**"]
        if not stars:
            extra = cst.Arg(cst.Name(name), star="**")
            new = new.deep_replace(call, call.with_changes(args=separated(call.args, [extra], call.whitespace_before_args)))
        elif kwargs is None or not any(isinstance(a.value, cst.Name) and a.value.value == name for a in stars):
            return None  # some other ** mapping already goes there: adding ours could pass a key twice
        if kwargs is None:
            new = new.with_changes(params=_with_star_kwarg(new.params, name, init.whitespace_before_params))
        if new is init:
            return None
        message = "Pass **kwargs on to super().__init__()" if kwargs is not None else \
            "Add **kwargs to __init__() and pass them on to super().__init__()"
        return Fix(message, UNSAFE, {id(init): (init, new)})


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
            self.ctx.defer(node, self.code, UntrackedVariable(name, call, ".".join(module + (name,)), attribute, trainable))

    @classmethod
    def resolve(cls, pending: Pending, project: ProjectIndex) -> Decision:
        # Not gated on saves: an untracked variable is not trained by fit() either.
        info = custom_class(pending, project, ("layer", "model", "metric"), reached=False)
        if info is None:
            return None
        data = pending.data
        attribute = f"self.{data.attribute}"
        if "metric" in project.kinds(info):
            return (f"{attribute} is a tf.Variable, which Keras 3 does not track in a Metric: it is not in "
                    f"metric.variables and reset_state() does not reset it; create it with "
                    f"self.add_variable(...) or self.add_weight(...)")
        trained = "fit() does not train it, " if data.trainable else ""
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
    tail = pathvalues.tail(path, ctx)
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
        self.saves: List[Tuple[cst.Call, H5Save]] = []

    def where(self, facts: ClassFacts, data: CustomClass) -> Optional[cst.CSTNode]:
        return facts.node if facts.functional else None  # noted: subclasses of functional models are fine

    def visit_Call(self, node: cst.Call) -> None:
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
            self.saves.append((node, H5Save((dotted(built.func) or [""])[-1], nodes.call_args(ctx.module, built),
                                            tuple(refs), saved[1] or "", ctx.keras)))

    def finish(self) -> None:
        super().finish()
        for node, data in self.saves:
            self.ctx.defer(node, self.code, data)

    @classmethod
    def resolve(cls, pending: Pending, project: ProjectIndex) -> Optional[str]:
        data = pending.data
        if not isinstance(data, H5Save):
            return None  # a note about a functional subclass
        infos = [info for ref in data.refs for info in project.lookup(ref)]
        if not infos:
            return None
        for info in infos:
            bases = keras_bases(info, project)
            if bases is None or MODEL not in bases or SEQUENTIAL in bases:
                return None
            if any(noted_facts(project, cls.code, c.key) is not None for c in [info] + project.ancestors(info)):
                return None
        name, path = data.class_, data.path or "an .h5 file"
        if data.keras == 2:
            return (f"{name} is a subclassed Model: Keras 2 refuses to save it to HDF5 ({path!r}) with "
                    f"NotImplementedError: Saving the model to HDF5 format requires the model to be a Functional "
                    f"model or a Sequential model; save to .keras (with get_config and registration) or use "
                    f"save_weights()")
        return (f"{name} is a subclassed Model: saving it to HDF5 ({path!r}) succeeds, but load_model() of that "
                f"file fails (ValueError: Layer count mismatch when loading weights from file. Model expected 0 "
                f"layers...), or returns it without the saved weights when it was saved before ever being called; "
                f"save to .keras (with get_config and registration) or use save_weights('*.weights.h5') into a "
                f"built instance")


# Rebuilding a model from its config deserializes its Lambda layers as loading does (safe mode):
# model_from_json() and Model/Sequential.from_config() refuse a lambda on Keras 2.15 and 3.15,
# clone_model() only on Keras 3 (docs/facts/lambda_json_config.*.out).
FROM_JSON = "keras.models.model_from_json"
CLONE_MODEL = "keras.models.clone_model"
_MODEL_CLASSES = ("keras.models.Sequential", "keras.models.Model")


class TFS307(Rule):
    """layers.Lambda(lambda ...) in a module that saves the model, or that rebuilds the model
    holding it from its JSON or config."""

    code = "TFS307"

    def __init__(self, ctx: Context):
        super().__init__(ctx)
        # (Lambda call, enclosing function, the Sequential it is in when it is in one)
        self.lambdas: List[Tuple[cst.Call, Optional[str], Optional[cst.Call]]] = []
        self.saves: List[Optional[str]] = []
        # What each save writes: the expressions its model variable held there (None: not known).
        # A ModelCheckpoint writes what the fit() calls given it train.
        self.held: List[List[Optional[cst.BaseExpression]]] = []
        self.checkpoints: Dict[str, int] = {}  # a name bound to a ModelCheckpoint -> its save
        self.given: Dict[str, int] = {}  # how many fit() calls seen here take each of those names
        self.bindings: Dict[str, List[int]] = {}  # every save bound to each of those names
        # The names each Sequential holding a lambda is bound to, by id of the Sequential call.
        self.bound: Dict[int, Set[str]] = {}
        # (how, function that built the model ("": module level), its construction when seen here)
        self.rebuilt: List[Tuple[str, str, Optional[cst.Call]]] = []
        self.constructions: Dict[Optional[str], int] = {}  # models built per function

    def visit_Call(self, node: cst.Call) -> None:
        ctx = self.ctx
        func = node.func
        names = names_if(ctx, func, ("Lambda", "ModelCheckpoint", "model_from_json", "clone_model"))
        if LAMBDA_LAYER in names:
            function = nodes.arg(node, 0, "function")
            if isinstance(function, cst.Name):
                function = ctx.value_of(function.value)
            # A Lambda built inside a class is not in the saved config of a subclassed model.
            if isinstance(function, cst.Lambda) and not ctx.classes:
                sequential = _sequential_around(ctx)
                if sequential is not None:
                    self.bound[id(sequential)] = _bound_to(ctx, sequential)
                self.lambdas.append((node, _function_name(ctx), sequential))
        elif MODEL_CHECKPOINT in names:
            if nodes.constant(nodes.arg(node, 4, "save_weights_only")) is not True:
                self.saves.append(pathvalues.tail(nodes.arg(node, 0, "filepath"), ctx))
                self.held.append([])
                bound = _bound_to(ctx, node)
                for name in bound:
                    self.checkpoints[name] = len(self.saves) - 1
                    self.bindings.setdefault(name, []).append(len(self.saves) - 1)
                if len(bound) != 1:
                    self.held[-1].append(None)  # given inline, or kept in more than one name
        elif nodes.method_name(node) in ("save", "save_model"):
            saved = saved_model(ctx, node)
            if saved is not None:
                self.saves.append(saved[1])
                self.held.append([self._value(saved[0])])
        elif nodes.method_name(node) in ("fit", "fit_generator") and isinstance(func, cst.Attribute):
            callbacks = nodes.arg(node, None, "callbacks")
            if isinstance(callbacks, cst.Name):
                callbacks = ctx.value_of(callbacks.value)
            if isinstance(callbacks, (cst.List, cst.Tuple)):
                for element in callbacks.elements:
                    if isinstance(element.value, cst.Name) and element.value.value in self.checkpoints:
                        self.held[self.checkpoints[element.value.value]].append(self._value(func.value))
                        self.given[element.value.value] = self.given.get(element.value.value, 0) + 1
        else:
            if any(n in _MODEL_CLASSES for n in names_if(ctx, func, ("Sequential", "Model"))):
                scope = _function_name(ctx)
                self.constructions[scope] = self.constructions.get(scope, 0) + 1
            self._rebuilt(node, names)

    def _rebuilt(self, node: cst.Call, names) -> None:
        """model_from_json(m.to_json()), Sequential.from_config(m.get_config()), clone_model(m):
        noted with the function that built ``m`` (None: this scope) when that can be seen."""
        ctx = self.ctx
        func = node.func
        if FROM_JSON in names:
            how, source = "model_from_json()", _serialized(ctx, nodes.arg(node, 0, "json_string"), "to_json")
        elif CLONE_MODEL in names:
            if ctx.keras == 2:
                return  # Keras 2.15 clones a Lambda(lambda) without deserializing it
            how, source = "clone_model()", nodes.arg(node, 0, "model")
        elif (isinstance(func, cst.Attribute) and func.attr.value == "from_config"
              and any(n in _MODEL_CLASSES for n in ctx.names(func.value))):
            how = f"{ctx.module.code_for_node(func)}()"
            source = _serialized(ctx, nodes.arg(node, 0, "config"), "get_config")
        else:
            return
        built = _built_by(ctx, source)
        if built is not None:
            self.rebuilt.append((how,) + built)

    def finish(self) -> None:
        ctx = self.ctx
        if ctx.keras == 2:  # Keras 2 loads a lambda from .h5 without safe_mode=False
            kept = [i for i, tail in enumerate(self.saves) if tail is not None and tail.endswith(".keras")]
        else:
            # A path known to lack .keras/.h5 fails at the save on Keras 3 (ValueError: Invalid filepath
            # extension for saving; ModelCheckpoint: The filepath provided must end in `.keras`), before
            # any file could hold the lambda: TFS501/TFS502 say so.
            kept = [i for i, tail in enumerate(self.saves) if tail is None or tail.lower().endswith((".keras",) + H5)]
        saves = [self.saves[i] for i in kept]
        for name, bound in self.bindings.items():
            # Its name anywhere else than its assignments and those fit() calls (a list kept for
            # later, another function, a comment): what it saves is not known.  A notebook may
            # bind the name to a new checkpoint in each cell: each fit() gave the one bound then.
            if len(re.findall(rf"\b{re.escape(name)}\b", ctx.text)) != len(bound) + self.given.get(name, 0):
                for index in bound:
                    self.held[index].append(None)
        if not self.lambdas or not (saves or self.rebuilt):
            return
        if ctx.keras == 2:
            error = "(ValueError: Requested the deserialization of a Lambda layer with a Python `lambda` inside it...)"
        else:
            error = ("(ValueError: Requested the deserialization of a `Lambda` layer whose `function` is a Python "
                     "lambda...)")
        imports = "".join(
            ctx.module.code_for_node(s) for s in ctx.module.body
            if isinstance(s, cst.SimpleStatementLine)
            and all(isinstance(i, (cst.Import, cst.ImportFrom)) for i in s.body)
        )
        for node, function, sequential in self.lambdas:
            if saves and self._saved(sequential, kept):
                where = ("load_model() of the .keras file refuses it by default " if ctx.keras == 2 else
                         "load_model() refuses it by default, from .keras and .h5 alike ")
                message = f"Lambda layer around a Python lambda, in a module that saves the model: {where}{error}"
                how = "save"
            else:
                rebuilt = [how for how, built, model in self.rebuilt
                           if function is not None and built == function and self._holds(model, sequential, built)]
                if not rebuilt:
                    continue
                how = rebuilt[0]
                message = (f"Lambda layer around a Python lambda in a model that {how} rebuilds from its "
                           f"config: it refuses the lambda in safe mode {error}")
            ctx.report(
                node, self.code,
                f"{message}, and safe_mode=False would let the file run code; write the computation as a small "
                f"registered custom layer",
                LambdaLayer(ctx.module.code_for_node(node), imports, ctx.keras, how.rstrip("()").rsplit(".", 1)[-1]),
            )

    def _value(self, model: Optional[cst.BaseExpression]) -> Optional[cst.BaseExpression]:
        """The expression a saved model variable holds here; None when it is not a plain name
        bound once in view."""
        return self.ctx.value_of(model.value) if isinstance(model, cst.Name) else None

    def _saved(self, sequential: Optional[cst.Call], saves: List[int]) -> bool:
        """Whether the Sequential holding a lambda may be what a save writes: unless every save's
        model is known and none is it, holds it, or names a variable bound to it (a notebook's
        learning-rate search model, trained then replaced by the model it saves, is not saved)."""
        if sequential is None:
            return True
        names = self.bound.get(id(sequential), set())
        for held in (self.held[i] for i in saves):
            for value in held or [None]:
                if value is None or value is sequential or not names:
                    return True
                if any(n is sequential or isinstance(n, cst.Name) and n.value in names for n in nodes.walk(value)):
                    return True
        return False

    def _holds(self, model: Optional[cst.Call], sequential: Optional[cst.Call], scope: str) -> bool:
        """Whether the rebuilt model holds the lambda: it is the Sequential the lambda is in, or
        the one model (functional, the lambda applied to a tensor) built in the lambda's scope.
        A model a builder function returned (``model`` None) holds the lambdas of its body."""
        if model is None:
            return True
        if sequential is not None:
            return sequential is model
        return self.constructions.get(scope, 0) == 1 and "keras.models.Model" in self.ctx.names(model.func)


def _function_name(ctx: Context) -> Optional[str]:
    """The module-level function the walk is in; "" at module level; None deeper (a method, a
    nested function), where what builds the model is not followed."""
    if ctx.classes:
        return None
    if not ctx.functions:
        return ""
    return ctx.functions[0].name.value if len(ctx.functions) == 1 else None


def _serialized(ctx: Context, expr: Optional[cst.BaseExpression], method: str) -> Optional[cst.BaseExpression]:
    """``m`` of ``m.to_json()`` / ``m.get_config()``, given directly or through one plain name."""
    if isinstance(expr, cst.Name) and not ctx.names(expr):
        expr = ctx.value_of(expr.value)
    if isinstance(expr, cst.Call) and nodes.method_name(expr) == method and not expr.args:
        return expr.func.value  # type: ignore[attr-defined]
    return None


def _built_by(ctx: Context, model: Optional[cst.BaseExpression]) -> Optional[Tuple[str, Optional[cst.Call]]]:
    """Where the model was built: the module function that returned it (``m = build_model()``),
    or this scope and the Sequential/Model construction; None when unknown."""
    if isinstance(model, cst.Name) and not ctx.names(model):
        model = ctx.value_of(model.value)
    if not isinstance(model, cst.Call):
        return None
    if isinstance(model.func, cst.Name) and not ctx.names(model.func):
        return model.func.value, None  # a function of this module: the lambda must be in its body
    scope = _function_name(ctx)
    if scope is not None and any(n in _MODEL_CLASSES for n in ctx.names(model.func)):
        return scope, model
    return None


def _bound_to(ctx: Context, value: cst.BaseExpression) -> Set[str]:
    """The plain names the current statement assigns ``value`` to (``a = b = value``)."""
    statement = ctx.statement
    if not isinstance(statement, cst.SimpleStatementLine):
        return set()
    for small in statement.body:
        if isinstance(small, cst.Assign) and small.value is value:
            return {t.target.value for t in small.targets if isinstance(t.target, cst.Name)}
    return set()


def _sequential_around(ctx: Context) -> Optional[cst.Call]:
    """The ``Sequential([...])`` call the current node is an element of, or the Sequential whose
    ``add()`` it is passed to."""
    for node in reversed(ctx.stack):
        if isinstance(node, cst.Call):
            if "keras.models.Sequential" in ctx.names(node.func):
                return node
            func = node.func
            if isinstance(func, cst.Attribute) and func.attr.value == "add" and isinstance(func.value, cst.Name):
                built = ctx.value_of(func.value.value)
                if isinstance(built, cst.Call) and "keras.models.Sequential" in ctx.names(built.func):
                    return built
    return None


# -- fixes (TFS301-TFS304) ------------------------------------------------------------------

GETTERS = ("activations", "initializers", "regularizers", "constraints")


def _stored(init: cst.FunctionDef, name: str) -> Optional[str]:
    """What get_config() returns for __init__ parameter ``name``: ``self.x`` when __init__ keeps
    it as given, ``activations.serialize(self.x)`` when it keeps ``activations.get(name)``...;
    None when it does not keep it in one attribute (or keeps another value there too)."""
    found: Dict[str, Optional[str]] = {}
    for node in nodes.walk(init.body, into_defs=False):
        if not isinstance(node, cst.Assign) or len(node.targets) != 1:
            continue
        target = node.targets[0].target
        if not (isinstance(target, cst.Attribute) and isinstance(target.value, cst.Name) and target.value.value == "self"):
            continue
        attr, value, how = target.attr.value, node.value, None
        if isinstance(value, cst.Name) and value.value == name:
            how = f"self.{attr}"
        elif (isinstance(value, cst.Call) and isinstance(value.func, cst.Attribute) and value.func.attr.value == "get"
              and len(value.args) == 1 and isinstance(value.args[0].value, cst.Name)
              and value.args[0].value.value == name and not value.args[0].keyword):
            owner = dotted(value.func.value)
            if owner and owner[-1] in GETTERS:
                how = f"{'.'.join(owner)}.serialize(self.{attr})"
        found[attr] = how if attr not in found else None  # assigned twice: cannot tell which value stays
    kept = [how for how in found.values() if how is not None]
    return kept[0] if len(kept) == 1 else None


def _entries(init: cst.FunctionDef, params: Sequence[Param],
             passed: Sequence[str]) -> Optional[List[Tuple[str, str]]]:
    """(key, value source) for each parameter; None when one of them cannot be returned faithfully.
    ``passed``: what __init__ hands to super().__init__ (``CustomClass.super_names``, as the rules
    read it): the base config holds those, or may."""
    out = []
    for param in params:
        name = param.name
        if name in BASE_KEYS or name in passed:
            continue
        how = _stored(init, name)
        if how is None:
            return None
        if how.startswith("self.") and (param.default or param.annotation or param.call):
            # A callable or object kept as given: get_config() alone cannot round-trip it,
            # __init__ would have to deserialize it too.
            return None
        out.append((name, how))
    return out


def _super_config() -> cst.BaseExpression:
    return cst.parse_expression("super().get_config()")


def _with_star_kwarg(params: cst.Parameters, name: str, opening) -> cst.Parameters:
    """``params`` with ``**name`` at the end, laid out as the others are."""
    order = ["posonly_params", "posonly_ind", "params", "star_arg", "kwonly_params"]
    seq: List[Tuple[str, int, cst.CSTNode]] = []
    for where in order:
        value = getattr(params, where)
        if isinstance(value, (list, tuple)):
            seq.extend((where, i, v) for i, v in enumerate(value))
        elif isinstance(value, (cst.Param, cst.ParamStar, cst.ParamSlash)):
            seq.append((where, -1, value))
    star = cst.Param(cst.Name(name), star="**")
    laid = separated([v for _, _, v in seq], [star], opening)
    if not seq:
        return params.with_changes(star_kwarg=laid[-1])
    where, index, _ = seq[-1]
    last = laid[-2]
    if index < 0:
        changed = params.with_changes(**{where: last})
    else:
        values = list(getattr(params, where))
        values[index] = last
        changed = params.with_changes(**{where: tuple(values)})
    return changed.with_changes(star_kwarg=laid[-1])


RULES = [TFS301, TFS302, TFS303, TFS304, TFS305, TFS306, TFS307]
