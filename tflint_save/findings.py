"""What a lint run produces: plain data, so results can cross processes and caches."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple


@dataclass(frozen=True)
class Finding:
    path: str
    line: int
    col: int
    code: str
    message: str
    end_line: int = 0
    end_col: int = 0
    # Facts the static pass extracted for this finding (class name, arguments...), for --verify.
    data: Dict[str, Any] = field(default_factory=dict, compare=False, hash=False)
    # Notebooks: the cell (1-based, counting every cell); line and col are then within the cell.
    cell: Optional[int] = None
    # --verify's outcome: {"status": "confirmed" | "not reproduced" | "inconclusive" | "timeout",
    # "evidence", "tensorflow_version", "keras_version", "seconds", "cached"}; None when not verified.
    verification: Optional[Dict[str, Any]] = field(default=None, compare=False, hash=False)
    # The fix --fix can apply (set by fix.attach): {"applicability": "safe" | "unsafe", "message"};
    # None when the finding has none.
    fix: Optional[Dict[str, Any]] = field(default=None, compare=False, hash=False)

    def sort_key(self) -> Tuple[str, int, int, int, str, str]:
        return (self.path, self.cell or 0, self.line, self.col, self.code, self.message)


@dataclass
class Pending:
    """A finding that needs the whole project to decide: the rule's ``resolve`` says."""

    code: str
    finding: Finding
    data: Dict[str, Any]


@dataclass
class ClassInfo:
    """One class definition, as the project index needs it."""

    path: str
    module: Tuple[str, ...]
    name: str
    bases: Tuple[Tuple[str, ...], ...]  # candidates per base: canonical keras names or project paths
    registered: bool
    methods: Tuple[str, ...]
    line: int = 0
    decorators: Tuple[str, ...] = ()  # simple names of the decorator callables

    @property
    def key(self) -> str:
        return ".".join(self.module + (self.name,))


@dataclass
class FileResult:
    path: str
    findings: List[Finding] = field(default_factory=list)
    pending: List[Pending] = field(default_factory=list)
    # What the program model needs from this module (modulefacts.Summary): imports, classes,
    # registrations, saves and loads.  None for standard input read as a fragment.
    summary: Optional[Any] = None
    error: Optional[str] = None  # an internal error: the run's exit code becomes 2
    # Problems worth a line on stderr that are not findings (an unknown code in # noqa); kept
    # with the result so that a cached or parallel run prints them too.
    warnings: List[str] = field(default_factory=list)
