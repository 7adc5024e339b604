"""What a project declares about TensorFlow and Keras, read from its dependency files.

Pure functions over files: nothing here imports TensorFlow, runs a setup.py or touches the
network.  ``read_project(directory)`` reads every dependency file of one directory (the
kinds in ``DEPENDENCY_FILES``) and returns the requirements on the packages that decide the
Keras version (``TENSORFLOW``, ``keras``, ``tf-keras``), each with the versions it allows,
plus a message for every entry that could not be read.  A broken file or line is such a
message, never an exception: the caller falls back to its next source.

Only files that mention one of those packages are parsed (a bytes search first), so a
project without TensorFlow in its dependencies costs a directory listing and a few reads.
"""

from __future__ import annotations

import ast
import configparser
import json
import os
import re
import sys
from dataclasses import dataclass
from typing import Any, Callable, Dict, Iterable, Iterator, List, Optional, Sequence, Tuple

from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import canonicalize_name

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on older Pythons only
    import tomli as tomllib

# The distributions whose version is TensorFlow's: tf.keras is Keras 2 below 2.16, Keras 3 from it.
TENSORFLOW = frozenset({
    "tensorflow", "tensorflow-cpu", "tensorflow-gpu", "tensorflow-macos", "tensorflow-intel",
    "tensorflow-aarch64", "tensorflow-rocm", "intel-tensorflow", "tf-nightly", "tf-nightly-cpu",
    "tf-nightly-gpu",
})
KERAS = "keras"
TF_KERAS = "tf-keras"
NAMES = TENSORFLOW | {KERAS, TF_KERAS, "keras-nightly"}
# Requirements that decide nothing alone but can rule Keras 3 out (see kerasversion.LIMITS).
NUMPY = "numpy"
PYTHON = "python"  # requires-python, python_requires, conda's python=3.8, Pipfile's [requires]
# A bytes search that every file naming one of NAMES passes ("tf_keras" spelled with "_" too).
_MENTION = re.compile(rb"tensorflow|keras|tf[-_.]nightly", re.IGNORECASE)
# Files worth parsing: they name one of NAMES, or numpy or Python (a limit next to a requirement
# on TensorFlow in another file of the same directory).
_WORTH_READING = re.compile(rb"tensorflow|keras|tf[-_.]nightly|numpy|python", re.IGNORECASE)

LOCK_FILES = ("uv.lock", "poetry.lock", "Pipfile.lock")
DEPENDENCY_FILES = ("pyproject.toml", "setup.cfg", "setup.py", "Pipfile", "environment.yml",
                    "environment.yaml") + LOCK_FILES  # and requirements*.txt


@dataclass(frozen=True)
class Declared:
    """One requirement on a package of NAMES, or on numpy or Python (``NUMPY``, ``PYTHON``).

    ``specifiers`` are alternatives (Poetry's ``||``, conda's ``|``): any one may be what gets
    installed.  ``conditional`` is true when it holds only sometimes (an optional group, a dev
    group, an environment marker, a requirements file other than requirements.txt); ``locked``
    when a lock file names the version installed.
    """

    name: str
    specifiers: Tuple[str, ...]
    where: str  # "requirements.txt:3", "pyproject.toml [project] dependencies"
    text: str  # as the file writes it, for messages
    conditional: bool = False
    locked: bool = False


@dataclass(frozen=True)
class Found:
    declared: Tuple[Declared, ...]
    problems: Tuple[str, ...]


def dependency_files(directory: str, names: Optional[Iterable[str]] = None) -> List[str]:
    """The names of the dependency files in ``directory`` (whose entries are ``names``, when
    the caller has listed it already), in a fixed order."""
    if names is None:
        try:
            names = os.listdir(directory)
        except OSError:
            return []
    names = set(names)
    # Spelled as pip does not care: REQUIREMENTS.txt, Requirements-dev.txt.
    requirements = sorted((n for n in names if n.lower().startswith("requirements") and n.lower().endswith(".txt")),
                          key=lambda n: (n.lower() != "requirements.txt", n))
    return [n for n in DEPENDENCY_FILES if n in names] + requirements


def read_project(directory: str) -> Found:
    """Every requirement on TensorFlow/Keras that the dependency files of ``directory`` declare."""
    out = _Out(directory)
    for name in dependency_files(directory):
        path = os.path.join(directory, name)
        if name.lower().startswith("requirements"):
            read_requirements(path, out, conditional=name.lower() != "requirements.txt")
            continue
        raw = _read(path, out)
        if raw is None or not _WORTH_READING.search(raw):
            continue
        reader = _READERS[name]
        try:
            reader(path, raw, out)
        except _Unreadable as exc:
            out.problem(f"{out.rel(path)}: {exc}; ignoring it")
    return Found(tuple(out.declared), tuple(out.problems))


# -- collecting ---------------------------------------------------------------------------------

class _Unreadable(Exception):
    """The whole file cannot be read (syntax error, wrong shape)."""


class _Out:
    def __init__(self, root: str):
        self.root = root
        self.declared: List[Declared] = []
        self.problems: List[str] = []

    def rel(self, path: str) -> str:
        try:
            return os.path.relpath(path, self.root).replace(os.sep, "/")
        except ValueError:  # another drive on Windows
            return path

    def problem(self, message: str) -> None:
        if message not in self.problems:
            self.problems.append(message)

    def pep508(self, text: str, where: str, conditional: bool) -> None:
        """A PEP 508 requirement string; a bad one that names our packages is a problem."""
        try:
            req = Requirement(text)
        except InvalidRequirement as exc:
            if _MENTION.search(text.encode("utf-8", "replace")):
                first = str(exc).splitlines()[0]
                self.problem(f"{where}: cannot read the requirement {text.strip()!r} ({first}); ignoring it")
            return
        self.add(req.name, [str(req.specifier)], where, text, conditional or req.marker is not None)

    def add(self, name: str, specifiers: Sequence[str], where: str, text: str, conditional: bool,
            locked: bool = False) -> None:
        name = canonicalize_name(name)
        if name not in NAMES and name not in (NUMPY, PYTHON):
            return
        checked = []
        for spec in specifiers:
            try:
                SpecifierSet(spec)
                checked.append(spec.strip())
            except InvalidSpecifier:
                self.problem(f"{where}: cannot read the version {spec!r} of {name}; ignoring it")
                return
        self.declared.append(Declared(name, tuple(checked), where, text.strip(), conditional, locked))


def _read(path: str, out: _Out) -> Optional[bytes]:
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except OSError as exc:
        out.problem(f"{out.rel(path)}: cannot read: {exc.strerror or exc}; ignoring it")
        return None


def _toml(path: str, raw: bytes) -> Dict[str, Any]:
    try:
        return tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise _Unreadable(f"invalid TOML: {exc}") from None


def _table(data: Any, *keys: str) -> Dict[str, Any]:
    for key in keys:
        data = data.get(key) if isinstance(data, dict) else None
    return data if isinstance(data, dict) else {}


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, list):
        yield from (item for item in value if isinstance(item, str))  # PEP 735 include-group tables: skipped


# -- pyproject.toml: PEP 621, PEP 735, Poetry, PDM, uv ------------------------------------------

def read_pyproject(path: str, raw: bytes, out: _Out) -> None:
    data = _toml(path, raw)
    rel = out.rel(path)
    project = _table(data, "project")
    if isinstance(project.get("requires-python"), str):
        out.add(PYTHON, [project["requires-python"]], f"{rel} [project] requires-python",
                f"requires-python = {project['requires-python']!r}", False)
    for text in _strings(project.get("dependencies")):
        out.pep508(text, f"{rel} [project] dependencies", False)
    groups = [("project.optional-dependencies", _table(project, "optional-dependencies")),
              ("dependency-groups", _table(data, "dependency-groups")),
              ("tool.pdm.dev-dependencies", _table(data, "tool", "pdm", "dev-dependencies"))]
    for section, table in groups:
        for group, items in table.items():
            for text in _strings(items):
                out.pep508(text, f"{rel} [{section}] {group}", True)
    for text in _strings(_table(data, "tool", "uv").get("dev-dependencies")):
        out.pep508(text, f"{rel} [tool.uv] dev-dependencies", True)
    poetry = _table(data, "tool", "poetry")
    tables = [("tool.poetry.dependencies", _table(poetry, "dependencies"), False),
              ("tool.poetry.dev-dependencies", _table(poetry, "dev-dependencies"), True)]
    for group, body in _table(poetry, "group").items():
        tables.append((f"tool.poetry.group.{group}.dependencies", _table(body, "dependencies"), True))
    for section, table, conditional in tables:
        for name, value in table.items():
            if canonicalize_name(name) in NAMES or canonicalize_name(name) in (NUMPY, PYTHON):
                _poetry_entry(out, name, value, f"{rel} [{section}]", conditional)


def _poetry_entry(out: _Out, name: str, value: Any, where: str, conditional: bool) -> None:
    """``"^2.15"``, ``{version = "~2.15", optional = true, markers = ...}`` or a list of those."""
    entries = value if isinstance(value, list) else [value]
    texts: List[str] = []
    for entry in entries:
        if isinstance(entry, dict):
            if any(k in entry for k in ("optional", "markers", "python", "platform")) or len(entries) > 1:
                conditional = True
            entry = entry.get("version", "*")  # git, path and url entries: any version
        if not isinstance(entry, str):
            out.problem(f"{where}: cannot read the entry for {name}; ignoring it")
            return
        texts.append(entry)
    try:
        specifiers = [spec for text in texts for spec in poetry_specifiers(text)]
    except ValueError as exc:
        out.problem(f"{where}: {exc}; ignoring it")
        return
    out.add(name, specifiers, where, f"{name} = {' || '.join(texts)}", conditional)


def poetry_specifiers(text: str) -> List[str]:
    """A Poetry version constraint as PEP 440 specifier sets, one per ``||`` alternative."""
    out = []
    for alternative in text.split("||"):
        parts = [p for p in re.split(r"[,\s]+", _squeeze(alternative)) if p]
        out.append(",".join(_poetry_part(p, text) for p in parts) if parts else "")
    return out


def _squeeze(text: str) -> str:
    # ">= 2.15" -> ">=2.15", so that spaces separate constraints only
    return re.sub(r"(\^|~=|~|==|!=|>=|<=|>|<|=)\s+", r"\1", text.strip())


def _poetry_part(part: str, whole: str) -> str:
    if part == "*":
        return ""
    if part[0] == "^" or (part[0] == "~" and not part.startswith("~=")):
        version = part[1:]
        numbers = _release(version, whole)
        if part[0] == "^":
            index = next((i for i, n in enumerate(numbers) if n), len(numbers) - 1)
        else:
            index = 0 if len(numbers) == 1 else 1
        upper = numbers[:index] + [numbers[index] + 1]
        return f">={version},<{'.'.join(map(str, upper))}"
    if part[0] == "=" and not part.startswith("=="):
        part = "=" + part
    if part[0].isdigit():
        part = "==" + part
    return part


def _release(version: str, whole: str) -> List[int]:
    numbers = version.split(".")
    if not version or not all(n.isdigit() for n in numbers):
        raise ValueError(f"cannot read the version constraint {whole!r}")
    return [int(n) for n in numbers]


# -- requirements*.txt --------------------------------------------------------------------------

_OPTION = re.compile(r"^(-r|--requirement|-c|--constraint)(?:\s*=\s*|\s+|(?=\S))(\S+)")


def read_requirements(path: str, out: _Out, conditional: bool, seen: Optional[set] = None) -> None:
    """A pip requirements file and the files it includes with ``-r`` (and ``-c``)."""
    seen = set() if seen is None else seen
    real = os.path.realpath(path)
    if real in seen:
        return
    seen.add(real)
    raw = _read(path, out)
    if raw is None:
        return
    text = raw.decode("utf-8", "replace")
    rel = out.rel(path)
    for number, line in _logical_lines(text):
        if not line:
            continue
        option = _OPTION.match(line)
        if option:
            included = os.path.join(os.path.dirname(path), option.group(2))
            if os.path.isfile(included):
                read_requirements(included, out, conditional, seen)
            elif _MENTION.search(line.encode()):
                out.problem(f"{rel}:{number}: {option.group(2)} does not exist; ignoring it")
            continue
        if line.startswith("-") or "://" in line.split(";")[0] and " @ " not in line:
            continue  # --index-url, -e, a bare URL: says nothing about a version
        line = re.split(r"\s+--?\w", line, maxsplit=1)[0]  # trailing --hash=... options
        out.pep508(line, f"{rel}:{number}", conditional)


def _logical_lines(text: str) -> Iterator[Tuple[int, str]]:
    """(first line number, text) with comments removed and ``\\`` continuations joined."""
    pending, start = "", 0
    for number, line in enumerate(text.splitlines(), 1):
        line = re.sub(r"(^|\s)#.*$", "", line)
        if not pending:
            start = number
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        yield start, (pending + line).strip()
        pending = ""
    if pending:
        yield start, pending.strip()


# -- setup.cfg and setup.py ---------------------------------------------------------------------

def read_setup_cfg(path: str, raw: bytes, out: _Out) -> None:
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read_string(raw.decode("utf-8"), source=path)
    except (configparser.Error, UnicodeDecodeError) as exc:
        raise _Unreadable(f"invalid setup.cfg: {str(exc).splitlines()[0]}") from None
    rel = out.rel(path)
    if parser.has_option("options", "python_requires"):
        value = parser.get("options", "python_requires").strip()
        out.add(PYTHON, [value], f"{rel} [options] python_requires", f"python_requires = {value}", False)
    if parser.has_option("options", "install_requires"):
        for text in _cfg_list(parser.get("options", "install_requires")):
            out.pep508(text, f"{rel} [options] install_requires", False)
    if parser.has_section("options.extras_require"):
        for extra, value in parser.items("options.extras_require"):
            for text in _cfg_list(value):
                out.pep508(text, f"{rel} [options.extras_require] {extra}", True)


def _cfg_list(value: str) -> List[str]:
    return [line.strip() for line in value.splitlines() if line.strip() and not line.strip().startswith("#")]


def read_setup_py(path: str, raw: bytes, out: _Out) -> None:
    """``install_requires`` and ``extras_require`` of a ``setup(...)`` call, where they are literals
    (or names bound once to a literal at module level).  Read with ``ast``: never executed."""
    try:
        tree = ast.parse(raw, filename=path)
    except (SyntaxError, ValueError) as exc:
        raise _Unreadable(f"cannot parse setup.py: {exc}") from None
    constants: Dict[str, Any] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            constants[node.targets[0].id] = node.value
    rel = out.rel(path)
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and _call_name(node.func) == "setup"):
            continue
        for keyword in node.keywords:
            value = _literal(keyword.value, constants)
            if keyword.arg == "python_requires" and isinstance(value, str):
                out.add(PYTHON, [value], f"{rel} setup(python_requires=...)", f"python_requires={value!r}", False)
            elif keyword.arg == "install_requires":
                for text in _literal_strings(value):
                    out.pep508(text, f"{rel} setup(install_requires=...)", False)
            elif keyword.arg == "extras_require" and isinstance(value, dict):
                for extra, items in value.items():
                    for text in _literal_strings(items):
                        out.pep508(text, f"{rel} setup(extras_require={{{extra!r}: ...}})", True)


def _call_name(func: ast.expr) -> Optional[str]:
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return None


def _literal(node: ast.expr, constants: Dict[str, Any]) -> Any:
    if isinstance(node, ast.Name) and node.id in constants:
        node = constants[node.id]
    if isinstance(node, ast.Dict):  # extras_require: each extra on its own, computed ones unknown
        keys = [_literal(k, {}) if k is not None else None for k in node.keys]
        return {k: _literal(v, constants) for k, v in zip(keys, node.values) if isinstance(k, str)}
    try:
        return ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return None  # computed at run time: unknown, not a problem


def _literal_strings(value: Any) -> List[str]:
    if isinstance(value, str):
        return [line for line in value.splitlines() if line.strip()]
    if isinstance(value, (list, tuple)):
        return [v for v in value if isinstance(v, str)]
    return []


# -- Pipfile, Pipfile.lock, uv.lock, poetry.lock ------------------------------------------------

def read_pipfile(path: str, raw: bytes, out: _Out) -> None:
    data = _toml(path, raw)
    rel = out.rel(path)
    requires = _table(data, "requires")
    for key, spec in (("python_version", "=={}.*"), ("python_full_version", "=={}")):
        if isinstance(requires.get(key), str):
            out.add(PYTHON, [spec.format(requires[key].strip())], f"{rel} [requires]",
                    f"{key} = {requires[key]!r}", False)
    for section, table in data.items():
        if section in ("source", "requires", "scripts", "pipenv") or not isinstance(table, dict):
            continue
        for name, value in table.items():
            conditional = section != "packages"
            if isinstance(value, dict):
                conditional = conditional or "markers" in value or any(k.endswith("_version") for k in value
                                                                       if k != "version")
                value = value.get("version", "*")
            if isinstance(value, str):
                spec = "" if value.strip() == "*" else value
                out.add(name, [spec], f"{rel} [{section}]", f"{name} = {value!r}", conditional)


def read_pipfile_lock(path: str, raw: bytes, out: _Out) -> None:
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise _Unreadable(f"invalid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise _Unreadable("expected a JSON object")
    rel = out.rel(path)
    for section in ("default", "develop"):
        for name, entry in _table(data, section).items():
            version = entry.get("version") if isinstance(entry, dict) else None
            if isinstance(version, str) and version.startswith("=="):
                out.add(name, [version], f"{rel} [{section}]", f"{name} {version[2:]}",
                        section != "default", locked=True)


def read_package_lock(path: str, raw: bytes, out: _Out) -> None:
    """uv.lock and poetry.lock: ``[[package]]`` tables with a name and the version installed."""
    data = _toml(path, raw)
    packages = data.get("package", [])
    if not isinstance(packages, list):
        raise _Unreadable("[[package]] is not a list of tables")
    rel = out.rel(path)
    for package in packages:
        if isinstance(package, dict) and isinstance(package.get("name"), str) \
                and isinstance(package.get("version"), str):
            name, version = package["name"], package["version"]
            out.add(name, [f"=={version}"], rel, f"{name} {version}", False, locked=True)


# -- environment.yml ------------------------------------------------------------------------------

def read_environment(path: str, raw: bytes, out: _Out) -> None:
    """conda's ``dependencies``: conda match specs, and PEP 508 strings under ``pip:``."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _Unreadable(f"cannot decode: {exc}") from None
    conda, pip = environment_dependencies(text)
    rel = out.rel(path)
    for spec in conda:
        try:
            name, specifiers = conda_specifiers(spec)
        except ValueError:
            if _MENTION.search(spec.encode()):
                out.problem(f"{rel}: cannot read the conda dependency {spec!r}; ignoring it")
            continue
        out.add(name, specifiers, f"{rel} dependencies", spec, False)
    for spec in pip:
        out.pep508(spec, f"{rel} dependencies (pip)", False)


def environment_dependencies(text: str) -> Tuple[List[str], List[str]]:
    """(conda specs, pip requirements) of an environment.yml; _Unreadable if it cannot be read.

    PyYAML reads it when it is installed (it is not a dependency of tflint-save); otherwise
    ``minimal_environment`` reads the block-style ``dependencies:`` list that conda writes.
    """
    try:
        import yaml
    except ImportError:
        return minimal_environment(text)
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise _Unreadable(f"invalid YAML: {str(exc).splitlines()[0]}") from None
    items = data.get("dependencies") if isinstance(data, dict) else None
    if items is None:
        return [], []
    if not isinstance(items, list):
        raise _Unreadable("dependencies is not a list")
    conda = [str(item) for item in items if isinstance(item, (str, int, float))]
    pip = [str(p) for item in items if isinstance(item, dict) and isinstance(item.get("pip"), list)
           for p in item["pip"] if isinstance(p, str)]
    return conda, pip


_KEY = re.compile(r"^([A-Za-z_][\w.-]*)\s*:(.*)$")
_ITEM = re.compile(r"^(\s*)-\s*(.*)$")


def minimal_environment(text: str) -> Tuple[List[str], List[str]]:
    """The ``dependencies:`` block of an environment.yml, without a YAML library.

    Reads what conda itself writes (``conda env export``) and people write by hand: a
    top-level ``dependencies:`` key, block list items, one nested ``- pip:`` list.  Anything
    else inside that block (flow lists, anchors, multi-line scalars) raises _Unreadable
    rather than being guessed at.
    """
    lines = [re.sub(r"(^|\s)#.*$", "", line.rstrip()) for line in text.splitlines()]
    conda: List[str] = []
    pip: List[str] = []
    inside = False
    item_indent: Optional[int] = None
    pip_indent: Optional[int] = None
    for line in lines:
        if not line.strip() or line.strip() == "---":
            continue
        if not line[0].isspace() and not line.startswith("-"):
            key = _KEY.match(line)
            if key is None:
                if inside:
                    raise _Unreadable("cannot read the dependencies list without PyYAML (pip install pyyaml)")
                continue
            inside = key.group(1) == "dependencies"
            if inside and key.group(2).strip():
                raise _Unreadable("cannot read a flow-style dependencies list without PyYAML (pip install pyyaml)")
            item_indent = pip_indent = None
            continue
        if not inside:
            continue
        item = _ITEM.match(line)
        if item is None:
            raise _Unreadable(f"cannot read the line {line.strip()!r} without PyYAML (pip install pyyaml)")
        indent, value = len(item.group(1)), _unquote(item.group(2).strip())
        if item_indent is None:
            item_indent = indent
        if indent == item_indent:
            pip_indent = None
            if value == "pip:":
                pip_indent = -1
            elif value.endswith(":") or value.startswith(("[", "{", "&", "*", "|", ">")):
                raise _Unreadable(f"cannot read the item {value!r} without PyYAML (pip install pyyaml)")
            else:
                conda.append(value)
        elif pip_indent is not None and indent > item_indent:
            if pip_indent == -1:
                pip_indent = indent
            if indent != pip_indent:
                raise _Unreadable("cannot read the nested pip list without PyYAML (pip install pyyaml)")
            pip.append(value)
        else:
            raise _Unreadable("cannot read the dependencies list without PyYAML (pip install pyyaml)")
    return conda, pip


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        return value[1:-1]
    return value


_CONDA = re.compile(r"^(?:[\w.\-/]+::)?([A-Za-z0-9][\w.\-]*)\s*(.*)$")


def conda_specifiers(spec: str) -> Tuple[str, List[str]]:
    """A conda match spec (``tensorflow=2.15``, ``conda-forge::tensorflow>=2.10,<2.16``,
    ``tensorflow 2.15.* cuda*``) as a name and PEP 440 alternatives; ValueError if unreadable."""
    match = _CONDA.match(spec.strip())
    if match is None:
        raise ValueError(spec)
    name, rest = match.group(1), match.group(2).strip()
    if not rest:
        return name, [""]
    if rest.startswith("=") and not rest.startswith("=="):
        version = rest[1:].split("=")[0].strip()  # name=version=build
        return name, [_conda_version("=" + version) for version in version.split("|")]
    version = rest.split()[0]  # "2.15.* build_string"
    return name, [_conda_version(part) for part in version.split("|")]


def _conda_version(text: str) -> str:
    """One conda version constraint as a PEP 440 specifier set."""
    parts = []
    for part in text.split(","):
        part = part.strip()
        if part.startswith("=") and not part.startswith("=="):
            part = "==" + part[1:].rstrip("*").rstrip(".") + ".*"  # fuzzy: 2.15 means 2.15.*
        elif part.endswith("*") and not part.startswith(("=", "!")):
            part = "==" + part.lstrip("<>~") if part[0].isdigit() else part
        elif part[:1].isdigit():
            part = "==" + part
        try:
            SpecifierSet(part)
        except InvalidSpecifier:
            raise ValueError(text) from None
        parts.append(part)
    return ",".join(parts)


_READERS: Dict[str, Callable[[str, bytes, _Out], None]] = {
    "pyproject.toml": read_pyproject,
    "setup.cfg": read_setup_cfg,
    "setup.py": read_setup_py,
    "Pipfile": read_pipfile,
    "Pipfile.lock": read_pipfile_lock,
    "uv.lock": read_package_lock,
    "poetry.lock": read_package_lock,
    "environment.yml": read_environment,
    "environment.yaml": read_environment,
}
