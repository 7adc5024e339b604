"""What the program model needs from one module, read with CPython's ``ast`` (several times faster
than libcst): its imports, its classes and functions, what it registers with Keras, what it
instantiates, and where it saves and loads models.

Files that a run only reads for the program model (pre-commit passes the changed files; the rest
of the project still decides which program imports what) get nothing more than this, and the
linted files get the same, so a file's findings never depend on which files were passed.
"""

from __future__ import annotations

import ast
import os
import re
from dataclasses import dataclass, field, replace
from typing import Dict, FrozenSet, Iterable, List, Optional, Sequence, Set, Tuple

from tflint_save import pathvalues, summaries
from tflint_save.findings import ClassInfo, tuples
from tflint_save.names import canonical, module_parts

REGISTER = "keras.saving.register_keras_serializable"
GET_CUSTOM_OBJECTS = "keras.saving.get_custom_objects"
LOAD_MODEL = "keras.saving.load_model"
SAVE_MODEL = "keras.saving.save_model"
MODEL_CHECKPOINT = "keras.callbacks.ModelCheckpoint"
SCOPES = ("keras.saving.custom_object_scope",)
# Serializing a model without writing it: what the class rules count as reaching a save.
SERIALIZE = ("keras.models.clone_model", "keras.saving.serialize_keras_object", "keras.layers.serialize",
             "keras.utils.serialize_keras_object", "keras.models.model_to_json")
SERIALIZE_METHODS = ("get_config", "to_json", "to_yaml")
# The export decorators of keras-cv, keras-hub and keras-nlp register what they decorate
# (keras_hub_export -> maybe_register_serializable -> register_keras_serializable).
EXPORT_ROOTS = ("keras_cv", "keras_hub", "keras_nlp")
# Calls whose argument is a module name we cannot follow, or that change where imports come from.
_DYNAMIC = re.compile(r"\b(?:import_module|__import__|sys\.path\.(?:append|insert|extend)|spec_from_file_location"
                      r"|load_source|run_path|run_module|execfile)\b|^\s*%run\b|\bexec\(", re.M)
_DYNAMIC_WORDS = ("import_module", "__import__", "sys.path", "spec_from_file_location", "load_source", "run_path",
                  "run_module", "execfile", "%run", "exec(")
# Paths that are surely not a model (an image, a table, an array...).
_NOT_MODEL = (".png", ".jpg", ".jpeg", ".gif", ".bmp", ".csv", ".txt", ".json", ".npy", ".npz", ".pkl",
              ".pickle", ".pt", ".pth", ".yaml", ".yml", ".tflite", ".onnx", ".svg", ".pdf", ".wav", ".mp4")

Key = Optional[str]  # a save or load path: "=<normalized literal>", "$<variable>", or None (unknown)


@dataclass(frozen=True)
class Site:
    """A full-model save, a serialization, or a load_model() call."""

    kind: str  # "save" | "serialize" | "load"
    line: int
    key: Key
    # For loads: custom_objects= (or **kwargs, or a custom_object_scope) given.
    custom_objects: bool = False
    # The imported name the key refers to, resolved by the model ("module", "NAME"), if any.
    imported: Tuple[str, ...] = ()
    cell: int = 0  # notebooks: the cell, and ``line`` counts within it (as findings do)
    receiver: str = ""  # saves: the model variable and where it is saved, "<scope>:<name>@<line>.<column>"
    function: str = ""  # the module-level function it is in ("": module level, or a class body)


@dataclass
class Summary:
    """One module, as the program model sees it (plain data: cached as JSON)."""

    path: str
    module: Tuple[str, ...] = ()  # module_parts of the absolute path (the index's class keys)
    # Imports as written: (level, module, names); names are what a from-import takes.
    imports: List[Tuple[int, str, Tuple[str, ...]]] = field(default_factory=list)
    dynamic: bool = False  # imports we cannot follow (importlib, sys.path tricks, %run)
    main_guard: bool = False
    notebook: bool = False
    classes: List[ClassInfo] = field(default_factory=list)
    functions: List[Tuple[str, bool]] = field(default_factory=list)  # module-level defs: (name, registered)
    decorated: List[Tuple[str, Tuple[str, ...]]] = field(default_factory=list)  # module-level defs' decorators
    registered_names: List[str] = field(default_factory=list)  # get_custom_objects() updates, register()(X)
    registering: List[str] = field(default_factory=list)  # defs that call register_keras_serializable
    def_calls: Dict[str, List[str]] = field(default_factory=dict)
    called: List[str] = field(default_factory=list)  # simple names called outside class bodies
    called_anywhere: List[str] = field(default_factory=list)  # ... and inside them
    uses: List[Tuple[str, str]] = field(default_factory=list)  # functions handed to Keras: (name, role)
    # Losses and metrics by the model compiled with them: (name, role, the compiled variable or ""
    # when it is not a plain name): they reach a saved model only through its own compile().
    compiled: List[Tuple[str, str, str]] = field(default_factory=list)
    constants: Dict[str, str] = field(default_factory=dict)  # module-level NAME = "literal" and argparse defaults
    sites: List[Site] = field(default_factory=list)
    exports: List[str] = field(default_factory=list)  # names decorated by a keras-cv/hub/nlp export decorator
    # What builds each saved model, by its save's receiver -> [names it calls, names it reads], from
    # the assignments and add()/compile() calls that reach the save (scope: the top-level def, "" for
    # module level), and those of the variables they read.
    assigned: Dict[str, List[List[str]]] = field(default_factory=dict)
    def_uses: Dict[str, List[Tuple[str, str]]] = field(default_factory=dict)  # uses inside each top-level def
    # Functions holding a save or load that the module names without calling them (``app.run(main)``,
    # ``callbacks=[export]``): they may run although no one calls them by name.
    referenced: List[str] = field(default_factory=list)
    # Names a literal maps by their own name ({'Scale': Scale, "Gate": layers.Gate}): how custom_objects
    # are written for load_model, and how a library hands its classes to its users' loads.
    custom_object_names: List[str] = field(default_factory=list)
    # What each function and method returns and does to its parameters (``summaries``), by name
    # ("f", "Class.method"): only those with something to say.
    calls: Dict[str, summaries.Function] = field(default_factory=dict)
    # Project classes built with an argument that is an instance of another project class:
    # (the class called, the argument's position or keyword, that instance's class, the argument
    # as written), both classes as the module spells them resolved (``summaries.Returned.callee``).
    built_with: List[Tuple[str, str, str, str]] = field(default_factory=list)

    @property
    def saves(self) -> List[Site]:
        return [s for s in self.sites if s.kind == "save"]

    @property
    def loads(self) -> List[Site]:
        return [s for s in self.sites if s.kind == "load"]


_dotted = summaries.dotted


def _last(node: ast.AST) -> Optional[str]:
    if isinstance(node, ast.Call):
        node = node.func
    if isinstance(node, ast.Attribute):
        return node.attr
    if isinstance(node, ast.Name):
        return node.id
    return None


def _string(node: Optional[ast.AST]) -> Optional[str]:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    return None


def _arg(call: ast.Call, position: Optional[int], keyword: Optional[str]) -> Optional[ast.AST]:
    for kw in call.keywords:
        if keyword is not None and kw.arg == keyword:
            return kw.value
    index = 0
    for a in call.args:
        if isinstance(a, ast.Starred):
            break
        if position is not None and index == position:
            return a
        index += 1
    return None


def _names_in(value: ast.AST) -> Iterable[str]:
    if isinstance(value, ast.Name):
        yield value.id
    elif isinstance(value, (ast.List, ast.Tuple)):
        for element in value.elts:
            yield from _names_in(element)
    elif isinstance(value, ast.Dict):
        for element in value.values:
            yield from _names_in(element)


def _is_main_guard(test: ast.AST) -> bool:
    if isinstance(test, ast.Compare) and len(test.ops) == 1 and isinstance(test.ops[0], ast.Eq):
        sides = [test.left, test.comparators[0]]
        return any(isinstance(s, ast.Name) and s.id == "__name__" for s in sides) and any(
            _string(s) == "__main__" for s in sides)
    return False


def normalize(path: str) -> str:
    return os.path.normpath(path.replace("\\", "/")).lstrip("./") if path not in (".", "") else path


class _Reader:
    """One pass over the tree; imports are read first, as the engine reads them."""

    def __init__(self, path: str, tree: ast.Module):
        self.path = path
        self.module = tuple(module_parts(path))
        self.is_package = path.replace("\\", "/").endswith("/__init__.py")
        self.out = Summary(path, self.module)
        self.table: Dict[str, Set[str]] = {}
        self.defs: Set[str] = set()
        self.functions: Set[str] = set()  # module-level functions (not classes)
        self.called: Set[str] = set()
        self.anywhere: Set[str] = set()
        self.registering: Set[str] = set()
        self.def_calls: Dict[str, Set[str]] = {}
        self._scoped: Set[int] = set()  # calls inside ``with custom_object_scope(...)``
        self.scoped: Dict[Tuple[str, str], Optional[str]] = {}  # (function, name) -> its one literal
        # "<scope>:<name>" -> what builds it, in source order: (line, column, "=" for an assignment
        # or "+" for an add()/compile() call, the expressions).
        self.assignments: Dict[str, List[Tuple[int, int, str, List[ast.AST]]]] = {}
        # Calls of a capitalized project name with a name or a call as an argument (see built_with).
        self.instances: List[Tuple[str, str, str, ast.AST]] = []
        for statement in _module_statements(tree.body):
            if isinstance(statement, (ast.Import, ast.ImportFrom)):
                self._import(statement, self.table)
            elif isinstance(statement, ast.If) and _is_main_guard(statement.test):
                self.out.main_guard = True
            elif isinstance(statement, (ast.Assign, ast.AnnAssign)):
                self._constant(statement)

    # -- names ---------------------------------------------------------------------------
    def _import(self, node: ast.AST, table: Dict[str, Set[str]]) -> None:
        if isinstance(node, ast.Import):
            for alias in node.names:
                self.out.imports.append((0, alias.name, ()))
                local = alias.asname or alias.name.split(".")[0]
                table.setdefault(local, set()).add(alias.name if alias.asname else alias.name.split(".")[0])
            return
        assert isinstance(node, ast.ImportFrom)
        # Imports inside functions count too: the program may run them (a missed registration
        # must never be claimed).
        self.out.imports.append((node.level or 0, node.module or "", tuple(a.name for a in node.names)))
        base = node.module or ""
        if node.level:
            package = list(self.module if self.is_package else self.module[:-1])
            if node.level > 1:
                package = package[: len(package) - (node.level - 1)]
            base = ".".join(package + ([base] if base else []))
        for alias in node.names:
            if alias.name == "*":
                continue
            table.setdefault(alias.asname or alias.name, set()).add(f"{base}.{alias.name}" if base else alias.name)

    def raw(self, node: ast.AST, local: Optional[Dict[str, Set[str]]] = None) -> FrozenSet[str]:
        parts = _dotted(node)
        if not parts:
            return frozenset()
        if local is not None and parts[0] in local:
            heads = local[parts[0]]  # a function's own import, or a parameter that hides an import
        else:
            heads = self.table.get(parts[0])
        if not heads:
            return frozenset()
        tail = "." + ".".join(parts[1:]) if len(parts) > 1 else ""
        return frozenset(h + tail for h in heads)

    def names(self, node: ast.AST, local: Optional[Dict[str, Set[str]]] = None) -> FrozenSet[str]:
        head = node
        while type(head) is ast.Attribute:
            head = head.value
        if type(head) is not ast.Name or head.id not in self.table and not (local and head.id in local):
            return _NONE  # not an import: most calls (locals, methods of locals)
        return frozenset(canonical(n) for n in self.raw(node, local))

    def _constant(self, node: ast.AST) -> None:
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        value = _string(node.value)
        for target in targets:
            if isinstance(target, ast.Name) and value is not None:
                self.out.constants[target.id] = value

    # -- the walk ------------------------------------------------------------------------
    def read(self, tree: ast.Module) -> Summary:
        for statement in tree.body:
            if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                self.defs.add(statement.name)
                if not isinstance(statement, ast.ClassDef):
                    self.functions.add(statement.name)
        self._block(tree.body, outer=None, in_class=False, local=None)
        out = self.out
        out.called = sorted(self.called)
        out.called_anywhere = sorted(self.anywhere | self.called)
        out.registering = sorted(self.registering)
        out.def_calls = {k: sorted(v) for k, v in self.def_calls.items()}
        out.assigned = self._assigned(tree)
        try:
            out.calls = summaries.read(tree, self.names, self.raw)
        except Exception:  # a bug there leaves the functions unknown; it must not cost the file its findings
            out.calls = {}
        out.built_with = self._built_with()
        return out

    def _block(self, body: Sequence[ast.AST], outer: Optional[str], in_class: bool,
               local: Optional[Dict[str, Set[str]]], scope: str = "") -> None:
        """Every node of a block, in order; a def or class body is read by a call of its own."""
        stack: List[ast.AST] = list(reversed(body))
        pop, push = stack.pop, stack.append
        while stack:
            node = pop()
            kind = type(node)
            if kind in _SKIP:
                continue
            if kind is ast.Call:
                self._call(node, outer, in_class, local, scope)
            elif kind is ast.ClassDef or kind is ast.FunctionDef or kind is ast.AsyncFunctionDef:
                self._definition(node, outer, in_class, local, scope)
                continue
            elif kind is ast.Import or kind is ast.ImportFrom:
                if local is not None:
                    self._import(node, local)
                continue
            elif kind is ast.Assign or kind is ast.AnnAssign:
                self._assign(node, local, scope)
            elif kind is ast.With or kind is ast.AsyncWith:
                if any(isinstance(i.context_expr, ast.Call) and (
                        self.names(i.context_expr.func, local) & set(SCOPES)
                        or (_last(i.context_expr.func) or "").lower().endswith("scope")) for i in node.items):
                    for child in node.body:
                        self._scoped.update(id(n) for n in ast.walk(child) if isinstance(n, ast.Call))
            elif kind is ast.Attribute:
                if type(node.value) is not ast.Name:  # self.x.y: nothing below a plain name
                    push(node.value)
                continue
            summaries.push_children(node, push, _SKIP)

    def _definition(self, node: ast.AST, outer: Optional[str], in_class: bool, local, scope: str) -> None:
        """Decorators, bases and defaults run where the def is; the body in its own scope."""
        around = list(node.decorator_list)
        if type(node) is ast.ClassDef:
            around += node.bases + [kw.value for kw in node.keywords]
            self._block(around, outer, in_class, local, scope)
            self._class(node, local)
            inner_local, body_in_class = local, True
        else:
            around += node.args.defaults + [d for d in node.args.kw_defaults if d is not None]
            self._block(around, outer, in_class, local, scope)
            if outer is None:
                self._function(node)
            inner_local = dict(local) if local else {}
            arguments = node.args
            for param in arguments.posonlyargs + arguments.args + arguments.kwonlyargs + [
                    a for a in (arguments.vararg, arguments.kwarg) if a is not None]:
                if param.arg in self.table:
                    inner_local[param.arg] = set()  # a parameter hides the import of its name
            body_in_class = in_class
        self._block(node.body, outer if outer is not None else node.name, body_in_class, inner_local,
                    scope or node.name)

    def _assign(self, node: ast.AST, local, scope: str) -> None:
        if node.value is None:
            return
        targets = node.targets if type(node) is ast.Assign else [node.target]
        for target in targets:
            if isinstance(target, ast.Name):
                self.assignments.setdefault(f"{scope}:{target.id}", []).append(
                    (node.lineno, node.col_offset, "=", [node.value]))
        if len(targets) != 1:
            return
        target = targets[0]
        if isinstance(target, ast.Subscript):
            self._custom_objects_item(node, local)
        elif isinstance(target, ast.Name) and scope:
            # path = "m.keras" in a function: the literal, while it is the only one assigned
            value = _string(node.value)
            known = self.scoped.get((scope, target.id), value)
            self.scoped[(scope, target.id)] = value if known == value else None

    def _class(self, node: ast.ClassDef, local) -> None:
        bases = []
        for base in node.bases:
            if isinstance(base, ast.Starred):
                continue
            candidates = self.names(base, local)
            if not candidates and isinstance(base, ast.Name):
                candidates = frozenset({".".join(self.module + (base.id,))})
            if candidates:
                bases.append(tuple(sorted(candidates)))
        methods = tuple(dict.fromkeys(s.name for s in node.body if isinstance(s, ast.FunctionDef)))
        registered = any(self._is_register(d, local) for d in node.decorator_list)
        decorators = tuple(sorted({n for n in (_last(d) for d in node.decorator_list) if n}))
        if any(self._is_export(d, local) for d in node.decorator_list):
            registered = True
            self.out.exports.append(node.name)
        self.out.classes.append(ClassInfo(self.path, self.module, node.name, tuple(bases), registered,
                                          methods, node.lineno, decorators))

    def _function(self, node: ast.AST) -> None:
        registered = any(self._is_register(d, None) or self._is_export(d, None) for d in node.decorator_list)
        self.out.functions.append((node.name, registered))

    def _is_register(self, node: ast.AST, local) -> bool:
        if isinstance(node, ast.Call):
            node = node.func
        # By its name too: projects re-export it (``backend.register_keras_serializable``).
        return _last(node) == "register_keras_serializable" or REGISTER in self.names(node, local)

    def _is_export(self, node: ast.AST, local) -> bool:
        name = _last(node)
        if not name or not name.endswith("_export"):
            return False
        raw = self.raw(node.func if isinstance(node, ast.Call) else node, local)
        return any(r.split(".")[0] in EXPORT_ROOTS for r in raw)

    def _custom_objects_item(self, node: ast.Assign, local) -> None:
        target = node.targets[0]
        if isinstance(target.value, ast.Call) and GET_CUSTOM_OBJECTS in self.names(target.value.func, local):
            if isinstance(node.value, ast.Name):
                self.out.registered_names.append(node.value.id)

    def _assigned(self, tree: ast.Module) -> Dict[str, List[List[str]]]:
        """What builds each saved model: by save (its receiver), the names called and read by the
        assignments and add()/compile() calls of the variable that reach the save, and of the
        variables of its scope they read, at that point (flow-sensitive: a notebook that rebinds
        ``model`` saves the value it holds at the save).  Only saves are followed: most modules
        save nothing."""
        out: Dict[str, List[List[str]]] = {}
        blocks: Dict[str, Dict[int, Tuple]] = {}
        for site in self.out.sites:
            if not site.receiver:
                continue
            variable, _, at = site.receiver.partition("@")
            if variable not in self.assignments:
                continue
            scope = variable.split(":", 1)[0]
            if scope not in blocks:
                blocks[scope] = _block_paths(tree, scope)
            line, column = (int(n) for n in at.split("."))
            calls: Set[str] = set()
            reads: Set[str] = set()
            todo = [(variable, (line, column))]
            seen = set()
            while todo:
                name, point = todo.pop()
                for event in _reaching(self.assignments.get(name, ()), point, blocks[scope]):
                    if (name, event[:2]) in seen:
                        continue
                    seen.add((name, event[:2]))
                    for value in event[3]:
                        for inner in ast.walk(value):
                            if isinstance(inner, ast.Call):
                                called = _last(inner.func)
                                if called:
                                    calls.add(called)
                            elif isinstance(inner, ast.Name):
                                reads.add(inner.id)
                                todo.append((f"{scope}:{inner.id}", event[:2]))
            if calls or reads:
                out[site.receiver] = [sorted(calls), sorted(reads)]
        return out

    def _call(self, node: ast.Call, outer: Optional[str], in_class: bool, local, scope: str) -> None:
        func = node.func
        names = self.names(func, local)
        name = _last(func)
        if name:
            self.anywhere.add(name)
            if not in_class:
                self.called.add(name)
        if outer is not None:
            if REGISTER in names:
                self.registering.add(outer)
            elif name:
                self.def_calls.setdefault(outer, set()).add(name)
        if isinstance(func, ast.Attribute):
            method = func.attr
            if method in ("add", "compile") and isinstance(func.value, ast.Name):
                self.assignments.setdefault(f"{scope}:{func.value.id}", []).append(
                    (node.lineno, node.col_offset, "+", node.args + [kw.value for kw in node.keywords]))
            if method == "compile":
                model = func.value.id if isinstance(func.value, ast.Name) else ""
                for kw in node.keywords:
                    role = {"loss": "loss", "metrics": "metric", "weighted_metrics": "metric"}.get(kw.arg or "")
                    if role:
                        uses = [(n, role) for n in _names_in(kw.value)]
                        self._use(outer, uses)
                        self.out.compiled.extend((n, r, model) for n, r in uses)
            elif method == "update" and isinstance(func.value, ast.Call):
                if GET_CUSTOM_OBJECTS in self.names(func.value.func, local):
                    for a in node.args:
                        if isinstance(a, ast.Dict):
                            self.out.registered_names.extend(v.id for v in a.values if isinstance(v, ast.Name))
        if isinstance(func, ast.Call) and self._is_register(func, local):
            self.out.registered_names.extend(a.id for a in node.args if isinstance(a, ast.Name))
        # Only arguments of Keras APIs (or of the project's own classes) make a function a Keras object.
        if any(n.startswith("keras.") for n in names) or (not names and (name or "")[:1].isupper()):
            for kw in node.keywords:
                if kw.arg == "activation" and isinstance(kw.value, ast.Name) and not self.raw(kw.value, local):
                    self._use(outer, [(kw.value.id, "activation")])
        self._site(node, names, name, in_class, local, scope)
        if name and name[:1].isupper() and not _library(names) and (node.args or node.keywords):
            self._instance(node, local, scope)

    def _instance(self, node: ast.Call, local, scope: str) -> None:
        callee = self._class_callee(node.func, local)
        if callee is None:
            return
        arguments = [(str(i), a) for i, a in enumerate(node.args)] + [(k.arg, k.value) for k in node.keywords if k.arg]
        for key, value in arguments:
            if isinstance(value, ast.Starred):
                break
            if isinstance(value, (ast.Name, ast.Call)):
                self.instances.append((callee, key, scope, value))

    def _class_callee(self, func: ast.AST, local) -> Optional[str]:
        """A capitalized project name called: as imported ("model.Classifier") or defined here."""
        if isinstance(func, ast.Name) and func.id[:1].isupper():
            raw = self.raw(func, local)
            if not raw:
                return func.id
            return next(iter(raw)) if len(raw) == 1 and not _library(raw) else None
        if isinstance(func, ast.Attribute) and func.attr[:1].isupper():
            raw = self.raw(func, local)
            return next(iter(raw)) if len(raw) == 1 and not _library(raw) else None
        return None

    def _built_with(self) -> List[Tuple[str, str, str, str]]:
        """The instances of project classes handed to project classes: a call, or a name bound
        once in its scope to one."""
        found = []
        for callee, key, scope, value in self.instances:
            if isinstance(value, ast.Name):
                events = self.assignments.get(f"{scope}:{value.id}", [])
                if len(events) != 1 or events[0][2] != "=" or len(events[0][3]) != 1:
                    continue
                made = events[0][3][0]
                shown = value.id
            else:
                made, shown = value, ""
            if not isinstance(made, ast.Call):
                continue
            instance = self._class_callee(made.func, None)
            if instance is None:
                continue
            found.append((callee, key, instance, shown or (_last(made.func) or "") + "(...)"))
        return found

    def _use(self, outer: Optional[str], uses: List[Tuple[str, str]]) -> None:
        self.out.uses.extend(uses)
        if outer is not None:
            self.out.def_uses.setdefault(outer, []).extend(uses)

    # -- saves and loads -----------------------------------------------------------------
    def _site(self, node: ast.Call, names: FrozenSet[str], name: Optional[str], in_class: bool, local,
              scope: str) -> None:
        if LOAD_MODEL in names:
            given = any(kw.arg == "custom_objects" or kw.arg is None for kw in node.keywords) or len(node.args) > 1
            given = given or id(node) in self._scoped
            path = _arg(node, 0, "filepath")
            self.out.sites.append(Site("load", node.lineno, self._key(path, local, scope), given,
                                       self._imported(path, local), function=self._function_of(scope)))
            return
        if in_class:
            return  # get_config() inside a class body builds the class's own config
        receiver = None
        if SAVE_MODEL in names:
            path = _arg(node, 1, "filepath")
            receiver = _arg(node, 0, "model")
        elif MODEL_CHECKPOINT in names:
            weights_only = _arg(node, 4, "save_weights_only")
            if isinstance(weights_only, ast.Constant) and weights_only.value is True:
                return
            path = _arg(node, 0, "filepath")
        elif any(n in SERIALIZE for n in names) or (_project(names) and name in SERIALIZE_METHODS
                                                    and isinstance(node.func, ast.Attribute)):
            self.out.sites.append(Site("serialize", node.lineno, None))
            return
        elif name == "save" and _project(names) and isinstance(node.func, ast.Attribute):
            path = _arg(node, 0, "filepath")
            receiver = node.func.value
            literal = _string(path)
            if path is None or literal is not None and literal.lower().endswith(_NOT_MODEL):
                return
        else:
            # tf.saved_model.save never calls get_config(), and load_model() cannot read what it writes
            # without the Keras metadata: not a save that custom classes or load_model() meet.
            return
        model = f"{scope}:{receiver.id}@{node.lineno}.{node.col_offset}" if isinstance(receiver, ast.Name) else ""
        self.out.sites.append(Site("save", node.lineno, self._key(path, local, scope), False,
                                   self._imported(path, local), receiver=model, function=self._function_of(scope)))

    def _function_of(self, scope: str) -> str:
        return scope if scope in self.functions else ""

    def _key(self, path: Optional[ast.AST], local, scope: str) -> Key:
        literal = _string(path)
        if literal is not None:
            return "=" + normalize(literal)
        if isinstance(path, ast.Name):
            if scope and self.scoped.get((scope, path.id)) is not None:
                return "=" + normalize(self.scoped[(scope, path.id)])
            if (not scope or (scope, path.id) not in self.scoped) and path.id in self.out.constants:
                return "=" + normalize(self.out.constants[path.id])
            if self.raw(path, local):
                return None  # resolved by the model through the import
            return "$" + ".".join(self.module + ((scope,) if scope else ()) + (path.id,))
        if isinstance(path, ast.Attribute):
            # args.model_path, flags.FLAGS.model_path: the option's default (read after the walk, in summarize)
            receiver = path.value
            if isinstance(receiver, ast.Name):
                return f"@{receiver.id}.{path.attr}"
            if isinstance(receiver, ast.Attribute) and receiver.attr == "FLAGS":
                return f"@FLAGS.{path.attr}"
        return None

    def _imported(self, path: Optional[ast.AST], local) -> Tuple[str, ...]:
        if isinstance(path, ast.Name):
            raw = self.raw(path, local)
            if len(raw) == 1:
                full = next(iter(raw))
                module, _, name = full.rpartition(".")
                return (module, name)
        return ()


# Nodes that hold no call, definition or import.
_SKIP = frozenset({ast.Name, ast.Constant, ast.Load, ast.Store, ast.Del, ast.Pass, ast.Break, ast.Continue,
                   ast.alias, ast.Global, ast.Nonlocal, ast.JoinedStr, ast.FormattedValue})
_NONE: FrozenSet[str] = frozenset()


# Libraries whose save()/get_config() are not a Keras model's (np.save, torch.save, an image...).
_NOT_KERAS_ROOTS = frozenset({"numpy", "pickle", "joblib", "torch", "PIL", "cv2", "pandas", "matplotlib", "json",
                              "scipy", "imageio", "skimage", "h5py", "tensorflow", "keras", "tf_keras", "os", "shutil",
                              "sklearn", "dill", "cloudpickle", "jax", "flax", "orbax"})


def _library(raw: Iterable[str]) -> bool:
    return any(n.split(".", 1)[0] in _NOT_KERAS_ROOTS or n.split(".", 1)[0] in ("tf", "tensorflow") for n in raw)


def _project(names: FrozenSet[str]) -> bool:
    """A method called on a local value, or on an object a project module exports (``from train
    import model``): not on one of the libraries above."""
    return not any(n.split(".", 1)[0] in _NOT_KERAS_ROOTS for n in names)


# -- reaching assignments ----------------------------------------------------------------------

def _block_paths(tree: ast.Module, scope: str) -> Dict[int, Tuple]:
    """Each line of a scope (the module, or its top-level defs of that name) -> the branches that
    hold it: a tuple of (statement id, branch) from the scope down, "loop" for a loop's body."""
    found: Dict[int, Tuple] = {}
    if scope:
        bodies = [n.body for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
                  and n.name == scope]
    else:
        bodies = [tree.body]
    for body in bodies:
        _paths(body, (), found)
    return found


def _paths(body: Sequence[ast.AST], prefix: Tuple, found: Dict[int, Tuple]) -> None:
    for statement in body:
        branches: List[Tuple[Optional[str], Sequence[ast.AST]]] = []
        kind = type(statement)
        if kind in (ast.If,):
            branches = [("body", statement.body), ("else", statement.orelse)]
        elif kind in (ast.For, ast.AsyncFor, ast.While):
            branches = [("loop", statement.body), ("else", statement.orelse)]
        elif kind in (ast.With, ast.AsyncWith):
            branches = [(None, statement.body)]  # runs where the with statement is
        elif kind is ast.Try or kind.__name__ == "TryStar":
            branches = [("try", statement.body), ("else", statement.orelse), (None, statement.finalbody)]
            branches += [(f"except{i}", h.body) for i, h in enumerate(statement.handlers)]
        elif kind in (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef):
            branches = [("def", statement.body)]  # runs when called, not here
        elif kind.__name__ == "Match":
            branches = [(f"case{i}", c.body) for i, c in enumerate(statement.cases)]
        first_inner = min((b[0].lineno for _, b in branches if b), default=None)
        last = (first_inner - 1) if first_inner is not None else (statement.end_lineno or statement.lineno)
        for line in range(statement.lineno, max(last, statement.lineno) + 1):
            found.setdefault(line, prefix)
        for branch, inner in branches:
            _paths(inner, prefix if branch is None else prefix + ((id(statement), branch),), found)


def _reaching(events, point: Tuple[int, int], paths: Dict[int, Tuple]) -> List[Tuple]:
    """The assignments and add()/compile() calls of one variable that may reach ``point``: those
    before it that no later assignment on every way to it replaces, and those after it in a loop
    that holds both (the next iteration)."""
    here = paths.get(point[0], ())
    loops = {p for p in here if p[1] == "loop"}
    found = []
    for event in events:
        position = event[:2]
        where = paths.get(event[0], ())
        if position < point:
            if not any(k[2] == "=" and position < k[:2] < point and here[:len(paths.get(k[0], ()))] == paths.get(
                    k[0], ()) for k in events):
                found.append(event)
        elif loops & set(where):
            found.append(event)
    return found


def _module_statements(body: Sequence[ast.AST]) -> Iterable[ast.AST]:
    """Module-level statements, into if/try/with blocks (imports under a guard still run)."""
    for statement in body:
        yield statement
        if isinstance(statement, (ast.If, ast.Try, ast.With)) or type(statement).__name__ == "TryStar":
            blocks = [getattr(statement, "body", []), getattr(statement, "orelse", []),
                      getattr(statement, "finalbody", [])]
            blocks += [h.body for h in getattr(statement, "handlers", [])]
            for block in blocks:
                yield from _module_statements(block)


def summarize(path: str, text: str, notebook: bool = False, tree: Optional[ast.Module] = None) -> Summary:
    """The summary of one module's source (a notebook: the code its cells make).  Source that does
    not parse gives an empty summary: the engine reports it (TFS001).  ``tree``: ``ast.parse(text)``
    when the caller has it already (the engine's, see safeparse.accepted_tree); it is only read."""
    try:
        tree = tree if tree is not None else ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return Summary(path, tuple(module_parts(path)), notebook=notebook)
    reader = _Reader(path, tree)
    try:
        out = reader.read(tree)
    except RecursionError:
        return Summary(path, tuple(module_parts(path)), notebook=notebook)
    out.notebook = notebook
    out.dynamic = any(word in text for word in _DYNAMIC_WORDS) and bool(_DYNAMIC.search(text))
    if any(s.key and s.key.startswith("@") for s in out.sites) and any(w in text for w in pathvalues.OPTION_WORDS):
        options = pathvalues.read_options(tree)
        out.sites = [_with_default(s, options) for s in out.sites]
    out.sites = [replace(s, key=None) if s.key and s.key.startswith("@") else s for s in out.sites]
    holding = {s.function for s in out.sites if s.function}
    if holding:
        out.referenced = sorted({n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and n.id in holding
                                 and isinstance(n.ctx, ast.Load)})
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node.decorator_list:
            out.decorated.append((node.name, tuple(n for n in (_last(d) for d in node.decorator_list) if n)))
    if ":" in text:
        out.custom_object_names = sorted({m.group(2) for m in _SELF_MAPPED.finditer(text)})
    return out


# 'Scale': Scale or "Scale": layers.Scale, as a dict literal writes it (a text search: a match in a
# comment only makes a class count as handed over, which silences, never reports).
_SELF_MAPPED = re.compile(r"""(["'])([A-Za-z_]\w*)\1\s*:\s*(?:[A-Za-z_][\w.]*\.)?\2\b(?![.(\[])""")


def _with_default(site: Site, options: pathvalues.Options) -> Site:
    if site.key and site.key.startswith("@"):
        receiver, _, attribute = site.key[1:].partition(".")
        value = options.attribute(receiver, attribute)
        if value is not None and value.text is not None:
            return replace(site, key="=" + normalize(value.text))
    return site


# -- JSON (the cache) -----------------------------------------------------------------------

def to_json(summary: Summary) -> dict:
    from dataclasses import asdict

    return asdict(summary)


def from_json(raw: dict) -> Summary:
    values = dict(raw)
    values["module"] = tuple(values.get("module", ()))
    values["imports"] = [(level, module, tuple(names)) for level, module, names in values.get("imports", [])]
    values["classes"] = [ClassInfo(**{k: tuples(v) if type(v) is list else v for k, v in c.items()})
                         for c in values.get("classes", [])]
    values["functions"] = [tuple(f) for f in values.get("functions", [])]
    values["decorated"] = [(n, tuple(d)) for n, d in values.get("decorated", [])]
    values["uses"] = [tuple(u) for u in values.get("uses", [])]
    values["compiled"] = [tuple(u) for u in values.get("compiled", [])]
    values["sites"] = [Site(s["kind"], s["line"], s["key"], s["custom_objects"], tuple(s["imported"]), s["cell"],
                            s["receiver"], s["function"]) for s in values.get("sites", [])]
    values["def_uses"] = {k: [tuple(u) for u in v] for k, v in values.get("def_uses", {}).items()}
    values["calls"] = summaries.from_json(values.get("calls", {}))
    values["built_with"] = [tuple(b) for b in values.get("built_with", [])]
    return Summary(**values)
