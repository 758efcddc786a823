"""What an LLM endpoint's failure means: retry (with the server's delay) or stop."""

from __future__ import annotations

import openai

from copilot.errors import LLMError, LLMUnavailable
from copilot.scopes.outcomes import retry_after_seconds


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


def unavailable(exc: openai.APIError, timeout_s: float) -> LLMError:
    """The one atc error for an SDK failure: LLMUnavailable when a retry may help."""
    if isinstance(exc, openai.APITimeoutError):
        return LLMUnavailable(f"the LLM endpoint did not answer within {timeout_s:g} s")
    if isinstance(exc, openai.APIConnectionError):
        return LLMUnavailable(f"cannot reach the LLM endpoint: {exc}")
    status = getattr(exc, "status_code", None)
    detail = str(exc)[:200]
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
