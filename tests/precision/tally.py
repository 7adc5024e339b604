"""Precision of tflint-save on a hand-reviewed corpus of public code (issue 11).

Two steps, usable together or apart:

  python tests/precision/tally.py run CORPUS -o findings.json [--python PY]
      lints each repository of repos.toml on its own (one run per repository directory,
      from inside it, as a user runs ``tflint-save .``), with --no-cache, JSON output and
      the Keras version the repository targets, and writes every finding with its "repo".

  python tests/precision/tally.py table findings.json [--review review.csv] [--unreviewed]
      joins the findings with the hand verdicts of review.csv and prints, per rule:
      findings, TRUE, FALSE, LATENT, UNREVIEWED, precision TRUE/(TRUE+FALSE), latent share.

A verdict matches a finding by (repo, path, cell, code, line); when lines have shifted
(the linter moved its anchor, or a rule changed), by (repo, path, cell, code, message
start) instead. Each verdict is used once.

review.csv columns: repo, path (relative to the repository), cell (empty for .py), line,
code, verdict (TRUE, FALSE or LATENT), reason, and optionally message (the start of the
finding's message, for the fallback match). This file is not collected by pytest.
"""

from __future__ import annotations

import argparse
import csv
import json
import subprocess
import sys
from collections import Counter, defaultdict
from pathlib import Path

try:
    import tomllib
except ModuleNotFoundError:  # Python < 3.11
    import tomli as tomllib

HERE = Path(__file__).resolve().parent
VERDICTS = ("TRUE", "FALSE", "LATENT")
MESSAGE_KEY = 60  # characters of the message used by the fallback match


def load_repos(path: Path = HERE / "repos.toml") -> list[dict]:
    with open(path, "rb") as f:
        return tomllib.load(f)["repo"]


def lint_repo(python: str, repo_dir: Path, keras: int) -> list[dict]:
    cmd = [python, "-m", "tflint_save", "--no-cache", "--exit-zero", "--output-format", "json",
           "--keras-version", str(keras), "."]
    proc = subprocess.run(cmd, check=False, cwd=repo_dir, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"{repo_dir}: tflint-save exited {proc.returncode}:\n{proc.stderr[-2000:]}")
    return json.loads(proc.stdout or "[]")


def run(args: argparse.Namespace) -> None:
    corpus = Path(args.corpus)
    findings = []
    for repo in load_repos(Path(args.repos)):
        repo_dir = corpus / repo["dir"]
        if not repo_dir.is_dir():
            sys.exit(f"{repo_dir} is missing: rebuild the corpus (see README.md)")
        found = lint_repo(args.python, repo_dir, repo["keras"])
        print(f"{repo['dir']}: {len(found)} findings (Keras {repo['keras']})", file=sys.stderr)
        for f in found:
            findings.append({"repo": repo["dir"], "path": f["filename"], "cell": f["cell"],
                             "line": f["location"]["row"], "code": f["code"], "message": f["message"]})
    findings.sort(key=lambda f: (f["repo"], f["path"], f["cell"] or 0, f["line"], f["code"]))
    Path(args.output).write_text(json.dumps(findings, indent=1, ensure_ascii=False) + "\n")
    print(f"{len(findings)} findings -> {args.output}", file=sys.stderr)


def _cell(value) -> str:
    return "" if value in (None, "") else str(int(value))


def load_review(path: Path) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    for n, row in enumerate(rows, start=2):
        if row["verdict"] not in VERDICTS:
            sys.exit(f"{path}:{n}: verdict must be one of {', '.join(VERDICTS)}, not {row['verdict']!r}")
        row["cell"] = _cell(row["cell"])
    return rows


def join(findings: list[dict], review: list[dict]) -> list[tuple[dict, dict | None]]:
    """Pair each finding with its verdict: exact line first, then the message start."""
    by_line: dict[tuple, list[dict]] = defaultdict(list)
    by_message: dict[tuple, list[dict]] = defaultdict(list)
    for row in review:
        base = (row["repo"], row["path"], row["cell"], row["code"])
        by_line[base + (str(row["line"]),)].append(row)
        if row.get("message"):
            by_message[base + (row["message"][:MESSAGE_KEY],)].append(row)
    used: set[int] = set()

    def take(candidates: list[dict]) -> dict | None:
        for row in candidates:
            if id(row) not in used:
                used.add(id(row))
                return row
        return None

    pairs: list[list] = []
    for f in findings:
        base = (f["repo"], f["path"], _cell(f["cell"]), f["code"])
        pairs.append([f, take(by_line[base + (str(f["line"]),)])])
    for pair in pairs:  # second pass: only findings whose line matched nothing
        if pair[1] is None:
            f = pair[0]
            base = (f["repo"], f["path"], _cell(f["cell"]), f["code"])
            pair[1] = take(by_message[base + (f["message"][:MESSAGE_KEY],)])
    return [(f, row) for f, row in pairs]


def table(args: argparse.Namespace) -> None:
    findings = json.loads(Path(args.findings).read_text())
    review = load_review(Path(args.review)) if Path(args.review).exists() else []
    pairs = join(findings, review)
    counts: dict[str, Counter] = defaultdict(Counter)
    for f, row in pairs:
        counts[f["code"]]["findings"] += 1
        counts[f["code"]][row["verdict"] if row else "UNREVIEWED"] += 1
    total = Counter()
    header = (f"{'rule':8} {'findings':>8} {'TRUE':>5} {'FALSE':>5} {'LATENT':>6} {'UNREV':>5} "
              f"{'precision':>9} {'latent':>6}")
    print(header)
    print("-" * len(header))
    for code in sorted(counts) + ["all"]:
        c = total if code == "all" else counts[code]
        if code != "all":
            total.update(c)
        decided = c["TRUE"] + c["FALSE"]
        precision = f"{c['TRUE'] / decided:.2f}" if decided else "-"
        latent = f"{c['LATENT'] / c['findings']:.0%}" if c["findings"] else "-"
        print(f"{code:8} {c['findings']:8} {c['TRUE']:5} {c['FALSE']:5} {c['LATENT']:6} "
              f"{c['UNREVIEWED']:5} {precision:>9} {latent:>6}")
    unused = len(review) - sum(1 for _, row in pairs if row)
    print(f"\nverdicts in {args.review}: {len(review)}, matched {len(review) - unused}, unmatched {unused}")
    if args.unreviewed:
        for f, row in pairs:
            if row is None:
                where = f"{f['path']}" + (f":cell {f['cell']}" if f["cell"] else "")
                print(f"UNREVIEWED {f['repo']}/{where}:{f['line']}: {f['code']} {f['message'][:100]}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run", help="lint every repository of the corpus")
    r.add_argument("corpus", help="the directory holding one <owner>+<repo> directory per repository")
    r.add_argument("-o", "--output", required=True, help="where to write the findings (JSON)")
    r.add_argument("--python", default=sys.executable, help="interpreter with tflint_save installed")
    r.add_argument("--repos", default=str(HERE / "repos.toml"))
    r.set_defaults(func=run)
    t = sub.add_parser("table", help="join findings with review.csv and print the per-rule table")
    t.add_argument("findings", help="the JSON written by 'run'")
    t.add_argument("--review", default=str(HERE / "review.csv"))
    t.add_argument("--unreviewed", action="store_true", help="also list the findings without a verdict")
    t.set_defaults(func=table)
    args = parser.parse_args(argv)
    args.func(args)


if __name__ == "__main__":
    main()
