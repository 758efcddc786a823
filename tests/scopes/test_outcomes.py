"""What a gateway answer means for a Temporal activity."""

from __future__ import annotations

import pytest

from copilot.errors import ExternalError, GatewayError, InputError, ScopeDenied, TokenInvalid
from copilot.scopes.outcomes import activity_error_fields, retry_after_seconds

NOW = 1_700_000_000.0  # 2023-11-14T22:13:20Z


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("7", 7.0),
        (" 120 ", 120.0),
        ("Tue, 14 Nov 2023 22:13:50 GMT", 30.0),
        ("Tue, 14 Nov 2023 22:00:00 GMT", 0.0),  # in the past: retry now
        ("soon", None),
        ("", None),
        (None, None),
    ],
)
def test_retry_after_is_read_as_seconds_or_an_http_date(
    header: str | None, seconds: float | None
) -> None:
    assert retry_after_seconds(header, now=NOW) == seconds


@pytest.mark.parametrize(
    ("error", "non_retryable", "delay"),
    [
        (GatewayError("429", retryable=True, retry_after=7.0), False, 7.0),
        (GatewayError("503", retryable=True), False, None),
        (GatewayError("400"), True, None),
        (ScopeDenied("no"), True, None),
        (TokenInvalid("no"), True, None),
        (InputError("bad"), True, None),
        (ExternalError("jwks down"), False, None),
        (RuntimeError("surprise"), False, None),
    ],
)
def test_activity_errors_say_whether_temporal_should_retry(
    error: BaseException, non_retryable: bool, delay: float | None
) -> None:
    fields = activity_error_fields(error)
    assert fields["non_retryable"] is non_retryable
    assert fields["next_retry_delay_s"] == delay
    assert fields["type"] == type(error).__name__
