"""Benchmark: the flake8 plugin against the command line on the same .py files.

    python tests/benchmarks/bench_flake8.py /path/to/corpus [--repeat 3] [--jobs 2]

Runs on the .py files of the corpus, with one job and then with ``--jobs`` each:
``tflint-save --no-cache``, ``flake8 --select TFS`` with the plugin, and flake8 alone
(``--select TFS`` without the plugin: flake8 still runs pyflakes, pycodestyle and mccabe on
every file and only filters their output, so this is what any flake8 run costs).  Reports
wall and CPU seconds (user + system of the run's processes), best of ``--repeat`` by CPU,
and the ratios to the command line; "the plugin itself" is flake8 + plugin minus flake8
alone.  Not collected by pytest: this reports numbers, it asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, ROOT)

from tflint_save import config, discovery  # noqa: E402


def measure(command, cwd, env):
    """(CPU seconds, wall seconds, output lines) of one child process run to completion."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(command, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode not in (0, 1) or proc.stderr.strip():
        raise SystemExit(f"{command[:4]} failed:\n{proc.stderr[-2000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return cpu, wall, len(proc.stdout.splitlines())


def compare(files, jobs, repeat, keras_version="3"):
    """Print the three commands' costs with ``jobs`` jobs each."""
    with tempfile.TemporaryDirectory() as work:
        plugin_cfg = os.path.join(work, "plugin.cfg")
        with open(plugin_cfg, "w", encoding="utf-8") as handle:
            handle.write(f"[flake8:local-plugins]\nextension =\n    TFS = tflint_save.flake8_plugin:Plugin\n"
                         f"paths = {ROOT}\n")
        j = str(jobs)
        commands = {
            "tflint-save": [sys.executable, "-m", "tflint_save", "--no-cache", "--jobs", j,
                            "--keras-version", keras_version, *files],
            "flake8 + plugin": [sys.executable, "-m", "flake8", "--config", plugin_cfg, "--select", "TFS", "-j", j,
                                "--tflint-save-keras-version", keras_version, *files],
            "flake8 alone": [sys.executable, "-m", "flake8", "--isolated", "--select", "TFS", "-j", j, *files],
        }
        # flake8 finds the plugin through the local-plugins config only (an installed or in-tree
        # entry point would register it twice), so its processes get no PYTHONPATH.
        plain = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
        envs = {"tflint-save": {**plain, "PYTHONPATH": ROOT}}
        best = {}
        for _ in range(repeat):
            for name, command in commands.items():
                run = measure(command, work, envs.get(name, plain))
                if name not in best or run[0] < best[name][0]:
                    best[name] = run
    cli_cpu, cli_wall, _ = best["tflint-save"]
    print(f"--jobs {jobs}")
    for name, (cpu, wall, lines) in best.items():
        print(f"  {name:18} {cpu:7.2f} s CPU ({cpu / cli_cpu:4.2f}x)  {wall:7.2f} s wall ({wall / cli_wall:4.2f}x)"
              f"  {lines} findings")
    own_cpu = best["flake8 + plugin"][0] - best["flake8 alone"][0]
    own_wall = best["flake8 + plugin"][1] - best["flake8 alone"][1]
    print(f"  {'the plugin itself':18} {own_cpu:7.2f} s CPU ({own_cpu / cli_cpu:4.2f}x)  "
          f"{own_wall:7.2f} s wall ({own_wall / cli_wall:4.2f}x)")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("corpus")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--keras-version", default="3")
    args = parser.parse_args()
    try:
        import flake8  # noqa: F401  (only whether it is installed)
    except ImportError:
        raise SystemExit("flake8 is not installed here: pip install flake8")
    files, _ = discovery.discover([args.corpus], list(config.DEFAULT_EXCLUDE), suffixes=(".py",))
    files = [os.path.abspath(f) for f in files]
    print(f"files: {len(files)} (.py); {os.cpu_count()} CPUs; best of {args.repeat} by CPU time")
    for jobs in sorted({1, args.jobs}):
        compare(files, jobs, args.repeat, args.keras_version)


if __name__ == "__main__":
    main()
