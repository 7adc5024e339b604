"""Which Keras each file runs on, for ``--keras-version auto``.

The sources, in order (the first that decides wins; ``--show-settings`` names it):

1. ``keras-version`` 2 or 3 on the command line or in the configuration (no ``Plan`` then);
2. the dependencies its nearest project declares (``dependencies.read_project``): the nearest
   directory above the file with a dependency file that says something about TensorFlow or
   Keras, searched up to the repository's top (the directory holding ``.git``).  A cap on
   numpy or Python that no release with Keras 3 accepts (``numpy<1.23.4``, ``python=3.8``)
   leaves Keras 2 of what TensorFlow's own requirement allows.  When the nearest project's
   declarations allow both, a project around it that allows one decides (``Decision.settled``);
3. the installed packages' metadata (``installed``), read without importing them;
4. Keras 3.

tf.keras is Keras 2 below TensorFlow 2.16 and Keras 3 from it; ``keras`` is what its major
version says.  With TensorFlow 2.16 or later, ``TF_USE_LEGACY_KERAS=1`` (what
tensorflow/__init__.py checks: "1", "true" or "True") makes tf.keras the tf_keras package,
Keras 2, while ``import keras`` stays Keras 3 (FACTS C17).  So where tf-keras is declared
(or, for an installed decision, installed) and the variable is set in the environment, a
``.env`` file of the project, the configuration or the file's own code, the engine checks the
files that use tf.keras and not ``keras`` itself as Keras 2.

A notebook's own ``!pip install tensorflow==X`` comes before all of these, and the modules it
writes for a training job run on the job's image (``notebookenv``, applied by ``notebook.lint``).

A decision is made once per directory and cached; reading a project's files happens once
per project root, never per file.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, replace
from typing import Callable, Dict, FrozenSet, List, Mapping, Optional, Sequence, Tuple

from packaging.specifiers import SpecifierSet
from packaging.version import InvalidVersion, Version

from tflint_save import projects
from tflint_save.dependencies import (KERAS, NUMPY, PYTHON, TENSORFLOW, TF_KERAS, Declared, dependency_files,
                                      read_project)

LEGACY_VALUES = ("1", "true", "True")  # tensorflow/__init__.py: os.environ.get(...) in ("true", "True", "1")
LEGACY_VARIABLE = "TF_USE_LEGACY_KERAS"
_NIGHTLY = frozenset({"tf-nightly", "tf-nightly-cpu", "tf-nightly-gpu", "keras-nightly"})


@dataclass(frozen=True)
class Decision:
    """The Keras version of the files under one directory, and why."""

    version: int
    source: str  # for --show-settings: "declared in docs/x/requirements.txt:1: tensorflow==2.15.*"
    note: str = ""  # why the choice is a guess, when it is one
    tf_keras: bool = False  # tf-keras is declared (or installed, for an installed decision)
    legacy: bool = False  # TF_USE_LEGACY_KERAS=1 in the environment, a .env or the configuration
    declared: bool = False  # made by declared dependencies (``decide``), not by what is installed

    @property
    def settled(self) -> bool:
        """Declared dependencies that allow one Keras only: a nested project whose own allow both
        takes this one's (vendored code in a pinned package runs on the package's TensorFlow)."""
        return self.declared and not self.note

    @property
    def legacy_tf_keras(self) -> Optional[bool]:
        """For engine.lint_text: True when tf.keras is tf_keras (Keras 2) in every file; None when only
        in a file that sets TF_USE_LEGACY_KERAS itself; False when never."""
        if self.version == 2 or not self.tf_keras:
            return False
        return True if self.legacy else None


# -- declared dependencies ------------------------------------------------------------------------

# Versions to test a specifier set against: every TensorFlow minor release line, plus each
# version a specifier names and its neighbours, so that a bound between grid points is seen.
_GRID = tuple(Version(v) for v in ["1.15.0", "3.0.0", "4.0.0"] + [f"2.{m}.0" for m in range(0, 41)])


def _candidates(spec: SpecifierSet) -> List[Version]:
    out = set(_GRID)
    for item in spec:
        try:
            version = Version(item.version.rstrip("*").rstrip("."))
        except InvalidVersion:
            continue
        release = list(version.release) + [0, 0]
        out.update((version, Version(f"{release[0]}.{release[1]}.{release[2] + 1}"),
                    Version(f"{release[0]}.{release[1] + 1}.0"), Version(f"{release[0] + 1}.0.0")))
    return sorted(out)


def majors(declared: Declared) -> FrozenSet[int]:
    """The Keras major versions a requirement allows: {2}, {3}, {2, 3}, or none at all."""
    if declared.name == TF_KERAS:
        return frozenset({2, 3})  # tf_keras says nothing about tf.keras by itself
    if declared.name in _NIGHTLY:
        return frozenset({3})
    out = set()
    for text in declared.specifiers:
        spec = SpecifierSet(text)
        for version in _candidates(spec):
            if spec.contains(version, prereleases=True):
                if declared.name == KERAS:
                    out.add(2 if version.major < 3 else 3)
                else:
                    out.add(2 if version.release[:2] < (2, 16) else 3)
    return frozenset(out)


# What every release with Keras 3 needs, read from the wheels' metadata: TensorFlow 2.16.1 to
# 2.21.0 require numpy>=1.23.5 and Python>=3.9; keras 3.0.0 requires Python>=3.9 (later ones more).
# A project that caps numpy or Python below these cannot install them: it runs Keras 2.
_TF_KERAS3_NEEDS = {NUMPY: Version("1.23.5"), PYTHON: Version("3.9")}
_KERAS3_NEEDS = {PYTHON: Version("3.9")}


def allows_from(declared: Declared, least: Version) -> bool:
    """Some version the requirement allows is ``least`` or later."""
    for text in declared.specifiers:
        spec = SpecifierSet(text)
        candidates = [least, Version("999")] + [v for v in _candidates(spec) if v >= least]
        if any(spec.contains(v, prereleases=True) for v in candidates):
            return True
    return False


def _without_keras3(declared: Declared, limits: Sequence[Declared]) -> List[Declared]:
    """The limits that rule Keras 3 out for this requirement on TensorFlow or keras."""
    needs = _TF_KERAS3_NEEDS if declared.name in TENSORFLOW else _KERAS3_NEEDS if declared.name == KERAS else {}
    return [d for d in limits if d.name in needs and not allows_from(d, needs[d.name])]


def decide(declared: Sequence[Declared], where: str = "") -> Tuple[Optional[Decision], List[str]]:
    """The decision the declared requirements make, or None when they make none; and problems.

    A lock file names what is installed, so it decides first.  Otherwise every unconditional
    requirement holds at once (their allowed versions intersect); conditional ones (optional
    and dev groups, markers, extra requirements files) matter only when nothing unconditional
    names TensorFlow or Keras, and then any of them may be the one installed (a union).
    Unconditional limits on numpy and Python narrow what either allows (``_TF_KERAS3_NEEDS``).
    """
    limits = [d for d in declared if d.name in (NUMPY, PYTHON) and not d.conditional]
    deciding = [d for d in declared if d.name not in (TF_KERAS, NUMPY, PYTHON)]
    if not deciding:
        return None, []
    limiting: List[Declared] = []

    def allows(d: Declared) -> FrozenSet[int]:
        found = majors(d)
        ruled_out = _without_keras3(d, limits) if 3 in found else []
        limiting.extend(l for l in ruled_out if l not in limiting)
        return found - {3} if ruled_out else found

    locked = [d for d in deciding if d.locked]
    base = [d for d in deciding if not d.conditional and not d.locked]
    chosen = locked or base or deciding
    allowed: FrozenSet[int] = frozenset()
    if chosen is base:
        allowed = frozenset({2, 3})
        for d in base:
            allowed &= allows(d)
    else:
        for d in chosen:
            allowed |= allows(d)
    # Name what decided: with an intersection, the requirements that narrow it down.
    cited = [d for d in chosen if allows(d) == allowed] if chosen is base else []
    texts = _cite(cited or chosen, where)
    if limiting:
        why = sorted({"TensorFlow 2.16 and later require numpy>=1.23.5" if d.name == NUMPY
                      else "Keras 3 and TensorFlow 2.16 and later require Python>=3.9" for d in limiting})
        texts += f"; {_cite(limiting, where)} ({'; '.join(why)})"
    if not allowed:
        return None, [f"{texts}: no Keras version satisfies these together; ignoring them"]
    if allowed == {2, 3}:
        note = ("the declared versions allow both Keras 2 (TensorFlow < 2.16) and Keras 3: checking Keras 3; "
                "pin TensorFlow or set keras-version to say which")
        return Decision(3, f"declared in {texts}", note, declared=True), []
    return Decision(min(allowed), f"declared in {texts}", declared=True), []


def _cite(declared: Sequence[Declared], where: str) -> str:
    prefix = where + "/" if where and where != "." else ""
    return "; ".join(f"{prefix}{d.where}: {d.text}" for d in declared[:3]) + ("; ..." if len(declared) > 3 else "")


# -- installed packages ---------------------------------------------------------------------------

def _installed_version(name: str) -> Optional[str]:
    from importlib import metadata

    try:
        return metadata.version(name)
    except Exception:  # PackageNotFoundError, or broken metadata
        return None


def installed(environ: Mapping[str, str] = os.environ,
              version: Callable[[str], Optional[str]] = _installed_version) -> Decision:
    """What the installed packages give, read from their metadata without importing them."""
    tf_keras = version("tf_keras") or version("tf-keras")
    legacy = environ.get(LEGACY_VARIABLE) in LEGACY_VALUES
    for dist in ("tensorflow", "tensorflow-cpu", "tensorflow-intel", "tensorflow-macos", "tf-nightly"):
        found = version(dist)
        if found:
            major_minor = tuple(int(p) for p in found.split(".")[:2] if p.isdigit())
            return Decision(2 if major_minor < (2, 16) else 3, f"installed {dist} {found}",
                            tf_keras=bool(tf_keras), legacy=legacy)
    keras_dist = version("keras")
    if keras_dist and keras_dist[:1].isdigit():
        return Decision(3 if int(keras_dist.split(".")[0]) >= 3 else 2, f"installed keras {keras_dist}",
                        tf_keras=bool(tf_keras), legacy=legacy)
    if tf_keras:
        return Decision(2, f"installed tf_keras {tf_keras}", tf_keras=True, legacy=legacy)
    return Decision(3, "nothing declared or installed: Keras 3", legacy=legacy)


# -- TF_USE_LEGACY_KERAS ---------------------------------------------------------------------------

_VALUE = r"""\s*(?:["'](?:1|true|True)["']|1\b)"""
_IN_CODE = re.compile(
    r"""TF_USE_LEGACY_KERAS["']\s*(?:\]\s*=|,|:)""" + _VALUE      # environ[...] = "1", setdefault(..., "1"), {...: "1"}
    + r"""|\bTF_USE_LEGACY_KERAS\s*=""" + _VALUE                  # environ.update(TF_USE_LEGACY_KERAS="1")
    + r"""|%(?:set_)?env\s+TF_USE_LEGACY_KERAS\s*[=\s]\s*(?:1|true|True)\b""")  # IPython's %env


def sets_legacy_keras(text: str) -> bool:
    """The file sets TF_USE_LEGACY_KERAS to a value TensorFlow takes as true, as in
    ``os.environ["TF_USE_LEGACY_KERAS"] = "1"``; a commented-out line does not count."""
    if LEGACY_VARIABLE not in text:
        return False
    for line in text.splitlines():
        if LEGACY_VARIABLE in line and not line.lstrip().startswith("#"):
            # os.putenv does not change os.environ, which is what TensorFlow reads
            if _IN_CODE.search(line) and "putenv" not in line:
                return True
    return False


_DOTENV = re.compile(r"""^\s*(?:export\s+)?TF_USE_LEGACY_KERAS\s*=\s*(["']?)(.*?)\1\s*(?:#.*)?$""")


def dotenv_legacy(path: str) -> bool:
    """A .env file sets TF_USE_LEGACY_KERAS to a value TensorFlow takes as true (the last one wins)."""
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            text = handle.read()
    except OSError:
        return False
    value = None
    for line in text.splitlines():
        match = _DOTENV.match(line)
        if match:
            value = match.group(2)
    return value in LEGACY_VALUES


# -- a run's plan ------------------------------------------------------------------------------------

class Plan:
    """The decisions of one run under ``--keras-version auto``, made once per directory.

    ``legacy`` is TF_USE_LEGACY_KERAS from the configuration or the environment.  ``problems``
    collects what could not be read (each message once), for the caller to print.
    """

    def __init__(self, legacy: bool = False, environ: Optional[Mapping[str, str]] = None,
                 version: Callable[[str], Optional[str]] = _installed_version):
        environ = os.environ if environ is None else environ
        # Only what is read, as a plain dict: a plan travels to spawned worker processes.
        self.environ = {LEGACY_VARIABLE: environ[LEGACY_VARIABLE]} if LEGACY_VARIABLE in environ else {}
        self._version = version
        self.legacy = legacy or self.environ.get(LEGACY_VARIABLE) in LEGACY_VALUES
        self.problems: List[str] = []
        self._dirs: Dict[str, Decision] = {}
        self._installed: Optional[Decision] = None

    def decision(self, path: str) -> Decision:
        """The decision for a file (or the standard-input name it is linted as)."""
        return self.for_directory(os.path.dirname(os.path.abspath(path)))

    def for_directory(self, directory: str) -> Decision:
        # Iterative walk up to the first directory already decided or deciding, then fill the cache.
        chain: List[Tuple[str, Optional[Decision], bool, bool]] = []
        inherited: Optional[Decision] = None
        for current in projects.ancestors(directory):
            if current in self._dirs:
                inherited = self._dirs[current]
                break
            own, tf_keras, legacy, top = self._read(current)
            chain.append((current, own, tf_keras, legacy))
            if own is not None and own.settled:
                break
            if top:
                inherited = self._fallback()
                break
        else:
            inherited = self._fallback()
        for current, own, tf_keras, legacy in reversed(chain):
            if own is None:
                assert inherited is not None
                base = inherited
            elif not own.settled and inherited is not None and inherited.settled:
                base = replace(inherited, source=f"{inherited.source}, around {_shown(current)}, whose own "
                                                 f"declarations allow both Keras 2 and Keras 3")
            else:
                base = own
            inherited = replace(base, tf_keras=base.tf_keras or tf_keras, legacy=base.legacy or legacy)
            self._dirs[current] = inherited
        assert inherited is not None
        return inherited

    def _read(self, directory: str) -> Tuple[Optional[Decision], bool, bool, bool]:
        """(its own decision, tf-keras declared here, TF_USE_LEGACY_KERAS in its .env, is the top)."""
        names = projects.listing(directory)
        top = projects.is_top(names)
        legacy = ".env" in names and dotenv_legacy(os.path.join(directory, ".env"))
        if not dependency_files(directory, names):
            return None, False, legacy, top
        found = read_project(directory)
        where = _shown(directory)
        self.problems.extend(f"{where}/{p}" if where != "." else p for p in found.problems
                             if p not in self.problems)
        own, problems = decide(found.declared, where)
        self.problems.extend(p for p in problems if p not in self.problems)
        if own is not None:
            own = replace(own, legacy=self.legacy)
        return own, any(d.name == TF_KERAS for d in found.declared), legacy, top

    def _fallback(self) -> Decision:
        if self._installed is None:
            self._installed = installed(self.environ, self._version)
            if self.legacy:
                self._installed = replace(self._installed, legacy=True)
        return self._installed


def _shown(directory: str) -> str:
    """A directory as messages name it: relative to the current one when it is below it."""
    try:
        rel = os.path.relpath(directory)
    except ValueError:
        return directory
    return directory if rel.startswith("..") else rel.replace(os.sep, "/")


def for_file(settings, path: str) -> Tuple[int, Optional[bool]]:
    """(Keras version, legacy tf.keras as engine.lint_text takes it) for one file of a run."""
    plan = getattr(settings, "keras_plan", None)
    if plan is None:
        return settings.keras_version, False
    decision = plan.decision(path)
    return decision.version, decision.legacy_tf_keras


def settings_lines(plan: "Plan", files: Sequence[str]) -> List[str]:
    """--show-settings: each project's decision, the notes that go with it, and what could not be read."""
    seen: Dict[Tuple[int, str, str, Optional[bool]], int] = {}
    for path in files:
        if path != "-":
            decision = plan.decision(path)
            key = (decision.version, decision.source, decision.note, decision.legacy_tf_keras)
            seen[key] = seen.get(key, 0) + 1
    lines = []
    for (version, source, note, legacy), count in seen.items():
        lines.append(f"  keras {version} for {count} file{'s' if count != 1 else ''}: {source}")
        if legacy is not False:
            where = "(TF_USE_LEGACY_KERAS is set)" if legacy else "where they set TF_USE_LEGACY_KERAS"
            lines.append(f"    with tf-keras: files that use tf.keras and not keras are checked as Keras 2 {where}")
        if note:
            lines.append(f"    note: {note}")
    lines.extend(f"  warning: {problem}" for problem in plan.problems)
    return lines
