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
    classes: List[ClassInfo] = field(default_factory=list)
    # Names registered through get_custom_objects() updates, and module-level functions
    # handed to Keras as a loss, metric or activation.
    registered_names: List[str] = field(default_factory=list)
    functions: List[Tuple[str, bool]] = field(default_factory=list)  # module-level defs: (name, registered)
    custom_functions: List[Tuple[str, str]] = field(default_factory=list)  # uses: (name, role)
    # Module-level functions/classes that call register_keras_serializable (project decorators).
    registering: List[str] = field(default_factory=list)
    # Simple names this file calls outside class bodies (``MyLayer(...)``, ``layers.MyLayer(...)``).
    called: List[str] = field(default_factory=list)
    # For each module-level function or class: the names it calls (to follow registering helpers).
    def_calls: Dict[str, List[str]] = field(default_factory=dict)
    error: Optional[str] = None  # an internal error: the run's exit code becomes 2
    # Problems worth a line on stderr that are not findings (an unknown code in # noqa); kept
    # with the result so that a cached or parallel run prints them too.
    warnings: List[str] = field(default_factory=list)
    # The Python files a notebook writes (%%writefile x.py), each linted as the module of its
    # path: its classes, functions and calls count for the project; its findings are in the
    # notebook's ``findings``, at the cell's positions (so ``findings`` here stays empty).
    modules: List["FileResult"] = field(default_factory=list)
