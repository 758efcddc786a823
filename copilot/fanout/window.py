"""A path whose ``open`` shows one byte range of the file (a CSV header line first).

atc's readers open their input with ``path.open("rb")`` (through
``copilot.logs.sources.open_binary``) and name it with ``str(path)``, so a
``WindowPath`` lets the unchanged readers read a byte range as if it were a
whole file, quarantine samples naming the real file, with no copy. Line
numbers are counted from the window's first line; the merge shifts them.
The fan-out equality tests would catch a reader that stopped going through
``Path.open`` (it would read the whole file once per range).
"""

from __future__ import annotations

import io
from pathlib import PosixPath
from typing import IO, Any

BUFFER = 1 << 20


class _RangeIO(io.RawIOBase):
    """Raw reads of ``prefix`` and then bytes ``[start, end)`` of a file."""

    def __init__(self, path: str, start: int, end: int, prefix: bytes) -> None:
        self._fh = open(path, "rb", buffering=0)  # noqa: SIM115 - closed with this object
        self._fh.seek(start)
        self._left = end - start
        self._prefix = prefix

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self._prefix:
            n = min(len(buffer), len(self._prefix))
            buffer[:n] = self._prefix[:n]
            self._prefix = self._prefix[n:]
            return n
        if self._left <= 0:
            return 0
        got = self._fh.readinto(memoryview(buffer)[: min(len(buffer), self._left)]) or 0
        self._left -= got
        return got

    def close(self) -> None:
        self._fh.close()
        super().close()


class WindowPath(PosixPath):
    """``path`` opened as bytes ``[start, end)`` with ``prefix`` in front; else a plain path."""

    _window: tuple[int, int, bytes] | None = None

    def window(self, start: int, end: int, prefix: bytes = b"") -> WindowPath:
        self._window = (start, end, prefix)
        return self

    def open(self, mode: str = "r", buffering: int = -1, encoding: str | None = None,
             errors: str | None = None, newline: str | None = None) -> IO[Any]:  # fmt: skip
        if self._window is None or any(c in mode for c in "wax+"):
            return super().open(mode, buffering, encoding, errors, newline)
        start, end, prefix = self._window
        binary = io.BufferedReader(_RangeIO(str(self), start, end, prefix), BUFFER)
        if "b" in mode:
            return binary
        return io.TextIOWrapper(binary, encoding=encoding, errors=errors, newline=newline)
