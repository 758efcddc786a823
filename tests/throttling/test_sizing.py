"""Sizing over an in-memory stream: the counts a replay's impact reports, the busiest window
and the per-unit tallies, on small hand-made streams whose answers can be counted by eye.
(The same steps over a stream on disk: tests/throttling/test_sliced.py.)"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from copilot.throttling import sizing
from copilot.throttling.replay import SpikeArrestSpec
from copilot.throttling.sizing import Stream
from copilot.timeunits import HOUR_MS, MINUTE_MS, SECOND_MS
from tests.throttling.conftest import make_requests

T0 = int(pd.Timestamp("2026-11-17 09:00", tz="UTC").value // 1_000_000)
PARTIES = (("web", "key-web"), ("bot", "key-bot"), ("ios", "key-ios"))

# time (ms after T0), party, legit, healthy
ROWS = [
    (0, 0, True, True),
    (10, 1, False, True),
    (20, 1, False, True),
    (30, 0, True, False),  # legitimate, inside an excluded window
    (MINUTE_MS + 5, 2, True, True),
    (HOUR_MS + 1, 1, False, True),
    (HOUR_MS + 2, 0, True, True),
]


def hand_made() -> tuple:
    ts, party, legit, healthy = (np.array(c) for c in zip(*ROWS, strict=True))
    req = make_requests(T0 + ts, party=list(party), parties=PARTIES)
    return req, Stream(np.arange(ts.size), legit.astype(bool), healthy.astype(bool))


def test_a_stream_counts_its_rows_and_its_healthy_legitimate_ones() -> None:
    _, stream = hand_made()
    assert (stream.size, stream.counted_total, stream.budget) == (7, 3, 0)
    legit = stream.legit_only()
    assert (legit.size, legit.counted_total) == (4, 3)
    assert legit.legit.all()


def test_an_impact_says_how_many_of_whom_and_when() -> None:
    req, stream = hand_made()
    rejected = np.array([False, True, True, True, False, True, True])
    got = sizing.impact(req, stream, rejected)
    d = got.to_dict()
    assert (d["requests_seen"], d["rejected"], d["legit_healthy_requests"]) == (7, 5, 3)
    assert d["legit_healthy_rejected"] == 1  # the last one; the excluded one does not count
    assert d["legit_rejected_in_excluded_windows"] == 1
    assert d["abusive_rejected"] == 3
    assert d["clients"] == [
        {"app": "bot", "client_id": "key-bot", "rejected": 3, "abusive": True},
        {"app": "web", "client_id": "key-web", "rejected": 2, "abusive": False},
    ]
    hour = pd.Timestamp(T0, unit="ms", tz="UTC")
    assert d["busiest_hours"] == [
        {"hour": hour.isoformat(), "rejected": 3},
        {"hour": (hour + pd.Timedelta(hours=1)).isoformat(), "rejected": 2},
    ]
    assert got.per_minute.tolist() == [3, 2]
    assert got.per_minute.index.tolist() == [hour, hour + pd.Timedelta(hours=1)]
    assert d["first"] == (hour + pd.Timedelta(milliseconds=10)).isoformat()
    assert d["last"] == (hour + pd.Timedelta(hours=1, milliseconds=2)).isoformat()


def test_replay_impact_is_the_impact_of_the_replay() -> None:
    req, stream = hand_made()
    got = sizing.replay_impact(req, stream, SpikeArrestSpec("1pm"))
    # One a minute, no burst: the first request of each minute passes, the rest wait.
    assert got.rejected == 4 and got.by_client[0]["app"] == "bot"
    assert got.per_minute.tolist() == [3, 1]
    assert (
        got.to_dict()
        == sizing.impact(
            req, stream, sizing.run(req, stream, SpikeArrestSpec("1pm")).rejected
        ).to_dict()
    )


def test_no_rejection_is_an_empty_impact() -> None:
    req, stream = hand_made()
    got = sizing.replay_impact(req, stream, SpikeArrestSpec("100ps"))
    d = got.to_dict()
    assert (d["rejected"], d["clients"], d["busiest_hours"], d["first"]) == (0, [], [], None)
    assert got.per_minute.empty and got.share == 0.0


@pytest.mark.parametrize(
    ("window", "which", "expected"),
    [
        (SECOND_MS, "legit", 2),  # 0 and 30
        (SECOND_MS, "counted", 1),
        (MINUTE_MS, "legit", 2),
        (MINUTE_MS + 6, "legit", 3),  # 0, 30, 60 005
        (MINUTE_MS + 6, "counted", 2),
        (HOUR_MS, "counted", 2),
    ],
)
def test_the_busiest_window_counts_the_kind_asked_for(window, which, expected) -> None:
    req, stream = hand_made()
    assert sizing.peak_of(req, stream, window, which) == expected


def test_the_busiest_window_asks_for_a_known_kind() -> None:
    req, stream = hand_made()
    with pytest.raises(ValueError, match="legit"):
        sizing.peak_of(req, stream, SECOND_MS, "all")


def test_counted_requests_are_tallied_per_unit() -> None:
    req, stream = hand_made()
    keys, counts = sizing.counted_tally(req, stream, MINUTE_MS)
    first = T0 // MINUTE_MS
    assert keys.tolist() == [first, first + 1, first + 60] and counts.tolist() == [1, 1, 1]
    keys, counts = sizing.counted_tally(req, stream, HOUR_MS)
    assert keys.tolist() == [T0 // HOUR_MS, T0 // HOUR_MS + 1] and counts.tolist() == [2, 1]
