"""The program model: which modules run together in one process, and what each program imports.

A *program* is what one process runs: each notebook, each test module, each script (a module with
a ``__main__`` guard, or a module outside any package that no project module imports).  A module
belongs to every program that imports it, directly or transitively: absolute imports (from the
project root, from the directory of the importing file, from a ``src/`` layout), relative imports,
and packages' ``__init__.py`` (importing ``a.b`` runs ``a/__init__.py`` and ``a/b/__init__.py``).
A module that imports something we cannot follow (``importlib``, ``sys.path`` edits, ``%run``)
makes every program holding it *open*: it may import anything, so no finding may rest on what
it does not import.

Every cross-file decision asks this model (built from ``modulefacts.Summary`` of every project file),
never a pool of all linted files: a notebook's save and another notebook's classes never meet.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Dict, FrozenSet, Iterable, List, Optional, Sequence, Set, Tuple

from tflint_save import projects
from tflint_save.modulefacts import Key, Site, Summary

TEST_DIRS = ("tests", "test", "testing")
# Files that mark a project root when there is no configuration file and no VCS.
ROOT_MARKERS = ("pyproject.toml", "setup.py", "setup.cfg")


def find_root(paths: Sequence[str], config_file: Optional[str]) -> Optional[str]:
    """The project root: the configuration file's directory, else the VCS root above the linted
    paths, else the nearest directory above them with a pyproject.toml/setup.py/setup.cfg; None
    when there is none (then the linted files are the whole project)."""
    if config_file:
        return os.path.dirname(os.path.abspath(config_file))
    existing = [os.path.abspath(p) for p in paths if p != "-" and os.path.exists(p)]
    if not existing:
        return None
    start = os.path.commonpath(existing)
    if os.path.isfile(start):
        start = os.path.dirname(start)
    marked = None
    for directory in projects.ancestors(start):
        names = projects.listing(directory)
        if projects.is_top(names):
            return directory
        if marked is None and any(m in names for m in ROOT_MARKERS):
            marked = directory
    return marked


def _parts(path: str) -> Tuple[str, ...]:
    parts = [p for p in os.path.abspath(path).replace("\\", "/").split("/") if p]
    if parts and parts[-1].endswith((".py", ".ipynb")):
        parts[-1] = parts[-1].rsplit(".", 1)[0]
    return tuple(parts)


@dataclass(frozen=True)
class Program:
    entry: str  # the notebook, script or test module that the process runs
    modules: FrozenSet[str]  # every module it runs (paths), the entry included
    open: bool  # it imports something we cannot follow


class ProgramModel:
    """Modules, their imports, and the programs they belong to."""

    def __init__(self, summaries: Iterable[Summary]):
        self.summaries: Dict[str, Summary] = {}
        for s in summaries:
            self.summaries[_norm(s.path)] = s
        self._by_suffix: Dict[Tuple[str, ...], List[str]] = {}
        self._by_full: Dict[Tuple[str, ...], str] = {}
        self._module: Dict[str, Tuple[str, ...]] = {}  # path -> its dotted parts (a package: its folder)
        for path, s in self.summaries.items():
            if s.notebook:
                continue
            parts = _parts(path)
            if parts and parts[-1] == "__init__":
                parts = parts[:-1]
            self._module[path] = parts
            self._by_full[parts] = path
            for i in range(len(parts)):
                self._by_suffix.setdefault(parts[i:], []).append(path)
        self.edges: Dict[str, Set[str]] = {p: self._resolve(p, s) for p, s in self.summaries.items()}
        self.importers: Dict[str, Set[str]] = {p: set() for p in self.summaries}
        for path, targets in self.edges.items():
            for target in targets:
                self.importers[target].add(path)
        self._package_cache: Dict[str, bool] = {}
        self.entries: Set[str] = {p for p in self.summaries if self.kind(p) in ("notebook", "test", "script")}
        self._closures: Dict[str, FrozenSet[str]] = {}
        self._programs: Dict[str, List[Program]] = {}
        self._saving: Optional[FrozenSet[str]] = None
        # Program entry ("": the whole project) -> the names its modules call or import.
        self._names_used: Dict[str, FrozenSet[str]] = {}

    # -- what a module is -------------------------------------------------------------------
    def kind(self, path: str) -> str:
        """'notebook', 'test', 'script' or 'library' (a module other modules import, or in a package)."""
        path = _norm(path)
        s = self.summaries.get(path)
        if s is None:
            return "unknown"
        if s.notebook:
            return "notebook"
        name = os.path.basename(path)
        parts = path.replace("\\", "/").split("/")
        if name.startswith("test_") or name.endswith("_test.py") or name == "conftest.py" or any(
                d in TEST_DIRS for d in parts[:-1][-3:]):
            return "test"
        if s.main_guard:
            return "script"
        if self.in_package(path) or self.importers.get(path):
            return "library"
        return "script"

    def in_package(self, path: str) -> bool:
        folder = os.path.dirname(os.path.abspath(path))
        found = self._package_cache.get(folder)
        if found is None:
            found = self._package_cache[folder] = os.path.isfile(os.path.join(folder, "__init__.py"))
        return found or os.path.basename(path) == "__init__.py"

    def is_library_api(self, path: str) -> bool:
        """An importable package module that is not a script, notebook or test."""
        return self.kind(path) == "library" and self.in_package(path)

    # -- imports ----------------------------------------------------------------------------
    def _resolve(self, path: str, s: Summary) -> Set[str]:
        found: Set[str] = set()
        here = _parts(path)[:-1]  # the importing file's directory
        for level, module, names in s.imports:
            if level:
                package = here  # a package's __init__ and its modules share the directory
                if level > 1:
                    package = package[: len(package) - (level - 1)]
                base = package + tuple(p for p in module.split(".") if p)
                for i in range(len(package) + 1, len(base) + 1):
                    target = self._by_full.get(base[:i])
                    if target:
                        found.add(target)
                for name in names:
                    target = self._by_full.get(base + (name,))
                    if target:
                        found.add(target)
                continue
            dotted = tuple(module.split("."))
            if dotted not in self._by_suffix and dotted[:1] not in self._by_suffix:
                continue  # not a project module (tensorflow, numpy...): most imports
            for i in range(1, len(dotted) + 1):
                found.update(self._absolute(dotted[:i], here))
            for name in names:
                found.update(self._absolute(dotted + (name,), here))
        found.discard(path)
        return found

    def _absolute(self, dotted: Tuple[str, ...], here: Tuple[str, ...]) -> List[str]:
        """The project files an absolute import may mean, seen from a file in ``here``: where the
        package's base directory is on the path of that file (its own directory or one above, as
        a script's directory and the project root are on sys.path), or such a directory's src/."""
        best: List[str] = []
        depth = -1
        for candidate in self._by_suffix.get(dotted, ()):
            parts = self._module[candidate]
            base = parts[: len(parts) - len(dotted)]
            anchor = base[:-1] if base and base[-1] == "src" else base
            if here[: len(anchor)] != anchor:
                continue
            if len(base) > depth:
                best, depth = [candidate], len(base)
            elif len(base) == depth:
                best.append(candidate)
        return best

    # -- programs ---------------------------------------------------------------------------
    def closure(self, path: str) -> FrozenSet[str]:
        """The modules running ``path`` runs: itself and everything it imports, transitively."""
        path = _norm(path)
        found = self._closures.get(path)
        if found is None:
            seen = {path}
            todo = [path]
            while todo:
                for target in self.edges.get(todo.pop(), ()):
                    if target not in seen:
                        seen.add(target)
                        todo.append(target)
            found = self._closures[path] = frozenset(seen)
        return found

    def entries_of(self, path: str) -> Set[str]:
        """The entries (notebooks, scripts, tests) whose programs run ``path``."""
        path = _norm(path)
        seen = {path}
        todo = [path]
        while todo:
            for importer in self.importers.get(todo.pop(), ()):
                if importer not in seen:
                    seen.add(importer)
                    todo.append(importer)
        return {p for p in seen if p in self.entries}

    def programs_of(self, path: str) -> List[Program]:
        """Every program that runs ``path``.  A module no program imports (library code) gets a
        program of its own, open: whoever calls it may import anything."""
        path = _norm(path)
        found = self._programs.get(path)
        if found is None:
            entries = sorted(self.entries_of(path))
            found = [self.program(e) for e in entries]
            if not found:
                modules = self.closure(path)
                found = [Program(path, modules, True)]
            self._programs[path] = found
        return found

    def program(self, entry: str) -> Program:
        modules = self.closure(entry)
        return Program(entry, modules, any(self.summaries[m].dynamic for m in modules))

    def saving_modules(self) -> FrozenSet[str]:
        """Modules that save or serialize a model with its config (save, full-model ModelCheckpoint,
        get_config, to_json, serialize, clone_model).  A save to a path without .keras/.h5 does not
        count: Keras 2 writes a SavedModel, which reloads by revival without the class's config, and
        Keras 3 refuses the path before it serializes anything."""
        if self._saving is None:
            self._saving = frozenset(p for p, s in self.summaries.items() if s.sites and any(
                site.kind == "serialize" or site.kind == "save" and config_format(self.key(p, site))
                for site in s.sites))
        return self._saving

    def config_file_modules(self) -> FrozenSet[str]:
        """Modules that serialize a model (get_config, to_json, serialize, clone_model) or save it
        to a path known to be a .keras/.h5 file: what the saving_modules surely are."""
        return frozenset(p for p, s in self.summaries.items() if any(
            site.kind == "serialize" or site.kind == "save" and stores_config(self.key(p, site)) for site in s.sites))

    @staticmethod
    def norm(path: str) -> str:
        return _norm(path)

    def may_run(self, path: str, site: Site, program: Program) -> bool:
        """The save or load can run in ``program``: it is at module level (or in a class), or its
        function is called, imported, decorated or named somewhere in the program (in a program
        that may import anything: somewhere in the project).  A library function that loads a path
        it is given runs only in the programs that call it (in the others, the path is the
        caller's: unknown)."""
        name = site.function
        if not name or self.kind(path) == "test":
            return True
        summary = self.summaries[_norm(path)]
        if name in summary.referenced or any(name == n for n, _ in summary.decorated):
            return True
        key = "" if program.open else program.entry
        names = self._names_used.get(key)
        if names is None:
            names = set()
            for module in (self.summaries if program.open else program.modules):
                other = self.summaries[module]
                names.update(other.called_anywhere)
                for _, _, imported in other.imports:
                    names.update(imported)
            names = self._names_used[key] = frozenset(names)
        return name in names

    def run_together(self, a: str, site_a: Site, b: str, site_b: Site) -> bool:
        """Some program runs both sites."""
        a, b = _norm(a), _norm(b)
        return any(b in p.modules and self.may_run(a, site_a, p) and self.may_run(b, site_b, p)
                   for p in self.programs_of(a))

    def share_program(self, a: str, b: str) -> bool:
        a, b = _norm(a), _norm(b)
        return a == b or any(b in p.modules for p in self.programs_of(a))

    # -- save -> load links -----------------------------------------------------------------
    def key(self, path: str, site: Site) -> Key:
        """The path key of a save or load, following an imported constant to its module."""
        if site.key is not None or not site.imported:
            return site.key
        module, name = site.imported
        for target in self.modules_for(path, module):
            value = self.summaries[target].constants.get(name)
            if value is not None:
                from tflint_save.modulefacts import normalize

                return "=" + normalize(value)
            parts = _parts(target)
            return "$" + ".".join((parts[:-1] if parts[-1] == "__init__" else parts) + (name,))
        return None

    def modules_for(self, path: str, module: str) -> List[str]:
        """The project files an import of ``module`` (dotted, absolute) in ``path`` may mean."""
        dotted = tuple(module.split("."))
        found = self._absolute(dotted, _parts(path)[:-1])
        if not found and dotted in self._by_full:
            found = [self._by_full[dotted]]
        return found

    def linked_saves(self, path: str, load: Site) -> List[Tuple[str, Site]]:
        """Full-model saves a load may read: the same literal, constant, argparse default or
        variable; when either path is unknown, the saves of a program that also runs the load."""
        path = _norm(path)
        wanted = self.key(path, load)
        linked = []
        for other, s in self.summaries.items():
            for site in s.sites:
                if site.kind != "save":
                    continue
                key = self.key(other, site)
                if key is not None and key == wanted:
                    linked.append((other, site))
                elif _literal(key) and _literal(wanted):
                    continue  # two different files
                elif self.run_together(path, load, other, site):
                    # A variable may hold any path: within one program that runs both, it may be this one.
                    linked.append((other, site))
        # A program that writes the file itself reads what it wrote, not another program's file
        # of the same name (two notebooks that both save and reload 'model.h5').
        own = [(other, site) for other, site in linked if self.share_program(path, other)]
        return own or linked

    def load_at(self, path: str, line: int, cell: Optional[int] = None) -> Optional[Site]:
        s = self.summaries.get(_norm(path))
        if s is None:
            return None
        return next((site for site in s.sites if site.kind == "load" and site.line == line
                     and site.cell == (cell or 0)), None)


MODEL_EXTENSIONS = (".keras", ".h5", ".hdf5")


def config_format(key: Key) -> bool:
    """The save writes a format that stores the model's config (.keras/.h5), or may (unknown path)."""
    return key is None or not key.startswith("=") or key.lower().endswith(MODEL_EXTENSIONS)


def stores_config(key: Key) -> bool:
    """The path is known to be a .keras/.h5 file (not a SavedModel directory, not unknown)."""
    return _literal(key) and key.lower().endswith(MODEL_EXTENSIONS)


def _literal(key: Key) -> bool:
    return key is not None and key.startswith("=")


def _norm(path: str) -> str:
    return os.path.normcase(os.path.abspath(path)) if path != "-" else path
