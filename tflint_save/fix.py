"""Autofix: ``--fix`` applies the safe fixes in place, ``--diff`` prints them, ``--unsafe-fixes``
adds those that change behaviour or what ends up on disk.

A finding carries what its fix needs: its position (the same ``positions()`` the engine
placed it with) and the facts its rule noted (``Finding.data``).  Fixing a file parses it again
(``edits.Tree``), finds the call or class at each finding's position, and asks the fixer of
the finding's rule (``Rule.fix``, beside the rule's detection) for an ``edits.Fix``: original
nodes and the libcst nodes that replace them, so comments and formatting
outside the replaced nodes stay exactly as they were.  Fixes that touch the same nodes wait
for the next pass; after every pass the file is linted again (in memory) and the project
settled again, until nothing more can be fixed, so ``--fix`` twice changes nothing the second
time.  A result that does not parse, or no longer compiles, is not applied.  Files are
written atomically, in their own encoding (BOM and coding cookie included) and newlines.
A notebook is fixed through ``notebook.fix_text``: the same fixers run on the module its cells
make (and on each ``%%writefile`` module), the findings moved to that module's positions with
their facts unchanged, and the changed lines go back into the cells they came from.

``attach`` puts ``{"applicability", "message"}`` on each finding that has a fix
(``Finding.fix``, which the JSON output shows).
"""

from __future__ import annotations

import difflib
import io
import os
import stat
import sys
import tokenize
import warnings
from dataclasses import dataclass, field, replace
from typing import Callable, Dict, List, Mapping, Optional, Sequence, Set, Tuple

import libcst as cst

from tflint_save import notebook, source
from tflint_save.checks import RULES
from tflint_save.edits import SAFE, UNSAFE, Fix, Tree, find_method
from tflint_save.findings import Finding

MAX_PASSES = 10
# code -> (applicability, fixer): every rule that has a fix.
FIXERS: Dict[str, Tuple[str, Callable[[Tree, Finding], Optional[Fix]]]] = {
    rule.code: (rule.applicability, rule.fix) for rule in RULES if rule.applicability
}
_method = find_method  # the tests of fixers build their own edits with it

__all__ = ["FIXERS", "SAFE", "UNSAFE", "Fix", "Tree", "apply", "attach", "fix_run", "fix_text", "unified_diff", "write"]


# -- applying fixes ---------------------------------------------------------------------------

class _Replace(cst.CSTTransformer):
    def __init__(self, changes: Dict[int, Tuple[cst.CSTNode, cst.CSTNode]]):
        super().__init__()
        self.changes = changes

    def on_leave(self, original_node, updated_node):
        found = self.changes.get(id(original_node))
        return found[1] if found is not None and found[0] is original_node else updated_node


def _compiles(text: str) -> bool:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the user's own invalid escapes...
            compile(text, "<fix>", "exec", dont_inherit=True)
        return True
    except Exception:
        return False


def _result(module: cst.Module, changes: Dict[int, Tuple[cst.CSTNode, cst.CSTNode]],
            compiled: bool) -> Optional[str]:
    """The fixed text, or None when it does not parse (or no longer compiles)."""
    try:
        text = module.visit(_Replace(changes)).code
        cst.parse_module(text)
    except Exception:
        return None
    if compiled and not _compiles(text):
        return None
    return text


def allowed(applicability: str, unsafe: bool) -> bool:
    return applicability == SAFE or unsafe


def fix_for(tree: Tree, finding: Finding) -> Optional[Fix]:
    entry = FIXERS.get(finding.code)
    if entry is None:
        return None
    try:
        return entry[1](tree, finding)
    except Exception:  # a fixer bug, or a shape it did not foresee: no fix rather than a crash
        return None


def fix_text(text: str, findings: Sequence[Finding], unsafe: bool = False) -> Tuple[str, List[Finding]]:
    """One pass over one file: the text with every fix that fits applied, and the findings fixed."""
    wanted = [f for f in findings if f.code in FIXERS and allowed(FIXERS[f.code][0], unsafe)]
    if not wanted:
        return text, []
    try:
        tree = Tree(text)
    except Exception:
        return text, []
    chosen: List[Tuple[Fix, List[Finding]]] = []
    changed: Set[int] = set()
    lineage: Set[int] = set()
    for f in sorted(wanted, key=Finding.sort_key):
        fix = fix_for(tree, f)
        if fix is None:
            continue
        same = next((c for c in chosen if c[1][0].code == f.code and c[0].changes.keys() == fix.changes.keys()), None)
        if same is not None:  # one rename serving several findings
            same[1].append(f)
            continue
        mine = set(fix.changes)
        line = mine | {id(a) for old, _ in fix.changes.values() for a in tree.ancestors(old)}
        if mine & lineage or line & changed:
            continue  # overlaps a fix already chosen: the next pass
        chosen.append((fix, [f]))
        changed |= mine
        lineage |= line
    if not chosen:
        return text, []
    compiled = _compiles(text)
    merged = {k: v for fix, _ in chosen for k, v in fix.changes.items()}
    result = _result(tree.module, merged, compiled)
    if result is not None:
        return result, [f for _, found in chosen for f in found]
    # Some fix broke the file: keep the first one that does not, alone; the next pass does the rest.
    for fix, found in chosen:
        result = _result(tree.module, fix.changes, compiled)
        if result is not None:
            return result, found
    return text, []


def attach(findings: Sequence[Finding], texts: Optional[Dict[str, str]] = None) -> List[Finding]:
    """The findings, each with ``fix`` set when a fix for it exists (safe or not)."""
    texts = texts or {}
    out = list(findings)
    by_path: Dict[str, List[int]] = {}
    for i, f in enumerate(findings):
        if f.code in FIXERS and f.cell is None and (f.path in texts or f.path.endswith(".py")):
            by_path.setdefault(f.path, []).append(i)
    cells: Dict[str, List[int]] = {}  # notebooks: findings by cell
    for i, f in enumerate(findings):
        if f.code in FIXERS and f.cell is not None and f.path.endswith(notebook.SUFFIX):
            cells.setdefault(f.path, []).append(i)
    for path, indexes in by_path.items():
        try:
            text = texts[path] if path in texts else source.read(path)[1]
            tree = Tree(text)
        except Exception:
            continue
        for i in indexes:
            _note(out, i, fix_for(tree, out[i]))
    for path, indexes in cells.items():
        try:
            text = texts[path] if path in texts else notebook.read(path)
            where = notebook.module_findings(text, [out[i] for i in indexes])
        except Exception:
            continue
        trees: Dict[str, Tree] = {}
        for i, found in zip(indexes, where):
            if found is None:
                continue
            module_text, moved = found
            if module_text not in trees:
                try:
                    trees[module_text] = Tree(module_text)
                except Exception:
                    continue
            fix = fix_for(trees[module_text], moved)
            # Only a fix that --fix can put back into the cell (not into IPython syntax).
            if fix is not None and notebook.fix_text(text, [out[i]], lambda t, fs: fix_text(t, fs, True))[1]:
                _note(out, i, fix)
    return out


def _note(findings: List[Finding], i: int, fix: Optional[Fix]) -> None:
    if fix is not None:
        findings[i] = replace(findings[i], fix={"applicability": fix.applicability, "message": fix.message})


# -- a whole run -------------------------------------------------------------------------------

@dataclass
class Outcome:
    report: object  # run.Report: the findings left
    fixed: int = 0
    files: Dict[str, Tuple[bytes, str, str]] = field(default_factory=dict)  # path -> (bytes, text, fixed text)

    def diff(self) -> str:
        out = []
        for path, (_, before, after) in sorted(self.files.items()):
            if path.endswith(notebook.SUFFIX):
                out.extend(notebook.diff(path, before, after))
            else:
                out.extend(unified_diff(path, before, after))
        return "".join(out)


def fix_run(report, settings, unsafe: bool = False, texts: Optional[Mapping[str, str]] = None) -> Outcome:
    """Fix every file of a settled run (``report.results``) in memory, pass after pass.
    ``texts``: files read from standard input, by name (fixed from that text, never from disk)."""
    from tflint_save import run

    texts = texts or {}
    results = list(report.results)
    rules = run.enabled_rules(settings)
    where = {r.path: i for i, r in enumerate(results)}
    outcome = Outcome(report)
    seen: Dict[str, Set[str]] = {}
    for _ in range(MAX_PASSES):
        todo: Dict[str, List[Finding]] = {}
        for f in outcome.report.findings:
            if f.code in FIXERS and allowed(FIXERS[f.code][0], unsafe) and f.path in where and (
                    (f.cell is None and (f.path.endswith(".py") or f.path in texts))
                    or (f.cell is not None and f.path.endswith(notebook.SUFFIX))):
                todo.setdefault(f.path, []).append(f)
        progress = False
        for path, found in sorted(todo.items()):
            is_notebook = path.endswith(notebook.SUFFIX)
            if path not in outcome.files:
                try:
                    if path in texts:
                        data, text = texts[path].encode("utf-8"), texts[path]
                    else:
                        data, text = notebook.read_bytes(path) if is_notebook else source.read(path)
                except (source.SourceError, notebook.NotebookError):
                    continue
                outcome.files[path] = (data, text, text)
            data, original, current = outcome.files[path]
            if is_notebook:
                new, done = notebook.fix_text(current, found, lambda t, fs: fix_text(t, fs, unsafe))
            else:
                new, done = fix_text(current, found, unsafe)
            if not done or new in seen.setdefault(path, {original}):
                continue
            seen[path].add(new)
            outcome.files[path] = (data, original, new)
            outcome.fixed += len(done)
            results[where[path]] = run.lint_file(path, settings, rules, text=new)
            progress = True
        if not progress:
            break
        outcome.report = run.settle(results, settings, report.others, report.support)
    outcome.files = {p: v for p, v in outcome.files.items() if v[1] != v[2]}
    return outcome


def unified_diff(path: str, before: str, after: str) -> List[str]:
    lines = []
    for line in difflib.unified_diff(before.splitlines(True), after.splitlines(True), path, path):
        lines.append(line if line.endswith(("\n", "\r")) else line + "\n\\ No newline at end of file\n")
    return lines


def encoding_of(data: bytes) -> str:
    try:
        return tokenize.detect_encoding(io.BytesIO(data).readline)[0]  # 'utf-8-sig' keeps a BOM
    except SyntaxError:
        return "utf-8"


def write(path: str, original: bytes, text: str) -> Optional[str]:
    """Replace the file atomically with ``text`` in its own encoding; an error message, or None."""
    real = os.path.realpath(path)
    try:
        data = text.encode(encoding_of(original))
        with open(real, "rb") as handle:
            if handle.read() != original:
                return "it changed while it was being fixed; run again"
        source.write_atomic(real, data, stat.S_IMODE(os.stat(real).st_mode))
    except (OSError, UnicodeError) as exc:
        return getattr(exc, "strerror", None) or str(exc)
    return None


@dataclass
class Applied:
    """What --fix or --diff did: the findings left (each with the fix still on offer), how many
    were fixed (or would be) in how many files, the diff (--diff) and the fixed text of each
    file read from standard input."""

    report: object  # run.Report
    fixed: int
    files: int
    diff: Optional[str]
    texts: Dict[str, str]


def apply(report, settings, texts: Dict[str, str], unsafe: bool = False, diff: bool = False) -> Applied:
    """--fix (or, with ``diff``, --diff).  ``texts``: what was read from standard input, by its
    name: fixed in memory, never written.  A file that cannot be written is an error (on stderr,
    and the report's internal_error makes the exit code 2)."""
    outcome = fix_run(report, settings, unsafe, texts)
    left = outcome.report
    if not diff:
        for path, (original, _, fixed) in sorted(outcome.files.items()):
            if path in texts:
                continue
            error = write(path, original, fixed)
            if error is not None:
                sys.stderr.write(f"tflint-save: error: cannot write the fixes to {path}: {error}\n")
                left.internal_error = True  # exit code 2, as for any error
    now = dict(texts)
    now.update({path: fixed for path, (_, _, fixed) in outcome.files.items()})
    left.findings = attach(left.findings, now)
    return Applied(left, outcome.fixed, len(outcome.files), outcome.diff() if diff else None,
                   {path: now[path] for path in texts})
