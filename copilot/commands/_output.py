"""Output helpers shared by the commands: JSON documents and plain tables.

Table cells are escaped with :func:`copilot.logs.printable.printable`: names in
them come from logs, and a control character in a log field must not repaint
the terminal or forge a line of the table.
"""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any

from copilot.logs.printable import printable


def _default(value: Any) -> Any:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Path):
        return str(value)
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, set):
        return sorted(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def _clean(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    return value


def to_json(payload: dict[str, Any]) -> str:
    """Serialise a payload; NaN/inf become null so the output is strict JSON."""
    return json.dumps(_clean(payload), default=_default, allow_nan=False, indent=2)


def emit_json(payload: dict[str, Any]) -> None:
    """Print one JSON document shaped ``{"ok", "error", ...}`` on stdout."""
    body = {"ok": payload.get("ok", True), "error": payload.get("error")}
    body.update({k: v for k, v in payload.items() if k not in ("ok", "error")})
    sys.stdout.write(to_json(body) + "\n")


def table(rows: Iterable[Sequence[Any]], headers: Sequence[str]) -> str:
    """A plain aligned text table; control characters in cells are shown as escapes."""
    cells = [[_fmt(v) for v in row] for row in rows]
    widths = [len(h) for h in headers]
    for row in cells:
        widths = [max(w, len(c)) for w, c in zip(widths, row, strict=False)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=False))]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=False)) for row in cells]
    return "\n".join(lines)


def _fmt(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if isinstance(value, float):
        return f"{value:,.1f}" if abs(value) >= 100 else f"{value:.3g}"
    if isinstance(value, int):
        return f"{value:,}"
    return printable(str(value))
