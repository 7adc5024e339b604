"""--verify and --check-rules: run each finding's claim against the installed TensorFlow.

A rule with a runtime-checkable claim ships ``rules/<CODE>.verify.py`` (``check(facts,
workdir) -> {"status", "evidence"}``).  This module, which never imports TensorFlow, turns
findings into jobs (the finding's ``data`` plus the user's class definitions and the Keras
version), answers what it can from the cache, and hands the rest to long-lived worker
processes (``verify_worker.py``, run by path with the chosen interpreter), each importing
TensorFlow once.  A job that does not answer within the timeout, or kills its worker, is
reported as such and a fresh worker takes over.
"""

from __future__ import annotations

import hashlib
import json
import os
import queue
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import suppress
from dataclasses import dataclass, replace
from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence, Tuple

from tflint_save import catalog
from tflint_save.findings import Finding
from tflint_save.verify_source import Extractor, SourceUnavailable

WORKER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "verify_worker.py")
SNIPPET_SUFFIX = ".verify.py"
INSTALL = 'pip install "tflint-save[verify]"'
STATUSES = ("confirmed", "not reproduced", "inconclusive", "timeout")
# Bump when what a cached result means changes (worker isolation, job format).
CACHE_VERSION = 1
STARTUP_TIMEOUT = 180.0


class VerifyError(Exception):
    """Verification cannot run at all (no TensorFlow, a broken interpreter): one line, exit 2."""


@dataclass
class Options:
    python: str = sys.executable
    timeout: float = 60.0
    jobs: int = 1
    cache_dir: Optional[str] = None  # None: no cache


@dataclass
class Job:
    key: str
    code: str
    snippet_path: str
    snippet: str
    facts: Dict[str, Any]


# -- snippets ----------------------------------------------------------------------------

def snippet_for(code: str) -> Optional[Tuple[str, str]]:
    """(path, text) of a rule's verification snippet, or None when it has none."""
    path = os.path.join(catalog.catalog_dir(), code + SNIPPET_SUFFIX)
    try:
        with open(path, encoding="utf-8") as handle:
            return path, handle.read()
    except OSError:
        return None


def job_key(snippet: str, facts: Dict[str, Any], versions: Tuple[str, str]) -> str:
    payload = json.dumps(
        {"v": CACHE_VERSION, "snippet": snippet, "facts": facts, "tensorflow": versions[0], "keras": versions[1]},
        sort_keys=True, default=str,
    )
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


# -- the interpreter ---------------------------------------------------------------------

def probe(python: str) -> Dict[str, Any]:
    """What the verifying interpreter has, read without importing TensorFlow."""
    try:
        done = subprocess.run([python, WORKER, "--probe"], capture_output=True, text=True, timeout=120)
    except OSError as exc:
        raise VerifyError(f"--verify-python {python}: cannot run it ({exc.strerror or exc})") from None
    except subprocess.TimeoutExpired:
        raise VerifyError(f"--verify-python {python}: did not answer within 120 s") from None
    try:
        info = json.loads(done.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise VerifyError(f"{python} cannot run the verify worker: {tail}") from None
    if not info.get("importable"):
        raise VerifyError(
            f"--verify needs TensorFlow, and {info.get('python') or python} cannot import it; "
            f"install it there with: {INSTALL}"
        )
    return info


class _Timeout(Exception):
    pass


class _Crashed(Exception):
    pass


class Worker:
    """One worker process: TensorFlow imported once, jobs answered one at a time."""

    def __init__(self, python: str, startup_timeout: float = STARTUP_TIMEOUT):
        self.log = tempfile.TemporaryFile()
        env = dict(os.environ, CUDA_VISIBLE_DEVICES="", TF_CPP_MIN_LOG_LEVEL="3")
        self.proc = subprocess.Popen(
            [python, WORKER], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.log,
            env=env, cwd=tempfile.gettempdir(), text=True, encoding="utf-8",
        )
        self.answers: "queue.Queue[Optional[str]]" = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        try:
            hello = self._receive(startup_timeout)
        except _Timeout:
            self.kill()
            raise VerifyError(f"{python} did not finish importing TensorFlow within {startup_timeout:g} s") from None
        if hello is None:
            raise VerifyError(f"the verify worker of {python} exited while starting: {self.reason()}")
        if not hello.get("ready"):
            self.stop()
            raise VerifyError(
                f"--verify needs TensorFlow, and {python} cannot import it ({hello.get('error')}); "
                f"install it there with: {INSTALL}"
            )
        self.versions = (str(hello.get("tensorflow")), str(hello.get("keras")))

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.answers.put(line)
        self.answers.put(None)

    def _receive(self, timeout: float) -> Optional[Dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self.answers.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise _Timeout() from None
            if line is None:
                return None
            try:
                return json.loads(line)
            except ValueError:
                continue

    def run(self, job: Job, job_id: int, timeout: float) -> Dict[str, Any]:
        message = {"id": job_id, "code": job.code, "snippet": job.snippet, "snippet_path": job.snippet_path,
                   "facts": job.facts}
        try:
            self.proc.stdin.write(json.dumps(message) + "\n")
            self.proc.stdin.flush()
        except OSError:
            raise _Crashed(self.reason()) from None
        answer = self._receive(timeout)
        if answer is None:
            raise _Crashed(self.reason())
        return answer

    def reason(self) -> str:
        """Why the worker died: exit status and the last line it wrote to stderr."""
        try:
            code = self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.kill()
            code = self.proc.returncode
        self.log.seek(0)
        lines = [line.strip() for line in self.log.read().decode("utf-8", "replace").splitlines() if line.strip()]
        why = f"exit status {code}"
        return f"{why}: {lines[-1][:200]}" if lines else why

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self.log.close()

    def stop(self) -> None:
        try:
            self.proc.stdin.close()
            self.proc.wait(timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            pass
        self.kill()


def run_jobs(jobs: Sequence[Job], options: Options,
             versions_seen: Optional[List[Tuple[str, str]]] = None) -> Dict[str, Dict[str, Any]]:
    """Run jobs on ``options.jobs`` workers; results by job key."""
    todo: "queue.Queue[Job]" = queue.Queue()
    for job in jobs:
        todo.put(job)
    results: Dict[str, Dict[str, Any]] = {}
    errors: List[VerifyError] = []
    live: List[Worker] = []
    lock = threading.Lock()

    def serve() -> None:
        worker: Optional[Worker] = None
        try:
            while not errors:
                try:
                    job = todo.get_nowait()
                except queue.Empty:
                    return
                if worker is None:
                    try:
                        worker = Worker(options.python, max(STARTUP_TIMEOUT, options.timeout))
                    except VerifyError as exc:
                        errors.append(exc)
                        return
                    with lock:
                        live.append(worker)
                        if versions_seen is not None:
                            versions_seen.append(worker.versions)
                try:
                    answer = worker.run(job, len(results), options.timeout)
                    result = {"status": answer.get("status"), "evidence": str(answer.get("evidence", "")),
                              "seconds": float(answer.get("seconds") or 0.0)}
                    if result["status"] not in STATUSES:
                        result = {"status": "inconclusive", "evidence": f"bad answer from the worker: {answer!r:.200}",
                                  "seconds": 0.0, "transient": True}
                except _Timeout:
                    worker.kill()
                    worker = None
                    result = {"status": "timeout", "evidence": f"no answer within {options.timeout:g} s",
                              "seconds": options.timeout, "transient": True}
                except _Crashed as exc:
                    worker = None
                    result = {"status": "inconclusive", "evidence": f"the check crashed the worker ({exc})",
                              "seconds": 0.0, "transient": True}
                with lock:
                    results[job.key] = result
        finally:
            if worker is not None:
                worker.stop()

    threads = [threading.Thread(target=serve, daemon=True) for _ in range(max(1, min(options.jobs, len(jobs))))]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            while thread.is_alive():
                thread.join(0.2)
    finally:
        for worker in live:
            if worker.proc.poll() is None and any(t.is_alive() for t in threads):
                worker.kill()
    if errors:
        raise errors[0]
    return results


# -- the cache ---------------------------------------------------------------------------

class Cache:
    """One small JSON file per result, under ``<dir>/verify/``; unreadable entries are ignored."""

    def __init__(self, folder: str):
        self.folder = os.path.join(folder, "verify")
        self.corrupt = 0
        self.write_error: Optional[str] = None

    def _path(self, key: str) -> str:
        return os.path.join(self.folder, key[:2], key + ".json")

    def get(self, key: str) -> Optional[Dict[str, Any]]:
        try:
            with open(self._path(key), encoding="utf-8") as handle:
                value = json.load(handle)
            if value.get("status") in STATUSES and isinstance(value.get("evidence"), str):
                return {"status": value["status"], "evidence": value["evidence"],
                        "seconds": float(value.get("seconds", 0.0))}
        except FileNotFoundError:
            return None
        except (OSError, ValueError, AttributeError, TypeError):
            pass
        self.corrupt += 1
        return None

    def put(self, key: str, result: Dict[str, Any]) -> None:
        path = self._path(key)
        try:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            fd, temporary = tempfile.mkstemp(dir=os.path.dirname(path), suffix=".tmp")
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as handle:
                    json.dump({k: result[k] for k in ("status", "evidence", "seconds")}, handle)
                os.replace(temporary, path)
            except BaseException:
                with suppress(OSError):
                    os.remove(temporary)
                raise
        except OSError as exc:
            self.write_error = self.write_error or str(exc)

    def warnings(self) -> List[str]:
        out = []
        if self.corrupt:
            out.append(f"tflint-save: warning: ignored {self.corrupt} unreadable entr"
                       f"{'y' if self.corrupt == 1 else 'ies'} in the verify cache {self.folder}")
        if self.write_error:
            out.append(f"tflint-save: warning: could not write the verify cache: {self.write_error}")
        return out


# -- findings ----------------------------------------------------------------------------

def reader(overrides: Dict[str, str]) -> Callable[[str], str]:
    """How the extractor reads a linted file again (standard input and notebooks included)."""

    def read(path: str) -> str:
        if path in overrides:
            text = overrides[path]
        else:
            from tflint_save import source

            text = source.read(path)[1]
        if path.endswith(".ipynb"):
            from tflint_save import notebook

            text = notebook.parse(text).text
        return text

    return read


def facts_for(finding: Finding, keras: int, extractor: Extractor) -> Dict[str, Any]:
    """The finding's data plus what the infrastructure adds: ``source``, ``keras_version``.

    Raises SourceUnavailable when the user's definitions cannot be found."""
    facts = dict(finding.data)
    targets: List[Tuple[Optional[str], str]] = []
    if isinstance(facts.get("class"), str):  # defined in the finding's file, else searched for
        targets.append((None, facts["class"]))
    if isinstance(facts.get("objects"), list):
        objects = []
        for item in facts["objects"]:
            if not isinstance(item, dict) or not isinstance(item.get("name"), str):
                continue
            targets.append((item.get("path"), item["name"]))
            # Paths depend on where tflint-save runs; the check needs names and kinds only.
            item = {k: v for k, v in item.items() if k != "path"}
            if "call_args" not in item and "kind" in item:
                # Arguments seen where the project builds the object: known, not guessed.
                args = extractor.call_args(item["name"], finding.path)
                if args is not None:
                    item["call_args"] = args
            objects.append(item)
        facts["objects"] = objects
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
    extractor = Extractor(reader(overrides or {}), project, paths)
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
            facts = facts_for(finding, settings.keras_version, extractor)
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
    from tflint_save.run import ENGINE_CODES

    return [f for f in findings if f.code in ENGINE_CODES or (f.verification or {}).get("status") == "confirmed"]


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


def example_facts(entry, side: str) -> Optional[Dict[str, Any]]:
    """The [verify] facts for the bad or good example, with ``source`` and ``keras_version``."""
    table, chosen, names = _example(entry, side)
    if table is None:
        return None
    facts = dict(table)
    if names:
        # As for a real finding: the definitions and their imports, never the example's script code.
        extractor = Extractor(lambda _: chosen, None, ["<example>"])
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
