"""Settings: defaults, configuration files, then the command line, resolved per file as ruff does.

Each file uses the closest configuration at or above it: in one directory ``.tflint-save.toml``,
then ``tflint-save.toml`` (top-level keys), then a ``pyproject.toml`` with a ``[tool.tflint-save]``
table.  ``extend = "../pyproject.toml"`` inherits another file; ``--config FILE`` is used for
every file.  A file with no configuration above it uses the run's root settings: those of
the configuration closest to the current directory, else the defaults.
"""

from __future__ import annotations

import os
import posixpath
import sys
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence, Tuple

from tflint_save.safeparse import DEFAULT_FILE_TIMEOUT, DEFAULT_MAX_FILE_SIZE, Limits

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on older Pythons only
    import tomli as tomllib

from tflint_save.noqa import PREFIX, UNUSED_NOQA

DEFAULT_EXCLUDE = (".git", ".venv", "venv", "__pycache__", "build", "dist", ".tox", "node_modules", "site-packages",
                   ".ipynb_checkpoints")
SECTION = "tflint-save"
# Rules the default selection (ALL) leaves out, like ruff's RUF100: their catalog entries say opt_in.
OPT_IN = (UNUSED_NOQA,)
# In one directory, the first of these that exists (a pyproject.toml only with our table) is
# the configuration, in ruff's order (.ruff.toml, ruff.toml, pyproject.toml).
CONFIG_NAMES = (".tflint-save.toml", "tflint-save.toml", "pyproject.toml")


class ConfigError(Exception):
    """Bad configuration or usage: printed as one line, exit code 2."""


@dataclass(frozen=True)
class Selection:
    """One layer of rule selection, as ruff's ``RuleSelection``: the defaults, each configuration
    in an ``extend`` chain (the base first) and the command line, in that order.

    ``select`` (when given) starts again from nothing; ``extend-select`` and ``ignore`` change
    what the layers before chose.  Within a layer the most specific code or prefix wins, and
    ``ignore`` wins a tie.  ``extend-ignore`` is part of ``ignore``.
    """

    select: Optional[Tuple[str, ...]] = None
    ignore: Tuple[str, ...] = ()
    extend_select: Tuple[str, ...] = ()
    origin: str = "default"


def enabled_by(code: str, selections: Sequence[Selection]) -> bool:
    """ruff's ``as_rule_table`` for one code.  An opt-in rule (OPT_IN) needs a selection that
    names it or its family: not ALL, the default, nor TFS."""
    state = False
    carried: Tuple[str, ...] = ()
    for layer in selections:
        selectors = (layer.select or ()) + layer.extend_select
        if code in OPT_IN:
            selectors = tuple(s for s in selectors if s != "ALL" and len(s) > len(PREFIX))
        chosen = _longest(code, selectors)
        ignored = _longest(code, layer.ignore + carried)
        carried = ()
        update = chosen > ignored if max(chosen, ignored) >= 0 else None
        if layer.select is not None:
            state = update is True
            # `select = []` with an ignore: ruff hands the ignores to the next layer.
            if not layer.select and not layer.extend_select and layer.ignore:
                carried = layer.ignore
        elif update is not None:
            state = update
    return state


@dataclass
class Settings:
    # select/ignore/extend_select: one selection over the defaults, for code that builds
    # Settings itself; a resolved configuration sets ``selections`` (one per layer) instead.
    select: List[str] = field(default_factory=lambda: ["ALL"])
    ignore: List[str] = field(default_factory=list)
    extend_select: List[str] = field(default_factory=list)
    selections: Tuple[Selection, ...] = ()
    # Globs: a pattern with a '/' is stored absolute (anchored at its configuration's
    # directory, or at the current one for the command line's), as ruff does.
    exclude: List[str] = field(default_factory=lambda: list(DEFAULT_EXCLUDE))
    extend_exclude: List[str] = field(default_factory=list)
    per_file_ignores: Dict[str, List[str]] = field(default_factory=dict)
    keras_version: int = 3
    keras_version_setting: str = "auto"
    tf_use_legacy_keras: bool = False
    # With keras-version "auto": each file's version, from its project (kerasversion.Plan).
    keras_plan: Optional[Any] = None
    respect_gitignore: bool = True
    force_exclude: bool = False
    # Per-file limits (see safeparse): bytes of code, and seconds to parse and lint one file.
    max_file_size: int = DEFAULT_MAX_FILE_SIZE
    file_timeout: float = DEFAULT_FILE_TIMEOUT
    # TFS301-TFS304: "saved" judges classes that reach a save or are library API; "all" every class.
    custom_classes: str = "saved"
    config_file: Optional[str] = None
    extends: Tuple[str, ...] = ()  # the files config_file extends, nearest first
    project_root: Optional[str] = None  # what relative globs are anchored at
    # Where each setting came from, for --show-settings.
    origin: Dict[str, str] = field(default_factory=dict)
    # The run's resolver: which settings another file uses (see for_path).
    resolver: Optional[Callable[[str], "Settings"]] = field(default=None, repr=False, compare=False)
    _enabled: Dict[str, bool] = field(default_factory=dict, repr=False, compare=False)

    def layers(self) -> Tuple[Selection, ...]:
        if self.selections:
            return self.selections
        return (Selection(("ALL",)), Selection(tuple(self.select), tuple(self.ignore), tuple(self.extend_select)))

    @property
    def limits(self):
        """The per-file limits of a lint run (safeparse.Limits)."""
        return Limits(self.max_file_size, self.file_timeout)

    def enabled(self, code: str) -> bool:
        """ruff's rule selection over every layer (see Selection)."""
        known = self._enabled.get(code)
        if known is None:
            known = self._enabled[code] = enabled_by(code, self.layers())
        return known

    def for_path(self, path: str) -> "Settings":
        """The settings ``path`` uses: its closest configuration's, or these when nothing else applies."""
        return self.resolver(path) if self.resolver is not None else self

    @property
    def root(self) -> str:
        """The project root, which path globs are relative to: the config file's directory, else the current one."""
        if self.project_root:
            return self.project_root
        return os.path.dirname(self.config_file) if self.config_file else os.getcwd()

    def exclusions(self) -> List[str]:
        return self.exclude + self.extend_exclude

    def ignored_for(self, path: str) -> Tuple[str, ...]:
        """Codes silenced for this file by per-file-ignores (``!glob``: for the files it does not match)."""
        from fnmatch import fnmatch

        from tflint_save.discovery import project_path

        if not self.per_file_ignores:
            return ()
        rel = project_path(path, self.root)
        name = os.path.basename(path)
        full = os.path.abspath(path).replace(os.sep, "/")
        codes: List[str] = []
        for pattern, values in self.per_file_ignores.items():
            negated = pattern.startswith("!")
            glob = pattern[1:] if negated else pattern
            if (fnmatch(rel, glob) or fnmatch(name, glob) or fnmatch(full, glob)) != negated:
                codes.extend(values)
        return tuple(codes)


def _longest(code: str, prefixes: Iterable[str]) -> int:
    best = -1
    for prefix in prefixes:
        if prefix == "ALL":
            best = max(best, 0)
        elif code.startswith(prefix):
            best = max(best, len(prefix))
    return best


def check_codes(values: Sequence[str], known: Sequence[str], where: str) -> List[str]:
    """Codes from the command line: an unknown one is an error."""
    out = []
    for value in _normalized(values, where):
        if not _known(value, known):
            raise ConfigError(f"{where}: unknown rule code or prefix {value!r}")
        out.append(value)
    return out


def config_codes(values: Sequence[str], known: Sequence[str], where: str) -> List[str]:
    """Codes from a configuration file: an unknown one is a warning and left out, so that a
    configuration written for a newer tflint-save (with more rules) still works with this one."""
    out = []
    for value in _normalized(values, where):
        if _known(value, known):
            out.append(value)
        else:
            warn(f"{where}: unknown rule code or prefix {value!r}, ignored")
    return out


def _normalized(values: Sequence[str], where: str) -> List[str]:
    out = []
    for value in values:
        value = value.strip().upper()
        if not value:  # an empty prefix would match every code
            raise ConfigError(f"{where}: empty rule code")
        out.append(value)
    return out


def _known(value: str, known: Sequence[str]) -> bool:
    return value == "ALL" or any(code.startswith(value) for code in known)


_WARNED: set = set()


def warn(message: str) -> None:
    """A configuration warning, once per run however many files share the configuration."""
    if message not in _WARNED:
        _WARNED.add(message)
        sys.stderr.write(f"tflint-save: warning: {message}\n")


def option_codes(option: str, text: str, known: Sequence[str]) -> List[str]:
    """The codes of a --select, --ignore, --extend-select or --extend-ignore value, checked."""
    codes = split_codes(text)
    if option == "--select" and not codes:  # "$CODES" unset would silently check nothing
        raise ConfigError(f"--select: no rule code given in {text!r}")
    return check_codes(codes, known, option)


def split_codes(text: str) -> List[str]:
    return [part for part in (p.strip() for p in text.split(",")) if part]


def anchor(pattern: str, root: str) -> str:
    """A glob with a '/' is relative to ``root`` (ruff: ``project_root.join(pattern)``); one without
    stays a name pattern, matched against each file and directory name.  A leading ``!`` (a
    negated per-file-ignores glob) stays in front."""
    if pattern.startswith("!"):
        return "!" + anchor(pattern[1:], root)
    if "/" not in pattern.rstrip("/"):
        return pattern
    return posixpath.normpath(posixpath.join(root.replace(os.sep, "/"), pattern))


# -- configuration files ----------------------------------------------------------------------

_KEYS = {
    "extend": "path",
    "select": "codes",
    "ignore": "codes",
    "extend-select": "codes",
    "extend-ignore": "codes",
    "exclude": "strings",
    "extend-exclude": "strings",
    "per-file-ignores": "table",
    "extend-per-file-ignores": "table",
    "keras-version": "keras",
    "tf-use-legacy-keras": "bool",
    "respect-gitignore": "bool",
    "force-exclude": "bool",
    "max-file-size": "size",
    "file-timeout": "seconds",
    "custom-classes": "custom-classes",
}
CUSTOM_CLASSES = ("saved", "all")


def config_in(directory: str) -> Optional[str]:
    """The configuration file in ``directory`` itself, if any (see CONFIG_NAMES)."""
    for name in CONFIG_NAMES:
        candidate = os.path.join(directory, name)
        if os.path.isfile(candidate) and (name != "pyproject.toml" or _configures(candidate)):
            return candidate
    return None


def find_config(paths: Sequence[str]) -> Optional[str]:
    """The closest configuration file above the linted paths (their common directory)."""
    existing = [os.path.abspath(p) for p in paths if p != "-" and os.path.exists(p)]
    start = os.path.commonpath(existing) if existing else os.getcwd()
    return closest_config(start if os.path.isdir(start) else os.path.dirname(start))


def closest_config(directory: str, memo: Optional[Dict[str, Optional[str]]] = None) -> Optional[str]:
    """The configuration file in ``directory`` or the closest directory above it.

    ``memo`` keeps each directory's answer for the run: a walk asks once per directory.
    """
    memo = {} if memo is None else memo
    directory = os.path.abspath(directory)
    climbed = []
    found: Optional[str] = None
    while True:
        if directory in memo:
            found = memo[directory]
            break
        climbed.append(directory)
        found = config_in(directory)
        parent = os.path.dirname(directory)
        if found is not None or parent == directory:
            break
        directory = parent
    for seen in climbed:
        memo[seen] = found
    return found


def project_root(path: str) -> Optional[str]:
    """The root of the project ``path`` belongs to: the closest directory at or above it that
    holds a pyproject.toml (with our table or not: the project's metadata and declared
    dependencies live there) or one of our configuration files; None when there is none."""
    directory = os.path.abspath(path)
    if not os.path.isdir(directory):
        directory = os.path.dirname(directory)
    while True:
        if any(os.path.isfile(os.path.join(directory, name)) for name in CONFIG_NAMES):
            return directory
        parent = os.path.dirname(directory)
        if parent == directory:
            return None
        directory = parent


def _configures(path: str) -> bool:
    """The pyproject.toml has a [tool.tflint-save] table, not just the name (as a dependency, say).

    A file that cannot be parsed, or whose ``tool`` or ``tool.tflint-save`` is not a table,
    counts: loading it then reports the error instead of a config further up being used silently.
    """
    try:
        with open(path, "rb") as handle:
            raw = handle.read()
    except OSError:
        return False
    if SECTION.encode() not in raw:  # most pyproject.toml files: no need to parse them
        return False
    try:
        tool = tomllib.loads(raw.decode("utf-8")).get("tool", {})
    except (tomllib.TOMLDecodeError, UnicodeDecodeError):
        return True
    return not isinstance(tool, dict) or SECTION in tool


def _table(path: str) -> Tuple[Dict[str, Any], str]:
    """The raw settings of a configuration file and how messages name their table."""
    try:
        with open(path, "rb") as handle:
            data = tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read: {exc}") from None
    if os.path.basename(path) != "pyproject.toml":  # tflint-save.toml: top-level keys, like ruff.toml
        return data, ""
    tool = data.get("tool", {})
    if not isinstance(tool, dict):
        raise ConfigError(f"{path}: tool must be a table ([tool.{SECTION}]), got {type(tool).__name__}")
    table = tool.get(SECTION, {})
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: [tool.{SECTION}] must be a table, got {type(table).__name__}")
    return table, f"[tool.{SECTION}] "


def load_config(path: str, known_codes: Sequence[str], anchor_dir: Optional[str] = None) -> Dict[str, Any]:
    """Read and validate one configuration file; any problem is a ConfigError naming the file.

    Globs come back anchored at ``anchor_dir`` (default: the file's directory) and ``extend``
    as an absolute path.
    """
    table, prefix = _table(path)
    here = os.path.dirname(os.path.abspath(path))
    root = anchor_dir or here
    out: Dict[str, Any] = {}
    for key, value in table.items():
        kind = _KEYS.get(key)
        where = f"{path}: {prefix}{key}"
        if kind is None:
            raise ConfigError(f"{path}: {prefix}unknown key {key!r} (known: {', '.join(sorted(_KEYS))})")
        if kind in ("codes", "strings"):
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise ConfigError(f"{where}: expected a list of strings, got {_not_strings(value)}")
            out[key] = (config_codes(value, known_codes, where) if kind == "codes"
                        else [anchor(v, root) for v in value])
        elif kind == "table":
            if not isinstance(value, dict):
                raise ConfigError(f"{where}: expected a table of glob = [codes], got {type(value).__name__}")
            table_out = {}
            for pattern, codes in value.items():
                if not isinstance(codes, list) or not all(isinstance(c, str) for c in codes):
                    raise ConfigError(f"{where}.{pattern!r}: expected a list of codes, got {_not_strings(codes)}")
                table_out[anchor(pattern, root)] = config_codes(codes, known_codes, f"{where}.{pattern!r}")
            out[key] = table_out
        elif kind == "bool":
            if not isinstance(value, bool):
                raise ConfigError(f"{where}: expected true or false, got {value!r}")
            out[key] = value
        elif kind == "path":
            if not isinstance(value, str) or not value.strip():
                raise ConfigError(f"{where}: expected the path of a configuration file, got {value!r}")
            out[key] = os.path.normpath(os.path.join(here, os.path.expanduser(value)))
        elif kind == "size":
            out[key] = parse_size(value, where)
        elif kind == "seconds":
            out[key] = parse_seconds(value, where)
        elif kind == "custom-classes":
            if value not in CUSTOM_CLASSES:
                raise ConfigError(f"{where}: expected \"saved\" or \"all\", got {value!r}")
            out[key] = value
        else:
            out[key] = parse_keras_version(value, where)
    return out


def _not_strings(value: Any) -> str:
    """What is wrong with a value that should be a list of strings: ``int 1 in the list``, or its type."""
    if isinstance(value, list):
        bad = next(v for v in value if not isinstance(v, str))
        return f"{type(bad).__name__} {bad!r} in the list"
    return type(value).__name__


def parse_keras_version(value: Any, where: str) -> str:
    text = str(value).strip().lower() if not isinstance(value, bool) else ""
    if text not in ("2", "3", "auto"):
        raise ConfigError(f"{where}: expected 2, 3 or \"auto\", got {value!r}")
    return text


_UNITS = {"": 1, "b": 1, "kb": 1024, "k": 1024, "mb": 1024 ** 2, "m": 1024 ** 2, "gb": 1024 ** 3, "g": 1024 ** 3}


def parse_size(value: Any, where: str) -> int:
    """A size in bytes: a whole number, or a string such as "4MB" or "512 KB" (units of 1024)."""
    text = str(value).strip().lower() if isinstance(value, (int, str)) and not isinstance(value, bool) else ""
    number = text.rstrip("bkmg ").strip()
    unit = text[len(number):].strip()
    try:
        size = int(float(number) * _UNITS[unit]) if number else 0
    except (ValueError, KeyError):
        size = 0
    if size < 1:
        raise ConfigError(f"{where}: expected a size such as 2MB, 512KB or a number of bytes, got {value!r}")
    return size


def parse_seconds(value: Any, where: str) -> float:
    try:
        seconds = float(value) if not isinstance(value, bool) else 0.0
    except (TypeError, ValueError):
        seconds = 0.0
    if not seconds > 0:
        raise ConfigError(f"{where}: expected a number of seconds above 0, got {value!r}")
    return seconds


def _chain(path: str, known_codes: Sequence[str], anchor_dir: Optional[str] = None) -> List[Tuple[str, Dict[str, Any]]]:
    """The file and the files it extends, the base first; a cycle or a missing file is an error."""
    chain: List[Tuple[str, Dict[str, Any]]] = []
    current: Optional[str] = os.path.abspath(path)
    while current is not None:
        if any(current == seen for seen, _ in chain):
            names = " extends ".join(seen for seen, _ in chain) + f" extends {current}"
            raise ConfigError(f"circular configuration: {names}")
        if not os.path.isfile(current):
            if not chain:
                raise ConfigError(f"config file not found: {path}")
            raise ConfigError(f"{chain[-1][0]}: extend: no such file {current}")
        values = load_config(current, known_codes, anchor_dir)
        chain.append((current, values))
        current = values.get("extend")
    return chain[::-1]


# -- resolution ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Overrides:
    """What the command line sets; it applies on top of every file's configuration."""

    selection: Selection = Selection(origin="command line")
    exclude: Optional[Tuple[str, ...]] = None
    extend_exclude: Tuple[str, ...] = ()
    keras_version: Optional[str] = None
    respect_gitignore: Optional[bool] = None
    force_exclude: Optional[bool] = None
    max_file_size: Optional[int] = None
    file_timeout: Optional[float] = None
    custom_classes: Optional[str] = None


def overrides_from(args: Any, known_codes: Sequence[str]) -> Overrides:
    """The command line's settings, checked (an unknown code there is an error, as in ruff)."""
    codes = {}
    for key in ("select", "ignore", "extend_select", "extend_ignore"):
        value = getattr(args, key, None)
        if value is not None:
            codes[key] = tuple(option_codes("--" + key.replace("_", "-"), value, known_codes))
    selection = Selection(codes.get("select"), codes.get("ignore", ()) + codes.get("extend_ignore", ()),
                          codes.get("extend_select", ()), "command line")
    cwd = os.getcwd()
    exclude = getattr(args, "exclude", None)
    extend_exclude = getattr(args, "extend_exclude", None)
    keras = getattr(args, "keras_version", None)
    size, timeout = getattr(args, "max_file_size", None), getattr(args, "file_timeout", None)
    return Overrides(
        selection=selection,
        exclude=tuple(anchor(p, cwd) for p in split_codes(exclude)) if exclude is not None else None,
        extend_exclude=tuple(anchor(p, cwd) for p in split_codes(extend_exclude or "")),
        keras_version=parse_keras_version(keras, "--keras-version") if keras is not None else None,
        respect_gitignore=getattr(args, "respect_gitignore", None),
        force_exclude=getattr(args, "force_exclude", None),
        max_file_size=parse_size(size, "--max-file-size") if size is not None else None,
        file_timeout=parse_seconds(timeout, "--file-timeout") if timeout is not None else None,
        custom_classes=getattr(args, "custom_classes", None),
    )


def settings_from(config_file: Optional[str], overrides: Overrides, known_codes: Sequence[str],
                  root: Optional[str] = None, plans: Optional[Dict[bool, Any]] = None) -> Settings:
    """One configuration (with what it extends) under the command line's overrides.

    ``root`` anchors the configuration's globs and names the project root; by default each
    file's own directory.  As in ruff, each key of a file replaces its base's, except that
    the rule selections, extend-exclude and extend-per-file-ignores add up.
    """
    origin = {key: "default" for key in _KEYS if key not in ("extend", "extend-ignore", "extend-per-file-ignores")}
    settings = Settings(selections=(Selection(("ALL",)),), config_file=config_file and os.path.abspath(config_file))
    chain = _chain(config_file, known_codes, root) if config_file else []
    settings.extends = tuple(path for path, _ in chain[-2::-1])
    settings.project_root = root
    for path, values in chain:  # the base first
        _apply_file(settings, origin, path, values)
    _apply_overrides(settings, origin, overrides)
    if settings.keras_version_setting == "auto":
        from tflint_save import kerasversion

        # One plan per run (and TF_USE_LEGACY_KERAS setting): it reads each directory once.
        plans = {} if plans is None else plans
        if settings.tf_use_legacy_keras not in plans:
            plans[settings.tf_use_legacy_keras] = kerasversion.Plan(legacy=settings.tf_use_legacy_keras)
        settings.keras_plan = plans[settings.tf_use_legacy_keras]
        # Each file's version comes from keras_plan; this one is the project root's.
        settings.keras_version = settings.keras_plan.for_directory(settings.root).version
    else:
        settings.keras_version = int(settings.keras_version_setting)
    # The flat lists, for --show-settings: every layer's codes (``rules`` there shows the outcome).
    settings.select = [c for layer in settings.selections[1:] for c in layer.select or ()] or ["ALL"]
    settings.ignore = [c for layer in settings.selections for c in layer.ignore]
    settings.extend_select = [c for layer in settings.selections for c in layer.extend_select]
    settings.origin = origin
    return settings


_SCALARS = (("keras-version", "keras_version_setting"), ("respect-gitignore", "respect_gitignore"),
            ("force-exclude", "force_exclude"), ("max-file-size", "max_file_size"),
            ("file-timeout", "file_timeout"), ("custom-classes", "custom_classes"))  # the command line sets these too
_FILE_ONLY = (("tf-use-legacy-keras", "tf_use_legacy_keras"),)


def _apply_file(settings: Settings, origin: Dict[str, str], path: str, values: Dict[str, Any]) -> None:
    """One configuration file's values over what its bases set."""
    select = values.get("select")
    settings.selections += (Selection(tuple(select) if select is not None else None,
                                      tuple(values.get("ignore", ())) + tuple(values.get("extend-ignore", ())),
                                      tuple(values.get("extend-select", ())), path),)
    for key in ("select", "ignore", "extend-select"):
        if key in values or (key == "ignore" and "extend-ignore" in values):
            origin[key] = _joined(origin[key], path)
    if "exclude" in values:
        settings.exclude, origin["exclude"] = list(values["exclude"]), path
    if "extend-exclude" in values:
        settings.extend_exclude += values["extend-exclude"]
        origin["extend-exclude"] = _joined(origin["extend-exclude"], path)
    if "per-file-ignores" in values:
        settings.per_file_ignores, origin["per-file-ignores"] = dict(values["per-file-ignores"]), path
    for pattern, codes in values.get("extend-per-file-ignores", {}).items():
        settings.per_file_ignores = {**settings.per_file_ignores,
                                     pattern: settings.per_file_ignores.get(pattern, []) + codes}
        origin["per-file-ignores"] = _joined(origin["per-file-ignores"], path)
    for key, attr in _SCALARS + _FILE_ONLY:
        if key in values:
            setattr(settings, attr, values[key])
            origin[key] = path


def _apply_overrides(settings: Settings, origin: Dict[str, str], overrides: Overrides) -> None:
    """The command line, last: its selection is one more layer, its other values win."""
    cli = overrides.selection
    if cli.select is not None or cli.ignore or cli.extend_select:
        settings.selections += (cli,)
        for key, given in (("select", cli.select is not None), ("ignore", bool(cli.ignore)),
                           ("extend-select", bool(cli.extend_select))):
            if given:
                origin[key] = _joined(origin[key], "command line")
    if overrides.exclude is not None:
        settings.exclude, origin["exclude"] = list(overrides.exclude), "command line"
    if overrides.extend_exclude:
        settings.extend_exclude += list(overrides.extend_exclude)
        origin["extend-exclude"] = _joined(origin["extend-exclude"], "command line")
    for key, attr in _SCALARS:
        value = getattr(overrides, "keras_version" if key == "keras-version" else attr)
        if value is not None:
            setattr(settings, attr, value)
            origin[key] = "command line"


def _joined(before: str, now: str) -> str:
    return now if before == "default" else f"{before}, {now}"


class Resolver:
    """Which settings each file uses, found and loaded once per directory and file."""

    def __init__(self, overrides: Overrides, known_codes: Sequence[str], config_file: Optional[str] = None,
                 isolated: bool = False):
        self.overrides = overrides
        self.known_codes = list(known_codes)
        self.fixed = config_file is not None or isolated
        self._loaded: Dict[Optional[str], Settings] = {}
        self._dirs: Dict[str, Optional[str]] = {}
        self._plans: Dict[bool, Any] = {}
        if isolated:  # --isolated: no configuration file at all, as ruff's
            self.root = self._settings(None, root=os.getcwd())
        elif config_file is not None:
            # --config: one configuration for every file, its globs relative to the current
            # directory, as ruff does (ESLint's rule).
            if not os.path.isfile(config_file):
                raise ConfigError(f"config file not found: {config_file}")
            self.root = self._settings(os.path.abspath(config_file), root=os.getcwd())
        else:
            self.root = self._settings(closest_config(os.getcwd(), self._dirs))

    def _settings(self, config_file: Optional[str], root: Optional[str] = None) -> Settings:
        settings = self._loaded.get(config_file)
        if settings is None:
            settings = settings_from(config_file, self.overrides, self.known_codes, root, self._plans)
            settings.resolver = self.settings_for
            self._loaded[config_file] = settings
        return settings

    def settings_for(self, path: str) -> Settings:
        """The settings of the closest configuration at or above ``path``, else the root's."""
        if self.fixed:
            return self.root
        directory = os.path.dirname(os.path.abspath(path))
        found = closest_config(directory, self._dirs)
        return self._settings(found) if found is not None else self.root


def resolve(args: Any, known_codes: Sequence[str]) -> Settings:
    """The run's root settings (defaults, the configuration, the command line); their
    ``for_path`` gives each file's own."""
    config_file, isolated = getattr(args, "config", None), getattr(args, "isolated", False)
    if config_file is not None and isolated:
        raise ConfigError("--config and --isolated cannot be used together")
    return Resolver(overrides_from(args, known_codes), known_codes, config_file, isolated).root

