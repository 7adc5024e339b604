"""The ``tflint-save`` command.

Start-up stays light: ``--version`` and ``--help`` import nothing but argparse, and no
path of a lint run imports TensorFlow or Keras.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Dict, List, Optional

from tflint_save import __version__

EXIT_CLEAN, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # argparse exits 2 too, but keep one format
        self.print_usage(sys.stderr)
        sys.stderr.write(f"tflint-save: error: {message}\n")
        sys.exit(EXIT_ERROR)


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog="tflint-save",
        description="Find TensorFlow/Keras save/load, custom-layer and metric bugs before they run.",
    )
    p.add_argument("paths", nargs="*", default=None, metavar="PATH",
                   help="files or directories to lint (default: .); '-' reads standard input")
    p.add_argument("--version", action="version", version=f"tflint-save {__version__}")
    p.add_argument("--select", metavar="CODES",
                   help="comma-separated codes or prefixes to enable, replacing the configuration's selection "
                        "(default: ALL)")
    p.add_argument("--ignore", metavar="CODES",
                   help="comma-separated codes or prefixes to disable, on top of the configuration's ignore")
    p.add_argument("--extend-select", metavar="CODES", help="codes or prefixes to enable on top of the selection")
    p.add_argument("--extend-ignore", metavar="CODES", help="the same as --ignore (flake8's name)")
    p.add_argument("--exclude", metavar="GLOBS", help="comma-separated globs to skip, replacing the defaults")
    p.add_argument("--extend-exclude", metavar="GLOBS", help="globs to skip on top of the defaults")
    p.add_argument("--respect-gitignore", action=argparse.BooleanOptionalAction, default=None,
                   help="skip what .gitignore, .git/info/exclude and git's global excludes file ignore, in "
                        "directory search (default: on)")
    p.add_argument("--keras-version", choices=("2", "3", "auto"),
                   help="Keras behaviour to check against (default: auto: the keras-version setting, else each "
                        "file's project's declared dependencies, else the installed packages, else 3)")
    p.add_argument("--custom-classes", choices=("saved", "all"),
                   help="TFS301-TFS304: judge classes that reach a save or are library API (saved, the default), "
                        "or every class (all)")
    p.add_argument("--config", metavar="FILE",
                   help="a pyproject.toml or tflint-save.toml to use for every file instead of each file's "
                        "closest configuration")
    p.add_argument("--isolated", action="store_true", help="read no configuration file: defaults and the command line")
    p.add_argument("--stdin-filename", metavar="NAME", help="the name to report for '-' (standard input)")
    p.add_argument("--exit-zero", action="store_true", help="exit 0 even when findings are reported")
    p.add_argument("--statistics", action="store_true",
                   help="print the number of findings per code instead of the findings (JSON with "
                        "--output-format json)")
    p.add_argument("--output-format", choices=("concise", "full", "json", "sarif", "github", "gitlab", "junit"),
                   default="concise",
                   help="concise: path:line:col: CODE message (default); full: with the source line and the fix; "
                        "json; sarif (GitHub code scanning); github (Actions annotations); gitlab (Code Quality "
                        "report); junit (JUnit XML)")
    p.add_argument("--quiet", "-q", action="store_true",
                   help="print the findings (or the diff, the fixed source) and nothing else: no summary, "
                        "no warning")
    p.add_argument("--output-file", metavar="PATH", help="write the report to PATH instead of standard output")
    p.add_argument("--force-exclude", action=argparse.BooleanOptionalAction, default=None,
                   help="the paths are a file list (pre-commit): exclusions apply to them too, and no paths "
                        "means nothing to lint instead of '.'")
    p.add_argument("--color", choices=("auto", "always", "never"), default="auto", help="colour the output")
    p.add_argument("--explain", metavar="CODE", help="print a rule's documentation (by code or name) and exit")
    p.add_argument("--list-rules", action="store_true",
                   help="list every rule (code, name, Keras versions, fix, summary) and exit; "
                        "with --output-format json, as JSON")
    p.add_argument("--show-settings", action="store_true",
                   help="print the settings each group of files uses and where each came from, then exit")
    p.add_argument("--show-files", action="store_true", help="print the files that would be linted, then exit")
    p.add_argument("--jobs", "-j", type=_jobs, metavar="N",
                   help="lint in N processes (default: the number of CPUs; small runs stay in one)")
    p.add_argument("--max-file-size", metavar="SIZE",
                   help="skip (as TFS001) a file with more code than this, e.g. 4MB (default: 2MB)")
    p.add_argument("--file-timeout", metavar="SECONDS",
                   help="report (as TFS002) a file whose parse and lint take longer (default: 30)")
    p.add_argument("--no-cache", action="store_true", help="neither read nor write the result cache")
    p.add_argument("--fix", action="store_true",
                   help="apply the safe fixes in place, then report what is left (exit 1 if anything is); "
                        "on standard input ('-'), print the fixed source and report on standard error")
    p.add_argument("--diff", action="store_true",
                   help="print the fixes as a unified diff instead of writing them (exit 1 if there are any, "
                        "0 if not, whatever cannot be fixed)")
    p.add_argument("--unsafe-fixes", action="store_true",
                   help="with --fix or --diff, also apply the fixes that change behaviour (TFS301-TFS304)")
    p.add_argument("--cache-dir", metavar="DIR",
                   help="where to keep the result cache (default: .tflint_save_cache beside the config file, "
                        "else in the current directory)")
    p.add_argument("--verify", action="store_true",
                   help="run each finding's verification snippet with TensorFlow and show the outcome "
                        "(executes your custom class definitions, as importing them would)")
    p.add_argument("--verified-only", action="store_true",
                   help="report only the findings --verify confirmed (implies --verify)")
    p.add_argument("--verify-python", metavar="PATH",
                   help="the Python interpreter, with TensorFlow, that runs the checks (default: this one)")
    p.add_argument("--verify-timeout", type=_seconds, default=60.0, metavar="SECONDS",
                   help="stop a check that runs longer than this (default: 60)")
    p.add_argument("--verify-jobs", type=_jobs, default=1, metavar="N",
                   help="run checks in N worker processes, each importing TensorFlow once (default: 1)")
    p.add_argument("--check-rules", action="store_true",
                   help="run every rule's snippet (or those --select/--ignore pick) on its bad and good "
                        "example against the installed TensorFlow, print a table, then exit")
    return p


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a number of seconds above 0, got {text!r}")
    return value


def _jobs(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of processes, 1 or more, got {text!r}")
    return int(text)


def _scale(args: argparse.Namespace, settings):
    """(jobs, cache) for run.lint_paths."""
    from tflint_save import cache, run

    jobs = args.jobs or run.cpu_count()
    if args.no_cache:
        return jobs, None
    return jobs, cache.for_run(settings, run.enabled_rules(settings), _cache_dir(args, settings))


def _cache_dir(args: argparse.Namespace, settings) -> str:
    """--cache-dir, else beside the configuration of the linted paths (their common directory)."""
    from tflint_save import cache, config

    if args.cache_dir:
        return args.cache_dir
    return cache.default_dir(settings.config_file if args.config else config.find_config(args.paths))


def _verify_options(args: argparse.Namespace, settings=None):
    from tflint_save import verify

    cache_dir = None
    if settings is not None and not args.no_cache:
        cache_dir = _cache_dir(args, settings)  # results go in its verify/
    return verify.Options(args.verify_python or sys.executable, args.verify_timeout, args.verify_jobs, cache_dir)


def _verify(args: argparse.Namespace, settings, result, files: List[str], stdin_text: Optional[str]):
    """--verify: fill in each finding's verification; (exit code on error or None, summary line)."""
    from tflint_save import verify

    overrides = {args.stdin_filename or "-": stdin_text} if stdin_text is not None else {}
    paths = [args.stdin_filename or "-" if f == "-" else f for f in files]
    try:
        findings, summary = verify.verify_findings(
            result.findings, settings, _verify_options(args, settings), result.project, paths, overrides)
    except verify.VerifyError as exc:
        sys.stderr.write(f"tflint-save: error: {exc}\n")
        return EXIT_ERROR, None
    result.findings = verify.confirmed_only(findings) if args.verified_only else findings
    return None, summary


def _check_rules(args: argparse.Namespace) -> int:
    from tflint_save import config, run, verify

    try:
        codes = _checked_codes(args, run.known_codes())
    except config.ConfigError as exc:
        sys.stderr.write(f"tflint-save: error: {exc}\n")
        return EXIT_ERROR
    try:
        lines, ok = verify.check_rules(_verify_options(args), codes)
    except verify.VerifyError as exc:
        sys.stderr.write(f"tflint-save: error: {exc}\n")
        return EXIT_ERROR
    sys.stdout.write("".join(line + "\n" for line in lines))
    return EXIT_CLEAN if ok else EXIT_FINDINGS


def _checked_codes(args: argparse.Namespace, known: List[str]) -> List[str]:
    """The codes --check-rules runs: --select/--ignore/--extend-select checked and applied as a lint run does them."""
    from tflint_save import catalog, config

    chosen = {key: config.option_codes("--" + key.replace("_", "-"), getattr(args, key), known)
              for key in ("select", "ignore", "extend_select", "extend_ignore") if getattr(args, key) is not None}
    chosen["ignore"] = chosen.get("ignore", []) + chosen.pop("extend_ignore", [])
    settings = config.Settings(**chosen)
    codes = [code for code in catalog.entries() if settings.enabled(code)]
    if not codes:  # verify.check_rules would read an empty list as every rule
        raise config.ConfigError("--check-rules: the --select/--ignore options leave no rule to check")
    return codes


def _explain(code: str) -> int:
    from tflint_save import listing

    page, error = listing.explain(code)
    if error is not None:
        sys.stderr.write(f"tflint-save: error: {error}\n")
        return EXIT_ERROR
    sys.stdout.write(page)
    return EXIT_CLEAN


def _list_rules(args: argparse.Namespace) -> int:
    from tflint_save import listing

    if args.output_format not in ("concise", "full", "json"):
        sys.stderr.write(f"tflint-save: error: --list-rules prints a table or JSON, not {args.output_format}\n")
        return EXIT_ERROR
    return EXIT_CLEAN if _emit(args, listing.list_rules(args.output_format)) else EXIT_ERROR


def _show_settings(settings, files: List[str]) -> int:
    """Each configuration the files use, with where each setting came from; the run-wide
    settings (respect-gitignore, force-exclude) are the root configuration's, as in ruff."""
    from tflint_save import run

    out = sys.stdout
    groups: Dict[int, List[str]] = {}
    by_id = {id(settings): settings}
    for path in files:
        own = settings.for_path(path)
        by_id[id(own)] = own
        groups.setdefault(id(own), []).append(path)
    order = sorted(groups, key=lambda key: files.index(groups[key][0])) or [id(settings)]
    for number, key in enumerate(order):
        own, paths = by_id[key], groups.get(key, [])
        if number:
            out.write("\n")
        out.write(f"config file: {own.config_file or '(none)'}\n")
        if own.extends:
            out.write(f"extends: {', '.join(own.extends)}\n")
        rows = [
            ("select", own.select), ("ignore", own.ignore), ("extend-select", own.extend_select),
            ("exclude", own.exclude), ("extend-exclude", own.extend_exclude),
            ("per-file-ignores", own.per_file_ignores),
            # With auto, each project decides: the lines under it say how, for these files.
            ("keras-version", "auto" if own.keras_plan is not None
             else f"{own.keras_version} (setting: {own.keras_version_setting})"),
            ("tf-use-legacy-keras", own.tf_use_legacy_keras),
            ("max-file-size", own.max_file_size), ("file-timeout", own.file_timeout),
            ("custom-classes", own.custom_classes),
        ]
        if key == id(settings) or number == 0:
            rows += [("respect-gitignore", settings.respect_gitignore), ("force-exclude", settings.force_exclude)]
        for name, value in rows:
            origin = (settings if name in ("respect-gitignore", "force-exclude") else own).origin
            out.write(f"{name} = {value}    # from {origin.get(name, 'default')}\n")
            if name == "keras-version" and own.keras_plan is not None:
                from tflint_save import kerasversion

                out.write("".join(line + "\n" for line in kerasversion.settings_lines(own.keras_plan, paths)))
            if name == "keras-version":
                from tflint_save import notebook

                out.write("".join(line + "\n" for line in notebook.environment_lines(paths)))
        out.write(f"rules = {', '.join(code for code in run.known_codes() if own.enabled(code))}\n")
        out.write(f"files = {len(paths)}" + (f" (first: {paths[0]})" if paths else "") + "\n")
    return EXIT_CLEAN


def main(argv: Optional[List[str]] = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.diff:
        # The diff is the whole report: these would be dropped without a word.
        clash = [flag for flag, given in (("--statistics", args.statistics), ("--verify", args.verify),
                                          ("--verified-only", args.verified_only),
                                          (f"--output-format {args.output_format}", args.output_format != "concise"))
                 if given]
        if clash:
            parser.error(f"--diff prints only the diff; it cannot be used with {', '.join(clash)}")
    if args.explain:
        return _explain(args.explain)
    if args.list_rules:
        return _list_rules(args)
    try:
        return _check_rules(args) if args.check_rules else _run(args)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return EXIT_ERROR


def _run(args: argparse.Namespace) -> int:
    from tflint_save import config, discovery, fix, run

    if not args.paths and args.force_exclude:
        return EXIT_CLEAN  # pre-commit with no files left to pass
    args.paths = args.paths or ["."]
    try:
        settings = config.resolve(args, run.known_codes())
        gitignore = None
        if settings.respect_gitignore:
            from tflint_save.gitignore import GitIgnore

            gitignore = GitIgnore()
        # Discovery loads the configuration of every directory it enters: a bad one stops the run.
        files, missing = discovery.discover(args.paths, settings.exclusions(), force_exclude=settings.force_exclude,
                                            root=settings.root, settings=settings, gitignore=gitignore)
        for path in files:  # every file's configuration, loaded (and checked) before any is linted
            settings.for_path(args.stdin_filename or "-" if path == "-" else path)
    except config.ConfigError as exc:
        sys.stderr.write(f"tflint-save: error: {exc}\n")
        return EXIT_ERROR
    for path in missing:
        sys.stderr.write(f"tflint-save: error: {path}: {discovery.problem(path)}\n")
    if args.show_settings:
        return _show_settings(settings, files)
    if args.show_files:
        sys.stdout.write("".join(f"{args.stdin_filename or '-' if path == '-' else path}\n" for path in files))
        return EXIT_ERROR if missing else EXIT_CLEAN
    stdin_text = None
    if "-" in files:
        from tflint_save import source

        try:
            stdin_text = source.decode(sys.stdin.buffer.read())
        except source.SourceError as exc:
            sys.stderr.write(f"tflint-save: error: standard input: {exc}\n")
            return EXIT_ERROR
    result = run.lint_paths(files, settings, stdin_text, args.stdin_filename or "-", *_scale(args, settings))
    if not args.quiet:
        if settings.keras_plan is not None:
            for problem in settings.keras_plan.problems:  # the next source decided instead
                sys.stderr.write(f"tflint-save: warning: {problem}\n")
        for warning in (w for r in result.results for w in r.warnings):
            sys.stderr.write(f"tflint-save: warning: {warning}\n")
    texts = {args.stdin_filename or "-": stdin_text} if stdin_text is not None else {}
    fixed = None
    stream = sys.stdout
    if args.fix or args.diff:
        applied = fix.apply(result, settings, texts, args.unsafe_fixes, args.diff)
        result, fixed = applied.report, applied.fixed
        if args.diff:
            return _finish_diff(args, applied, bool(missing))
        if texts:
            # As ruff: the fixed source on stdout (an editor's fix-on-save replaces the buffer with
            # it), the report of what is left on stderr.
            sys.stdout.write("".join(applied.texts.values()))
            stream = sys.stderr
    elif args.statistics or args.output_format in ("concise", "full", "json"):
        # Each finding's fix: JSON shows it, the text formats mark what --fix would fix ([*]).
        result.findings = fix.attach(result.findings, texts)
    summary = None
    if args.verify or args.verified_only:
        failed, summary = _verify(args, settings, result, files, stdin_text)
        if failed is not None:
            return failed
    if not _write_report(args, result.findings, stdin_text, stream):
        return EXIT_ERROR
    if summary and not args.quiet:  # beside a machine-readable report it goes to stderr
        plain = args.output_format in ("concise", "full") and args.output_file is None and stream is sys.stdout
        (sys.stdout if plain else sys.stderr).write(summary + "\n")
    _closing_lines(args, result.findings, fixed, stream)
    if missing or result.internal_error:
        return EXIT_ERROR
    if result.findings and not args.exit_zero:
        return EXIT_FINDINGS
    return EXIT_CLEAN


def _finish_diff(args: argparse.Namespace, applied, missing: bool) -> int:
    """--diff, as ruff: the diff on stdout, 'Would fix N findings.' on stderr, exit 1 only if
    there is something to fix (what cannot be fixed does not count)."""
    from tflint_save import summary

    if not _emit(args, applied.diff):
        return EXIT_ERROR
    line = summary.would_fix(applied.fixed, applied.report.findings, args.unsafe_fixes)
    if line and not args.quiet:
        sys.stderr.write(line + "\n")
    if missing or applied.report.internal_error:
        return EXIT_ERROR
    return EXIT_FINDINGS if applied.diff and not args.exit_zero else EXIT_CLEAN


def _closing_lines(args: argparse.Namespace, findings, fixed: Optional[int], stream) -> None:
    """ruff's 'Found N findings.' and what --fix would fix, after a concise or full report (or
    --statistics) shown on a terminal; a --fix run always says what it did, on stderr when its
    report is not on a terminal, so that flake8-style lines stay alone on a pipe."""
    from tflint_save import summary

    if args.quiet:
        return
    text = args.output_format in ("concise", "full")  # JSON and the other formats stay parseable
    to_terminal = text and args.output_file is None and stream is sys.stdout and _isatty(sys.stdout)
    if not to_terminal and fixed is None:
        return
    lines = summary.found(findings, args.unsafe_fixes, fixed)
    (sys.stdout if to_terminal else sys.stderr).write("".join(line + "\n" for line in lines))


def _isatty(stream) -> bool:
    return bool(getattr(stream, "isatty", lambda: False)())


def _write_report(args: argparse.Namespace, findings, stdin_text: Optional[str], stream=None) -> bool:
    """The report in --output-format (or --statistics), to --output-file or ``stream`` (standard
    output); False if it cannot be written."""
    from tflint_save import report

    stream = stream or sys.stdout
    color = args.output_file is None and report.use_color(args.color, stream)
    if args.statistics:
        header = args.output_file is None and args.output_format != "json" and _isatty(stream)
        text = report.statistics(findings, args.output_format, args.unsafe_fixes, header)
    else:
        texts = {args.stdin_filename or "-": stdin_text} if stdin_text is not None else None
        text = report.render(findings, args.output_format, color, texts, args.unsafe_fixes)
    return _emit(args, text, stream)


def _emit(args: argparse.Namespace, text: str, stream=None) -> bool:
    """Write the report (or the diff) to --output-file or ``stream`` (standard output); False if
    it cannot be written."""
    if args.output_file is None:
        (stream or sys.stdout).write(text)
        return True
    try:
        os.makedirs(os.path.dirname(os.path.abspath(args.output_file)), exist_ok=True)
        with open(args.output_file, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
    except OSError as exc:
        sys.stderr.write(f"tflint-save: error: cannot write {args.output_file}: {exc.strerror or exc}\n")
        return False
    return True


if __name__ == "__main__":
    sys.exit(main())
