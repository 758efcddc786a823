"""Escaping for every string a report takes from logs (names from logs are hostile).

HTML gets entities (quotes too, so a name is safe inside attributes); Markdown
gets a backslash before every character that could start markup, and line
breaks become spaces so a name cannot open a new block; CSV cells that a
spreadsheet would run as a formula get a leading quote.
"""

from __future__ import annotations

import html
import math
import re
from typing import Any

_MD_ACTIVE = re.compile(r"([\\`*_{}\[\]()#!|<>~&])")
# GFM turns bare "scheme://" and "www." into links; a line start can open a list or quote.
_MD_AUTOLINK = re.compile(r"(?i)(:)(?=//)|(?<=www)(\.)")
_MD_LINE_START = re.compile(r"^([-+=>]|\d+(?=[.)]))")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def text(value: Any) -> str:
    """A value as display text: numbers rounded, None as a dash."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:,.4g}" if abs(value) < 1000 else f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def html_text(value: Any) -> str:
    """HTML-escaped display text (safe in element content and quoted attributes)."""
    return html.escape(_CONTROL.sub(" ", text(value)), quote=True)


def md_text(value: Any) -> str:
    """Markdown-escaped display text on one line."""
    flat = _MD_ACTIVE.sub(r"\\\1", _CONTROL.sub(" ", text(value)))
    flat = _MD_AUTOLINK.sub(lambda m: "\\" + (m.group(1) or m.group(2)), flat)
    return _MD_LINE_START.sub(_line_start, flat)


def _line_start(match: re.Match[str]) -> str:
    # "12." must become "12\\." (a list number); "-", "+", "=" and ">" get the backslash first.
    lead = match.group(1)
    return lead + "\\" if lead[0].isdigit() else "\\" + lead


def csv_cell(value: Any) -> Any:
    """A CSV cell: numbers as they are; text that starts a formula gets a leading quote."""
    if value is None:
        return ""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value
    cell = str(value)
    return "'" + cell if cell.startswith(_FORMULA_START) else cell
