"""A whole run: read every file once, lint it, then settle what needs the project index."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Dict, List, Optional, Sequence, Type

from tflint_save import source
from tflint_save.checks import RULES
from tflint_save.config import Settings
from tflint_save.engine import Rule, _silenced, lint_text
from tflint_save.findings import FileResult, Finding
from tflint_save.index import ProjectIndex

ENGINE_CODES = ("TFS001", "TFS002")


def known_codes() -> List[str]:
    return sorted(set(ENGINE_CODES) | {rule.code for rule in RULES})


def rules_by_code() -> Dict[str, Type[Rule]]:
    return {rule.code: rule for rule in RULES}


@dataclass
class Report:
    findings: List[Finding] = field(default_factory=list)
    files: int = 0
    internal_error: bool = False
    project: Optional[ProjectIndex] = None  # for --verify: the user's classes across files
    results: List[FileResult] = field(default_factory=list)  # for --fix: every file's, in order


def lint_file(path: str, settings: Settings, rules: Sequence[Type[Rule]], text: Optional[str] = None) -> FileResult:
    """Lint one path (or given text); unreadable or undecodable input is a TFS001 finding."""
    if path.endswith(".ipynb"):
        from tflint_save import notebook

        return notebook.lint(path, rules, settings.keras_version, text)
    if text is None:
        try:
            _, text = source.read(path)
        except source.SourceError as exc:
            result = FileResult(path)
            result.findings.append(Finding(path, exc.line, exc.col, "TFS001", f"could not read file: {exc}"))
            return result
    return lint_text(path, text, rules, settings.keras_version)


def settle(results: Sequence[FileResult], settings: Settings) -> Report:
    """Decide deferred findings with the project index, apply selection, sort."""
    project = ProjectIndex(results)
    by_code = rules_by_code()
    report = Report(files=len(results), project=project, results=list(results))
    for result in results:
        if result.error:
            report.internal_error = True
        ignored = settings.ignored_for(result.path)
        candidates = list(result.findings)
        for pending in result.pending:
            rule = by_code.get(pending.code)
            if rule is None:
                continue
            try:
                message = rule.resolve(pending, project)
            except Exception as exc:  # a rule bug: report it, keep going
                report.internal_error = True
                f = pending.finding
                message = None
                candidates.append(replace(f, code="TFS002", end_line=0, end_col=0, data={},
                                          message=f"internal error in {pending.code} (please report): {type(exc).__name__}: {exc}"))
            if message:
                f = pending.finding
                candidates.append(replace(f, message=message))
        for finding in candidates:
            if finding.code != "TFS002" and (not settings.enabled(finding.code) or _silenced(finding.code, ignored or None)):
                continue
            report.findings.append(finding)
    report.findings.sort(key=Finding.sort_key)
    return report


def enabled_rules(settings: Settings) -> List[Type[Rule]]:
    return [rule for rule in RULES if settings.enabled(rule.code)]


def lint_paths(files: Sequence[str], settings: Settings, stdin_text: Optional[str] = None,
               stdin_name: str = "-", jobs: int = 1, cache=None) -> Report:
    return settle(lint_results(files, settings, stdin_text, stdin_name, jobs, cache), settings)


def lint_results(files: Sequence[str], settings: Settings, stdin_text: Optional[str] = None,
                 stdin_name: str = "-", jobs: int = 1, cache=None) -> List[FileResult]:
    """Every file's result, in the order of ``files``: from the cache (a ``cache.Cache``),
    in this process, or from up to ``jobs`` worker processes."""
    from tflint_save import parallel

    return parallel.lint_all(files, settings, enabled_rules(settings), jobs, cache, stdin_text, stdin_name)
