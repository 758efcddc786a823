"""A fake OpenAI-compatible chat completions server on loopback, with scripted replies.

Real HTTP (starlette + uvicorn in a thread, via the scope tests' BackgroundServer)
so the real ``openai`` client is exercised end to end: request bodies, headers,
status codes, ``Retry-After``, slow answers.
"""

from __future__ import annotations

import asyncio
import json
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route


@dataclass
class Reply:
    status: int = 200
    body: dict[str, Any] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0
    # like a careless endpoint: "{authorization}" and "{api_key}" in the body become the
    # request's Authorization header and its bare key, "{headers}" all request headers
    reflect: bool = False


def _completion(
    message: dict[str, Any], finish: str = "stop", usage: tuple[int, int] = (120, 80)
) -> dict:
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "created": 1_800_000_000,
        "model": "fake-model",
        "choices": [
            {"index": 0, "message": {"role": "assistant", **message}, "finish_reason": finish}
        ],
        "usage": {
            "prompt_tokens": usage[0],
            "completion_tokens": usage[1],
            "total_tokens": sum(usage),
        },
    }


def answer(doc: Any, usage: tuple[int, int] = (120, 80)) -> Reply:
    """A structured-output answer: the document as the message content (text kept as is)."""
    content = doc if isinstance(doc, str) else json.dumps(doc)
    return Reply(body=_completion({"content": content, "refusal": None}, usage=usage))


def tool_answer(doc: Any, usage: tuple[int, int] = (150, 90)) -> Reply:
    """A tool-calling answer: the document as the arguments of submit_workflow_spec."""
    call = {
        "id": "call_1",
        "type": "function",
        "function": {"name": "submit_workflow_spec", "arguments": json.dumps(doc)},
    }
    message = {"content": None, "refusal": None, "tool_calls": [call]}
    return Reply(body=_completion(message, finish="tool_calls", usage=usage))


def refusal(text: str = "I can't help with that.") -> Reply:
    return Reply(body=_completion({"content": None, "refusal": text}))


def error(status: int, message: str, headers: dict[str, str] | None = None) -> Reply:
    kind = {429: "rate_limit_error", 400: "invalid_request_error"}.get(status, "server_error")
    return Reply(status, {"error": {"message": message, "type": kind, "code": None}}, headers or {})


def reflecting(status: int, message: str, headers: dict[str, str] | None = None) -> Reply:
    """An error whose message echoes the request's credentials (see ``Reply.reflect``)."""
    reply = error(status, message, headers)
    reply.reflect = True
    return reply


def reflecting_answer(message: dict[str, Any]) -> Reply:
    """A completion whose message fields echo the request's credentials."""
    return Reply(body=_completion({"refusal": None, **message}), reflect=True)


def _reflected(body: dict[str, Any], request: Request) -> dict[str, Any]:
    auth = request.headers.get("authorization", "")
    values = {
        "{authorization}": auth,
        "{api_key}": auth.partition(" ")[2],
        "{headers}": str(dict(request.headers)),
    }
    text = json.dumps(body)
    for placeholder, value in values.items():
        text = text.replace(placeholder, json.dumps(value)[1:-1])
    return json.loads(text)


def slow(delay_s: float) -> Reply:
    return Reply(delay_s=delay_s, body=_completion({"content": "{}", "refusal": None}))


class FakeLLM:
    """Serves ``POST /v1/chat/completions`` from a script; records every request."""

    def __init__(self) -> None:
        self.script: deque[Reply] = deque()
        self.requests: list[dict[str, Any]] = []
        self.app = Starlette(routes=[Route("/v1/chat/completions", self._handle, methods=["POST"])])

    def reset(self, *replies: Reply) -> None:
        self.script = deque(replies)
        self.requests = []

    async def _handle(self, request: Request) -> JSONResponse:
        body = await request.json()
        self.requests.append({"body": body, "headers": dict(request.headers)})
        reply = self.script.popleft() if self.script else error(500, "fake script exhausted")
        if reply.delay_s:
            await asyncio.sleep(reply.delay_s)
        body = _reflected(reply.body, request) if reply.reflect else reply.body
        return JSONResponse(body, status_code=reply.status, headers=reply.headers)

    def system_prompt(self, index: int = 0) -> str:
        return self.requests[index]["body"]["messages"][0]["content"]
