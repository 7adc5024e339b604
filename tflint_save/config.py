"""Settings: defaults, ``[tool.tflint-save]`` in pyproject.toml, then the command line."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple

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


class ConfigError(Exception):
    """Bad configuration or usage: printed as one line, exit code 2."""


@dataclass
class Settings:
    select: List[str] = field(default_factory=lambda: ["ALL"])
    ignore: List[str] = field(default_factory=list)
    extend_select: List[str] = field(default_factory=list)
    exclude: List[str] = field(default_factory=lambda: list(DEFAULT_EXCLUDE))
    extend_exclude: List[str] = field(default_factory=list)
    per_file_ignores: Dict[str, List[str]] = field(default_factory=dict)
    keras_version: int = 3
    keras_version_setting: str = "auto"
    tf_use_legacy_keras: bool = False
    # With keras-version "auto": each file's version, from its project (kerasversion.Plan).
    keras_plan: Optional[Any] = None
    # TFS301-TFS304: "saved" judges classes that reach a save or are library API; "all" every class.
    custom_classes: str = "saved"
    config_file: Optional[str] = None
    # Where each setting came from, for --show-settings.
    origin: Dict[str, str] = field(default_factory=dict)

    def enabled(self, code: str) -> bool:
        """ruff's rule: the most specific matching prefix wins; at a tie, ignore wins.  An opt-in
        rule needs a selection that names it or its family: not ALL, the default, nor TFS."""
        chosen = _longest(code, self.select + self.extend_select)
        ignored = _longest(code, self.ignore)
        if code in OPT_IN and chosen <= len(PREFIX):
            return False
        return chosen >= 0 and chosen > ignored

    @property
    def root(self) -> str:
        """The project root, which path globs are relative to: the config file's directory, else the current one."""
        return os.path.dirname(self.config_file) if self.config_file else os.getcwd()

    def ignored_for(self, path: str) -> Tuple[str, ...]:
        """Codes silenced for this file by per-file-ignores."""
        from fnmatch import fnmatch

        from tflint_save.discovery import project_path

        if not self.per_file_ignores:
            return ()
        rel = project_path(path, self.root)
        name = os.path.basename(path)
        codes: List[str] = []
        for pattern, values in self.per_file_ignores.items():
            if fnmatch(rel, pattern) or fnmatch(name, pattern) or fnmatch(path.replace(os.sep, "/"), pattern):
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
    out = []
    for value in values:
        value = value.strip().upper()
        if not value:  # an empty prefix would match every code
            raise ConfigError(f"{where}: empty rule code")
        if value != "ALL" and not any(code.startswith(value) for code in known):
            raise ConfigError(f"{where}: unknown rule code or prefix {value!r}")
        out.append(value)
    return out


def option_codes(option: str, text: str, known: Sequence[str]) -> List[str]:
    """The codes of a --select, --ignore or --extend-select value, checked."""
    codes = split_codes(text)
    if option == "--select" and not codes:  # "$CODES" unset would silently check nothing
        raise ConfigError(f"--select: no rule code given in {text!r}")
    return check_codes(codes, known, option)


def split_codes(text: str) -> List[str]:
    return [part for part in (p.strip() for p in text.split(",")) if part]


# -- pyproject.toml ---------------------------------------------------------------------

_KEYS = {
    "select": "codes",
    "ignore": "codes",
    "extend-select": "codes",
    "exclude": "strings",
    "extend-exclude": "strings",
    "per-file-ignores": "table",
    "keras-version": "keras",
    "tf-use-legacy-keras": "bool",
    "custom-classes": "custom-classes",
}
CUSTOM_CLASSES = ("saved", "all")


def find_config(paths: Sequence[str]) -> Optional[str]:
    """The nearest pyproject.toml with a [tool.tflint-save] table above the linted paths."""
    existing = [os.path.abspath(p) for p in paths if p != "-" and os.path.exists(p)]
    start = os.path.commonpath(existing) if existing else os.getcwd()
    if os.path.isfile(start):
        start = os.path.dirname(start)
    current = start
    while True:
        candidate = os.path.join(current, "pyproject.toml")
        if os.path.isfile(candidate):
            try:
                with open(candidate, "rb") as handle:
                    raw = handle.read()
            except OSError:
                raw = b""
            if (b"tool.tflint-save" in raw or b'"tflint-save"' in raw) and _configures(raw):
                return candidate
        parent = os.path.dirname(current)
        if parent == current:
            return None
        current = parent


def _configures(raw: bytes) -> bool:
    """The file has a [tool.tflint-save] table, not just the name (as a dependency, say).

    A file that cannot be parsed, or whose ``tool`` is not a table, counts: load_config
    then reports the error instead of a config further up being used silently.
    """
    try:
        tool = tomllib.loads(raw.decode("utf-8")).get("tool", {})
    except (tomllib.TOMLDecodeError, UnicodeDecodeError):
        return True
    return not isinstance(tool, dict) or SECTION in tool


def load_config(path: str, known_codes: Sequence[str]) -> Dict[str, Any]:
    """Read and validate [tool.tflint-save]; any problem is a ConfigError naming the file."""
    try:
        with open(path, "rb") as handle:
            data = tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read: {exc}") from None
    tool = data.get("tool", {})
    if not isinstance(tool, dict):
        raise ConfigError(f"{path}: tool must be a table ([tool.{SECTION}]), got {type(tool).__name__}")
    table = tool.get(SECTION, {})
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: [tool.{SECTION}] must be a table")
    out: Dict[str, Any] = {}
    for key, value in table.items():
        kind = _KEYS.get(key)
        where = f"{path}: [tool.{SECTION}] {key}"
        if kind is None:
            raise ConfigError(f"{path}: [tool.{SECTION}] unknown key {key!r} (known: {', '.join(sorted(_KEYS))})")
        if kind in ("codes", "strings"):
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise ConfigError(f"{where}: expected a list of strings, got {_not_strings(value)}")
            out[key] = check_codes(value, known_codes, where) if kind == "codes" else list(value)
        elif kind == "table":
            if not isinstance(value, dict):
                raise ConfigError(f"{where}: expected a table of glob = [codes], got {type(value).__name__}")
            table_out = {}
            for pattern, codes in value.items():
                if not isinstance(codes, list) or not all(isinstance(c, str) for c in codes):
                    raise ConfigError(f"{where}.{pattern!r}: expected a list of codes, got {_not_strings(codes)}")
                table_out[pattern] = check_codes(codes, known_codes, f"{where}.{pattern!r}")
            out[key] = table_out
        elif kind == "bool":
            if not isinstance(value, bool):
                raise ConfigError(f"{where}: expected true or false, got {value!r}")
            out[key] = value
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


def resolve(args: Any, known_codes: Sequence[str]) -> Settings:
    """Merge defaults, the config file and the command line (which wins)."""
    settings = Settings()
    origin = {key: "default" for key in _KEYS}
    path = args.config or find_config(args.paths)
    if path:
        if not os.path.isfile(path):
            raise ConfigError(f"config file not found: {path}")
        values = load_config(path, known_codes)
        settings.config_file = os.path.abspath(path)
        for key, value in values.items():
            setattr(settings, key.replace("-", "_") if key != "keras-version" else "keras_version_setting", value)
            origin[key] = path
    for key, attr in (("select", "select"), ("ignore", "ignore"), ("extend-select", "extend_select")):
        value = getattr(args, attr)
        if value is not None:
            setattr(settings, attr, option_codes(f"--{key}", value, known_codes))
            origin[key] = "command line"
    for key, attr in (("exclude", "exclude"), ("extend-exclude", "extend_exclude")):
        value = getattr(args, attr)
        if value is not None:
            setattr(settings, attr, split_codes(value))
            origin[key] = "command line"
    if getattr(args, "custom_classes", None) is not None:
        settings.custom_classes = args.custom_classes
        origin["custom-classes"] = "command line"
    if args.keras_version is not None:
        settings.keras_version_setting = parse_keras_version(args.keras_version, "--keras-version")
        origin["keras-version"] = "command line"
    if settings.keras_version_setting == "auto":
        from tflint_save import kerasversion

        settings.keras_plan = kerasversion.Plan(legacy=settings.tf_use_legacy_keras)
        # Each file's version comes from keras_plan; this one is the project root's.
        settings.keras_version = settings.keras_plan.for_directory(settings.root).version
    else:
        settings.keras_version = int(settings.keras_version_setting)
    settings.origin = origin
    return settings
