"""The result cache: an unchanged file costs one hash on the next run.

Each linted file's ``FileResult`` (its findings, deferred findings and its share of the project
index) is stored as JSON under ``<cache dir>/<salt>/<key>.json``; the summaries of a project's
files that a run only read for the program model, in one ``summaries-<project>.json`` beside them.  The salt covers what
makes a file's result differ besides its content: the cache format, the tool (its version
and its own source, so an edited rule never serves stale results), the enabled rules and
the Keras version (a file whose own configuration changes these gets keys from a
``variant`` salted with its own); the key adds the path as given (findings carry it, and the module name
the index uses comes from it) and the file's bytes.  Project-level decisions (``settle``)
are never cached: they are redone from every file's result on every run.

JSON rather than pickle: a cache directory that came with a checkout must not be able to
run code.  Any problem with the cache (unreadable, corrupt, unwritable) is a warning and
the file is linted as if there were no cache.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import sys
from functools import lru_cache
from typing import Any, Dict, List, Optional, Sequence, Tuple

from tflint_save import __version__, modulefacts
from tflint_save.findings import FileResult, Finding, Pending, facts_from_json, facts_to_json, plain, tuples
from tflint_save.source import write_atomic

DIR_NAME = ".tflint_save_cache"
FORMAT = "3"
# Marks the directory as a cache for backup tools (https://bford.info/cachedir/); discovery
# never descends into a directory holding it.
TAG_NAME = "CACHEDIR.TAG"  # discovery.CACHE_TAG
_TAG = "Signature: 8a477f597d28d172789f06886806bc55\n# tflint-save cache: safe to delete.\n"


def default_dir(config_file: Optional[str]) -> str:
    """Next to the config file (the project root), else in the current directory."""
    base = os.path.dirname(os.path.abspath(config_file)) if config_file else os.getcwd()
    return os.path.join(base, DIR_NAME)


def for_run(settings, rules: Sequence[Any], cache_dir: Optional[str] = None) -> "FileCache":
    """The cache for a run with these settings and enabled rule classes."""
    return FileCache(cache_dir or default_dir(settings.config_file), settings.keras_version,
                     [r.code for r in rules], settings.max_file_size)


@lru_cache(maxsize=1)
def tool_digest() -> str:
    """The version and the package's own source: a changed rule invalidates the cache."""
    digest = hashlib.blake2b(__version__.encode(), digest_size=16)
    root = os.path.dirname(os.path.abspath(__file__))
    for folder, dirs, names in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        for name in sorted(names):
            if name.endswith(".py"):
                path = os.path.join(folder, name)
                digest.update(os.path.relpath(path, root).encode())
                try:
                    with open(path, "rb") as handle:
                        digest.update(handle.read())
                except OSError:
                    digest.update(b"?")
    return digest.hexdigest()


class FileCache:
    """One run's view of the cache directory; collects warnings instead of raising."""

    def __init__(self, root: str, keras_version: int, rule_codes: Sequence[str], max_file_size: int = 0):
        self.root = root
        # A file over max-file-size is a TFS001 instead of its findings.
        salt = "\0".join([FORMAT, tool_digest(), str(keras_version), ",".join(sorted(rule_codes)), str(max_file_size)])
        self.salt = hashlib.blake2b(salt.encode(), digest_size=8).hexdigest()
        self.folder = os.path.join(root, self.salt)
        self.warnings: List[str] = []
        self._writable: Optional[bool] = None
        self._variants: Dict[str, "FileCache"] = {}

    def variant(self, keras_version: int, rule_codes: Sequence[str], max_file_size: int = 0) -> "FileCache":
        """The keys for files whose own configuration sets another Keras version, other
        rules or another max-file-size (entries go in this cache's folder: only keys are
        taken from it)."""
        name = f"{keras_version}:{','.join(sorted(rule_codes))}:{max_file_size}"
        if name not in self._variants:
            self._variants[name] = FileCache(self.root, keras_version, rule_codes, max_file_size)
        return self._variants[name]

    def key(self, path: str, data: bytes, variant: str = "") -> str:
        """``variant``: what else the file's result depends on (its project's Keras version)."""
        digest = hashlib.blake2b(self.salt.encode(), digest_size=20)
        digest.update(variant.encode("utf-8", "surrogateescape"))
        digest.update(b"\0")
        digest.update(path.encode("utf-8", "surrogateescape"))
        digest.update(b"\0")
        digest.update(data)
        return digest.hexdigest()

    def key_of(self, path: str, variant: str = "") -> Optional[str]:
        """The key for a file as it is on disk now; None when it cannot be read."""
        try:
            with open(path, "rb") as handle:
                return self.key(path, handle.read(), variant)
        except OSError:
            return None

    def get(self, key: str) -> Optional[FileResult]:
        entry = os.path.join(self.folder, key + ".json")
        try:
            with open(entry, "rb") as handle:
                raw = handle.read()
        except (FileNotFoundError, NotADirectoryError):  # no entry, or no cache at all
            return None
        except OSError as exc:
            self._warn(f"cannot read the cache in {self.folder}: {exc.strerror or exc}; linting again")
            return None
        try:
            stored = json.loads(raw)
            if stored.get("key") != key:
                raise ValueError("key mismatch")
            return result_from_json(stored["result"])
        except Exception:  # any damage at all: the file is linted again
            self._warn(f"ignoring corrupt entries in the cache {self.folder}")
            return None

    def put(self, key: str, result: FileResult) -> None:
        if self._writable is False or result.error:  # a crash or a timeout may not recur: lint it again
            return
        try:
            text = json.dumps({"key": key, "result": result_to_json(result)}, separators=(",", ":"))
        except (TypeError, ValueError):  # a rule put something that is not JSON in a finding's facts
            return
        self._write(os.path.join(self.folder, key + ".json"), text)

    # -- the summaries of a project's other files ------------------------------------------
    # A pre-commit run reads every other file of the project for the program model.  Their
    # summaries go in one file per project rather than one per file: a cold run wrote 2,763
    # entries in 1.7 s, longer than reading the files took on 2 CPUs.

    def summaries(self, root: str) -> Dict[str, Tuple[str, Dict[str, Any]]]:
        """The summaries the last run read in the project at ``root``: path -> (its key, the
        summary as JSON).  Empty when there are none or they cannot be read."""
        try:
            with open(self._pack(root), "rb") as handle:
                stored = json.loads(handle.read())
            if stored.get("root") != root:
                raise ValueError("another project")
            return {path: (key, summary) for path, (key, summary) in stored["entries"].items()}
        except (FileNotFoundError, NotADirectoryError):
            return {}
        except OSError as exc:
            self._warn(f"cannot read the cache in {self.folder}: {exc.strerror or exc}; reading the files again")
            return {}
        except Exception:  # any damage at all: every file is read again
            self._warn(f"ignoring corrupt entries in the cache {self.folder}")
            return {}

    def put_summaries(self, root: str, entries: Dict[str, Tuple[str, Dict[str, Any]]]) -> None:
        self._write(self._pack(root), json.dumps({"root": root, "entries": entries}, separators=(",", ":")))

    def _pack(self, root: str) -> str:
        name = hashlib.blake2b(root.encode("utf-8", "surrogateescape"), digest_size=8).hexdigest()
        return os.path.join(self.folder, f"summaries-{name}.json")

    def _write(self, path: str, text: str) -> None:
        if self._writable is None:
            self._writable = self._prepare()
        if not self._writable:
            return
        try:
            write_atomic(path, text.encode("utf-8"))
        except OSError as exc:
            self._writable = False
            self._warn(f"cannot write to cache directory {self.root}: {exc.strerror or exc}; continuing without it")

    def _prepare(self) -> bool:
        try:
            os.makedirs(self.folder, exist_ok=True)
            for name, text in ((TAG_NAME, _TAG), (".gitignore", "# Created by tflint-save.\n*\n")):
                path = os.path.join(self.root, name)
                if not os.path.exists(path):
                    with open(path, "w", encoding="utf-8") as out:
                        out.write(text)
            return True
        except OSError as exc:
            self._warn(f"cannot write to cache directory {self.root}: {exc.strerror or exc}; continuing without it")
            return False

    def _warn(self, message: str) -> None:
        if message not in self.warnings:
            self.warnings.append(message)
            sys.stderr.write(f"tflint-save: warning: {message}\n")


# -- FileResult <-> JSON ----------------------------------------------------------------------

def result_to_json(result: FileResult) -> Dict[str, Any]:
    """Every field as plain JSON values; each finding's facts as [type name, their mapping]."""
    out = {}
    for f in dataclasses.fields(result):
        value = getattr(result, f.name)
        if f.name == "findings":
            value = [_finding_to_json(x) for x in value]
        elif f.name == "pending":
            value = [{"code": p.code, "finding": _finding_to_json(p.finding)} for p in value]
        elif f.name == "modules":  # a notebook's %%writefile modules: results too, facts typed
            value = [result_to_json(m) for m in value]
        else:
            value = plain(value)
        out[f.name] = value
    return out


def _finding_to_json(finding: Finding) -> Dict[str, Any]:
    out = {f.name: plain(getattr(finding, f.name)) for f in dataclasses.fields(finding) if f.name != "data"}
    out["data"] = facts_to_json(finding.data)
    return out


def _finding(raw: Dict[str, Any]) -> Finding:
    return Finding(**dict(raw, data=facts_from_json(raw["data"])))


def result_from_json(raw: Dict[str, Any]) -> FileResult:
    """The inverse of ``result_to_json``: JSON lists become the tuples the dataclasses hold."""
    values: Dict[str, Any] = {}
    for name, value in raw.items():
        if name == "findings":
            value = [_finding(f) for f in value]
        elif name == "pending":
            value = [Pending(p["code"], _finding(p["finding"])) for p in value]
        elif name == "summary":
            value = modulefacts.from_json(value) if value is not None else None
        elif name == "modules":
            value = [result_from_json(m) for m in value]
        elif isinstance(value, list):
            value = [tuples(v) for v in value]
        values[name] = value
    return FileResult(**values)
