"""Benchmark: a notebook against the same cells pasted into one .py file.

    python tests/benchmarks/bench_notebook.py [source.py ...] [--cells 30] [--repeat 5] [--rounds 50]

Splits the given Python files (default: docs/examples/*.py) at top-level statements into
25 code cells, adds 5 cells of IPython syntax (%pip, !shell, a %%time cell, %matplotlib and a
one-line automagic), writes them as a notebook and as one .py file (the IPython lines as
comments, so both hold the same text), and lints each ``--rounds`` times in this process,
best of ``--repeat``.  Prints both times and their ratio (the goal is 0.8-1.2).  Not collected
by pytest: it reports numbers, it asserts nothing.
"""

from __future__ import annotations

import argparse
import ast
import glob
import json
import os
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, ROOT)

from tflint_save import config, run  # noqa: E402

MAGICS = [
    ["%pip install -q tensorflow\n"],
    ["!nvidia-smi -L\n"],
    ["%%time\n", "import numpy as np\n", "steps = np.arange(10)\n"],
    ["%matplotlib inline\n"],
    ["ls ./data/train/"],
]


def chunks(paths, count):
    """Top-level statements of the files, in ``count`` groups of about the same size."""
    statements = []
    for path in paths:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
        lines = text.splitlines(keepends=True)
        body = ast.parse(text).body
        for i, node in enumerate(body):
            start = (node.decorator_list[0].lineno if getattr(node, "decorator_list", None) else node.lineno) - 1
            end = body[i + 1].lineno - 1 if i + 1 < len(body) else len(lines)
            if getattr(body[i + 1] if i + 1 < len(body) else None, "decorator_list", None):
                end = body[i + 1].decorator_list[0].lineno - 1
            statements.append(lines[start:end])
    size = max(1, -(-len(statements) // count))
    groups = [sum(statements[i:i + size], []) for i in range(0, len(statements), size)]
    while len(groups) < count:  # few statements: repeat them
        groups += groups[: count - len(groups)]
    return groups[:count]


def write(folder, cells):
    notebook = {
        "cells": [{"cell_type": "code", "execution_count": None, "id": f"c{i}", "metadata": {}, "outputs": [],
                   "source": source} for i, source in enumerate(cells)],
        "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    nb_path = os.path.join(folder, "bench.ipynb")
    with open(nb_path, "w", encoding="utf-8") as handle:
        json.dump(notebook, handle, indent=1, ensure_ascii=False)
        handle.write("\n")
    py_path = os.path.join(folder, "bench.py")
    with open(py_path, "w", encoding="utf-8") as handle:
        for source in cells:
            for line in source:
                line = line if line.endswith("\n") else line + "\n"
                handle.write("# " + line if line.lstrip().startswith(("%", "!", "ls ")) else line)
    return nb_path, py_path


def timed(path, settings, rules, rounds):
    start = time.perf_counter()
    for _ in range(rounds):
        result = run.lint_file(path, settings, rules)
    return (time.perf_counter() - start) / rounds, result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("sources", nargs="*")
    parser.add_argument("--cells", type=int, default=30)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=50)
    args = parser.parse_args()
    sources = args.sources or sorted(glob.glob(os.path.join(ROOT, "docs", "examples", "*.py")))
    code = chunks(sources, args.cells - len(MAGICS))
    cells = []
    step = max(1, len(code) // len(MAGICS))
    for i, chunk in enumerate(code):
        if i % step == 0 and len(cells) - i < len(MAGICS):
            cells.append(MAGICS[len(cells) - i])
        cells.append(chunk)
    settings = config.Settings(keras_version=3)
    rules = run.enabled_rules(settings)
    with tempfile.TemporaryDirectory() as folder:
        nb_path, py_path = write(folder, cells)
        nb_times, py_times = [], []
        for _ in range(args.repeat):
            nb_s, nb_result = timed(nb_path, settings, rules, args.rounds)
            py_s, py_result = timed(py_path, settings, rules, args.rounds)
            nb_times.append(nb_s)
            py_times.append(py_s)
        with open(py_path, encoding="utf-8") as handle:
            py_lines = sum(1 for _ in handle)
    nb_s, py_s = min(nb_times), min(py_times)
    magic_cells = sum(1 for c in cells if c in MAGICS)
    print(f"cells              {len(cells)} ({magic_cells} with IPython syntax), {py_lines} lines")
    print(f"notebook           {1000 * nb_s:.2f} ms  ({len(nb_result.findings)} findings)")
    print(f"same cells as .py  {1000 * py_s:.2f} ms  ({len(py_result.findings)} findings)")
    print(f"ratio ipynb/py     {nb_s / py_s:.2f}x   (best of {args.repeat}, {args.rounds} rounds each)")


if __name__ == "__main__":
    main()
