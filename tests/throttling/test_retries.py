"""Retry storms: a client that retries its 429s at once is named for that, with its real
demand, and is not called abusive; one that waits is not a storm."""

from __future__ import annotations

import numpy as np

from copilot.analysis.outcomes import GATEWAY
from copilot.throttling.abuse import find_abusive
from copilot.throttling.demand import measure
from copilot.throttling.retries import find_retry_storms, storm_keys
from tests.throttling.conftest import consumers_analysis, make_requests

T0 = 1_763_251_200_000


def client(gap_ms: int, refusals: int = 40) -> object:
    """One request a second; every 5th refused, then retried ``gap_ms`` later (refused again once)."""
    ts, outcome = [], []
    for i in range(refusals * 5):
        t = T0 + i * 1_000 * 10
        ts.append(t)
        refused = i % 5 == 0
        outcome.append(2 * GATEWAY if refused else 0)
        if refused:
            ts += [t + gap_ms, t + 2 * gap_ms]
            outcome += [2 * GATEWAY, 0]
    order = sorted(range(len(ts)), key=ts.__getitem__)
    return make_requests([ts[i] for i in order], outcome=[outcome[i] for i in order],
                         proxies=("catalog",), parties=(("retrier", "key-r"),))  # fmt: skip


def test_quick_retries_after_429s_are_a_storm_with_collapsed_demand() -> None:
    req = client(gap_ms=150)
    storms = find_retry_storms(req, measure(req))
    assert len(storms) == 1
    s = storms[0]
    assert (s.app, s.proxy) == ("retrier", "catalog")
    assert s.attempts == 280 and s.demand == 200  # 40 x 2 retries collapsed
    assert s.refused == 80 and s.retry_share == 1.0 and s.median_gap_ms == 150
    assert s.refusal_share == 80 / 280
    body = s.to_dict()
    assert body["finding"] == "retries without backoff"
    assert "Retry-After" in body["advice"] and "Do not tighten" in body["advice"]


def test_a_client_that_backs_off_is_not_a_storm() -> None:
    req = client(gap_ms=5_000)  # waits longer than the retry window
    assert find_retry_storms(req, measure(req)) == []


def test_a_retrying_client_is_not_abusive_for_being_refused_and_fast() -> None:
    analysis = consumers_analysis(("retrier", 6000, 30, 2400, 30.0))  # refused 40 %, p99 5x
    assert [a.app for a in find_abusive(analysis)] == ["retrier"]  # without the retry finding
    retrying = {("catalog", "retrier", "key-retrier")}
    assert find_abusive(analysis, retrying) == []


def test_storm_keys_name_proxy_app_and_client() -> None:
    req = client(gap_ms=100)
    assert storm_keys(find_retry_storms(req, measure(req))) == {("catalog", "retrier", "key-r")}


def scraper(requests: int = 600) -> object:
    """Back-to-back GETs of ever new pages 300 ms apart; the limit refuses two in three."""
    ts = [T0 + i * 300 for i in range(requests)]
    outcome = [0 if i % 3 == 0 else 2 * GATEWAY for i in range(requests)]
    return make_requests(ts, outcome=outcome, proxies=("catalog",),
                         parties=(("dealfinder", "key-d"),))  # fmt: skip


def test_a_scraper_asking_for_new_pages_after_429s_is_not_a_storm() -> None:
    req = scraper()
    paths = [f"/products/{i}" for i in range(req.size)]
    req.attrs["verb"] = (np.zeros(req.size, dtype=np.int32), ["GET"])
    req.attrs["path"] = (np.arange(req.size, dtype=np.int32), paths)
    assert find_retry_storms(req, measure(req)) == []


def test_the_same_request_repeated_after_a_429_is_a_retry() -> None:
    req = client(gap_ms=150)
    req.attrs["verb"] = (np.zeros(req.size, dtype=np.int32), ["GET"])
    req.attrs["path"] = (np.zeros(req.size, dtype=np.int32), ["/search"])
    assert len(find_retry_storms(req, measure(req))) == 1


def test_the_proxy_retry_after_sets_the_window_and_the_output_says_which() -> None:
    req = client(gap_ms=3_000)  # waits 3 s: beyond the default 2 s window
    assert find_retry_storms(req, measure(req)) == []
    storms = find_retry_storms(req, measure(req), retry_after_s={"catalog": 5})
    assert len(storms) == 1 and storms[0].window_ms == 5_000
    assert "Retry-After (5 s)" in storms[0].to_dict()["retry_window_source"]
    default = find_retry_storms(client(gap_ms=150), measure(client(gap_ms=150)))[0]
    assert "default 2 s" in default.advice
