"""Text from logs, made safe to print: invisible and control characters become escapes.

A log field is attacker-controlled: ``\\x1b[2J`` repaints a terminal, ``\\r``
or ``\\n`` forges a line of output, U+202E reverses the text after it, a NUL
truncates it in some viewers. Every character Python does not consider
printable (controls, format and bidi characters, line and paragraph
separators, surrogates, unassigned code points, and spaces other than the
plain space) is shown as its Python escape (``\\x1b``, ``\\n``, ``\\u202e``),
so the reader sees that it was there without the terminal acting on it.
"""

from __future__ import annotations

_NAMED = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}


def _escape(char: str) -> str:
    if char in _NAMED:
        return _NAMED[char]
    code = ord(char)
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def printable(text: str) -> str:
    """``text`` with every non-printable character replaced by its visible escape."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() or c == " " else _escape(c) for c in text)
