"""The flake8 extension: ``flake8 --select TFS`` runs tflint-save's rules on each file.

flake8 hands the plugin one file at a time, so the project index (which classes exist,
which are registered, across files) sees only that file: see docs/integrations.md for
the findings that need the ``tflint-save`` command.

Only the rules flake8 would report run: the plugin asks flake8's own decision engine
about every TFS code once, from the ``--select``/``--ignore``/``--extend-*`` options
flake8 parsed.  flake8 still applies ``# noqa`` and ``per-file-ignores`` afterwards.
"""

from __future__ import annotations

import argparse
from typing import Any, Iterator, List, Optional, Tuple, Type

from tflint_save import __version__
from tflint_save.config import OPT_IN, Settings


class Plugin:
    name = "tflint-save"
    version = __version__

    # Set once per flake8 process from its options (parse_options).
    selected: Optional[List[str]] = None
    keras_version: Optional[int] = None  # None: auto, each file's from its project (plan)
    plan: Optional[Any] = None

    def __init__(self, tree: Any, filename: str, lines: List[str]):
        # flake8 classifies a plugin as an AST plugin by its ``tree`` parameter; the rules
        # need libcst's tree, parsed from the same lines.
        self.filename = filename
        self.lines = lines

    @classmethod
    def add_options(cls, manager: Any) -> None:
        manager.add_option(
            "--tflint-save-keras-version", default="auto", choices=("2", "3", "auto"), parse_from_config=True,
            help="Keras behaviour tflint-save checks against (default: auto, from the project's declared "
                 "dependencies, else the installed packages)",
        )

    @classmethod
    def parse_options(cls, options: argparse.Namespace) -> None:
        from tflint_save.run import known_codes

        # flake8 selects a plugin's codes by prefix by default, and handles # noqa itself:
        # the opt-in TFS003 (unused noqa) is not for it.
        cls.selected = selected_codes(options, [c for c in known_codes() if c not in OPT_IN])
        setting = getattr(options, "tflint_save_keras_version", "auto") or "auto"
        cls.keras_version = None if setting == "auto" else int(setting)

    def run(self) -> Iterator[Tuple[int, int, str, Type["Plugin"]]]:
        from tflint_save import modulefacts, run
        from tflint_save.engine import lint_text

        keras, legacy = self.keras_version, False
        if keras is None:
            from tflint_save.kerasversion import Plan

            if Plugin.plan is None:
                Plugin.plan = Plan()
            decision = Plugin.plan.decision(self.filename)
            keras, legacy = decision.version, decision.legacy_tf_keras
        settings = Settings(select=self.selected if self.selected is not None else ["ALL"], keras_version=keras)
        if not settings.select:
            return
        text = "".join(self.lines)
        result = lint_text(self.filename, text, run.enabled_rules(settings), keras, legacy)
        # The file is its own project here: flake8 hands its plugins one file at a time.
        result.summary = modulefacts.summarize(self.filename, text)
        for f in run.settle([result], settings).findings:
            # flake8 wants 0-based columns and adds one when it prints; ours are 1-based.
            yield f.line, max(f.col - 1, 0), f"{f.code} {f.message}", type(self)


def selected_codes(options: argparse.Namespace, codes: List[str]) -> Optional[List[str]]:
    """The TFS codes flake8 would report with these options; None when flake8 cannot say."""
    try:
        from flake8.style_guide import Decision, DecisionEngine

        engine = DecisionEngine(options)
        return [code for code in codes if engine.decision_for(code) is Decision.Selected]
    except Exception:  # an older or newer flake8 without this API: run all, flake8 filters
        return None
