"""A whole run: every file read and linted once (from the cache, in this process or in worker
processes), then what needs the project index settled once, in this process.

The per-file work (``lint_file``) gives a ``FileResult`` of plain data, so workers send
results back and the parent keeps them in the order of ``files``; ``settle`` then runs
once, in the parent, over every result.  Output is therefore the same whatever ``jobs``
is.  Few files are linted in this process: starting workers costs more than it saves
below ``MIN_FILES_PER_WORKER`` files per worker (see tests/benchmarks).
"""

from __future__ import annotations

import multiprocessing
import os
import sys
from dataclasses import dataclass, field, replace
from typing import Dict, List, Optional, Sequence, Set, Tuple, Type

from tflint_save import kerasversion, modulefacts, noqa, programs, source
from tflint_save.cache import FileCache
from tflint_save.catalog import ENGINE_CODES, INTERNAL_ERROR, PARSE_ERROR
from tflint_save.checks import RULES
from tflint_save.config import Settings
from tflint_save.engine import Rule, lint_text
from tflint_save.findings import NO_FACTS, FileResult, Finding, Resolved
from tflint_save.index import ProjectIndex
from tflint_save.modulefacts import Summary



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
    # The rest of the project, as settle() read it (for --fix to settle again the same way).
    others: List[Summary] = field(default_factory=list)
    support: List[FileResult] = field(default_factory=list)


def lint_file(path: str, settings: Settings, rules: Sequence[Type[Rule]], text: Optional[str] = None) -> FileResult:
    """Lint one path (or given text); unreadable or undecodable input is a TFS001 finding.

    ``rules`` are those ``settings`` enable; a file with a configuration of its own (see
    Settings.for_path) runs the rules and Keras version of that one instead.
    """
    own = settings.for_path(path)
    if own is not settings:
        settings, rules = own, enabled_rules(own)
    keras, legacy = kerasversion.for_file(settings, path)
    if path.endswith(".ipynb"):
        from tflint_save import notebook

        if legacy is None:
            # IPython's %env magic sets the variable too; the engine sees only the Python that runs.
            try:
                text = notebook.read(path) if text is None else text
            except notebook.NotebookError:
                pass  # notebook.lint reports it
            else:
                legacy = True if kerasversion.sets_legacy_keras(text) else None
        return notebook.lint(path, rules, keras, text, legacy)
    if text is None:
        try:
            _, text = source.read(path)
        except source.SourceError as exc:
            result = FileResult(path)
            result.findings.append(Finding(path, exc.line, exc.col, PARSE_ERROR, f"could not read file: {exc}"))
            return result
    result = lint_text(path, text, rules, keras, legacy)
    if noqa.mentions(text):
        result.warnings.extend(f"{path}:{line}: unknown rule code {code} in a # noqa comment; run 'tflint-save "
                               f"--list-rules' to see every code" for line, code in noqa.unknown_codes(text, known_codes()))
    result.summary = modulefacts.summarize(path, text)
    return result


def settle(results: Sequence[FileResult], settings: Settings, others: Sequence[Summary] = (),
           support: Sequence[FileResult] = ()) -> Report:
    """Decide deferred findings with the project index, apply selection, sort.

    ``others``: the summaries of the project files that were not linted (the program model reads
    them); ``support``: results of unlinted files whose classes the linted ones derive from (what the
    class rules noted there serves their subclasses; their own findings are not reported)."""
    # A notebook's %%writefile modules are files of the project too.
    linted = [r for result in list(results) + list(support) for r in (result, *result.modules)]
    summaries = [r.summary for r in linted if r.summary is not None]
    seen = {os.path.normcase(os.path.abspath(s.path)) for s in summaries}
    summaries += [s for s in others if os.path.normcase(os.path.abspath(s.path)) not in seen]
    project = ProjectIndex(linted, summaries, lambda path: settings.for_path(path).custom_classes)
    by_code = rules_by_code()
    report = Report(files=len(results), project=project, results=list(results), others=list(others),
                    support=list(support))
    for result in results:
        if result.error:
            report.internal_error = True
        own = settings.for_path(result.path)
        ignored = own.ignored_for(result.path)
        candidates = list(result.findings)
        for pending in result.pending:
            rule = by_code.get(pending.code)
            if rule is None:
                continue
            f = pending.finding
            try:
                decided = rule.resolve(pending, project)
            except Exception as exc:  # a rule bug: report it, keep going
                report.internal_error = True
                decided = None
                candidates.append(replace(f, code=INTERNAL_ERROR, end_line=0, end_col=0, data=NO_FACTS,
                                          message=f"internal error in {pending.code} (please report): {type(exc).__name__}: {exc}"))
            if isinstance(decided, Resolved):
                candidates.append(replace(f, message=decided.message, data=decided.facts))
            elif decided:
                candidates.append(replace(f, message=decided))
        for finding in candidates:
            if finding.code != INTERNAL_ERROR and (not own.enabled(finding.code) or noqa.silenced(finding.code, ignored or None)):
                continue
            report.findings.append(finding)
    report.findings.sort(key=Finding.sort_key)
    return report


def enabled_rules(settings: Settings) -> List[Type[Rule]]:
    return [rule for rule in RULES if settings.enabled(rule.code)]


def lint_paths(files: Sequence[str], settings: Settings, stdin_text: Optional[str] = None,
               stdin_name: str = "-", jobs: int = 1, cache: Optional[FileCache] = None) -> Report:
    results = lint_results(files, settings, stdin_text, stdin_name, jobs, cache)
    others, support = project_context(files, results, settings, cache, jobs)
    return settle(results, settings, others, support)


def project_context(files: Sequence[str], results: Sequence[FileResult], settings: Settings,
                    cache: Optional[FileCache] = None, jobs: int = 1) -> Tuple[List[Summary], List[FileResult]]:
    """What the rest of the project tells about the linted files: the summaries of every other
    file under the project root (``programs.find_root``), and the results of those holding base
    classes of the linted ones.  Read cheaply: from the cache, else with ``ast`` only."""
    from tflint_save import discovery

    root = programs.find_root([f for f in files if f != "-"], settings.config_file)
    if root is None:
        return [], []
    linted = {os.path.normcase(os.path.abspath(r.path)) for r in results}
    # Each directory's own configuration decides what is excluded there, as for the linted files.
    universe, _ = discovery.discover([root], settings.exclusions(), root=root, settings=settings)
    rest = [p for p in universe if os.path.normcase(os.path.abspath(p)) not in linted]
    if not rest:
        return [], []
    others = read_summaries(rest, cache, jobs, settings)
    support = _support(results, others, settings, cache)
    return others, support


def read_summaries(paths: Sequence[str], cache: Optional[FileCache], jobs: int, settings: Settings) -> List[Summary]:
    """The summaries of ``paths``: from the cache, the rest read with ``ast`` in up to ``jobs``
    worker processes (a cold pre-commit run reads the whole project)."""
    found: List[Optional[Summary]] = [None] * len(paths)
    keys: List[Optional[str]] = [None] * len(paths)
    todo = []
    for i, path in enumerate(paths):
        if cache is not None:
            keys[i] = _summary_key(cache, path)
            entry = cache.get(keys[i]) if keys[i] is not None else None
            if entry is not None and entry.summary is not None:
                found[i] = entry.summary
                continue
        todo.append(i)
    workers = workers_for(len(todo), jobs)
    done = _in_pool([paths[i] for i in todo], settings, (), workers, _summary_work) if workers else None
    if done is None:
        done = [read_summary(paths[i]) for i in todo]
    for i, result in zip(todo, done):
        found[i] = result
        if cache is not None and keys[i] is not None:
            cache.put(keys[i], FileResult(paths[i], summary=result))
    return found  # type: ignore[return-value]


def _summary_work(path: str) -> Summary:
    return read_summary(path)


def read_summary(path: str) -> Summary:
    """A file's summary for the program model, read with ``ast``.  A file that cannot be read is
    open (it may import anything): no finding rests on it."""
    try:
        if path.endswith(".ipynb"):
            from tflint_save import notebook

            return notebook.summarize(path, notebook.parse(notebook.read(path)))
        _, text = source.read(path)
        return modulefacts.summarize(path, text)
    except Exception:  # unreadable, undecodable, not a notebook: the linted files' business, not ours
        return Summary(path, dynamic=True)


def _summary_key(cache: FileCache, path: str) -> Optional[str]:
    try:
        with open(path, "rb") as handle:
            return cache.key("summary\0" + path, handle.read())
    except OSError:
        return None


def _support(results: Sequence[FileResult], others: Sequence[Summary], settings: Settings,
             cache: Optional[FileCache] = None) -> List[FileResult]:
    """Lint (findings dropped) the unlinted files that define project base classes of the linted
    files' classes, or classes the linted files save: what the class rules noted about a base
    class decides its subclasses, and must not depend on which files were passed."""
    summaries = [r.summary for r in results if r.summary is not None] + list(others)
    project = ProjectIndex([], summaries)
    linted = {os.path.normcase(os.path.abspath(r.path)) for r in results}
    wanted: Set[str] = set()
    for result in results:
        if result.summary is None:
            continue
        infos = list(result.summary.classes)
        for pending in result.pending:
            for ref in getattr(pending.data, "refs", ()):
                infos.extend(project.lookup(ref))
        for info in infos:
            for cls in [info] + project.ancestors(info):
                path = os.path.normcase(os.path.abspath(cls.path))
                if path not in linted:
                    wanted.add(cls.path)
    if not wanted:
        return []
    return lint_results(sorted(wanted), settings, cache=cache)


def lint_results(files: Sequence[str], settings: Settings, stdin_text: Optional[str] = None,
                 stdin_name: str = "-", jobs: int = 1, cache: Optional[FileCache] = None) -> List[FileResult]:
    """Every file's result, in the order of ``files``: from the cache, in this process, or
    from up to ``jobs`` worker processes."""
    if settings.keras_plan is not None:
        # Decide every project here, once, before any worker starts: each then finds its
        # decisions made, and what could not be read is reported once (plan.problems).
        for path in files:
            settings.keras_plan.decision(stdin_name if path == "-" else path)
    return lint_all(files, settings, enabled_rules(settings), jobs, cache, stdin_text, stdin_name)


# -- many files ----------------------------------------------------------------------------

# Measured on 2 idle CPUs (tests/benchmarks/bench_parallel_cache.py --startup; files of the
# corpus take about 12 ms each): a forked pool of 2 costs about 20 ms and breaks even at 4
# files, 8 files take 88 ms instead of 104; a spawned one (macOS, Windows) re-imports
# everything in each worker, about 500 ms, and breaks even near 64 files.  Below this many
# files per worker the run stays in-process.
MIN_FILES_PER_WORKER = {"fork": 6, "spawn": 48, "forkserver": 48}


def cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))  # what this process may use (containers, taskset)
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def workers_for(files: int, jobs: int) -> int:
    """How many worker processes ``files`` files are worth; 0 means lint in-process."""
    workers = min(jobs, files // MIN_FILES_PER_WORKER.get(_context().get_start_method(), 48))
    return workers if workers >= 2 else 0


def lint_all(files: Sequence[str], settings: Settings, rules: Sequence[Type[Rule]], jobs: int = 1,
             cache: Optional[FileCache] = None, stdin_text: Optional[str] = None,
             stdin_name: str = "-") -> List[FileResult]:
    """Every file's result, in the order of ``files``."""
    results: List[Optional[FileResult]] = [None] * len(files)
    todo: List[int] = []
    keys: List[Optional[str]] = []
    for i, path in enumerate(files):
        if path == "-":
            results[i] = lint_file(stdin_name, settings, rules, text=stdin_text or "")
            continue
        key = None
        if cache is not None:
            # The key is taken before linting: were the file edited in between, the entry would
            # only ever be found for these old bytes, and a later run rehashes the new ones.
            key = _cache_for(cache, settings, path).key_of(
                path, "%s/%s" % kerasversion.for_file(settings.for_path(path), path))
            found = cache.get(key) if key is not None else None
            if found is not None:
                results[i] = found
                continue
        todo.append(i)
        keys.append(key)
    paths = [files[i] for i in todo]
    workers = workers_for(len(paths), jobs)
    done = _in_pool(paths, settings, rules, workers) if workers else None
    if done is None:
        done = [lint_file(path, settings, rules) for path in paths]
    for i, key, result in zip(todo, keys, done):
        results[i] = result
        if cache is not None and key is not None:
            cache.put(key, result)
    return results  # type: ignore[return-value]


def _cache_for(cache: FileCache, settings: Settings, path: str) -> FileCache:
    """The cache keyed for this file's own Keras version and rules (see Settings.for_path)."""
    own = settings.for_path(path)
    if own is settings:
        return cache
    return cache.variant(own.keras_version, [rule.code for rule in enabled_rules(own)])


# -- worker processes ----------------------------------------------------------------------------------

_WORKER: dict = {}


def _start_worker(settings: Settings, rules: Sequence[Type[Rule]]) -> None:
    _WORKER.update(settings=settings, rules=rules)


def _work(path: str) -> FileResult:
    return lint_file(path, _WORKER["settings"], _WORKER["rules"])


def _size(path: str) -> int:
    try:
        return os.path.getsize(path)
    except OSError:
        return 0


def _context():
    # fork starts a worker in milliseconds with everything already imported; elsewhere
    # (macOS, Windows) the platform default is the only safe choice.
    if sys.platform.startswith("linux") and "fork" in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context()


def _in_pool(paths: Sequence[str], settings: Settings, rules: Sequence[Type[Rule]],
             workers: int, work=None) -> Optional[List]:
    """Results from ``workers`` processes (of ``work``, default linting), or None when a pool
    cannot be used here."""
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    # Largest files first, in small chunks, so that no worker is left with a big file at the
    # end while the others wait; the results go back into the order of ``paths``.
    order = sorted(range(len(paths)), key=lambda i: -_size(paths[i]))
    chunk = max(1, min(8, len(paths) // (workers * 16)))
    try:
        with ProcessPoolExecutor(workers, mp_context=_context(), initializer=_start_worker,
                                 initargs=(settings, list(rules))) as pool:
            done = list(pool.map(work or _work, [paths[i] for i in order], chunksize=chunk))
        results: List = [None] * len(paths)
        for i, result in zip(order, done):
            results[i] = result
        return results
    except (BrokenProcessPool, OSError, NotImplementedError, ImportError) as exc:
        # No processes here (a sandbox, no /dev/shm) or a worker died: lint in-process.
        sys.stderr.write(f"tflint-save: warning: parallel run failed ({type(exc).__name__}: {exc}); "
                         "continuing in one process\n")
        return None
