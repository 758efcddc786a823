"""Loopback servers: ephemeral ports, the echo backend, readable bind failures."""

from __future__ import annotations

import httpx
import pytest

from copilot.errors import ExternalError
from copilot.scopes.server import BackgroundServer, bind, echo_backend_app


def test_servers_listen_on_loopback_ephemeral_ports() -> None:
    with BackgroundServer(echo_backend_app()) as one, BackgroundServer(echo_backend_app()) as two:
        assert one.url.startswith("http://127.0.0.1:") and one.port != two.port
        response = httpx.put(f"{one.url}/a%20b/c?x=1", json={"k": 1}, trust_env=False)
    assert response.status_code == 200
    assert response.json() == {
        "echo": True,
        "method": "PUT",
        "path": "/a%20b/c",
        "query": "x=1",
        "headers": {},
        "authorization_forwarded": False,
        "body": {"k": 1},
    }


def test_the_echo_backend_answers_posts_with_201(echo_backend: str) -> None:
    assert httpx.post(f"{echo_backend}/x", content=b"plain", trust_env=False).status_code == 201


def test_a_busy_port_is_one_readable_error() -> None:
    with BackgroundServer(echo_backend_app()) as busy:
        message = f"cannot listen on 127.0.0.1:{busy.port}"
        with pytest.raises(ExternalError, match=message):
            bind("127.0.0.1", busy.port).close()
