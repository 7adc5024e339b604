"""The processes that run the checks: each imports TensorFlow once and answers jobs one at a time.

``worker.py`` is started by path with the chosen interpreter; ``run_jobs`` spreads jobs over
``Options.jobs`` of them.  A job that does not answer within the timeout, or kills its worker,
is reported as such and a fresh worker takes over.
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Sequence, Tuple

WORKER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "worker.py")
INSTALL = 'pip install "tflint-save[verify]"'
STATUSES = ("confirmed", "not reproduced", "inconclusive", "timeout")
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
