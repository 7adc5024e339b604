"""A whole run: every file read and linted once (from the cache, in this process or in worker
processes), then what needs the project index settled once, in this process.

The per-file work (``lint_file``) gives a ``FileResult`` of plain data, so workers send
results back and the parent keeps them in the order of ``files``; ``settle`` then runs
once, in the parent, over every result.  Output is therefore the same whatever ``jobs``
is.  Few files are linted in this process: starting workers costs more than it saves
below ``MIN_FILES_PER_WORKER`` files per worker (see tests/benchmarks).
"""

from __future__ import annotations

import functools
import gc
import os
import sys
from dataclasses import dataclass, field, replace
from typing import Dict, List, Optional, Sequence, Set, Tuple, Type

from tflint_save import isolate, kerasversion, modulefacts, noqa, programs, safeparse, source
from tflint_save.cache import FileCache
from tflint_save.catalog import ENGINE_CODES, INTERNAL_ERROR, PARSE_ERROR
from tflint_save.checks import RULES
from tflint_save.config import Settings
from tflint_save.engine import Rule, lint_text
from tflint_save.findings import NO_FACTS, FileResult, Finding, Resolved
from tflint_save.index import ProjectIndex
from tflint_save.modulefacts import Summary
from tflint_save.safeparse import Limits, Risky



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


def lint_file(path: str, settings: Settings, rules: Sequence[Type[Rule]], text: Optional[str] = None,
              limits: Optional[Limits] = None) -> FileResult:
    """Lint one path (or given text).  Never raises: unreadable, undecodable or unparsable input
    is a TFS001 finding, any other failure a TFS002 for this file.  A file libcst might not
    survive is linted in a child process unless ``limits`` allow it here (in a worker).

    ``rules`` are those ``settings`` enable; a file with a configuration of its own (see
    Settings.for_path) runs the rules, Keras version and limits of that one instead.
    """
    own = settings.for_path(path)
    if own is not settings:
        settings, rules = own, enabled_rules(own)
    limits = limits or settings.limits
    try:
        return _lint_file(path, settings, rules, text, limits)
    except Risky:  # in a child process, whose crash or stall costs only this file
        lint = functools.partial(lint_file, settings=settings, rules=rules, limits=_in_worker(limits))
        return isolate.lint_isolated([path], lint, 1, limits.timeout, {0: text} if text is not None else None)[0]
    except (Exception, RecursionError, MemoryError) as exc:  # a bug or a pathological file: this file only
        result = FileResult(path)
        message = f"internal error while linting this file (please report): {type(exc).__name__}: {str(exc)[:300]}"
        result.findings.append(Finding(path, 1, 1, INTERNAL_ERROR, message))
        result.error = message
        return result


def _lint_file(path: str, settings: Settings, rules: Sequence[Type[Rule]], text: Optional[str],
               limits: Limits) -> FileResult:
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
        return notebook.lint(path, rules, keras, text, legacy, limits)
    if text is None:
        try:
            _, text = source.read(path)
        except source.SourceError as exc:
            result = FileResult(path)
            result.findings.append(Finding(path, exc.line, exc.col, PARSE_ERROR, f"could not read file: {exc}"))
            return result
    result = lint_text(path, text, rules, keras, legacy, limits)
    if noqa.mentions(text):
        result.warnings.extend(f"{path}:{line}: unknown rule code {code} in a # noqa comment; run 'tflint-save "
                               f"--list-rules' to see every code" for line, code in noqa.unknown_codes(text, known_codes()))
    result.summary = modulefacts.summarize(path, text, tree=safeparse.accepted_tree(text))
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
    others = read_summaries(rest, cache, jobs, settings, root)
    support = _support(results, others, settings, cache)
    return others, support


def read_summaries(paths: Sequence[str], cache: Optional[FileCache], jobs: int, settings: Settings,
                   root: str = "") -> List[Summary]:
    """The summaries of ``paths`` (files of the project at ``root``): from the cache, the rest
    read with ``ast`` in up to ``jobs`` worker processes (a cold pre-commit run reads the whole
    project)."""
    packed = cache.summaries(root) if cache is not None else {}
    entries: Dict[str, Tuple[str, dict]] = {}
    found: List[Optional[Summary]] = [None] * len(paths)
    todo = []
    for i, path in enumerate(paths):
        key = _summary_key(cache, path) if cache is not None else None
        entry = packed.get(path)
        if key is not None and entry is not None and entry[0] == key:
            try:
                found[i] = modulefacts.from_json(entry[1])
                entries[path] = entry
                continue
            except Exception:  # an entry another version wrote: read the file again
                pass
        todo.append((i, key))
    workers = workers_for(len(todo), jobs)
    done = _summaries_in_pool([paths[i] for i, _ in todo], workers) if workers else None
    for n, (i, key) in enumerate(todo):
        if done is None:  # in this process: JSON only for the cache
            found[i] = read_summary(paths[i])
            raw = modulefacts.to_json(found[i]) if key is not None else None
        else:
            raw = done[n]
            found[i] = modulefacts.from_json(raw)
        if key is not None:
            entries[paths[i]] = (key, raw)
    if cache is not None and (todo or len(entries) != len(packed)):
        cache.put_summaries(root, entries)
    return found  # type: ignore[return-value]


def _summaries_in_pool(paths: Sequence[str], workers: int) -> Optional[List[dict]]:
    """Summaries (as JSON) from ``workers`` processes, or None when a pool cannot be used here.
    CPython's ``ast`` cannot crash a worker the way libcst can, so a plain pool does (see isolate)."""
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    chunk = max(1, min(64, len(paths) // (workers * 8)))
    try:
        with ProcessPoolExecutor(workers, mp_context=_context(), initializer=_fewer_collections) as pool:
            return list(pool.map(summary_json, paths, chunksize=chunk))
    except (BrokenProcessPool, OSError, NotImplementedError, ImportError):
        return None  # read them in this process


def _fewer_collections() -> None:
    # A summary worker builds and drops ast trees, which hold no reference cycles: at the default
    # threshold the collector took about a seventh of its time (bench_subset).
    gc.set_threshold(10_000, 10, 10)


def summary_json(path: str) -> dict:
    """``read_summary`` as the cache stores it (made in the worker: the conversion is not cheap)."""
    return modulefacts.to_json(read_summary(path))


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
    project = ProjectIndex.of_classes(summaries)
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
    return cache.variant(own.keras_version, [rule.code for rule in enabled_rules(own)], own.max_file_size)


# -- worker processes ----------------------------------------------------------------------------------

def _in_worker(limits: Limits) -> Limits:
    """A worker may parse a risky file: its crash or stall costs only that file (isolate)."""
    return Limits(limits.max_size, limits.timeout, risky_here=True)


def _lint_in_worker(path: str, text: Optional[str] = None, *, settings: Settings,
                    rules: Sequence[Type[Rule]]) -> FileResult:
    """lint_file in a worker of _in_pool, under the file's own limits."""
    return lint_file(path, settings, rules, text, _in_worker(settings.for_path(path).limits))


def _size(path: str) -> int:
    try:
        return os.path.getsize(path)
    except OSError:
        return 0


def _context():
    return isolate.context()


def _in_pool(paths: Sequence[str], settings: Settings, rules: Sequence[Type[Rule]],
             workers: int) -> Optional[List[FileResult]]:
    """Results from ``workers`` processes, or None when processes cannot be used here.  A worker
    that dies or stalls costs only its file (TFS002); a fresh one takes over (isolate)."""
    # Largest files first, so that no worker is left with a big file at the end while the
    # others wait; the results go back into the order of ``paths``.
    order = sorted(range(len(paths)), key=lambda i: -_size(paths[i]))
    lint = functools.partial(_lint_in_worker, settings=settings, rules=list(rules))
    # Each file within its own file-timeout (its closest configuration's).
    timeouts = [settings.for_path(paths[i]).file_timeout for i in order]
    try:
        done = isolate.lint_isolated([paths[i] for i in order], lint, workers, timeouts)
    except (OSError, NotImplementedError, ImportError) as exc:
        # No processes here (a sandbox, no /dev/shm): lint in-process.
        sys.stderr.write(f"tflint-save: warning: parallel run failed ({type(exc).__name__}: {exc}); "
                         "continuing in one process\n")
        return None
    results: List = [None] * len(paths)
    for i, result in zip(order, done):
        results[i] = result
    return results
