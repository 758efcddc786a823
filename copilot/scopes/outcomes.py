"""What a gateway answer means for the caller: Retry-After, fault text, Temporal hints."""

from __future__ import annotations

import time
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from copilot.errors import AtcError, ExternalError, GatewayError


def retry_after_seconds(value: str | None, now: float | None = None) -> float | None:
    """``Retry-After`` as seconds from now: delta-seconds or an HTTP-date (RFC 9110 10.2.3)."""
    if not value:
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text).timestamp()
    except (TypeError, ValueError, IndexError):
        return None
    return max(0.0, when - (time.time() if now is None else now))


def fault_text(response: httpx.Response) -> str:
    """The Apigee fault string and error code of an error answer, else its text."""
    try:
        fault = response.json().get("fault", {})
        code = fault.get("detail", {}).get("errorcode", "")
        text = str(fault.get("faultstring") or response.text[:200])
        return f"{text} [{code}]" if code else text
    except (ValueError, AttributeError):
        return response.text[:200]


def activity_error_fields(error: BaseException) -> dict[str, Any]:
    """How a Temporal activity should re-raise ``error`` as ``ApplicationError``:
    ``ApplicationError(message, type=..., non_retryable=..., next_retry_delay=...)``.

    Retryable: a GatewayError marked so (5xx, 429, timeouts) and other
    failures outside atc (ExternalError, unexpected exceptions). Not
    retryable: policy refusals and bad input, which no retry can fix.
    """
    if isinstance(error, GatewayError):
        return {
            "message": error.message,
            "type": type(error).__name__,
            "non_retryable": not error.retryable,
            "next_retry_delay_s": error.retry_after,
        }
    name = type(error).__name__
    message = error.message if isinstance(error, AtcError) else str(error)
    return {
        "message": message,
        "type": name,
        "non_retryable": isinstance(error, AtcError) and not isinstance(error, ExternalError),
        "next_retry_delay_s": None,
    }
