"""The processes that run the checks: each imports TensorFlow once and answers jobs one at a time.

``worker.py`` is started by path with the chosen interpreter; ``run_jobs`` spreads jobs over
``Options.jobs`` of them.  A job that does not answer within the timeout, or kills its worker,
is reported as such and a fresh worker takes over.
"""

from __future__ import annotations

import atexit
import json
import os
import queue
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from contextlib import suppress
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


class _Forged(Exception):
    """Something other than the awaited answer came on the channel: never a verdict."""


# Limits on each worker (worker.sandbox): a worker with TensorFlow 2.21 peaked at
# 1.4 GB of address space and 7 open files over 20 checks.
MEMORY_LIMIT = 8 * 1024 ** 3
OPEN_FILES_LIMIT = 256

_LIVE: "set[Worker]" = set()  # killed, process group and all, when tflint-save exits


@atexit.register
def _kill_live() -> None:
    for worker in list(_LIVE):
        worker.kill()


class Worker:
    """One worker process: TensorFlow imported once, jobs answered one at a time.

    The worker is sandboxed as far as an unprivileged process can be (worker.sandbox):
    its own process group, killed whole on a timeout and at the end; its own temporary
    directory, also its HOME and TMPDIR, removed afterwards; memory, CPU time and open-file
    limits; no file descriptor but its channel.  Answers must carry the run's random token and
    the id of the job asked: anything else on the channel fails that check and retires the worker.
    """

    def __init__(self, python: str, startup_timeout: float = STARTUP_TIMEOUT, timeout: float = 60.0):
        self.log = tempfile.TemporaryFile()
        self.home = tempfile.mkdtemp(prefix="tflint-save-verify-")
        self.token = secrets.token_hex(16)
        env = dict(os.environ, CUDA_VISIBLE_DEVICES="", TF_CPP_MIN_LOG_LEVEL="3",
                   HOME=self.home, TMPDIR=self.home, TMP=self.home, TEMP=self.home)
        env.pop("KERAS_HOME", None)  # Keras's config then lands in HOME/.keras, thrown away
        self.proc = subprocess.Popen(
            [python, WORKER], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.log,
            env=env, cwd=self.home, text=True, encoding="utf-8", start_new_session=True, close_fds=True,
        )
        _LIVE.add(self)
        self.answers: "queue.Queue[Optional[str]]" = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        # The token goes on the channel, not in argv or the environment other processes can read.
        limits = {"token": self.token, "memory": MEMORY_LIMIT, "files": OPEN_FILES_LIMIT,
                  "cpu_per_job": timeout * (os.cpu_count() or 1) + 10}
        try:
            self.proc.stdin.write(json.dumps(limits) + "\n")
            self.proc.stdin.flush()
        except OSError:
            pass
        try:
            hello = self._receive(startup_timeout, "ready")
        except _Timeout:
            self.kill()
            raise VerifyError(f"{python} did not finish importing TensorFlow within {startup_timeout:g} s") from None
        except _Forged as exc:
            self.kill()
            raise VerifyError(f"the verify worker of {python} did not start: {exc}") from None
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

    def _receive(self, timeout: float, expected) -> Optional[Dict[str, Any]]:
        """The next line, which must be the answer ``expected`` (a job id, or "ready")."""
        try:
            line = self.answers.get(timeout=max(0.0, timeout))
        except queue.Empty:
            raise _Timeout() from None
        if line is None:
            return None
        try:
            answer = json.loads(line)
        except ValueError:
            answer = None
        if not isinstance(answer, dict) or answer.get("token") != self.token or (
                answer.get("id") != expected if expected != "ready" else "ready" not in answer):
            raise _Forged(f"the worker's answer channel carried {line.strip()[:120]!r} instead of the answer "
                          f"to this check (code under check wrote to it?)")
        return answer

    def run(self, job: Job, job_id: int, timeout: float) -> Dict[str, Any]:
        message = {"id": job_id, "code": job.code, "snippet": job.snippet, "snippet_path": job.snippet_path,
                   "facts": job.facts}
        try:
            self.proc.stdin.write(json.dumps(message) + "\n")
            self.proc.stdin.flush()
        except OSError:
            raise _Crashed(self.reason()) from None
        answer = self._receive(timeout, job_id)
        if answer is None:
            raise _Crashed(self.reason())
        return answer

    def reason(self) -> str:
        """Why the worker died: exit status (or signal) and the last line it wrote to stderr."""
        try:
            code = self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            code = None
        try:
            self.log.seek(0)
            lines = [line.strip() for line in self.log.read().decode("utf-8", "replace").splitlines() if line.strip()]
        except (OSError, ValueError):
            lines = []
        self.kill()
        if code is not None and code < 0:
            try:
                why = f"killed by {signal.Signals(-code).name}"
            except ValueError:
                why = f"killed by signal {-code}"
        else:
            why = f"exit status {code}"
        return f"{why}: {lines[-1][:200]}" if lines else why

    def kill(self) -> None:
        """The worker's whole process group (what the checked code started too), and its directory."""
        with suppress(OSError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        if self.proc.poll() is None:
            with suppress(OSError):
                self.proc.kill()
        self.proc.wait()
        for stream in (self.proc.stdin, self.proc.stdout):
            with suppress(OSError, ValueError):
                stream.close()
        with suppress(OSError, ValueError):
            self.log.close()
        shutil.rmtree(self.home, ignore_errors=True)
        _LIVE.discard(self)

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
                        worker = Worker(options.python, max(STARTUP_TIMEOUT, options.timeout), options.timeout)
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
                except _Forged as exc:
                    worker.kill()
                    worker = None
                    result = {"status": "inconclusive", "evidence": f"failed check: {exc}",
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
