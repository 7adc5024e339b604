"""What a lint run produces: plain data, so results can cross processes and caches."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Dict, Iterator, List, Optional, Tuple, Type, Union

# -- facts ----------------------------------------------------------------------------------

FACT_TYPES: Dict[str, Type["Facts"]] = {}  # by class name: what the cache reads back


def optional(default: Any = None) -> Any:
    """A field left out of the facts mapping while it is None (set, for example, by resolve)."""
    return field(default=default, metadata={"optional": True})


def named(key: str, default: Any = None) -> Any:
    """A field whose key in the facts mapping is not a Python name (``class``)."""
    return field(default=default, metadata={"key": key})


def many(of: Optional[Type["Facts"]] = None) -> Any:
    """A tuple field; ``of``: the facts type of its items."""
    return field(default=(), metadata={"of": of})


def inner(of: Type["Facts"]) -> Any:
    """A field holding other facts (or None)."""
    return field(default=None, metadata={"of": of})


@dataclass(frozen=True, eq=False)
class Facts(Mapping):
    """What a rule extracted for one finding, typed: a small frozen dataclass per kind of finding,
    declared beside its rule.  Fixers and --verify read the fields.  Read as a mapping, the facts
    are plain JSON values (tuples as lists, nested facts as mappings): what a rule's verification
    check receives, and what the cache stores.  ``Facts()`` itself is a finding without facts."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        FACT_TYPES[cls.__name__] = cls

    def fields(self) -> Dict[str, Any]:
        """The field values by field name (not the mapping: nested facts stay facts)."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}

    def plain(self) -> Dict[str, Any]:
        """The mapping as a dict (use this rather than ``dict(facts)``: a field may be named ``keys``)."""
        out = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if value is None and f.metadata.get("optional"):
                continue
            out[f.metadata.get("key", f.name)] = plain(value)
        return out

    @classmethod
    def fromplain(cls, raw: Mapping) -> "Facts":
        values = {}
        for f in dataclasses.fields(cls):
            key = f.metadata.get("key", f.name)
            if key not in raw:
                continue
            value = raw[key]
            of = f.metadata.get("of")
            if isinstance(value, list):
                value = tuple(of.fromplain(v) if of is not None and isinstance(v, Mapping) else tuples(v)
                              for v in value)
            elif isinstance(value, Mapping) and of is not None:
                value = of.fromplain(value)
            values[f.name] = value
        return cls(**values)

    # The mapping view.
    def __getitem__(self, key: str) -> Any:
        return self.plain()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.plain())

    def __len__(self) -> int:
        return len(self.plain())

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.plain()!r})"


NO_FACTS = Facts()


class RawFacts(Facts):
    """Facts handed over as a plain mapping (a finding made by hand, outside the rules): read
    by key, or by field name (``class_`` for ``class``); a missing one reads as None."""

    def __init__(self, given: Mapping):
        object.__setattr__(self, "given", dict(given))

    def fields(self) -> Dict[str, Any]:
        return dict(self.given)

    def plain(self) -> Dict[str, Any]:
        return {k: plain(v) for k, v in self.given.items()}

    @classmethod
    def fromplain(cls, raw: Mapping) -> "Facts":
        return cls(raw)

    def __getattr__(self, name: str) -> Any:
        if name == "given" or name.startswith("__"):
            raise AttributeError(name)
        return self.given.get(name.rstrip("_"))


def plain(value: Any) -> Any:
    """A value as plain JSON data: facts as their mapping, other dataclasses as dicts of their
    fields, tuples as lists.  Without dataclasses.asdict()'s deep copy of every value (most of a
    cache write's cost): the result is dumped to JSON at once, never changed."""
    kind = type(value)
    if kind is str or kind is int or value is None or kind is bool or kind is float:
        return value  # most values: the leaves, without a dataclass test each
    if isinstance(value, Facts):
        return value.plain()
    if dataclasses.is_dataclass(value):
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    return value


def tuples(value: Any) -> Any:
    """The inverse of ``plain`` for lists: JSON lists back into the tuples dataclasses hold."""
    if type(value) is not list:
        return value
    return tuple([tuples(v) if type(v) is list else v for v in value])


def facts_to_json(facts: Facts) -> Optional[List[Any]]:
    """[type name, plain mapping]; None for a finding without facts."""
    return None if type(facts) is Facts else [type(facts).__name__, facts.plain()]


def facts_from_json(raw: Optional[List[Any]]) -> Facts:
    if raw is None:
        return NO_FACTS
    name, plain = raw
    return FACT_TYPES[name].fromplain(plain)


@dataclass(frozen=True)
class Resolved:
    """What a rule's ``resolve`` decides about a deferred finding when the project taught it
    more than the message: the message, and the finding's facts completed."""

    message: str
    facts: Facts


@dataclass(frozen=True)
class Finding:
    path: str
    line: int
    col: int
    code: str
    message: str
    end_line: int = 0
    end_col: int = 0
    # Facts the static pass extracted for this finding (class name, arguments...), for --fix and
    # --verify.  A plain mapping given here is kept as RawFacts.
    data: Facts = field(default_factory=Facts, compare=False, hash=False)
    # Notebooks: the cell (1-based, counting every cell); line and col are then within the cell.
    cell: Optional[int] = None
    # --verify's outcome: {"status": "confirmed" | "not reproduced" | "inconclusive" | "timeout",
    # "evidence", "tensorflow_version", "keras_version", "seconds", "cached"}; None when not verified.
    verification: Optional[Dict[str, Any]] = field(default=None, compare=False, hash=False)
    # The fix --fix can apply (set by fix.attach): {"applicability": "safe" | "unsafe", "message"};
    # None when the finding has none.
    fix: Optional[Dict[str, Any]] = field(default=None, compare=False, hash=False)

    def __post_init__(self) -> None:
        if not isinstance(self.data, Facts):
            object.__setattr__(self, "data", RawFacts(self.data or {}) if self.data else NO_FACTS)

    def sort_key(self) -> Tuple[str, int, int, int, str, str]:
        return (self.path, self.cell or 0, self.line, self.col, self.code, self.message)


@dataclass
class Pending:
    """A finding that needs the whole project to decide: the rule's ``resolve`` says."""

    code: str
    finding: Finding

    @property
    def data(self) -> Facts:
        return self.finding.data


Decision = Union[None, str, Resolved]  # what resolve returns: drop, the message, or more


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
    # The Python files a notebook writes (%%writefile x.py), each linted as the module of its
    # path: its classes, functions and calls count for the project; its findings are in the
    # notebook's ``findings``, at the cell's positions (so ``findings`` here stays empty).
    modules: List["FileResult"] = field(default_factory=list)
