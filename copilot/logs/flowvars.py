"""MessageLogging flow variables -> raw canonical fields (shared by Cloud Logging and syslog)."""

from __future__ import annotations

from typing import Any

from copilot.logs.fields import FLOW_VARIABLES

_NUMBER_CHARS = set("0123456789")


def flow_to_raw(variables: dict[str, Any], fallback_ts: str | None = None) -> dict[str, Any]:
    """Map flow variables to canonical names; derive latencies from the flow timestamps.

    Apigee renders an unset variable as an empty string, so empty means absent.
    """
    values = {k: v for k, v in variables.items() if v not in (None, "")}
    raw: dict[str, Any] = {}
    for canonical, names in FLOW_VARIABLES.items():
        hit = next((values[n] for n in names if n in values), None)
        if hit is not None:
            raw[canonical] = hit
    if fallback_ts and "client.received.start.timestamp" not in values:
        raw["ts"] = fallback_ts
    received = _ms(values.get("client.received.start.timestamp"))
    sent = _ms(values.get("client.sent.end.timestamp"))
    target_out = _ms(values.get("target.sent.start.timestamp"))
    target_in = _ms(values.get("target.received.end.timestamp"))
    # Clocks of different message processors can disagree: a negative derived
    # duration is unknown, not a reason to lose the request.
    for name, start, end in (
        ("total_ms", received, sent),
        ("target_ms", target_out, target_in),
        ("request_ms", received, target_out),
    ):
        if name not in raw and start is not None and end is not None and end >= start:
            raw[name] = end - start
    if "path" in raw:
        raw["path"] = str(raw["path"]).split("?", 1)[0]
    return raw


def flatten(payload: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Flatten nested objects to dotted keys (some templates nest what Apigee writes flat)."""
    flat: dict[str, Any] = {}
    for key, value in payload.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(flatten(value, f"{name}."))
        else:
            flat[name] = value
    return flat


def _ms(value: Any) -> int | None:
    text = str(value).strip() if value is not None else ""
    if not text or not set(text) <= _NUMBER_CHARS:
        return None
    number = int(text)
    # Same magnitude rule as timestamps.epoch_to_ms: seconds, ms or microseconds.
    if number < 100_000_000_000:
        return number * 1000
    return number // 1000 if number > 100_000_000_000_000 else number
