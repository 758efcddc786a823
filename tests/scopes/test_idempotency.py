"""The emulator's Idempotency-Key memory: once per key, bounded, 5xx forgotten."""

from __future__ import annotations

import asyncio

import pytest

from copilot.scopes.idempotency import Answer, IdempotencyMemory, remembered


class Backend:
    """Counts sends; answers with the statuses it is given, in order."""

    def __init__(self, *statuses: int, pause: bool = False) -> None:
        self.statuses = list(statuses)
        self.sent = 0
        self.pause = pause

    async def send(self) -> Answer:
        self.sent += 1
        if self.pause:  # let a duplicate arrive while this one is in flight
            await asyncio.sleep(0)
        status = self.statuses[min(self.sent, len(self.statuses)) - 1]
        return Answer(status, f"answer {self.sent}".encode(), "text/plain")


def _once(memory: IdempotencyMemory, backend: Backend, key: str = "k", body: bytes = b"{}"):
    return memory.once(("wf-1", key), "POST", "/v1/orders", body, backend.send)


def test_a_repeat_gets_the_first_answer_without_sending() -> None:
    async def run():
        memory, backend = IdempotencyMemory(), Backend(201)
        first = await _once(memory, backend)
        again = await _once(memory, backend)
        return backend.sent, first, again

    sent, (answer, before), (replayed, first) = asyncio.run(run())
    assert sent == 1 and before is None
    assert replayed == answer == Answer(201, b"answer 1", "text/plain")
    assert first is not None and first.mismatch("POST", "/v1/orders", b"{}") is None


@pytest.mark.parametrize(
    ("method", "target", "body", "differs"),
    [
        ("PUT", "/v1/orders", b"{}", "another method"),
        ("POST", "/v1/orders?x=1", b"{}", "another path or query"),
        ("POST", "/v1/orders", b'{"a":1}', "another body"),
    ],
)
def test_a_different_request_under_the_same_key_is_named(
    method: str, target: str, body: bytes, differs: str
) -> None:
    async def run():
        memory = IdempotencyMemory()
        await _once(memory, Backend(201))
        return await _once(memory, Backend(201))

    _, first = asyncio.run(run())
    assert first is not None and differs in first.mismatch(method, target, body)


@pytest.mark.parametrize(("status", "kept"), [(200, True), (201, True), (404, True),
                                              (409, True), (408, False), (429, False),
                                              (500, False), (503, False)])  # fmt: skip
def test_only_final_answers_are_remembered(status: int, kept: bool) -> None:
    assert remembered(status) is kept


def test_a_5xx_is_sent_again_and_the_success_is_then_remembered() -> None:
    async def run() -> tuple[int, list[int]]:
        memory, backend = IdempotencyMemory(), Backend(503, 201)
        statuses = [(await _once(memory, backend))[0].status for _ in range(3)]
        return backend.sent, statuses

    assert asyncio.run(run()) == (2, [503, 201, 201])


def test_duplicates_in_flight_wait_for_the_first() -> None:
    async def run() -> tuple[int, set]:
        memory, backend = IdempotencyMemory(), Backend(201, pause=True)
        answers = await asyncio.gather(*[_once(memory, backend) for _ in range(5)])
        return backend.sent, {a for a, _ in answers}

    assert asyncio.run(run()) == (1, {Answer(201, b"answer 1", "text/plain")})


def test_the_memory_forgets_the_oldest_keys_beyond_its_limit() -> None:
    async def run() -> tuple[int, int]:
        memory, backend = IdempotencyMemory(limit=2), Backend(201)
        for key in ("a", "b", "c", "c", "b"):
            await _once(memory, backend, key)
        size = len(memory)
        await _once(memory, backend, "a")  # forgotten: sent again
        return backend.sent, size

    assert asyncio.run(run()) == (4, 2)


def test_an_empty_memory_is_refused() -> None:
    with pytest.raises(ValueError, match="at least one key"):
        IdempotencyMemory(limit=0)
