"""Linting one file: one parse, one walk that hands each node to every rule that wants it.

A rule is a small class (see ``Rule``) with ``visit_<Node>``/``leave_<Node>`` methods for
the libcst node types it cares about, a ``finish`` for what it decides at the end of the
file, and a ``resolve`` for findings that need the whole project (the cross-file index).
The walk keeps the resolver's scopes, the current statement and function, and the values
last assigned to plain names, so rules ask the context instead of walking again.  What
several rules need to know about the file is a shared analysis (``analysis.Analysis``): the
rules name it in ``uses`` and the walk hands each node to it before them.
"""

from __future__ import annotations

import sys
from functools import lru_cache
from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence, Tuple, Type

import libcst as cst

from tflint_save import index as index_mod
from tflint_save import noqa
from tflint_save import safeparse, stops
from tflint_save.analysis import Analysis, needed
from tflint_save.catalog import INTERNAL_ERROR, PARSE_ERROR
from tflint_save.findings import NO_FACTS, Decision, Facts, FileResult, Finding, Pending
from tflint_save.names import Names, Resolver, param_names
from tflint_save.nodes import children, is_node, walk_info
from tflint_save.positions import positions

# Deeply nested expressions (long `a + b + ...` chains) recurse once per level.
sys.setrecursionlimit(max(sys.getrecursionlimit(), 20000))

# Words without which no rule can fire and no class can matter to the project index.  The
# method names catch scripts that only use the project's own model classes (``from models
# import Net; Net().save("x.h5")``); on 1,919 real TF files they cost nothing extra.
_PREFILTER = ("keras", "tensorflow", "tf_keras", "class ", ".save", ".fit(", "_weights", "compile(", "update_state")


HERE = object()  # Context.defer: the statement the walk is in


class Rule:
    """Base of every rule: per-file state lives on the instance, one instance per file."""

    code = ""
    keras_versions: Tuple[int, ...] = (2, 3)
    # The shared analyses the rule reads (``self.ctx.analysis(Kind)``): built in the same walk,
    # each node reaching them before any rule.
    uses: Tuple[Type[Analysis], ...] = ()
    # --fix: "safe" or "unsafe" (edits.SAFE, edits.UNSAFE) when the rule has a fixer, ``fix``.
    applicability = ""

    def __init__(self, ctx: "Context"):
        self.ctx = ctx

    def finish(self) -> None:
        """Called once the whole file has been walked."""

    @staticmethod
    def fix(tree: Any, finding: Finding) -> Any:
        """The edit that fixes ``finding`` in ``tree`` (an ``edits.Tree``): an ``edits.Fix``, or
        None when this occurrence cannot be fixed faithfully."""
        return None

    @classmethod
    def resolve(cls, pending: Pending, project: "index_mod.ProjectIndex") -> Decision:
        """For deferred findings: the final message, or None to drop it; ``Resolved(message,
        facts)`` when the project completed the finding's facts (``pending`` stays as it is)."""
        return None


class Context:
    """What a rule can ask about the file being walked."""

    def __init__(self, path: str, text: str, module: cst.Module, keras: int, resolver: Resolver):
        self.path = path
        self.text = text
        self.module = module
        self.keras = keras
        self.resolver = resolver
        self.stack: List[cst.CSTNode] = []  # ancestors of the current node, outermost first
        self.statements: List[cst.CSTNode] = []
        self.functions: List[cst.FunctionDef] = []
        self.classes: List[cst.ClassDef] = []
        self._reports: List[Tuple[cst.CSTNode, Optional[cst.CSTNode], str, str, Facts, bool]] = []
        # The module-level statement each call, and each reported node, is in: only those
        # statements' code is generated to place them (see positions).
        self._tops: Dict[int, cst.CSTNode] = {}
        # The first module-level statement that certainly raises on this Keras version
        # (stops.py): what runs after it is never reached, and its findings are dropped.
        self.stop: Optional[cst.CSTNode] = None
        self.result = FileResult(path)
        # The shared analyses of this file, by kind.  They live here, never in module-level
        # caches: those would keep every tree alive.
        self.analyses: Dict[type, Analysis] = {}

    def analysis(self, kind: Type[Analysis]) -> Any:
        """The file's ``kind`` analysis; the asking rule names it in ``uses``."""
        return self.analyses[kind]

    # -- names -------------------------------------------------------------------------
    def names(self, node: cst.BaseExpression) -> Names:
        """Canonical TF/Keras names of a dotted expression (``keras.layers.Dense``...)."""
        return self.resolver.names(node)

    def raw_names(self, node: cst.BaseExpression) -> Names:
        """The same, spelled as imported (``tensorflow.keras.saving.load_model``)."""
        return self.resolver.raw(node)

    def value_of(self, name: str) -> Optional[cst.BaseExpression]:
        """The expression last assigned to ``name`` before this point, in this or an outer scope."""
        scopes = self.resolver.scopes
        last = len(scopes) - 1
        for i in range(last, -1, -1):
            scope = scopes[i]
            if scope.kind == "class" and i != last:
                continue
            if name in scope.values:
                return scope.values[name]
            if name in scope.names:
                return None
        return None

    @property
    def statement(self) -> Optional[cst.CSTNode]:
        return self.statements[-1] if self.statements else None

    @property
    def function(self) -> Optional[cst.FunctionDef]:
        return self.functions[-1] if self.functions else None

    # -- reporting ---------------------------------------------------------------------
    def report(self, node: cst.CSTNode, code: str, message: str, facts: Facts = NO_FACTS) -> None:
        self._note_top(node, self.statement)
        self._reports.append((node, self.statement, code, message, facts, False))

    def defer(self, node: cst.CSTNode, code: str, facts: Facts, message: str = "",
              statement: Any = HERE) -> None:
        """A finding the rule's ``resolve`` decides on once every file has been indexed.
        ``statement``: the one holding ``node`` (its first line's ``# noqa`` counts), when the
        rule defers after the walk has left it."""
        where = self.statement if statement is HERE else statement
        self._note_top(node, where)
        self._reports.append((node, where, code, message, facts, True))

    def _note_top(self, node: cst.CSTNode, statement: Optional[cst.CSTNode]) -> None:
        if len(self.stack) > 1:  # stack[0] is the module
            self._tops.setdefault(id(node), self.stack[1])
            if statement is not None:
                self._tops.setdefault(id(statement), self.stack[1])


@lru_cache(maxsize=None)
def _all_uses(kind: type) -> List[type]:
    """The analyses ``kind`` reads, directly or through other analyses."""
    return needed([kind])


# -- the walk ----------------------------------------------------------------------------

_COMPREHENSIONS = (cst.ListComp, cst.SetComp, cst.GeneratorExp, cst.DictComp)


def _target_names(target: cst.BaseExpression) -> List[str]:
    if isinstance(target, cst.Name):
        return [target.value]
    if isinstance(target, (cst.Tuple, cst.List)):
        return [name for element in target.elements for name in _target_names(element.value)]
    return []


_HANDLERS: Dict[type, Dict[str, List[Tuple[type, str]]]] = {}

# What the walk hands nodes to: a rule or a shared analysis.
Owner = Any


def _handler_names(owner_cls: type) -> Dict[str, List[Tuple[type, str]]]:
    """visit_X/leave_X methods of a rule or analysis class, as (node type, method name)."""
    found = _HANDLERS.get(owner_cls)
    if found is None:
        found = {"visit": [], "leave": []}
        for attr in dir(owner_cls):
            for kind in ("visit", "leave"):
                if attr.startswith(kind + "_"):
                    node_type = getattr(cst, attr[len(kind) + 1:], None)
                    if node_type is None:
                        raise TypeError(f"{owner_cls.__name__}.{attr}: no libcst node type of that name")
                    found[kind].append((node_type, attr))
        _HANDLERS[owner_cls] = found
    return found


def _label(owner: Owner) -> str:
    name = type(owner).__name__
    return f"{owner.code} {name}" if isinstance(owner, Rule) else f"the analysis {name}"


class _Walker:
    def __init__(self, ctx: Context, analyses: Sequence[Analysis], rules: Sequence[Rule]):
        self.ctx = ctx
        self.visit: Dict[type, List[Tuple[Owner, Callable]]] = {}
        self.leave: Dict[type, List[Tuple[Owner, Callable]]] = {}
        # Analyses first: every node reaches them before the rules that read them.
        for owner in list(analyses) + list(rules):
            names = _handler_names(type(owner))
            for node_type, attr in names["visit"]:
                self.visit.setdefault(node_type, []).append((owner, getattr(owner, attr)))
            for node_type, attr in names["leave"]:
                self.leave.setdefault(node_type, []).append((owner, getattr(owner, attr)))
        # Who stops when an analysis fails: what reads it, directly or through another analysis.
        self.readers: Dict[type, List[Owner]] = {}
        for owner in list(analyses) + list(rules):
            for kind in _all_uses(type(owner)):
                self.readers.setdefault(kind, []).append(owner)
        self.broken: set = set()
        # Node types worth a walk() call: nodes, except leaves (a Name, a number, a string) that
        # nothing here handles; a Name is a third of the nodes of a module.
        self.walked: Dict[type, bool] = {}

    def _call(self, handlers: List[Tuple[Owner, Callable]], node: cst.CSTNode) -> None:
        for owner, handler in handlers:
            if owner in self.broken:
                continue
            try:
                handler(node)
            except Exception as exc:  # a bug in one rule must not stop the others
                self._internal_error(owner, node, exc)

    def _internal_error(self, owner: Owner, node: Optional[cst.CSTNode], exc: BaseException) -> None:
        self.broken.add(owner)
        # What reads a broken analysis would decide on half its facts: it stops too.
        self.broken.update(self.readers.get(type(owner), ()))
        ctx = self.ctx
        message = f"internal error in {_label(owner)} (please report): {type(exc).__name__}: {exc}"
        ctx._reports.append((node or ctx.module, None, INTERNAL_ERROR, message, NO_FACTS, False))
        ctx.result.error = message

    def walk(self, node: cst.CSTNode) -> None:
        cls = type(node)
        ctx = self.ctx
        handlers = self.visit.get(cls)
        if handlers:
            self._call(handlers, node)
        stack = ctx.stack
        if cls is cst.SimpleStatementLine and len(stack) == 1 and ctx.stop is None and ctx.keras == 3:
            self._stop_at_name(node)
        if cls is cst.Call and len(stack) > 1:
            # Rules report calls after the walk has left them too (in finish): where to place them.
            ctx._tops[id(node)] = stack[1]
            if ctx.stop is None and ctx.keras == 3 and type(stack[1]) is cst.SimpleStatementLine:
                self._stop_at(node)
        stack.append(node)
        if cls is cst.FunctionDef:
            self._function(node)
        elif cls is cst.ClassDef:
            self._class(node)
        elif cls is cst.Lambda:
            ctx.resolver.push("function", param_names(node.params))
            self.walk(node.params)
            self.walk(node.body)
            ctx.resolver.pop()
        elif cls is cst.For:
            ctx.statements.append(node)
            self.walk(node.target)
            self.walk(node.iter)
            # The body runs with the target rebound: what the name held before the loop is stale there.
            self._shadow_target(node.target)
            self.walk(node.body)
            if node.orelse is not None:
                self.walk(node.orelse)
            ctx.statements.pop()
        elif cls in _COMPREHENSIONS:
            # Comprehension variables live in their own scope and shadow the enclosing names.
            targets: List[str] = []
            clause = node.for_in
            while clause is not None:
                targets += _target_names(clause.target)
                clause = clause.inner_for_in
            ctx.resolver.push("function", targets)
            for child in children(node):
                self.walk(child)
            ctx.resolver.pop()
        else:
            fields, is_statement = walk_info(cls)
            if is_statement:
                ctx.statements.append(node)
            walked = self.walked
            for name in fields:
                value = getattr(node, name)
                kind = type(value)
                if kind is tuple or kind is list:
                    for child in value:
                        worth = walked.get(type(child))
                        if worth is None:
                            worth = self._worth(type(child))
                        if worth:
                            self.walk(child)
                else:
                    worth = walked.get(kind)
                    if worth is None:
                        worth = self._worth(kind)
                    if worth:
                        self.walk(value)
            if is_statement:
                ctx.statements.pop()
            if cls is cst.Assign or cls is cst.AnnAssign:
                self._assigned(node)
            elif cls is cst.Import or cls is cst.ImportFrom:
                if len(ctx.resolver.scopes) > 1:  # module-level imports were read up front
                    ctx.resolver.add_import(node)
            elif cls is cst.WithItem and node.asname is not None:
                self._shadow_target(node.asname.name)
        stack.pop()
        handlers = self.leave.get(cls)
        if handlers:
            self._call(handlers, node)

    def _stop_at(self, node: cst.Call) -> None:
        if not stops.worth_resolving(node):
            return
        keywords = [arg.keyword.value for arg in node.args if arg.keyword is not None]
        if stops.raises(self.ctx.names(node.func), keywords, self.ctx.keras) and stops.always_runs(self.ctx.stack, node):
            self.ctx.stop = self.ctx.stack[1]

    def _stop_at_name(self, node: cst.SimpleStatementLine) -> None:
        """``tf.enable_eager_execution`` read without a call raises as well."""
        for small in node.body:
            value = small.value if type(small) is cst.Expr else None
            if type(value) is cst.Attribute and value.attr.value in stops.TF1_ONLY \
                    and stops.raises(self.ctx.names(value), [], self.ctx.keras):
                self.ctx.stop = node
                return

    def _worth(self, kind: type) -> bool:
        worth = is_node(kind) and bool(kind in self.visit or kind in self.leave or walk_info(kind)[0])
        self.walked[kind] = worth
        return worth

    def _function(self, node: cst.FunctionDef) -> None:
        ctx = self.ctx
        ctx.statements.append(node)
        for decorator in node.decorators:
            self.walk(decorator)
        self.walk(node.params)
        ctx.resolver.push("function", param_names(node.params))
        ctx.functions.append(node)
        self.walk(node.body)
        ctx.functions.pop()
        ctx.resolver.pop()
        ctx.statements.pop()
        ctx.resolver.shadow(node.name.value)

    def _class(self, node: cst.ClassDef) -> None:
        ctx = self.ctx
        ctx.statements.append(node)
        for decorator in node.decorators:
            self.walk(decorator)
        for arg in node.bases:
            self.walk(arg)
        for arg in node.keywords:
            self.walk(arg)
        ctx.resolver.push("class")
        ctx.classes.append(node)
        self.walk(node.body)
        ctx.classes.pop()
        ctx.resolver.pop()
        ctx.statements.pop()
        ctx.resolver.shadow(node.name.value)

    def _assigned(self, node: cst.CSTNode) -> None:
        resolver = self.ctx.resolver
        values = resolver.scopes[-1].values
        if isinstance(node, cst.Assign):
            value = node.value
            targets = [t.target for t in node.targets]
        else:
            value = node.value
            targets = [node.target]
            if value is None:
                return
        single = len(targets) == 1
        for target in targets:
            if isinstance(target, cst.Name):
                values[target.value] = value if single else None
                resolver.rebind(target.value, value)
            elif isinstance(target, (cst.Tuple, cst.List)):
                for element in target.elements:
                    if isinstance(element.value, cst.Name):
                        values[element.value.value] = None
                        resolver.shadow(element.value.value)

    def _shadow_target(self, target: cst.BaseExpression) -> None:
        resolver = self.ctx.resolver
        values = resolver.scopes[-1].values
        for name in _target_names(target):
            values[name] = None
            resolver.shadow(name)


def _module_imports(resolver: Resolver, body: Iterable[cst.CSTNode]) -> None:
    """Read the module-level imports (including those under if/try) before the walk."""
    for statement in body:
        if isinstance(statement, cst.SimpleStatementLine):
            for small in statement.body:
                if isinstance(small, (cst.Import, cst.ImportFrom)):
                    resolver.add_import(small)
        elif isinstance(statement, (cst.If, cst.Try, cst.With)) or type(statement).__name__ == "TryStar":
            blocks = [statement.body]
            orelse = getattr(statement, "orelse", None)
            while orelse is not None:
                blocks.append(orelse.body)
                orelse = getattr(orelse, "orelse", None) if isinstance(orelse, cst.If) else None
            for handler in getattr(statement, "handlers", ()):
                blocks.append(handler.body)
            final = getattr(statement, "finalbody", None)
            if final is not None:
                blocks.append(final.body)
            for block in blocks:
                if isinstance(block, cst.IndentedBlock):
                    _module_imports(resolver, block.body)
                elif isinstance(block, cst.SimpleStatementSuite):
                    _module_imports(resolver, [cst.SimpleStatementLine(body=block.body)])


# -- one file ------------------------------------------------------------------------------

def parse_error(path: str, text: str, exc: Exception) -> Finding:
    """TFS001 at the error.  Python's own parser names and places syntax errors better than
    libcst's (which reports column 0), so ask it, on broken files only."""
    import ast

    try:
        ast.parse(text)
    except SyntaxError as syntax:
        if syntax.lineno:
            return Finding(path, syntax.lineno, max(syntax.offset or 1, 1), PARSE_ERROR,
                           f"could not parse file: {syntax.msg}")
    except (ValueError, RecursionError, MemoryError) as other:  # null bytes, absurd nesting
        return Finding(path, 1, 1, PARSE_ERROR, f"could not parse file: {other}")
    line = getattr(exc, "raw_line", None) or 1
    message = (getattr(exc, "message", None) or str(exc) or type(exc).__name__).splitlines()[0]
    return Finding(path, int(line), 1, PARSE_ERROR, f"could not parse file: {message}")


def lint_text(path: str, text: str, rule_classes: Sequence[Type[Rule]], keras: int,
              legacy: Optional[bool] = False, limits: Optional[safeparse.Limits] = None) -> FileResult:
    """Lint one decoded file.  Never raises for bad input: it becomes a TFS001/TFS002 finding;
    raises safeparse.Risky for a file libcst should parse in another process (see ``limits``).

    ``legacy`` says whether tf.keras is tf_keras (Keras 2) here: True with TF_USE_LEGACY_KERAS
    set for the project, None when only if this file sets it itself (kerasversion.Decision).
    """
    refused = safeparse.check(path, text, limits or safeparse.Limits(risky_here=True))
    if refused is not None:
        result = FileResult(path)
        result.findings.append(refused)
        return result
    if not any(word in text for word in _PREFILTER):
        return FileResult(path)
    try:
        module = cst.parse_module(text)
    except Exception as exc:  # libcst raises ParserSyntaxError, and others on odd input
        result = FileResult(path)
        result.findings.append(parse_error(path, text, exc))
        return result

    resolver = Resolver(path, is_package=path.replace("\\", "/").endswith("/__init__.py"))
    _module_imports(resolver, module.body)
    if legacy is None:
        from tflint_save.kerasversion import sets_legacy_keras

        legacy = sets_legacy_keras(text)
    if (resolver.uses_tf_keras or legacy) and not _imports_keras3(resolver):
        keras = 2  # tf_keras is Keras 2, whatever else is installed; `import keras` stays Keras 3
    ctx = Context(path, text, module, keras, resolver)
    wanted = [cls for cls in rule_classes if keras in cls.keras_versions]
    analyses = []
    for kind in needed(wanted):
        ctx.analyses[kind] = kind(ctx)
        analyses.append(ctx.analyses[kind])
    rules = [cls(ctx) for cls in wanted]
    walker = _Walker(ctx, analyses, rules)
    try:
        walker.walk(module)
    except RecursionError as exc:
        walker._internal_error(Rule(ctx), None, exc)
    for owner in analyses + rules:
        if owner in walker.broken:
            continue
        try:
            owner.finish()
        except Exception as exc:
            walker._internal_error(owner, None, exc)
    tracker = _place(ctx)
    if any(rule.code == noqa.UNUSED_NOQA for rule in rules):
        _unused_noqa(ctx, tracker or _tracker(ctx.text), [rule for rule in rules if rule not in walker.broken])
    return ctx.result


def _imports_keras3(resolver: Resolver) -> bool:
    names = resolver.scopes[0].names.values()
    return any(n == "keras" or n.startswith("keras.") for targets in names for n in targets)


def _tracker(text: str) -> noqa.Tracker:
    # Lines as positions count them: splitlines() also breaks at \f, \v, \x1c...
    return noqa.Tracker(text.split("\n"), noqa.file_codes(text))


def _place(ctx: Context) -> Optional[noqa.Tracker]:
    """Give reported nodes their positions, apply # noqa, and file the findings; the directives
    used (for TFS003), None when nothing was reported."""
    reports = ctx._reports
    if not reports:
        return None
    tracker = _tracker(ctx.text)
    result = ctx.result
    wanted: List[cst.CSTNode] = [ctx.stop] if ctx.stop is not None else []
    for node, statement, *_ in reports:
        wanted.append(node)
        if statement is not None:
            wanted.append(statement)
    where = positions(ctx.module, wanted, ctx.text, safeparse.accepted_tree(ctx.text), ctx._tops)
    late = _unreached(ctx, where)
    for index, (node, statement, code, message, facts, deferred) in enumerate(reports):
        line, col, end_line, end_col = where.get(id(node), (1, 1, 1, 1))
        if code != INTERNAL_ERROR:
            first = where.get(id(statement), (line,))[0] if statement is not None else line
            # Silenced first: a directive on an unreached finding is used, not a TFS003.
            if tracker.silences(code, line, first if first != line else None) or late[index]:
                continue
        finding = Finding(ctx.path, line, col, code, message, end_line, end_col, facts)
        if deferred:
            result.pending.append(Pending(code, finding))
        else:
            result.findings.append(finding)
    return tracker


def _unreached(ctx: Context, where: Dict[int, Tuple[int, int, int, int]]) -> List[bool]:
    """For each report: whether the module never runs its node, having stopped before it."""
    if ctx.stop is None or id(ctx.stop) not in where:
        return [False] * len(ctx._reports)
    lines = [where.get(id(node), (0,))[0] for node, *_ in ctx._reports]
    body = {id(statement) for statement in ctx.module.body}
    tops = [ctx._tops.get(id(node), node if id(node) in body else None) for node, *_ in ctx._reports]
    return stops.unreached(lines, tops, ctx.text, where[id(ctx.stop)][0])


def _unused_noqa(ctx: Context, tracker: noqa.Tracker, ran: Sequence[Rule]) -> None:
    """TFS003 (opt-in): directives that silenced nothing.  It needs every other rule's findings
    on the file, so the engine runs it after them; its rule class only declares it."""
    if noqa.silenced(noqa.UNUSED_NOQA, tracker.whole_file):
        return
    codes = {rule.code for rule in ran}
    for line, col, message in noqa.unused(ctx.text, tracker.used, tracker.file_used, codes):
        ctx.result.findings.append(Finding(ctx.path, line, col, noqa.UNUSED_NOQA, message))
