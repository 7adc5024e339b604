"""Reading a file's bytes and decoding them the way Python itself does; writing files atomically."""

from __future__ import annotations

import io
import os
import tempfile
import tokenize
from contextlib import suppress
from typing import Optional


class SourceError(Exception):
    """The file cannot be read or decoded; the message says why, for a TFS001 finding."""

    def __init__(self, message: str, line: int = 1, col: int = 1):
        super().__init__(message)
        self.line = line
        self.col = col


def decode(data: bytes) -> str:
    """Decode Python source bytes honouring a UTF-8 BOM and a PEP 263 coding cookie."""
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    except SyntaxError as exc:  # unknown encoding named in the cookie, or BOM + other cookie
        raise SourceError(str(exc)) from None
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        col = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise SourceError(
            f"not valid {encoding}: byte 0x{data[exc.start]:02x} at offset {exc.start}", line, col
        ) from None
    if text.startswith("\ufeff"):
        text = text[1:]
    return text


def read(path: str) -> tuple[bytes, str]:
    """Return the file's raw bytes and its decoded text."""
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError as exc:
        raise SourceError(f"cannot read file: {exc.strerror or exc}") from None
    return data, decode(data)


def write_atomic(path: str, data: bytes, mode: Optional[int] = None) -> None:
    """Replace ``path`` with ``data`` in one step: a reader (another run, an editor) sees the old
    file or the new one, never half of one.  ``mode``: the permissions to give the new file.
    Raises OSError, and then leaves no temporary file behind."""
    folder, name = os.path.split(path)
    handle, temp = tempfile.mkstemp(dir=folder or os.curdir, prefix=f".{name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        if mode is not None:
            os.chmod(temp, mode)
        os.replace(temp, path)
    except BaseException:
        with suppress(OSError):
            os.unlink(temp)
        raise
