"""TFS003: ``# noqa`` directives that silence nothing (opt-in, like ruff's RUF100)."""

from __future__ import annotations

from tflint_save import noqa
from tflint_save.engine import Rule


class TFS003(Rule):
    """A ``# noqa: TFS101`` (or ``# tflint-save: noqa: TFS101``) under which TFS101 reports nothing.

    The work is in tflint_save/noqa.py, run by the engine after every other rule of the file,
    since it needs their findings; this class declares the rule, for selection and the catalog.
    """

    code = noqa.UNUSED_NOQA


RULES = [TFS003]
