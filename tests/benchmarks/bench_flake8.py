"""Benchmark: the flake8 plugin against the command line on the same .py files.

    python tests/benchmarks/bench_flake8.py /path/to/corpus [--repeat 3]

Runs, one process each and one job each, on the .py files of the corpus:
``tflint-save --no-cache --jobs 1``, ``flake8 --select TFS -j 1`` with the plugin, and
flake8 alone (``--select TFS`` without the plugin: flake8 still runs pyflakes and
pycodestyle and only filters their output).  Reports the CPU seconds (user + system) of
each, best of ``--repeat``, and the ratios to the command line.  CPU time, not wall time:
the shared machines are loaded.  Not collected by pytest: this reports numbers, it asserts
nothing.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, ROOT)

from tflint_save import config, discovery  # noqa: E402


def cpu_seconds(command, cwd, env):
    """CPU time of one child process run to completion."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = subprocess.run(command, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode not in (0, 1) or proc.stderr.strip():
        raise SystemExit(f"{command[:4]} failed:\n{proc.stderr[-2000:]}")
    seconds = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return seconds, len(proc.stdout.splitlines())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("corpus")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--keras-version", default="3")
    args = parser.parse_args()
    files, _ = discovery.discover([args.corpus], list(config.DEFAULT_EXCLUDE), suffixes=(".py",))
    files = [os.path.abspath(f) for f in files]
    with tempfile.TemporaryDirectory() as work:
        plugin_cfg = os.path.join(work, "plugin.cfg")
        with open(plugin_cfg, "w", encoding="utf-8") as handle:
            handle.write(f"[flake8:local-plugins]\nextension =\n    TFS = tflint_save.flake8_plugin:Plugin\n"
                         f"paths = {ROOT}\n")
        commands = {
            "tflint-save": [sys.executable, "-m", "tflint_save", "--no-cache", "--jobs", "1",
                            "--keras-version", args.keras_version, *files],
            "flake8 + plugin": [sys.executable, "-m", "flake8", "--config", plugin_cfg, "--select", "TFS", "-j", "1",
                                "--tflint-save-keras-version", args.keras_version, *files],
            "flake8 alone": [sys.executable, "-m", "flake8", "--isolated", "--select", "TFS", "-j", "1", *files],
        }
        # flake8 finds the plugin through the local-plugins config only (an installed or in-tree
        # entry point would register it twice), so its processes get no PYTHONPATH.
        plain = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
        envs = {"tflint-save": {**plain, "PYTHONPATH": ROOT}}
        best = {}
        for _ in range(args.repeat):
            for name, command in commands.items():
                seconds, lines = cpu_seconds(command, work, envs.get(name, plain))
                if name not in best or seconds < best[name][0]:
                    best[name] = (seconds, lines)
    cli = best["tflint-save"][0]
    print(f"files: {len(files)} (.py)")
    for name, (seconds, lines) in best.items():
        print(f"{name:16} {seconds:7.2f} s CPU  {seconds / cli:4.2f}x the command line  ({lines} findings)")
    plugin_only = best["flake8 + plugin"][0] - best["flake8 alone"][0]
    print(f"{'the plugin itself':16} {plugin_only:7.2f} s CPU  {plugin_only / cli:4.2f}x the command line")


if __name__ == "__main__":
    main()
