"""The servers' HTTP protocol (gateway emulator, bridge): a response's pieces leave in one write."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

from copilot.scopes.server import BackgroundServer, _OneWrite, echo_backend_app


class Recorder:
    """A transport that records what is written to it."""

    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.closed = False

    def write(self, data: bytes) -> None:
        self.writes.append(data)

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True

    def get_extra_info(self, name: str) -> Any:
        return f"extra:{name}"


def test_writes_in_one_loop_turn_leave_as_one_and_close_sends_what_is_pending() -> None:
    real = Recorder()

    async def main() -> None:
        wrapped = _OneWrite(real, asyncio.get_running_loop())  # type: ignore[arg-type]
        wrapped.write(b"HTTP/1.1 202 Accepted\r\ncontent-length: 2\r\n\r\n")
        wrapped.write(b"")
        wrapped.write(b"{}")
        assert real.writes == []  # nothing yet: the loop has not turned
        await asyncio.sleep(0)
        assert real.writes == [b"HTTP/1.1 202 Accepted\r\ncontent-length: 2\r\n\r\n{}"]
        wrapped.write(b"next")
        wrapped.close()
        assert real.writes[-1] == b"next" and real.closed
        wrapped.write(b"after close")
        await asyncio.sleep(0)
        assert real.writes[-1] == b"next"  # a closed transport is not written to
        assert wrapped.get_extra_info("peername") == "extra:peername"

    asyncio.run(main())


def test_a_kept_alive_connection_gets_whole_responses_in_order() -> None:
    with (
        BackgroundServer(echo_backend_app()) as server,
        socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock,
    ):
        for path in ("/one", "/two"):
            sock.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
            received = b""
            while b"\r\n\r\n" not in received or not received.endswith(b"}"):
                chunk = sock.recv(65536)
                assert chunk, "the server closed the connection"
                received += chunk
            head, body = received.split(b"\r\n\r\n", 1)
            assert head.startswith(b"HTTP/1.1 200 ") and f'"path":"{path}"'.encode() in body
