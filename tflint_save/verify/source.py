"""The user's code a --verify check runs: definitions and the imports they need, nothing else.

For a class (or function) named by a finding, the source is the class definition, the
module-level definitions it uses (helper classes and functions, constants that are plain
literals) and the import statements that bind the names they use, in file order.  Base
classes the project defines in other files come first, with the imports of those files;
imports of names defined inline are dropped.  Module-level script code (training, saving,
``if __name__ == "__main__":``) is never included: a check executes definitions, as
importing the module would, and nothing the module would do when run.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Dict, Iterable, List, Optional, Sequence, Set, Tuple

import libcst as cst

from tflint_save import nodes
from tflint_save.names import dotted, module_parts


class SourceUnavailable(Exception):
    """The definition cannot be found or is not at module level: the reason, for 'inconclusive'."""


@dataclass
class _Statement:
    node: cst.CSTNode
    kind: str  # "def", "import", "future" (always kept) or "const"
    binds: Set[str]
    uses: Set[str] = field(default_factory=set)


@dataclass
class _Module:
    path: str
    module: cst.Module
    statements: List[_Statement]
    binders: Dict[str, List[int]]


def used_names(node: cst.CSTNode) -> Set[str]:
    """Every plain name read in a subtree (attribute names and keywords excluded)."""
    found: Set[str] = set()
    todo = [node]
    while todo:
        current = todo.pop()
        if isinstance(current, cst.Name):
            found.add(current.value)
        elif isinstance(current, cst.Attribute):
            todo.append(current.value)
        elif isinstance(current, cst.Arg):
            todo.append(current.value)
        else:
            todo.extend(current.children)
    return found


def _import_binds(node: cst.CSTNode) -> Optional[Set[str]]:
    """Names an import statement binds; None when the statement is not only imports."""
    if isinstance(node, cst.SimpleStatementLine):
        binds: Set[str] = set()
        for small in node.body:
            if isinstance(small, cst.Import):
                for alias in small.names:
                    binds.add(_alias_name(alias).split(".")[0])
            elif isinstance(small, cst.ImportFrom):
                if isinstance(small.names, cst.ImportStar):
                    return None
                binds.update(_alias_name(alias) for alias in small.names)
            elif not isinstance(small, cst.Pass):
                return None
        return binds
    if isinstance(node, (cst.Try, cst.If)) or type(node).__name__ == "TryStar":
        # try: import keras / except ImportError: from tensorflow import keras
        binds = set()
        for block in _blocks(node):
            for statement in block:
                inner = _import_binds(statement)
                if inner is None:
                    return None
                binds |= inner
        return binds
    return None


def _blocks(node: cst.CSTNode) -> Iterable[Sequence[cst.CSTNode]]:
    def body(suite) -> Sequence[cst.CSTNode]:
        if isinstance(suite, cst.IndentedBlock):
            return suite.body
        return [cst.SimpleStatementLine(body=suite.body)]

    yield body(node.body)
    for handler in getattr(node, "handlers", ()):
        yield body(handler.body)
    orelse = getattr(node, "orelse", None)
    while orelse is not None:
        yield body(orelse.body)
        orelse = getattr(orelse, "orelse", None) if isinstance(orelse, cst.If) else None
    final = getattr(node, "finalbody", None)
    if final is not None:
        yield body(final.body)


def _alias_name(alias: cst.ImportAlias) -> str:
    if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
        return alias.asname.name.value
    return cst.Module([]).code_for_node(alias.name)


def _static(value: cst.BaseExpression, names: Set[str] = frozenset()) -> bool:
    """A value whose evaluation runs nothing: literals, containers of them and dotted names
    whose first part is an imported module (``tf.float32``: one of ``names``)."""
    if nodes.constant(value) is not nodes.MISSING:
        return True
    if isinstance(value, (cst.Name, cst.Attribute)):
        parts = dotted(value)
        return parts is not None and len(parts) > 1 and parts[0] in names
    if isinstance(value, (cst.Tuple, cst.List, cst.Set)):
        return all(isinstance(e, cst.Element) and _static(e.value, names) for e in value.elements)
    if isinstance(value, cst.Dict):
        return all(isinstance(e, cst.DictElement) and _static(e.key, names) and _static(e.value, names)
                   for e in value.elements)
    return False


def _const_binds(node: cst.CSTNode, imported: Set[str]) -> Optional[Set[str]]:
    if not (isinstance(node, cst.SimpleStatementLine) and len(node.body) == 1):
        return None
    small = node.body[0]
    if isinstance(small, cst.Assign) and _static(small.value, imported):
        targets = [t.target for t in small.targets]
    elif isinstance(small, cst.AnnAssign) and small.value is not None and _static(small.value, imported):
        targets = [small.target]
    else:
        return None
    if not all(isinstance(t, cst.Name) for t in targets):
        return None
    return {t.value for t in targets}


def _is_future(node: cst.CSTNode) -> bool:
    return isinstance(node, cst.SimpleStatementLine) and any(
        isinstance(s, cst.ImportFrom) and isinstance(s.module, cst.Name) and s.module.value == "__future__"
        for s in node.body
    )


def index_module(path: str, text: str) -> _Module:
    module = cst.parse_module(text)
    statements: List[_Statement] = []
    binders: Dict[str, List[int]] = {}
    imported: Set[str] = set()
    for node in module.body:
        imported |= _import_binds(node) or set()
    for node in module.body:
        if isinstance(node, (cst.ClassDef, cst.FunctionDef)):
            statement = _Statement(node, "def", {node.name.value}, used_names(node))
        elif _is_future(node):
            statement = _Statement(node, "future", set())
        else:
            binds = _import_binds(node)
            if binds is not None:
                statement = _Statement(node, "import", binds)
            else:
                binds = _const_binds(node, imported)
                if binds is None:
                    continue  # script code: never part of a check
                statement = _Statement(node, "const", binds, used_names(node.body[0].value))
        for name in statement.binds:
            binders.setdefault(name, []).append(len(statements))
        statements.append(statement)
    return _Module(path, module, statements, binders)


def _closure(unit: _Module, names: Iterable[str]) -> Tuple[List[int], Set[str]]:
    """The statements the given names need, following definitions' uses; and every name reached."""
    wanted = list(names)
    reached: Set[str] = set()
    chosen: Set[int] = set()
    while wanted:
        name = wanted.pop()
        if name in reached:
            continue
        reached.add(name)
        for i in unit.binders.get(name, ()):
            if i not in chosen:
                chosen.add(i)
                wanted.extend(unit.statements[i].uses)
    chosen.update(i for i, statement in enumerate(unit.statements) if statement.kind == "future")
    return sorted(chosen), reached


def _from_module(node: cst.ImportFrom) -> Optional[List[str]]:
    """The dotted module of ``from a.b import X`` / ``from .b import X`` as ['a', 'b']."""
    if node.module is None:
        return None
    return dotted(node.module)


def _inlined(node: cst.ImportFrom, files: Dict[str, List[str]]) -> Optional[str]:
    """The inlined project file a ``from ... import`` reads from, if any."""
    wanted = _from_module(node)
    if not wanted:
        return None
    for path, parts in files.items():
        if parts[-len(wanted):] == wanted:
            return path
    return None


def _render_import(unit: _Module, node: cst.CSTNode, needed: Set[str],
                   files: Dict[str, List[str]]) -> List[str]:
    """An import statement reduced to the names the check needs; names of inlined project
    files become plain aliases (``B = Base``) or disappear."""
    if not isinstance(node, cst.SimpleStatementLine):
        return [_guarded(unit, node)]  # try/except or if block of imports: its imports only
    kept: List[cst.BaseSmallStatement] = []
    aliases: List[str] = []
    for small in node.body:
        if isinstance(small, cst.ImportFrom) and not isinstance(small.names, cst.ImportStar):
            source_file = _inlined(small, files)
            names = []
            for alias in small.names:
                bound = _alias_name(alias)
                original = unit.module.code_for_node(alias.name)
                if bound not in needed:
                    continue
                if source_file is not None:
                    if bound != original:
                        aliases.append(f"{bound} = {original}")
                    continue
                names.append(alias.with_changes(comma=cst.MaybeSentinel.DEFAULT))
            if names:
                kept.append(small.with_changes(names=names, lpar=None, rpar=None))
        elif isinstance(small, cst.Import):
            names = [a.with_changes(comma=cst.MaybeSentinel.DEFAULT) for a in small.names
                     if _alias_name(a).split(".")[0] in needed]
            if names:
                kept.append(small.with_changes(names=names))
        else:
            kept.append(small)
    if not any(isinstance(k, (cst.Import, cst.ImportFrom)) for k in kept):
        return aliases
    return [unit.module.code_for_node(node.with_changes(body=kept)).strip("\n")] + aliases


def _guarded(unit: _Module, node: cst.CSTNode) -> str:
    """A try or if block of imports without its expressions (the condition, the exception
    types): each branch is tried in order, ``except Exception`` going to the next one, so
    ``try: import keras / except ImportError: from tensorflow import keras`` keeps its meaning
    and nothing but imports runs."""
    def lines(block: Sequence[cst.CSTNode]) -> str:
        out = []
        for statement in block:
            if isinstance(statement, cst.SimpleStatementLine):
                small = [s for s in statement.body if not isinstance(s, cst.Pass)]
                out.append(unit.module.code_for_node(statement.with_changes(body=small, leading_lines=())).strip()
                           if small else "pass")
            else:
                out.append(_guarded(unit, statement))
        return "\n".join(out) or "pass"

    def chain(branches: List[str]) -> str:
        if len(branches) == 1:
            return branches[0]
        rest = chain(branches[1:])
        return f"try:\n{_indent(branches[0])}\nexcept Exception:\n{_indent(rest)}"

    blocks = list(_blocks(node))
    final = ""
    if isinstance(node, cst.If):
        branches = [lines(b) for b in blocks] + ([] if _has_else(node) else ["pass"])
    else:
        body = list(blocks[0])
        handlers = [lines(b) for b in blocks[1:1 + len(node.handlers)]]
        rest = blocks[1 + len(node.handlers):]
        if node.orelse is not None:
            body += list(rest.pop(0))
        if node.finalbody is not None:
            final = lines(rest.pop(0))
        branches = [lines(body)] + (handlers or ["pass"])
    code = chain(branches)
    return f"{code}\n{final}" if final else code


def _has_else(node: cst.If) -> bool:
    while isinstance(node.orelse, cst.If):
        node = node.orelse
    return node.orelse is not None


def _indent(text: str) -> str:
    return "\n".join("    " + line if line.strip() else line for line in text.split("\n"))


class Extractor:
    """Builds check sources; parses each file at most once."""

    def __init__(self, read: Callable[[str], str], project=None, paths: Sequence[str] = ()):
        self.read = read
        self.project = project
        self.paths = list(paths)
        self._units: Dict[str, _Module] = {}
        self._texts: Dict[str, str] = {}

    def _text(self, path: str) -> str:
        if path not in self._texts:
            try:
                self._texts[path] = self.read(path)
            except Exception as exc:
                raise SourceUnavailable(f"{path} could not be read again: {exc}") from None
        return self._texts[path]

    def unit(self, path: str) -> _Module:
        found = self._units.get(path)
        if found is None:
            text = self._text(path)
            try:
                found = index_module(path, text)
            except Exception as exc:
                raise SourceUnavailable(f"{path} could not be parsed: {type(exc).__name__}") from None
            self._units[path] = found
        return found

    def _near(self, near: Optional[str], needle: str) -> Iterable[Tuple[str, _Module]]:
        """The finding's file, then every other linted file, that contain ``needle``."""
        for candidate in [near] + [p for p in self.paths if p != near]:
            if candidate is None:
                continue
            try:
                if needle in self._text(candidate):
                    yield candidate, self.unit(candidate)
            except SourceUnavailable:
                continue

    def call_args(self, name: str, near: Optional[str] = None) -> Optional[str]:
        """The arguments of the first call ``name(...)`` in the project whose arguments are all
        literals (so the check builds the object as the user does); None when there is none."""
        for _, unit in self._near(near, name + "("):
            for node in nodes.walk(unit.module):
                if not isinstance(node, cst.Call) or not node.args:
                    continue
                func = node.func
                called = func.value if isinstance(func, cst.Name) else func.attr.value if isinstance(func, cst.Attribute) else None
                if called == name and all(not a.star and _static(a.value) for a in node.args):
                    code = unit.module.code_for_node
                    return ", ".join(code(a.value) if a.keyword is None else f"{a.keyword.value}={code(a.value)}"
                                     for a in node.args)
        return None

    def locate(self, name: str, path: Optional[str], near: Optional[str]) -> str:
        """The file that defines ``name`` at module level: the given one, else a search."""
        if path is not None:
            return path
        for candidate, unit in self._near(near, name):
            if any(unit.statements[i].kind == "def" for i in unit.binders.get(name, ())):
                return candidate
        raise SourceUnavailable(f"no module-level definition of {name} was found")

    def _ancestors(self, path: str, name: str) -> List[Tuple[str, str]]:
        """Project base classes of a class defined in other files, farthest first."""
        if self.project is None:
            return []
        info = next((c for c in self.project.classes.values() if c.path == path and c.name == name), None)
        if info is None:
            return []
        return [(a.path, a.name) for a in reversed(self.project.ancestors(info)) if a.path != path]

    def source(self, targets: Sequence[Tuple[Optional[str], str]], near: Optional[str] = None) -> str:
        """One Python source defining every target (path may be None: searched)."""
        wanted: Dict[str, List[str]] = {}
        order: List[str] = []
        for path, name in targets:
            path = self.locate(name, path, near)
            unit = self.unit(path)
            if not any(unit.statements[i].kind == "def" for i in unit.binders.get(name, ())):
                raise SourceUnavailable(
                    f"{name} is not defined at the top level of {path} (a check runs module-level definitions only)"
                )
            for base_path, base in self._ancestors(path, name):
                if base_path not in wanted:
                    order.append(base_path)
                wanted.setdefault(base_path, []).append(base)
            if path not in wanted:
                order.append(path)
            wanted.setdefault(path, []).append(name)
        # Files are inlined whole-definition by definition: a later file's import of names
        # from an inlined file is dropped and those names are wanted from that file instead.
        files = {path: module_parts(path) for path in order}
        closures: Dict[str, Tuple[List[int], Set[str]]] = {}
        for path in reversed(order):
            unit = self.unit(path)
            chosen, needed = _closure(unit, wanted[path])
            closures[path] = (chosen, needed)
            others = {p: parts for p, parts in files.items() if p != path}
            for i in chosen:
                node = unit.statements[i].node
                if unit.statements[i].kind != "import" or not isinstance(node, cst.SimpleStatementLine):
                    continue
                for small in node.body:
                    if isinstance(small, cst.ImportFrom) and not isinstance(small.names, cst.ImportStar):
                        origin = _inlined(small, others)
                        if origin is not None and origin not in closures:
                            wanted[origin].extend(unit.module.code_for_node(a.name) for a in small.names
                                                  if _alias_name(a) in needed)
        future: List[str] = []
        lines: List[str] = []
        seen: Set[str] = set()
        for path in order:
            unit = self.unit(path)
            chosen, needed = closures[path]
            others = {p: parts for p, parts in files.items() if p != path}
            for i in chosen:
                node = unit.statements[i].node
                if unit.statements[i].kind == "import":
                    statements = _render_import(unit, node, needed, others)
                elif unit.statements[i].kind == "const" and isinstance(node.body[0], cst.AnnAssign):
                    # The annotation is not evaluated: the constant is assigned without it.
                    small = node.body[0]
                    plain = node.with_changes(body=[cst.Assign([cst.AssignTarget(small.target)], small.value)])
                    statements = [unit.module.code_for_node(plain).strip("\n")]
                else:
                    statements = [unit.module.code_for_node(node).strip("\n")]
                for code in statements:
                    if code in seen:
                        continue
                    seen.add(code)
                    (future if code.startswith("from __future__") else lines).append(code)
        return "\n\n".join(future + lines) + "\n"
