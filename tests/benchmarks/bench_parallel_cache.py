"""Benchmark: --jobs, the result cache and the flake8 plugin, on a corpus, through the command line.

    python tests/benchmarks/bench_parallel_cache.py /path/to/corpus [--repeat 3] [--jobs 2]
        [--skip-flake8] [--startup]

Each figure is the best of ``--repeat`` runs of a fresh ``python -m tflint_save`` (what a user
waits for, start-up included), with the CPU time the run's processes used beside it:

- ``--jobs 1`` vs ``--jobs N`` (no cache): the speed-up, and whether the outputs are identical;
- a cold cache run (an empty --cache-dir) vs a warm one (the same directory, nothing changed);
- ``flake8 --select TFS`` (the plugin) vs ``tflint-save`` on the same file list, one job each
  and then N each (``bench_flake8.compare``);
- with ``--startup``: linting the first n files in-process vs in a pool of N workers, for the
  choice of ``run.MIN_FILES_PER_WORKER``.

Not collected by pytest: this reports numbers, it asserts nothing.  Machine load shows in the
wall times; the CPU times tell whether a slow run waited or worked.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, ROOT)

from tflint_save import config, discovery  # noqa: E402


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(command, cwd=None):
    """(wall seconds, CPU seconds of the command's processes, stdout)."""
    env = dict(os.environ, PYTHONPATH=ROOT)
    cpu = _children_cpu()
    start = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if done.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(command[:6])}... failed ({done.returncode}):\n{done.stderr[-2000:]}")
    return wall, _children_cpu() - cpu, done.stdout


def best(command, repeat, before=None, cwd=None):
    runs = []
    for _ in range(repeat):
        if before:
            before()
        runs.append(timed(command, cwd))
    return min(runs, key=lambda r: r[0])


def lint(*args):
    return [sys.executable, "-m", "tflint_save", *args]


def show(label, run, base=None):
    wall, cpu, _ = run
    extra = f"  {base[0] / wall:.2f}x faster" if base and wall < base[0] else (
        f"  {wall / base[0]:.2f}x the time" if base else "")
    print(f"{label:<34} {wall:7.2f} s wall  {cpu:7.2f} s CPU{extra}")


def bench_jobs(corpus, jobs, repeat):
    one = best(lint(corpus, "--no-cache", "--jobs", "1"), repeat)
    many = best(lint(corpus, "--no-cache", "--jobs", str(jobs)), repeat)
    show("--jobs 1 --no-cache", one)
    show(f"--jobs {jobs} --no-cache", many, one)
    print(f"{'':<34} outputs identical: {one[2] == many[2]} ({len(one[2].splitlines())} findings)")


def bench_cache(corpus, jobs, repeat):
    folder = tempfile.mkdtemp(prefix="tflint-save-bench-cache-")
    cache = os.path.join(folder, "cache")
    command = lint(corpus, "--jobs", str(jobs), "--cache-dir", cache)
    cold = best(command, repeat, before=lambda: shutil.rmtree(cache, ignore_errors=True))
    warm = best(command, repeat)
    reference = timed(lint(corpus, "--no-cache", "--jobs", str(jobs)))
    show(f"cold cache (--jobs {jobs})", cold)
    show(f"warm cache (--jobs {jobs})", warm)
    print(f"{'':<34} warm/cold {100 * warm[0] / cold[0]:.1f}%; outputs identical to --no-cache: "
          f"{cold[2] == warm[2] == reference[2]}")
    shutil.rmtree(folder, ignore_errors=True)


def bench_startup(files, jobs, repeat):
    from tflint_save import run
    parallel = run  # the pool lives in run.py

    settings = config.Settings(keras_version=3)
    rules = run.enabled_rules(settings)
    print(f"{'files':>6} {'in-process':>12} {f'{jobs} workers':>12}")
    for n in (1, 2, 4, 8, 16, 32, 64):
        chosen = files[:n]
        inline, pooled = [], []
        for _ in range(repeat):
            start = time.perf_counter()
            for path in chosen:
                run.lint_file(path, settings, rules)
            inline.append(time.perf_counter() - start)
            start = time.perf_counter()
            parallel._in_pool(chosen, settings, rules, jobs)
            pooled.append(time.perf_counter() - start)
        print(f"{n:>6} {1000 * min(inline):>10.1f}ms {1000 * min(pooled):>10.1f}ms")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("corpus")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--skip-flake8", action="store_true")
    parser.add_argument("--startup", action="store_true")
    args = parser.parse_args()
    corpus = os.path.abspath(args.corpus)
    files, _ = discovery.discover([corpus], list(config.DEFAULT_EXCLUDE))
    files = [f for f in files if f.endswith(".py")]
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"corpus {corpus}: {len(files)} files; {os.cpu_count()} CPUs; load average {load:.1f}; "
          f"best of {args.repeat}")
    if args.startup:
        bench_startup(files, args.jobs, args.repeat)
        return
    bench_jobs(corpus, args.jobs, args.repeat)
    bench_cache(corpus, args.jobs, args.repeat)
    if not args.skip_flake8:
        try:
            import flake8  # noqa: F401  (only whether it is installed)
        except ImportError:
            print("flake8 not installed: plugin benchmark skipped")
            return
        from bench_flake8 import compare

        print("the flake8 plugin vs the command line (.py files):")
        compare(files, 1, args.repeat)
        compare(files, args.jobs, args.repeat)


if __name__ == "__main__":
    main()
