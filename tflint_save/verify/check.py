"""--verify and --check-rules: turn findings (and the catalog's examples) into jobs and read the answers.

A rule with a runtime-checkable claim ships ``rules/<CODE>.verify.py`` (``check(facts,
workdir) -> {"status", "evidence"}``).  This module, which never imports TensorFlow, turns
findings into jobs (the finding's facts plus the user's class definitions and the Keras
version), answers what it can from the cache, and hands the rest to the workers.
"""

from __future__ import annotations

import sys
import os
from dataclasses import replace
from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence, Tuple

from tflint_save import catalog, kerasversion
from tflint_save.findings import Facts, Finding
from tflint_save.verify.cache import Cache, job_key
from tflint_save.verify.source import Extractor, SourceUnavailable
from tflint_save.verify.workers import STATUSES, Job, Options, probe, run_jobs

SNIPPET_SUFFIX = ".verify.py"


# -- snippets ----------------------------------------------------------------------------

def snippet_for(code: str) -> Optional[Tuple[str, str]]:
    """(path, text) of a rule's verification snippet, or None when it has none."""
    path = os.path.join(catalog.catalog_dir(), code + SNIPPET_SUFFIX)
    try:
        with open(path, encoding="utf-8") as handle:
            return path, handle.read()
    except OSError:
        return None


# -- findings ----------------------------------------------------------------------------

def reader(overrides: Dict[str, str], paths: Sequence[str] = ()) -> Callable[[str], str]:
    """How the extractor reads a linted file again (standard input, notebooks and the files
    that the linted notebooks write with %%writefile included)."""

    def read(path: str) -> str:
        if path in overrides:
            text = overrides[path]
        else:
            from tflint_save import notebook, source

            try:
                text = source.read(path)[1]
            except source.SourceError:
                written = notebook.written_text(path, paths)
                if written is None:
                    raise
                text = written
        if path.endswith(".ipynb"):
            from tflint_save import notebook

            text = notebook.parse(text).text
        return text

    return read


def facts_for(finding: Finding, keras: int, extractor: Extractor) -> Dict[str, Any]:
    """The finding's facts as its rule's check receives them (``Facts.plain``), plus what the
    infrastructure adds: ``source`` (the user's definitions they name) and ``keras_version``.

    Raises SourceUnavailable when the user's definitions cannot be found."""
    data = finding.data
    facts = data.plain()
    targets: List[Tuple[Optional[str], str]] = []
    name = getattr(data, "class_", None)
    if isinstance(name, str):  # defined in the finding's file, else searched for
        targets.append((None, name))
    objects = getattr(data, "objects", None)
    if objects is not None:  # TFS201: the custom objects the loaded model may hold
        shown = []
        for item in objects:
            item = item.plain() if isinstance(item, Facts) else dict(item)
            if not isinstance(item.get("name"), str):
                continue
            targets.append((item.get("path"), item["name"]))
            # Paths depend on where tflint-save runs; the check needs names and kinds only.
            item = {k: v for k, v in item.items() if k != "path"}
            if "call_args" not in item and "kind" in item:
                # Arguments seen where the project builds the object: known, not guessed.
                args = extractor.call_args(item["name"], finding.path)
                if args is not None:
                    item["call_args"] = args
            shown.append(item)
        facts["objects"] = shown
    if targets:
        facts["source"] = extractor.source(targets, near=finding.path)
    facts["keras_version"] = keras
    return facts


def verification(result: Dict[str, Any], versions: Tuple[str, str], cached: bool) -> Dict[str, Any]:
    """What a finding carries (and JSON output prints) about its verification."""
    return {
        "status": result["status"],
        "evidence": result["evidence"],
        "tensorflow_version": versions[0],
        "keras_version": versions[1],
        "seconds": round(float(result.get("seconds", 0.0)), 3),
        "cached": cached,
    }


def verify_findings(findings: Sequence[Finding], settings, options: Options, project=None,
                    paths: Sequence[str] = (), overrides: Optional[Dict[str, str]] = None,
                    warn: Callable[[str], None] = lambda line: sys.stderr.write(line + "\n"),
                    ) -> Tuple[List[Finding], str]:
    """Findings with their ``verification`` filled in, and the closing summary line."""
    info = probe(options.python)
    versions = (info.get("tensorflow") or "unknown", info.get("keras") or "unknown")
    cache = Cache(options.cache_dir) if options.cache_dir and "unknown" not in versions else None
    extractor = Extractor(reader(overrides or {}, paths), project, paths)
    snippets: Dict[str, Optional[Tuple[str, str]]] = {}
    planned: List[Tuple[int, Optional[str], Optional[Dict[str, Any]]]] = []  # (index, job key, immediate result)
    jobs: Dict[str, Job] = {}
    for index, finding in enumerate(findings):
        if finding.code not in snippets:
            snippets[finding.code] = snippet_for(finding.code)
        snippet = snippets[finding.code]
        if snippet is None:
            continue
        try:
            facts = facts_for(finding, kerasversion.for_file(settings.for_path(finding.path), finding.path)[0],
                              extractor)
        except SourceUnavailable as exc:
            planned.append((index, None, {"status": "inconclusive", "evidence": str(exc), "seconds": 0.0}))
            continue
        key = job_key(snippet[1], facts, versions)
        jobs.setdefault(key, Job(key, finding.code, snippet[0], snippet[1], facts))
        planned.append((index, key, None))
    results: Dict[str, Dict[str, Any]] = {}
    cached: Dict[str, bool] = {}
    for key in jobs:
        hit = cache.get(key) if cache else None
        if hit is not None:
            results[key], cached[key] = hit, True
    missing = [job for key, job in jobs.items() if key not in results]
    if missing:
        if sys.stderr.isatty():
            warn(f"tflint-save: verifying {len(missing)} finding(s) with {info.get('python') or options.python} ...")
        seen: List[Tuple[str, str]] = []
        fresh = run_jobs(missing, options, seen)
        if seen and "unknown" in versions:
            versions = seen[0]
        for key, result in fresh.items():
            results[key], cached[key] = result, False
            if cache and not result.get("transient"):
                cache.put(key, result)
    for line in cache.warnings() if cache else ():
        warn(line)
    out = list(findings)
    counts = dict.fromkeys(STATUSES, 0)
    for index, key, immediate in planned:
        result = immediate if key is None else results[key]
        out[index] = replace(out[index], verification=verification(result, versions, bool(key and cached.get(key))))
        counts[result["status"]] += 1
    timeouts = f", {counts['timeout']} timed out" if counts["timeout"] else ""
    summary = (
        f"verified: {counts['confirmed']} confirmed, {counts['not reproduced']} not reproduced, "
        f"{counts['inconclusive']} inconclusive{timeouts} (tensorflow {versions[0]}, keras {versions[1]})"
    )
    return out, summary


def confirmed_only(findings: Iterable[Finding]) -> List[Finding]:
    """--verified-only: what TensorFlow confirmed, plus files that could not be linted at all."""
    return [f for f in findings if f.code in catalog.ENGINE_CODES or (f.verification or {}).get("status") == "confirmed"]


# -- --check-rules -----------------------------------------------------------------------

def _example(entry, side: str) -> Tuple[Optional[Dict[str, Any]], str, List[str]]:
    """The [verify] table of one side, the example it is about, and the class names it names."""
    table = entry.verify.get(side) if isinstance(entry.verify, dict) else None
    examples = list(entry.bad if side == "bad" else entry.good)
    if not isinstance(table, dict) or not examples:
        return None, "", []
    names = [table["class"]] if isinstance(table.get("class"), str) else []
    names += [o["name"] for o in table.get("objects", ()) if isinstance(o, dict) and "name" in o]
    chosen = next((e for e in examples if all(f"class {n}" in e or f"def {n}" in e for n in names)), examples[0])
    return table, chosen, names


def _defining_file(example: str, names: List[str]) -> str:
    """Of a multi-file example, the file that defines the named objects (as a real finding's
    source comes from the module that defines them); a one-file example as it is."""
    files = catalog.example_files(example) or {}
    return next((text for text in files.values() if all(f"class {n}" in text or f"def {n}" in text for n in names)),
                example)


def example_facts(entry, side: str) -> Optional[Dict[str, Any]]:
    """The [verify] facts for the bad or good example, with ``source`` and ``keras_version``."""
    table, chosen, names = _example(entry, side)
    if table is None:
        return None
    facts = dict(table)
    if names:
        # As for a real finding: the definitions and their imports, never the example's script code.
        defining = _defining_file(chosen, names)
        extractor = Extractor(lambda _: defining, None, ["<example>"])
        facts["source"] = extractor.source([("<example>", n) for n in names])
    else:
        facts["source"] = chosen
    facts["keras_version"] = entry.example_keras
    return facts


def flags_bad_example(entry, keras: int) -> bool:
    """Whether the rule flags the bad example its [verify] facts are about, on this Keras."""
    from tflint_save import run
    from tflint_save.config import Settings

    table, chosen, _ = _example(entry, "bad")
    if table is None:
        return True  # nothing to judge: the table row says the facts are missing
    settings = Settings(select=[entry.code], keras_version=keras)
    files = catalog.example_files(chosen)
    if files is not None:  # a project: its programs decide
        import tempfile

        with tempfile.TemporaryDirectory() as folder:
            paths = []
            for name, text in files.items():
                paths.append(os.path.join(folder, name))
                with open(paths[-1], "w", encoding="utf-8") as out:
                    out.write(text)
            settings.config_file = os.path.join(folder, "pyproject.toml")
            return any(f.code == entry.code for f in run.lint_paths(paths, settings).findings)
    result = run.lint_file("<example>.py", settings, run.enabled_rules(settings), text=chosen)
    return any(f.code == entry.code for f in run.settle([result], settings).findings)


def check_rules(options: Options, select: Sequence[str] = ()) -> Tuple[List[str], bool]:
    """Every snippet on its rule's bad and good example: the table's lines, and whether all held."""
    info = probe(options.python)
    installed = str(info.get("keras") or "")
    major = int(installed.split(".")[0]) if installed[:1].isdigit() else None
    rows: List[Tuple[str, Optional[Tuple[Job, Job]]]] = []
    jobs: List[Job] = []
    without: List[str] = []
    other_keras: List[str] = []
    for code, entry in catalog.entries().items():
        if select and not any(code.startswith(s) for s in select):
            continue
        snippet = snippet_for(code)
        if snippet is None:
            without.append(code)
            continue
        if major is not None and (major not in entry.keras or not flags_bad_example(entry, major)):
            # The pitfall, or this example of it, does not exist on this Keras: nothing to reproduce.
            other_keras.append(code)
            continue
        pair = []
        for side in ("bad", "good"):
            facts = example_facts(entry, side)
            if facts is None:
                break
            # Results are keyed by job only within this run; --check-rules never caches.
            pair.append(Job(f"{code}/{side}", code, snippet[0], snippet[1], facts))
        rows.append((code, (pair[0], pair[1]) if len(pair) == 2 else None))
        jobs.extend(pair)
    seen: List[Tuple[str, str]] = []
    results = run_jobs(jobs, options, seen) if jobs else {}
    versions = seen[0] if seen else (info.get("tensorflow"), info.get("keras"))
    lines = [f"tensorflow {versions[0]}, keras {versions[1]} ({info.get('python') or options.python})",
             f"{'rule':<8}{'reproduced on bad':<19}{'silent on good':<16}{'seconds':>8}"]
    ok = True
    for code, pair in rows:
        if pair is None:
            ok = False
            lines.append(f"{code:<8}{'-':<19}{'-':<16}{'':>8}  no [verify] bad/good facts in rules/{code}.toml")
            continue
        bad, good = results[pair[0].key], results[pair[1].key]
        reproduced, silent = bad["status"] == "confirmed", good["status"] == "not reproduced"
        ok = ok and reproduced and silent
        seconds = bad["seconds"] + good["seconds"]
        notes = []
        if not reproduced:
            notes.append(f"bad: {bad['status']}: {bad['evidence']}")
        if not silent:
            notes.append(f"good: {good['status']}: {good['evidence']}")
        note = ("  " + "; ".join(notes)) if notes else ""
        lines.append(f"{code:<8}{'yes' if reproduced else 'no':<19}{'yes' if silent else 'no':<16}"
                     f"{seconds:>8.2f}{note}"[:400])
    if other_keras:
        lines.append(f"not for keras {installed} (or its bad example is not flagged there): {', '.join(other_keras)}")
    if without:
        lines.append(f"no snippet: {', '.join(without)}")
    return lines, ok
