"""One JSON array read element by element: ``gcloud logging read --format=json`` and console exports.

gcloud prints the entries it reads as one JSON array (cloud.google.com/sdk/gcloud/
reference/logging/read), which may hold millions of entries. :func:`iter_elements`
reads the file in fixed-size chunks and cuts one element at a time with the
standard library's ``JSONDecoder.raw_decode``, so what is held at once is one chunk
plus the element being read, never the array.
"""

from __future__ import annotations

import codecs
import json
from collections.abc import Iterator
from typing import BinaryIO

from copilot.errors import LogFormatError

CHUNK_BYTES = 1 << 20
MAX_ELEMENT_CHARS = 64 << 20  # one log entry is kilobytes; this is a broken file
_DECODER = json.JSONDecoder()
_SPACE = " \t\r\n"
_LONGEST_LITERAL = len("-Infinity")


def _incomplete(exc: json.JSONDecodeError, buffered: int) -> bool:
    """The element may just be cut by the chunk's end (read more) rather than invalid: the
    error is at the end, in a literal cut short (``nu`` of ``null``), or in an open string."""
    return exc.pos >= buffered - _LONGEST_LITERAL or exc.msg.startswith("Unterminated string")


def iter_elements(fh: BinaryIO, label: str, chunk_bytes: int = CHUNK_BYTES) -> Iterator[str]:
    """The text of each element of the JSON array in ``fh``, in order (module docstring).

    Raises LogFormatError when the file is not one JSON array."""
    decode = codecs.getincrementaldecoder("utf-8-sig")(errors="strict")
    buf, pos, eof = "", 0, False

    def more() -> bool:
        nonlocal buf, pos, eof
        if eof:
            return False
        data = fh.read(chunk_bytes)
        eof = not data
        try:
            text = decode.decode(data, final=eof)
        except UnicodeDecodeError as exc:
            raise LogFormatError(f"{label}: a JSON array export that is not UTF-8 ({exc})") from None
        buf, pos = buf[pos:] + text, 0
        if len(buf) > MAX_ELEMENT_CHARS:
            raise LogFormatError(f"{label}: one array element is over {MAX_ELEMENT_CHARS:,} characters")
        return True

    state = "open"  # then "first" (a value or ']'), "value" (after ','), "after" (',' or ']')
    while True:
        while pos < len(buf) and buf[pos] in _SPACE:
            pos += 1
        if pos >= len(buf):
            if more():
                continue
            raise LogFormatError(f"{label}: the JSON array ends before its closing ']'")
        c = buf[pos]
        if state == "open":
            if c != "[":
                raise LogFormatError(f"{label}: expected a JSON array of log entries")
            state, pos = "first", pos + 1
            continue
        if c == "]" and state in ("first", "after"):
            return
        if state == "after":
            if c != ",":
                raise LogFormatError(f"{label}: a JSON array export that is not valid JSON "
                                     f"(expected ',' or ']' between entries)")  # fmt: skip
            state, pos = "value", pos + 1
            continue
        try:
            _, end = _DECODER.raw_decode(buf, pos)
        except json.JSONDecodeError as exc:
            if _incomplete(exc, len(buf)) and more():
                continue
            raise LogFormatError(
                f"{label}: a JSON array export that is not valid JSON ({exc.msg})"
            ) from None
        if end > len(buf) - _LONGEST_LITERAL and not eof and more():
            continue  # a number near the chunk's end may go on (2.5 of 2.5e10)
        yield buf[pos:end]
        state, pos = "after", end
