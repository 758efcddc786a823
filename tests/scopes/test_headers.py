"""What a gateway may pass on to a backend, whatever the checks before it decided."""

from __future__ import annotations

import pytest

from copilot.errors import InputError
from copilot.scopes.headers import check_idempotency_key, forwardable, header_key

DROPPED = [
    ("X-HTTP-Method-Override", "DELETE"),
    ("X_HTTP_METHOD_OVERRIDE", "DELETE"),
    ("x_original_url", "/v1/payments/1/refund"),
    ("X-Rewrite-URL", "/v1/payments/1/refund"),
    ("X_Forwarded_Host", "evil.example"),
    ("Authorization", "Bearer t"),
    ("Host", "evil.example"),
    ("Keep-Alive", "timeout=5"),
    ("Keep_Alive", "timeout=5"),
    ("Transfer-Encoding", "chunked"),
    ("TE", "trailers"),
    ("Upgrade", "h2c"),
    ("Proxy-Authorization", "Basic x"),
    ("Proxy-Connection", "keep-alive"),
    ("Content-Length", "5"),
]


@pytest.mark.parametrize(("name", "value"), DROPPED)
def test_override_and_hop_by_hop_headers_are_never_forwarded(name: str, value: str) -> None:
    assert forwardable([(name, value), ("Accept", "application/json")]) == [
        ("Accept", "application/json")
    ]


def test_headers_named_by_connection_are_dropped_in_any_spelling() -> None:
    headers = [
        ("Connection", "keep-alive, X-Secret , x_other"),
        ("x-secret", "1"),
        ("X-Other", "2"),
        ("X-Kept", "3"),
    ]
    assert forwardable(headers) == [("X-Kept", "3")]


def test_ordinary_headers_pass_in_order_with_their_spelling() -> None:
    headers = [("Accept", "a"), ("X-Request-Id", "r"), ("Idempotency-Key", "k"), ("x-b", "1")]
    assert forwardable(headers) == headers


@pytest.mark.parametrize(
    ("name", "key"),
    [("X_Original_URL", "x-original-url"), (" Host ", "host"), ("TE", "te")],
)
def test_header_names_fold_case_and_underscores(name: str, key: str) -> None:
    assert header_key(name) == key


@pytest.mark.parametrize("key", ["k", "wf-1/step-2#3", "~" * 200, "a b"])
def test_printable_ascii_keys_up_to_200_are_accepted(key: str) -> None:
    assert check_idempotency_key(key) == key


@pytest.mark.parametrize("key", ["", "k" * 201, "\u00e9", "a\x00b", "a\nb", "k ", None])
def test_other_keys_are_refused(key: str) -> None:
    with pytest.raises(InputError, match="Idempotency-Key"):
        check_idempotency_key(key)
