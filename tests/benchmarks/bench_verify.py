"""Benchmark: what --verify costs.

    /work/venvs/tf221/bin/python tests/benchmarks/bench_verify.py [--python PATH] [--findings 20]

1. Warm: one worker imports TensorFlow once, then runs 20 different checks (10 TFS201
   round trips of distinct unregistered layers, 4 TFS202 SavedModel exports and loads, 2
   TFS203, 4 TFS204); prints the median and the slowest seconds per check, measured in
   this process around each request (target: median <= 0.5 s).
2. End to end: ``tflint-save --verify --no-cache`` as a fresh process on a project with 20
   findings that are 20 different checks (load_model() of 20 SavedModel directories: each
   check writes one and loads it), interpreter start and TensorFlow import included
   (target: <= 20 s).

Not collected by pytest: this reports numbers, it asserts nothing.  Machine load shows in
them; the load average is printed alongside.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, ROOT)

from tflint_save import verify  # noqa: E402

LAYER = '''
import keras


class Scale{n}(keras.layers.Layer):
    def __init__(self, factor={n}.0, **kwargs):
        super().__init__(**kwargs)
        self.factor = factor

    def call(self, x):
        return x * self.factor

    def get_config(self):
        return {{**super().get_config(), "factor": self.factor}}
'''


def job(code, facts, key):
    path, snippet = verify.snippet_for(code)
    return verify.Job(key, code, path, snippet, dict(facts, keras_version=3))


def warm_jobs():
    jobs = [job("TFS201", {"objects": [{"name": f"Scale{n}", "kind": "layer"}], "compile": True,
                           "source": LAYER.format(n=n)}, f"201-{n}") for n in range(10)]
    jobs += [job("TFS202", {"path": f"exported/model_{n}"}, f"202-{n}") for n in range(4)]
    jobs += [job("TFS203", {"safe_mode": safe}, f"203-{safe}") for safe in (False, True)]
    jobs += [job("TFS204", {"method": m}, f"204-{m}") for m in ("fit", "evaluate", "train_on_batch", "test_on_batch")]
    return jobs


def warm(python):
    start = time.perf_counter()
    worker = verify.Worker(python)
    started = time.perf_counter() - start
    times, statuses = [], {}
    try:
        for i, item in enumerate(warm_jobs()):
            t = time.perf_counter()
            answer = worker.run(item, i, 60)
            times.append(time.perf_counter() - t)
            statuses[answer["status"]] = statuses.get(answer["status"], 0) + 1
    finally:
        worker.stop()
    print(f"warm worker: started (TensorFlow {worker.versions[0]}, Keras {worker.versions[1]} imported) in {started:.2f} s")
    print(f"  {len(times)} checks: median {statistics.median(times):.3f} s, mean {statistics.mean(times):.3f} s, "
          f"slowest {max(times):.3f} s, total {sum(times):.2f} s; outcomes {statuses}")


def end_to_end(python, count):
    with tempfile.TemporaryDirectory() as folder:
        lines = ["import keras", ""] + [
            f'model_{n} = keras.models.load_model("exported/serving_{n:02d}")' for n in range(count)
        ]
        with open(os.path.join(folder, "serve.py"), "w") as handle:
            handle.write("\n".join(lines) + "\n")
        env = dict(os.environ, PYTHONPATH=ROOT)
        command = [python, "-m", "tflint_save", "--verify", "--no-cache", "serve.py"]
        start = time.perf_counter()
        done = subprocess.run(command, cwd=folder, env=env, capture_output=True, text=True)
        elapsed = time.perf_counter() - start
    out = done.stdout.strip().splitlines()
    print(f"end to end: {len(out) - 1} findings verified in {elapsed:.2f} s (exit {done.returncode})")
    print(f"  {out[-1] if out else done.stderr.strip()}")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--python", default=sys.executable)
    parser.add_argument("--findings", type=int, default=20)
    args = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs; python {args.python}")
    warm(args.python)
    end_to_end(args.python, args.findings)


if __name__ == "__main__":
    main()
