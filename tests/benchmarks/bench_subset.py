"""Benchmark: a pre-commit run that passes a few changed files of a large project.

    python tests/benchmarks/bench_subset.py /work/bench-corpus [--files 3] [--jobs 2]

Picks the project (the directory of the nearest pyproject.toml/setup.py/VCS root above the
first files of the corpus that hold a Keras class), passes ``--files`` of its files, and times
a run with an empty cache (every other file of the project is read for the program model with
``ast``) and a second run with the cache warm.  Not collected by pytest: it asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

from tflint_save import cache as cache_mod, config, discovery, programs, run  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("corpus")
    parser.add_argument("--files", type=int, default=3)
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    every, _ = discovery.discover([args.corpus], list(config.DEFAULT_EXCLUDE))
    candidates = [p for p in every if p.endswith(".py") and "class " in open(p, encoding="utf-8", errors="replace").read()]
    root = programs.find_root(candidates[:1], None)
    if root is None:
        sys.exit(f"no project root above {candidates[0] if candidates else args.corpus}: put a pyproject.toml "
                 f"at the top of the corpus (the whole corpus is then one project)")
    changed = [p for p in candidates if root and os.path.abspath(p).startswith(root + os.sep)][: args.files]
    project, _ = discovery.discover([root], list(config.DEFAULT_EXCLUDE), root=root)
    settings = config.Settings(keras_version=3)
    folder = tempfile.mkdtemp(prefix="tflint-bench-cache-")
    try:
        times = []
        for label in ("cold cache", "warm cache"):
            cache = cache_mod.for_run(settings, run.enabled_rules(settings), folder)
            start = time.perf_counter()
            report = run.lint_paths(changed, settings, jobs=args.jobs, cache=cache)
            times.append((label, time.perf_counter() - start, len(report.findings)))
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    print(f"project            {root} ({len(project)} files)")
    print(f"passed             {', '.join(os.path.relpath(p, root) for p in changed)}")
    for label, seconds, found in times:
        print(f"{label:<18} {seconds:.2f} s  ({found} findings)")


if __name__ == "__main__":
    main()
