"""What an LLM endpoint's failure means: retry (with the server's delay) or stop.

Every message built here is redacted first: an endpoint (or a proxy in front
of it) may reflect the request's ``Authorization`` header or the API key in its
error body, and atc's messages end up in terminals, logs, draft records and
Temporal histories. :func:`redact` removes the configured key, anything that
looks like a bearer/basic credential or an ``sk-`` key, the value of any
authorization or API-key header or parameter, and userinfo in URLs.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import openai

from copilot.errors import LLMError, LLMUnavailable
from copilot.scopes.outcomes import retry_after_seconds

REDACTED = "[redacted]"
_HEADER = re.compile(
    r"""(?i)((?:proxy-)?(?:authorization|api[-_]?key|x-api-key|openai[-_]api[-_]key)"""
    r"""["']?\s*[:=]\s*["']?)[^"',}\]\r\n]+"""
)
_SCHEME = re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=\-]+")
_SK_KEY = re.compile(r"\bsk-[A-Za-z0-9_\-]{6,}")
_USERINFO = re.compile(r"(?<=://)[^/@\s'\"]+@")
_QUERY_KEY = re.compile(r"(?i)([?&](?:api[-_]?key|key|token|access[-_]token)=)[^&#\s'\"]+")
_MIN_SECRET = 4  # shorter "keys" (placeholders) would redact ordinary words


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` without credentials: the ``secrets`` given and anything shaped like one."""
    for secret in sorted({s for s in secrets if s and len(s) >= _MIN_SECRET}, key=len)[::-1]:
        text = text.replace(secret, REDACTED)
    text = _HEADER.sub(lambda m: m.group(1) + REDACTED, text)
    text = _SCHEME.sub(lambda m: f"{m.group(1)} {REDACTED}", text)
    text = _SK_KEY.sub(f"sk-{REDACTED}", text)
    text = _USERINFO.sub(f"{REDACTED}@", text)
    return _QUERY_KEY.sub(lambda m: m.group(1) + REDACTED, text)


def _retry_after(exc: openai.APIError) -> float | None:
    response = getattr(exc, "response", None)
    if response is None:
        return None
    millis = response.headers.get("retry-after-ms")
    if millis:
        try:
            return float(millis) / 1000.0
        except ValueError:
            pass
    return retry_after_seconds(response.headers.get("retry-after"))


def unavailable(exc: openai.APIError, timeout_s: float, secrets: Iterable[str] = ()) -> LLMError:
    """The one atc error for an SDK failure: LLMUnavailable when a retry may help.

    The message is redacted (see :func:`redact`); raise it outside the ``except``
    block that caught ``exc`` so the SDK error (request, headers) is not chained.
    """
    secrets = tuple(secrets)
    if isinstance(exc, openai.APITimeoutError):
        return LLMUnavailable(f"the LLM endpoint did not answer within {timeout_s:g} s")
    if isinstance(exc, openai.APIConnectionError):
        return LLMUnavailable(redact(f"cannot reach the LLM endpoint: {exc}", secrets))
    status = getattr(exc, "status_code", None)
    detail = redact(str(exc), secrets)[:200]
    if isinstance(exc, openai.RateLimitError) or status == 429:
        return LLMUnavailable(
            f"the LLM endpoint is rate limiting (429): {detail}", retry_after=_retry_after(exc)
        )
    if status is not None and (status >= 500 or status == 408):
        return LLMUnavailable(
            f"the LLM endpoint failed (HTTP {status}): {detail}", retry_after=_retry_after(exc)
        )
    if status in (401, 403):
        return LLMError(f"the LLM endpoint refused the API key (HTTP {status}): {detail}")
    if status == 404:
        return LLMError(f"the LLM endpoint has no such model or path (404): {detail}")
    return LLMError(f"the LLM endpoint refused the request (HTTP {status}): {detail}")
