"""The project index: custom Keras classes and functions across every project file.

Its facts come from the summaries (``modulefacts.Summary``) of every project file, linted or only
read for the program model: classes (bases, decorators, methods), module-level functions,
``get_custom_objects()`` registrations, and functions handed to Keras as losses, metrics or
activations.  ``ProjectIndex`` answers what a class is (a Layer through two project base classes
in other files...), where it is registered, and whether it reaches a save in some program (see
``programs``); the deferred findings of the linted files carry what the rules noted per class.
"""

from __future__ import annotations

from typing import Callable, Dict, List, Optional, Sequence, Set, Tuple

from tflint_save import summaries
from tflint_save.findings import ClassInfo, Facts, FileResult
from tflint_save.programs import ProgramModel
from tflint_save.modulefacts import Summary

# What subclassing a Keras name makes a class.
_FAMILY_KIND = {
    "layers": "layer",
    "models": "model",
    "losses": "loss",
    "metrics": "metric",
    "callbacks": "callback",
    "optimizers": "optimizer",
}
# Kinds that a saved model records by class name and load_model must find again.
SERIALIZED_KINDS = ("layer", "model", "loss", "metric")


class ProjectIndex:
    """Answers questions about the project's own Keras classes and functions."""

    def __init__(self, results: Sequence[FileResult], summaries: Optional[Sequence[Summary]] = None,
                 custom_classes: Callable[[str], str] = lambda path: "saved"):
        """``results``: the linted files' (their deferred findings); ``summaries``: every project
        file's (default: the linted files' own); ``custom_classes``: the custom-classes setting of
        a file (each file's closest configuration decides for the classes it defines)."""
        if summaries is None:
            summaries = [r.summary for r in results if r.summary is not None]
        self._summaries = summaries
        self._programs: Optional[ProgramModel] = None
        self.custom_classes = custom_classes
        self.classes: Dict[str, ClassInfo] = {}
        self.by_name: Dict[str, List[ClassInfo]] = {}
        self.registered_names: Set[str] = set()
        self.custom_object_names: Set[str] = set()  # mapped by their own name in a literal somewhere
        # Where each name is registered by get_custom_objects() or register_keras_serializable()(X).
        self.registered_where: Dict[str, Set[str]] = {}
        self.functions: Dict[str, List[bool]] = {}
        self.function_paths: Dict[str, List[Tuple[str, bool]]] = {}
        self.uses: Set[Tuple[str, str]] = set()
        self.registering: Set[str] = set()
        self.called: Set[str] = set()
        self.callers: Dict[str, Set[str]] = {}  # simple name -> modules calling it (anywhere)
        def_calls: Dict[str, Set[str]] = {}
        for summary in summaries:
            self.registering.update(summary.registering)
            self.called.update(summary.called)
            for name in summary.called_anywhere:
                self.callers.setdefault(name, set()).add(summary.path)
            for name, calls in summary.def_calls.items():
                def_calls.setdefault(name, set()).update(calls)
            for info in summary.classes:
                self.classes[info.key] = info
                self.by_name.setdefault(info.name, []).append(info)
            self.registered_names.update(summary.registered_names)
            self.custom_object_names.update(summary.custom_object_names)
            for name in summary.registered_names:
                self.registered_where.setdefault(name, set()).add(summary.path)
            for name, registered in summary.functions:
                self.functions.setdefault(name, []).append(registered)
                self.function_paths.setdefault(name, []).append((summary.path, registered))
            self.uses.update(summary.uses)
        self._kinds: Dict[str, Set[str]] = {}
        # Deferred findings by (code, class key): what a rule noted about a class in its own file.
        self._deferred: Dict[Tuple[str, str], List[Facts]] = {}
        for result in results:
            for pending in result.pending:
                key = getattr(pending.data, "key", None)
                if isinstance(key, str):
                    self._deferred.setdefault((pending.code, key), []).append(pending.data)
        # What calls a registering callable registers too (to a fixed point).
        changed = True
        while changed:
            changed = False
            for name, calls in def_calls.items():
                if name not in self.registering and not calls.isdisjoint(self.registering):
                    self.registering.add(name)
                    changed = True
        self._children: Optional[Dict[str, List[ClassInfo]]] = None
        self._reach: Dict[str, Dict[str, Set[str]]] = {}

    @classmethod
    def of_classes(cls, summaries: Sequence[Summary]) -> "ProjectIndex":
        """An index that knows the classes only: enough for ``lookup()`` and ``ancestors()``, and
        cheaper to make (a pre-commit run asks them before the whole index is made)."""
        return cls([], [Summary(s.path, s.module, classes=s.classes) for s in summaries])

    def lookup(self, reference: str) -> List[ClassInfo]:
        """Project classes a base-class reference may mean: by module suffix, else by name."""
        module, _, name = reference.rpartition(".")
        candidates = self.by_name.get(name, [])
        wanted = tuple(module.split(".")) if module else ()
        exact = [c for c in candidates if wanted and c.module[-len(wanted):] == wanted]
        return exact or candidates

    def kinds(self, info: ClassInfo) -> Set[str]:
        """Every Keras kind (layer, model, loss, metric...) the class derives from."""
        key = info.key
        if key in self._kinds:
            return self._kinds[key]
        self._kinds[key] = set()  # cycle guard
        found: Set[str] = set()
        for candidates in info.bases:
            for base in candidates:
                if base.startswith("keras."):
                    parts = base.split(".")
                    kind = _FAMILY_KIND.get(parts[1]) if len(parts) > 2 else None
                    if kind:
                        found.add(kind)
                else:
                    for parent in self.lookup(base):
                        if parent.key != key:
                            found |= self.kinds(parent)
        self._kinds[key] = found
        return found

    def ancestors(self, info: ClassInfo) -> List[ClassInfo]:
        """The project's own base classes of ``info``, nearest first (no Keras classes)."""
        seen, order, todo = {info.key}, [], [info]
        while todo:
            current = todo.pop(0)
            for candidates in current.bases:
                for base in candidates:
                    if base.startswith("keras."):
                        continue
                    for parent in self.lookup(base):
                        if parent.key not in seen:
                            seen.add(parent.key)
                            order.append(parent)
                            todo.append(parent)
        return order

    def defines(self, info: ClassInfo, method: str) -> bool:
        """The class or one of its project ancestors defines ``method``."""
        return method in info.methods or any(method in a.methods for a in self.ancestors(info))

    def is_registered(self, info: ClassInfo) -> bool:
        return (
            info.registered
            or info.name in self.registered_names
            or any(d in self.registering for d in info.decorators)
        )

    def instantiated(self, info: ClassInfo) -> bool:
        """Code outside class bodies calls the class: only such classes are looked up by name
        when a saved model is loaded."""
        return info.name in self.called

    def keras_classes(self, kinds: Sequence[str] = SERIALIZED_KINDS) -> List[ClassInfo]:
        return [c for c in self.classes.values() if self.kinds(c) & set(kinds)]

    def unregistered_classes(self) -> List[ClassInfo]:
        """Custom layers, models, losses and metrics that the project builds and load_model
        cannot find by name (abstract bases and classes nobody instantiates are left out)."""
        return sorted(
            (c for c in self.keras_classes() if not self.is_registered(c) and self.instantiated(c)),
            key=lambda c: (c.name, c.path),
        )

    def unregistered_functions(self, roles: Sequence[str] = ("loss", "metric", "activation")) -> List[Tuple[str, str]]:
        """Project functions handed to Keras in ``roles`` and never registered."""
        found = set()
        for name, role in self.uses:
            if role in roles and name in self.functions and name not in self.registered_names:
                if not any(self.functions[name]):
                    found.add((name, role))
        return sorted(found)

    @property
    def programs(self) -> ProgramModel:
        """The program model, built when a rule first asks (a run whose files save, load and
        define nothing never needs one)."""
        if self._programs is None:
            self._programs = ProgramModel(self._summaries)
        return self._programs

    # -- registration and reachability (per program) ---------------------------------------
    def registered_in(self, info: ClassInfo) -> Set[str]:
        """The modules whose import registers the class (empty: nothing registers it)."""
        found = set(self.registered_where.get(info.name, ()))
        if info.registered or any(d in self.registering for d in info.decorators):
            found.add(info.path)
        return found

    def function_registered_in(self, name: str, path: str) -> Set[str]:
        found = set(self.registered_where.get(name, ()))
        if any(registered for where, registered in self.function_paths.get(name, ()) if where == path):
            found.add(path)
        return found

    def saved_objects(self, path: str, receiver: str = "") -> Dict[str, Set[str]]:
        """The project's Keras objects a model saved in module ``path`` may hold, by role
        ('class' -> class keys, 'loss'/'metric'/'activation' -> 'path:name' of functions).

        With the saved value known (``receiver``, see ``Summary.assigned``): what builds it, through the
        variables it is built from and the project functions it calls (a factory in another module);
        else what the module and the modules it imports instantiate or hand to Keras."""
        cache_key = path + "\0" + receiver
        found = self._reach.get(cache_key)
        if found is not None:
            return found
        modules = self.programs.closure(path)
        summary = self.programs.summaries[self.programs.norm(path)]
        found = {"class": set(), "loss": set(), "metric": set(), "activation": set()}
        if receiver in summary.assigned:
            built = summary.assigned[receiver]
            calls, reads = set(built[0]), set(built[1])
            uses = {(n, role) for m in modules for n, role in self.programs.summaries[m].uses if n in reads}
            factories = [calls_name for calls_name in sorted(calls) if calls_name in self.function_paths]
            seen = set()
            while factories:  # what project functions called to build it call and hand to Keras
                name = factories.pop()
                if name in seen:
                    continue
                seen.add(name)
                for where, _ in self.function_paths.get(name, ()):
                    module = self.programs.norm(where)
                    if module in modules:
                        inner = self.programs.summaries[module]
                        more = set(inner.def_calls.get(name, ()))
                        calls |= more
                        uses |= set(inner.def_uses.get(name, ()))
                        factories += [n for n in more if n in self.function_paths]
        else:
            # The saved value is not known: whatever the program instantiates or hands to Keras, but
            # a loss or metric only when compiled into a model that may be this one (a variable of the
            # saved one's name, or a value that is not a plain name): a discriminator's loss never
            # reaches the generator that is saved.
            saved = receiver.partition(":")[2].partition("@")[0]
            calls = {n for m in modules for n in self.programs.summaries[m].called}
            uses = {u for m in modules for u in self.programs.summaries[m].uses if u[1] not in ("loss", "metric")}
            uses |= {(n, role) for m in modules for n, role, model in self.programs.summaries[m].compiled
                     if not saved or model in ("", saved)}
        for name in calls:
            for info in self.by_name.get(name, ()):
                if self._norm(info.path) in modules and self.kinds(info) & set(SERIALIZED_KINDS):
                    found["class"].add(info.key)
        for name, role in uses:
            for where, _ in self.function_paths.get(name, ()):
                if self._norm(where) in modules:
                    found[role].add(f"{where}:{name}")
        self._reach[cache_key] = found
        return found

    def returned(self, path: str, callee: str, depth: int = 0) -> Optional[summaries.Returned]:
        """What a call of ``callee`` in module ``path`` returns, following the calls its summary
        names into other modules (``summaries``): a MODEL or LOADED ``Returned`` with what the
        functions on the way did to it (the outermost that compiled it or loaded weights into it
        says how), or None when that is not known."""
        if depth > 8:
            return None
        found = self.defining(path, callee)
        if found is None:
            return None
        where, name = found
        summary = self.programs.summaries[where]
        function = summary.calls.get(name)
        if function is not None and function.returns is not None:
            result = function.returns
            if result.kind == summaries.CALL:
                inner = self.returned(summary.path, result.callee, depth + 1)
                return _through(result, inner) if inner is not None else None
            return result
        if "." not in name and any(c.name == name and self.kinds(c) & {"model"} for c in summary.classes):
            return summaries.Returned(summaries.MODEL)  # a project Model subclass
        return None

    def callee(self, path: str, callee: str) -> Optional[Tuple[str, summaries.Function]]:
        """The module and summary of the function a call of ``callee`` in ``path`` runs, if known."""
        found = self.defining(path, callee)
        if found is None:
            return None
        function = self.programs.summaries[found[0]].calls.get(found[1])
        return (found[0], function) if function is not None else None

    def defining(self, path: str, callee: str) -> Optional[Tuple[str, str]]:
        """(the module, the name there) that ``callee`` called in ``path`` means: a function or
        class of that module, a method of its class ("Trainer.build"), or an import of one; None
        when no project module, or more than one, may be meant."""
        programs = self.programs
        module, _, name = callee.rpartition(".")
        here = programs.norm(path)
        summary = programs.summaries.get(here)
        if summary is not None and callee in summary.calls:
            return here, callee
        if not module:
            return (here, name) if summary is not None else None
        candidates = [programs.norm(c) for c in programs.modules_for(path, module)]
        candidates = [c for c in candidates if c in programs.summaries]
        return (candidates[0], name) if len(candidates) == 1 else None

    def descendants(self, info: ClassInfo) -> List[ClassInfo]:
        if self._children is None:
            self._children = {}
            for cls in self.classes.values():
                for candidates in cls.bases:
                    for base in candidates:
                        if not base.startswith("keras."):
                            for parent in self.lookup(base):
                                if parent.key != cls.key:
                                    self._children.setdefault(parent.key, []).append(cls)
        seen, todo, order = {info.key}, [info], []
        while todo:
            for child in self._children.get(todo.pop().key, ()):
                if child.key not in seen:
                    seen.add(child.key)
                    order.append(child)
                    todo.append(child)
        return order

    def reached(self, info: ClassInfo, keras: int = 3) -> bool:
        """The class rules' question: can a failure of this class's config ever happen?  Yes when
        the class (or a subclass) is built in a program that saves or serializes a model, or when it
        is public API of a library module; ``custom-classes = "all"`` asks for every class.

        On Keras 2 a load rebuilds a class from its config only when it can find the class: the
        class (or a subclass) is registered, or the project hands it over as a custom object
        ({'Scale': Scale}).  Otherwise a SavedModel directory (Keras 2's default) revives it without
        its config, and a .keras/.h5 file loads only where its loader hands the class over.  Run on
        TF 2.15: an unregistered class reloads from a SavedModel with the same outputs; with
        custom_objects, from SavedModel or .keras, from_config rebuilds it with its defaults.  So an
        unregistered class counts only in a program that saves to a path known to be .keras/.h5
        (the file is for a loader that hands the class over) or serializes the model itself
        (clone_model); a save to an unknown path may be a SavedModel: unknown."""
        if self.custom_classes(info.path) == "all":
            return True
        programs = self.programs
        family = [info] + self.descendants(info)
        handed = keras != 2 or any(self.is_registered(c) or c.name in self.custom_object_names for c in family)
        if not info.name.startswith("_") and programs.is_library_api(info.path) and handed:
            return True
        saving = programs.saving_modules() if handed else programs.config_file_modules()
        for cls in family:
            defined = programs.norm(cls.path)
            for module in self.callers.get(cls.name, ()):
                if defined not in programs.closure(module):
                    continue  # another class of the same name (another notebook's, say)
                if any(p.modules & saving for p in programs.programs_of(module)):
                    return True
        return False

    @staticmethod
    def _norm(path: str) -> str:
        import os

        return os.path.normcase(os.path.abspath(path))

    def find(self, key: str) -> Optional[ClassInfo]:
        return self.classes.get(key)

    def deferred(self, code: str, key: str) -> List[Facts]:
        """The facts of ``code``'s deferred findings whose ``key`` is the class ``key``:
        what a rule noted about a class in its file, to judge its subclasses in other files."""
        return self._deferred.get((code, key), [])


def _through(outer: summaries.Returned, inner: summaries.Returned) -> summaries.Returned:
    """What a function returns when it returns another callee's model: that model, with what the
    outer function did to it on top (compile(), load_weights())."""
    # The inner function's parameter is not the outer one's: the path it loads is not known here.
    inner_weights = "?" if inner.weights.startswith("param:") else inner.weights
    return summaries.Returned(
        inner.kind, "",
        outer.optimizer if outer.compiled else inner.optimizer,
        outer.weights or inner_weights,
        outer.built if outer.weights else inner.built,
        outer.compiled or inner.compiled,
    )
