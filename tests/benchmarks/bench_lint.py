"""Benchmark: lint a directory and compare with libcst.parse_module over the same files.

    python tests/benchmarks/bench_lint.py /path/to/corpus [--repeat 3]

Prints files, seconds, ms per file, peak memory (RSS) and the ratio of the whole
single-process lint run to parsing alone, measured in the same process so machine load
affects both.  Not collected by pytest: this reports numbers, it asserts nothing.
"""

from __future__ import annotations

import argparse
import gc
import os
import resource
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

import libcst  # noqa: E402

from tflint_save import config, discovery, run, source  # noqa: E402


def parse_only(files):
    start = time.perf_counter()
    for path in files:
        try:
            _, text = source.read(path)
            libcst.parse_module(text)
        except Exception:
            pass
    return time.perf_counter() - start


def lint_all(files, settings):
    start = time.perf_counter()
    report = run.lint_paths(files, settings)
    return time.perf_counter() - start, report


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("corpus")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--keras-version", type=int, default=3)
    args = parser.parse_args()
    files, _ = discovery.discover([args.corpus], list(config.DEFAULT_EXCLUDE))
    settings = config.Settings(keras_version=args.keras_version)
    parse_times, lint_times = [], []
    report = None
    for _ in range(args.repeat):
        gc.collect()
        parse_times.append(parse_only(files))
        gc.collect()
        seconds, report = lint_all(files, settings)
        lint_times.append(seconds)
    parse_s, lint_s = min(parse_times), min(lint_times)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "tflint_save", "--version"], check=True, capture_output=True)
    version_s = time.perf_counter() - start
    imported = [m for m in sys.modules if m.split(".")[0] in ("tensorflow", "keras", "tf_keras")]
    print(f"files              {len(files)}")
    print(f"parse only         {parse_s:.2f} s  ({1000 * parse_s / len(files):.2f} ms/file)")
    print(f"lint (1 process)   {lint_s:.2f} s  ({1000 * lint_s / len(files):.2f} ms/file)")
    print(f"ratio lint/parse   {lint_s / parse_s:.2f}x   (best of {args.repeat})")
    print(f"peak memory        {peak_mb:.0f} MB (RSS, whole benchmark process)")
    print(f"--version          {version_s:.3f} s (fresh interpreter)")
    print(f"findings           {len(report.findings)}")
    print(f"TF/Keras imported  {imported or 'none'}")


if __name__ == "__main__":
    main()
