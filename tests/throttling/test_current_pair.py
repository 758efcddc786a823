"""A CountOnly + EnforceOnly pair: the enforcer refuses, the counter counts, a refusal never counts."""

from __future__ import annotations

import numpy as np
import pytest

from copilot.throttling.current_pair import pair_rejected
from copilot.throttling.replay_quota import QuotaSpec

MIN = 60_000
E, C, B = (True, False), (False, True), (True, True)  # enforced only, counted only, both


def _run(times, marks, spec: QuotaSpec, keys=None) -> list[int]:
    enforced = np.array([m[0] for m in marks])
    counted = np.array([m[1] for m in marks])
    keys = None if keys is None else np.array(keys)
    got = pair_rejected(np.array(times, dtype=np.int64), keys, enforced, counted, spec)
    return np.flatnonzero(got).tolist()


@pytest.mark.parametrize("kind", ["calendar", "default", "flexi"])
def test_the_enforcer_refuses_once_the_counter_reaches_the_allowance(kind: str) -> None:
    spec = QuotaSpec(2, 1, "minute", kind)
    # counted-only requests fill the counter; only enforced ones can be refused
    assert _run([0, 1, 2, 3, 4], [C, C, C, E, B], spec) == [3, 4]
    assert _run([0, 1, 2, 3], [E, E, E, E], spec) == []  # nothing counts, nothing refused
    assert _run([0, 1, MIN + 5, MIN + 6], [B, B, B, B], spec) == []  # a new window


def test_a_refused_request_does_not_fill_a_rolling_window() -> None:
    spec = QuotaSpec(2, 1, "minute", "rollingwindow")
    times = [0, 10, 20, 30, MIN + 1, MIN + 11, MIN + 21]
    # 0 and 10 fill the window; 20 and 30 are refused and do not count, so at MIN + 1 the
    # window holds only 10: admitted; MIN + 11 sees MIN + 1 only: admitted; MIN + 21 refused.
    assert _run(times, [B] * 7, spec) == [2, 3, 6]


def test_one_counter_per_key() -> None:
    spec = QuotaSpec(1, 1, "minute", "calendar")
    assert _run([0, 1, 2, 3], [B, B, B, B], spec, keys=[0, 1, 0, 1]) == [2, 3]


def test_a_rolling_pair_walked_in_small_blocks_refuses_the_same(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import copilot.throttling.current_pair as current_pair

    rng = np.random.default_rng(3)
    times = np.cumsum(rng.integers(0, 20_000, 400))
    enforced, counted = rng.random(400) < 0.8, rng.random(400) < 0.9
    marks = [(bool(e), bool(c)) for e, c in zip(enforced, counted, strict=True)]
    spec = QuotaSpec(5, 1, "minute", "rollingwindow")
    whole = _run(times, marks, spec)
    monkeypatch.setattr(current_pair, "_BLOCK", 7)
    assert _run(times, marks, spec) == whole and whole


@pytest.mark.parametrize("kind", ["calendar", "default", "flexi", "rollingwindow"])
@pytest.mark.parametrize("keys", [None, []])
def test_a_pair_that_runs_on_no_request_refuses_none(kind: str, keys) -> None:
    """A proxy where neither quota of the pair runs (its conditions hold nowhere)."""
    assert _run([], [], QuotaSpec(2, 1, "minute", kind), keys=keys) == []
