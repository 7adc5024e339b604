"""Shared analyses: facts about one file that several rules read, built once in the single walk.

A rule names what it reads in ``uses`` (as libcst's ``METADATA_DEPENDENCIES``, but computed in
the walk the rules already share, not in walks of their own).  For each file the engine makes
one instance of every analysis that an enabled rule uses, hands it each node it has a
``visit_<Node>``/``leave_<Node>`` method for ahead of every rule, and calls its ``finish``
before theirs.  A rule reaches it with
``ctx.analysis(Kind)``.  An analysis may use others: they are made, and see each node, first.

The analyses: ``checks.classes.FileClasses`` (what each class definition says about itself),
``checks.modelinfo.Tracker`` (the models, compile() calls and metrics of the module) and
``checks.saving.Timeline`` (training in source order: which saves are initial snapshots).  What
the program model needs from a module is not an analysis: ``modulefacts`` reads it with CPython's
``ast`` outside the walk, the same way for linted files and for the rest of the project
(docs/architecture.md says why).
"""

from __future__ import annotations

from typing import Any, Dict, List, Sequence, Tuple, Type


class Analysis:
    """Base of every shared analysis: per-file state on the instance, one instance per file."""

    uses: Tuple[Type["Analysis"], ...] = ()

    def __init__(self, ctx: Any):  # engine.Context (this module sits below the engine)
        self.ctx = ctx

    def finish(self) -> None:
        """Called once the whole file has been walked, before the rules' ``finish``."""


def needed(users: Sequence[type], always: Sequence[Type[Analysis]] = ()) -> List[Type[Analysis]]:
    """Every analysis that ``users`` (rule or analysis classes) use, directly or through another
    analysis, plus ``always``: each once, after the analyses it uses."""
    order: List[Type[Analysis]] = []
    state: Dict[Type[Analysis], bool] = {}  # False: being visited (a cycle), True: placed

    def place(kind: Type[Analysis]) -> None:
        seen = state.get(kind)
        if seen:
            return
        if seen is False:
            raise TypeError(f"analyses that use each other: {kind.__name__}")
        state[kind] = False
        for dependency in kind.uses:
            place(dependency)
        state[kind] = True
        order.append(kind)

    for kind in always:
        place(kind)
    for user in users:
        for kind in getattr(user, "uses", ()):
            place(kind)
    return order
