"""A loopback webhook receiver: records every POST; can fail the first N with a status."""

from __future__ import annotations

from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route


class Receiver:
    """``POST /hook`` recorded in ``posts``; the first ``fail`` POSTs answer ``fail_status``."""

    def __init__(self, fail: int = 0, fail_status: int = 503) -> None:
        self.posts: list[dict[str, Any]] = []
        self.fail, self.fail_status = fail, fail_status
        self.app = Starlette(routes=[Route("/hook", self._hook, methods=["POST"])])

    async def _hook(self, request: Request) -> JSONResponse:
        body = await request.json()
        if self.fail > 0:
            self.fail -= 1
            return JSONResponse({"ok": False}, status_code=self.fail_status)
        self.posts.append(body)
        return JSONResponse({"ok": True})
