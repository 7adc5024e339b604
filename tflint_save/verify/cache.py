"""The verify cache: one small JSON file per result, keyed by the check, its facts and the versions."""

from __future__ import annotations

import hashlib
import json
import os
from typing import Any, Dict, List, Optional, Tuple

from tflint_save.source import write_atomic
from tflint_save.verify.workers import STATUSES

# Bump when what a cached result means changes (worker isolation, job format).
CACHE_VERSION = 2  # 2: call-site arguments are read as literals only, never evaluated


def job_key(snippet: str, facts: Dict[str, Any], versions: Tuple[str, str]) -> str:
    payload = json.dumps(
        {"v": CACHE_VERSION, "snippet": snippet, "facts": facts, "tensorflow": versions[0], "keras": versions[1]},
        sort_keys=True, default=str,
    )
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


class Cache:
    """One small JSON file per result, under ``<dir>/verify/``; unreadable entries are ignored."""

    def __init__(self, folder: str):
        self.folder = os.path.join(folder, "verify")
        self.corrupt = 0
        self.write_error: Optional[str] = None

    def _path(self, key: str) -> str:
        return os.path.join(self.folder, key[:2], key + ".json")

    def get(self, key: str) -> Optional[Dict[str, Any]]:
        try:
            with open(self._path(key), encoding="utf-8") as handle:
                value = json.load(handle)
            if value.get("status") in STATUSES and isinstance(value.get("evidence"), str):
                return {"status": value["status"], "evidence": value["evidence"],
                        "seconds": float(value.get("seconds", 0.0))}
        except FileNotFoundError:
            return None
        except (OSError, ValueError, AttributeError, TypeError):
            pass
        self.corrupt += 1
        return None

    def put(self, key: str, result: Dict[str, Any]) -> None:
        path = self._path(key)
        data = json.dumps({k: result[k] for k in ("status", "evidence", "seconds")}).encode("utf-8")
        try:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            write_atomic(path, data)
        except OSError as exc:
            self.write_error = self.write_error or str(exc)

    def warnings(self) -> List[str]:
        out = []
        if self.corrupt:
            out.append(f"tflint-save: warning: ignored {self.corrupt} unreadable entr"
                       f"{'y' if self.corrupt == 1 else 'ies'} in the verify cache {self.folder}")
        if self.write_error:
            out.append(f"tflint-save: warning: could not write the verify cache: {self.write_error}")
        return out
