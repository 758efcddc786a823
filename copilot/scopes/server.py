"""Running ASGI apps on loopback: a background server for tests and demos, and a
built-in mock backend that echoes each request as JSON.

Servers bind 127.0.0.1 on an ephemeral port by default (port 0), so parallel
test runs never collide and nothing listens beyond the machine.

Both speak HTTP/1.1 through :class:`OneWriteH11`: uvicorn's h11 protocol, whose
status line and headers, body and end of message leave in one ``send`` per loop
turn instead of two. On loopback each ``send`` also runs the receiver's TCP
path and wakes it, so this saves a segment, a wake-up and about 8% of a small
request's server CPU (measured with the bridge, bench/bench_bridge.py).
"""

from __future__ import annotations

import asyncio
import gc
import json
import socket
import threading
import time
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from uvicorn.protocols.http.h11_impl import H11Protocol

from copilot.errors import ExternalError

ALL_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]


class _OneWrite:
    """A transport whose writes made in one event-loop turn go out as one write.

    Everything but ``write`` and ``close`` is the real transport's (flow control
    included); ``close`` sends what is pending first.
    """

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport, self._loop = transport, loop
        self._pending: list[bytes] = []

    def write(self, data: bytes) -> None:
        if not data:
            return
        if not self._pending:
            self._loop.call_soon(self._flush)
        self._pending.append(data)

    def _flush(self) -> None:
        if self._pending:
            data = b"".join(self._pending)
            self._pending.clear()
            if not self._transport.is_closing():
                self._transport.write(data)

    def close(self) -> None:
        self._flush()
        self._transport.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class OneWriteH11(H11Protocol):
    """uvicorn's h11 protocol over :class:`_OneWrite` (``uvicorn.Config(http=...)``)."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:  # type: ignore[override]
        loop = asyncio.get_running_loop()
        super().connection_made(_OneWrite(transport, loop))  # type: ignore[arg-type]


def _config(app: Any, **options: Any) -> uvicorn.Config:
    """uvicorn's settings for atc's servers: one write per response, no proxy headers.

    Forwarded-for headers are not read: nothing here serves by client address,
    and a header a client sets must not change what the server believes.
    """
    return uvicorn.Config(app, http=OneWriteH11, proxy_headers=False, lifespan="off", **options)


class BackgroundServer:
    """Serve an ASGI app with uvicorn in a daemon thread (``with`` or start/stop)."""

    def __init__(self, app: Any, host: str = "127.0.0.1", port: int = 0) -> None:
        self.app, self.host, self.port = app, host, port
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self.url = ""

    def start(self, timeout_s: float = 10.0) -> str:
        """Start serving; returns the base URL (``http://127.0.0.1:PORT``)."""
        sock = bind(self.host, self.port)
        self.port = sock.getsockname()[1]
        config = _config(self.app, log_level="warning", access_log=False, timeout_keep_alive=2)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, daemon=True, name="atc-asgi"
        )
        self._thread.start()
        deadline = time.monotonic() + timeout_s
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise ExternalError(f"server on {self.host}:{self.port} did not start")
            time.sleep(0.01)
        self.url = f"http://{self.host}:{self.port}"
        return self.url

    def stop(self, timeout_s: float = 10.0) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout_s)
        self._server = self._thread = None

    def __enter__(self) -> BackgroundServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket, or one readable ExternalError.

    The protocol is named (``IPPROTO_TCP``) because asyncio sets ``TCP_NODELAY`` on
    accepted connections only when ``sock.proto`` says TCP; with ``proto`` 0 a
    response's body written after its headers waits for the client's delayed ACK
    (about 40 ms per request on a kept-alive connection on Linux).
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        # Listen now, not when uvicorn starts: callers announce the URL as soon as this
        # returns, and a connection before uvicorn's loop runs must wait in the backlog,
        # not be refused.
        sock.listen(2048)
    except OSError as exc:
        sock.close()
        raise ExternalError(f"cannot listen on {host}:{port} ({exc.strerror or exc})") from None
    return sock


def serve_forever(
    app: Any,
    host: str = "127.0.0.1",
    port: int = 8080,
    on_ready: Any = None,
    *,
    access_log: bool = True,
) -> None:
    """Serve in the foreground until interrupted (``atc gateway serve``, ``atc bridge serve``).

    ``on_ready(url)`` is called once the socket is bound (port 0 = any free port).
    ``access_log=False`` for servers that write their own line per request.
    """
    sock = bind(host, port)
    url = f"http://{host}:{sock.getsockname()[1]}"
    if on_ready is not None:
        on_ready(url)
    level = "info" if access_log else "warning"
    config = _config(app, log_level=level, access_log=access_log)
    # Everything alive now (modules, the app) lives as long as the server: frozen, a full
    # collection no longer walks it. Measured in the bridge at 32 in flight: the one full
    # collection of a 3,000-start run paused the loop 48 ms, 4 ms once frozen.
    gc.collect()
    gc.freeze()
    uvicorn.Server(config).run(sockets=[sock])


async def _echo(request: Request) -> JSONResponse:
    raw = await request.body()
    try:
        body: Any = json.loads(raw) if raw else None
    except ValueError:
        body = raw.decode("utf-8", errors="replace")
    raw_path = request.scope.get("raw_path", b"").decode("latin-1")
    query = request.scope.get("query_string", b"").decode("latin-1")
    hits = getattr(request.app.state, "hits", None)
    if hits is not None:
        hits.append(
            {
                "method": request.method,
                "path": raw_path,
                "query": query,
                "headers": request.headers.items(),
            }
        )
    status = 201 if request.method == "POST" else 200
    return JSONResponse(
        {
            "echo": True,
            "method": request.method,
            "path": raw_path or request.url.path,
            "query": query,
            "headers": {k: v for k, v in request.headers.items() if k.startswith("x-")},
            "authorization_forwarded": "authorization" in request.headers,
            "body": body,
        },
        status_code=status,
    )


def echo_backend_app() -> Starlette:
    """A mock backend: answers every request with JSON describing it (POST -> 201).

    ``app.state.hits`` lists every request it received (method, raw path, query,
    header pairs as sent), so a test can prove how often a call really reached
    the backend and with what.
    """
    app = Starlette(routes=[Route("/{path:path}", _echo, methods=ALL_METHODS)])
    app.state.hits = []
    return app
