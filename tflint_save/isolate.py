"""Linting files in worker processes whose crash or stall costs only the file they were on.

One worker handles one file at a time, so the parent knows which file a worker was on
when it died (a signal: libcst's native parser overflowing its stack, the kernel's OOM
killer) or ran past ``file-timeout``: that file becomes TFS002 naming the signal or the
limit, and a fresh worker takes over the rest.  Used for parallel runs and, in a
one-process run, for a file ``safeparse`` finds risky.
"""

from __future__ import annotations

import multiprocessing
import signal
import sys
import time
from collections import deque
from multiprocessing.connection import wait
from typing import Callable, Deque, Dict, List, Optional, Sequence, Union

from tflint_save.catalog import INTERNAL_ERROR
from tflint_save.findings import FileResult, Finding

# What a worker does with one file: ``lint(path, text=...)``, text None to read the file.  A
# module-level function or a functools.partial of one, so that it also reaches spawned workers.
Lint = Callable[[str, Optional[str]], FileResult]

# A worker that dies before taking its task (it could not start) is replaced this many
# times per task before the task itself is reported.
_RESTARTS = 3


def context():
    # fork starts a worker in milliseconds with everything already imported; elsewhere
    # (macOS, Windows) the platform default is the only safe choice.
    if sys.platform.startswith("linux") and "fork" in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context()


def _serve(conn, lint: Lint) -> None:
    import faulthandler

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    faulthandler.disable()  # a crash is reported as TFS002 naming the signal, not as a stack dump
    while True:
        try:
            task = conn.recv()
        except (EOFError, OSError):
            return
        if task is None:
            return
        index, path, text = task
        conn.send((index, lint(path, text=text)))


class _Worker:
    def __init__(self, ctx, lint: Lint):
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=_serve, args=(child, lint), daemon=True)
        self.proc.start()
        child.close()
        self.task: Optional[int] = None
        self.deadline = 0.0

    def give(self, index: int, path: str, text: Optional[str], timeout: float) -> bool:
        try:
            self.conn.send((index, path, text))
        except (OSError, ValueError):
            return False
        self.task, self.deadline = index, time.monotonic() + timeout
        return True

    def kill(self) -> None:
        if self.proc.is_alive():
            self.proc.kill()
        self.proc.join()
        self.conn.close()

    def stop(self) -> None:
        try:
            self.conn.send(None)
        except (OSError, ValueError):
            pass
        self.proc.join(5)
        self.kill()


def _failed(path: str, why: str) -> FileResult:
    result = FileResult(path)
    message = f"could not lint this file: {why}"
    result.findings.append(Finding(path, 1, 1, INTERNAL_ERROR, message))
    result.error = message
    return result


def _death(code: Optional[int]) -> str:
    if code is not None and code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        return f"the process linting it was killed by {name} (signal {-code}; a crash in the parser, or out of memory)"
    return f"the process linting it exited with status {code}"


def lint_isolated(paths: Sequence[str], lint: Lint, workers: int, timeout: Union[float, Sequence[float]],
                  texts: Optional[Dict[int, str]] = None) -> List[FileResult]:
    """Each path's result, in order, from ``lint`` in up to ``workers`` processes, each file
    within ``timeout`` seconds (``file-timeout``: one for every file, or each file's own);
    ``texts``: given text by index."""
    timeouts = [float(timeout)] * len(paths) if isinstance(timeout, (int, float)) else list(timeout)
    ctx = context()
    todo: Deque[int] = deque(range(len(paths)))
    results: List[Optional[FileResult]] = [None] * len(paths)
    restarts: Dict[int, int] = {}
    pool: List[_Worker] = []
    try:
        while todo or any(w.task is not None for w in pool):
            for worker in [w for w in pool if w.task is None]:
                if not todo:
                    break
                index = todo.popleft()
                if not worker.give(index, paths[index], (texts or {}).get(index), timeouts[index]):
                    _retire(pool, worker)
                    restarts[index] = restarts.get(index, 0) + 1
                    if restarts[index] > _RESTARTS:
                        results[index] = _failed(paths[index], _death(worker.proc.exitcode))
                    else:
                        todo.appendleft(index)
            while todo and len(pool) < workers:
                pool.append(_Worker(ctx, lint))
                index = todo.popleft()
                if not pool[-1].give(index, paths[index], (texts or {}).get(index), timeouts[index]):
                    todo.appendleft(index)  # it died at once: the next round retires it
            busy = [w for w in pool if w.task is not None]
            if not busy:
                continue
            nearest = max(0.0, min(w.deadline for w in busy) - time.monotonic())
            wait([w.conn for w in busy] + [w.proc.sentinel for w in busy], nearest)
            for worker in busy:
                index = worker.task
                if worker.conn.poll():
                    try:
                        done, result = worker.conn.recv()
                    except (EOFError, OSError):
                        worker.proc.join(1)
                        results[index] = _failed(paths[index], _death(worker.proc.exitcode))
                        _retire(pool, worker)
                        continue
                    results[done] = result
                    worker.task = None
                elif not worker.proc.is_alive():
                    worker.proc.join()
                    results[index] = _failed(paths[index], _death(worker.proc.exitcode))
                    _retire(pool, worker)
                elif time.monotonic() >= worker.deadline:
                    results[index] = _failed(
                        paths[index], f"parsing and linting it took longer than the file-timeout of "
                                      f"{timeouts[index]:g} s (raise it with --file-timeout or in the configuration)")
                    _retire(pool, worker)
    finally:
        for worker in pool:
            if worker.task is None:
                worker.stop()
            else:
                worker.kill()
    return results  # type: ignore[return-value]


def _retire(pool: List[_Worker], worker: _Worker) -> None:
    worker.kill()
    pool.remove(worker)

