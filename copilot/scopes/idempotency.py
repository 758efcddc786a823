"""Idempotency-Key at the gateway: a retried non-GET request is answered, not repeated.

Payment APIs do this, and the emulator does it the same way: the first
request with a key is forwarded and its answer (status, body, content type)
remembered per (token subject, key); a repeat with the same method, target
and body gets that answer back without reaching the backend; the same key on
another request is a client bug and is refused. Answers a retry may change are
not remembered: 5xx, 408 and 429 (the backend did not finish, or asked for a
retry). A duplicate that arrives while the first is still in flight waits for
it instead of racing it to the backend. Memory is bounded: the oldest keys are
forgotten first.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

DEFAULT_LIMIT = 10_000
SAFE_METHODS = frozenset({"GET", "HEAD"})
_RETRY_STATUSES = frozenset({408, 429})

Slot = tuple[str, str]  # (token subject, key)


@dataclass(frozen=True)
class Answer:
    """What the backend answered, as the gateway passes it back."""

    status: int
    body: bytes
    content_type: str | None


@dataclass(frozen=True)
class Remembered:
    """The request a key was first used for, and its answer."""

    method: str
    target: str
    body_sha256: str
    answer: Answer

    def mismatch(self, method: str, target: str, body: bytes) -> str | None:
        """How a new request with the same key differs from the first one, or None."""
        if method != self.method:
            return f"another method ({method}, first {self.method})"
        if target != self.target:
            return f"another path or query ({target[:120]}, first {self.target[:120]})"
        if _sha256(body) != self.body_sha256:
            return "another body"
        return None


def _sha256(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def remembered(status: int) -> bool:
    """Whether an answer with ``status`` is final enough to replay for a retry."""
    return status < 500 and status not in _RETRY_STATUSES


class IdempotencyMemory:
    """The answers of the last ``limit`` keys, and the keys in flight (one event loop)."""

    def __init__(self, limit: int = DEFAULT_LIMIT) -> None:
        if limit < 1:
            raise ValueError("the idempotency memory must hold at least one key")
        self.limit = limit
        self._done: OrderedDict[Slot, Remembered] = OrderedDict()
        self._busy: dict[Slot, asyncio.Event] = {}

    def __len__(self) -> int:
        return len(self._done)

    async def once(
        self,
        slot: Slot,
        method: str,
        target: str,
        body: bytes,
        send: Callable[[], Awaitable[Answer]],
    ) -> tuple[Answer, Remembered | None]:
        """Send at most once per slot.

        Returns ``(answer, None)`` when this call sent the request, or
        ``(remembered answer, first)`` when the slot already had an answer; the
        caller checks ``first.mismatch(...)`` before replaying it.
        """
        first = await self._claim(slot)
        if first is not None:
            return first.answer, first
        kept: Remembered | None = None
        try:
            answer = await send()
            if remembered(answer.status):
                kept = Remembered(method, target, _sha256(body), answer)
        finally:
            self._release(slot, kept)
        return answer, None

    async def _claim(self, slot: Slot) -> Remembered | None:
        while True:
            done = self._done.get(slot)
            if done is not None:
                return done
            busy = self._busy.get(slot)
            if busy is None:
                self._busy[slot] = asyncio.Event()
                return None
            await busy.wait()

    def _release(self, slot: Slot, kept: Remembered | None) -> None:
        if kept is not None:
            self._done[slot] = kept
            while len(self._done) > self.limit:
                self._done.popitem(last=False)
        self._busy.pop(slot).set()
