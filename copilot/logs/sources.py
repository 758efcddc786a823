"""Opening log files: gzip by magic bytes, a decoded peek for sniffing, line blocks."""

from __future__ import annotations

import codecs
import gzip
import io
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from copilot.errors import LogFormatError

GZIP_MAGIC = b"\x1f\x8b"
PEEK_BYTES = 64 * 1024


def is_gzip(path: Path) -> bool:
    with path.open("rb") as fh:
        return fh.read(2) == GZIP_MAGIC


def open_binary(path: Path) -> BinaryIO:
    """Open a log file for reading bytes, decompressing gzip transparently."""
    if not path.exists():
        raise LogFormatError(f"{path}: no such file")
    if path.is_dir():
        raise LogFormatError(f"{path}: is a directory, not a log file")
    if is_gzip(path):
        return gzip.open(path, "rb")  # type: ignore[return-value]
    return path.open("rb")


def read_magic(path: Path, size: int = 4) -> bytes:
    """The first ``size`` bytes of the file as stored (binary exports are not gzipped)."""
    if not path.exists():
        raise LogFormatError(f"{path}: no such file")
    if path.is_dir():
        raise LogFormatError(f"{path}: is a directory, not a log file")
    try:
        with path.open("rb") as fh:
            return fh.read(size)
    except OSError as exc:
        raise LogFormatError(f"{path}: cannot read it ({exc})") from exc


def peek(path: Path, size: int = PEEK_BYTES) -> str:
    """The first ``size`` bytes of the (decompressed) file as text.

    Raises :class:`LogFormatError` for empty, binary or non-UTF-8 files: the
    one clear error the CLI turns into exit code 2.
    """
    try:
        with open_binary(path) as fh:
            head = fh.read(size)
    except (OSError, EOFError) as exc:
        raise LogFormatError(f"{path}: cannot read it ({exc})") from exc
    if not head.strip():
        raise LogFormatError(f"{path}: the file is empty")
    if b"\x00" in head:
        raise LogFormatError(f"{path}: looks binary (NUL bytes), not a text log")
    try:
        return head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start >= len(head) - 4:  # a multi-byte character cut by the peek
            return head[: exc.start].decode("utf-8")
        if _mostly_text(head):  # a stray bad line: its reader quarantines it, the file stays
            return head.decode("utf-8", errors="replace")
        raise LogFormatError(
            f"{path}: not UTF-8 text at byte {exc.start}; not a log atc can read"
        ) from exc


def _mostly_text(head: bytes) -> bool:
    """A UTF-8 first line and under 0.5% undecodable bytes: a log with a damaged line."""
    first, _, _ = head.partition(b"\n")
    try:
        first.decode("utf-8")
    except UnicodeDecodeError:
        return False
    bad = head.decode("utf-8", errors="replace").count("\ufffd")
    return bad <= len(head) * 0.005


class Utf8Repaired(io.RawIOBase):
    """A byte stream whose undecodable UTF-8 sequences read as U+FFFD.

    Arrow's CSV reader stops the whole file at one invalid byte (it decodes a
    bad row's text before the invalid-row handler can see it); with this a
    damaged line reaches the reader as text, to be read or quarantined like any
    other bad line. Valid input passes through unchanged (one decode per block).
    """

    def __init__(self, raw: BinaryIO) -> None:
        self._raw = raw
        self._carry = b""
        self._out = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[no-untyped-def, override]
        while not self._out:
            data = self._raw.read(max(len(buffer), 1 << 16))
            if not data and not self._carry:
                return 0
            self._out = self._repair(self._carry + data, final=not data)
        n = min(len(buffer), len(self._out))
        buffer[:n] = self._out[:n]
        self._out = self._out[n:]
        return n

    def _repair(self, data: bytes, final: bool) -> bytes:
        self._carry = b""
        try:
            data.decode("utf-8")
            return data
        except UnicodeDecodeError as exc:
            if not final and exc.reason == "unexpected end of data":
                self._carry = data[exc.start :]  # a character cut by the block: next time
                return data[: exc.start]
        decoder = codecs.getincrementaldecoder("utf-8")("replace")
        text = decoder.decode(data, final=final)
        self._carry = decoder.getstate()[0]
        return text.encode("utf-8")

    def close(self) -> None:
        self._raw.close()
        super().close()


def iter_line_blocks(path: Path, block_lines: int) -> Iterator[list[tuple[int, str | None, bytes]]]:
    """Yield blocks of ``(line_number, text_or_None_if_not_utf8, raw)``; blank lines are skipped."""
    block: list[tuple[int, str | None, bytes]] = []
    with open_binary(path) as fh:
        for number, raw in enumerate(fh, 1):
            if not raw.strip():
                continue
            try:
                text: str | None = raw.decode("utf-8")
            except UnicodeDecodeError:
                text = None
            block.append((number, text, raw))
            if len(block) >= block_lines:
                yield block
                block = []
    if block:
        yield block


def find_lines(path: Path, texts: set[str]) -> dict[str, int]:
    """Line numbers of the first occurrence of each of ``texts`` (whole lines)."""
    found: dict[str, int] = {}
    if not texts:
        return found
    with open_binary(path) as fh:
        for number, raw in enumerate(fh, 1):
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            if line in texts and line not in found:
                found[line] = number
                if len(found) == len(texts):
                    break
    return found
