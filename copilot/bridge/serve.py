"""Serving the bridge: uvicorn on a socket whose connections send without delay.

``copilot.scopes.server.bind`` makes ``socket.socket(AF_INET, SOCK_STREAM)``,
whose ``proto`` is 0; asyncio sets ``TCP_NODELAY`` on accepted connections only
when ``proto == IPPROTO_TCP`` (``asyncio.base_events._set_nodelay``). Without it,
on a kept-alive connection uvicorn's second write of a response (the body after
the headers) waits for the client's delayed ACK: about 40 ms per request on
Linux. The bridge answers gateways over kept-alive connections, so it names the
protocol.
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from typing import Any

import uvicorn

from copilot.errors import ExternalError


def bind_tcp(host: str, port: int) -> socket.socket:
    """A bound TCP socket (``proto=IPPROTO_TCP``, so connections get ``TCP_NODELAY``)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise ExternalError(f"cannot listen on {host}:{port} ({exc.strerror or exc})") from None
    return sock


def serve(app: Any, host: str, port: int, on_ready: Callable[[str], None]) -> None:
    """Serve until interrupted; ``on_ready(url)`` once bound (port 0 = any free port).

    No uvicorn access log: the bridge writes one line per request itself.
    """
    sock = bind_tcp(host, port)
    on_ready(f"http://{host}:{sock.getsockname()[1]}")
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off")
    uvicorn.Server(config).run(sockets=[sock])
