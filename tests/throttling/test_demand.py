"""Demand: gateway refusals count as demand, quick retries collapse, tight limits show."""

from __future__ import annotations

import numpy as np

from copilot.analysis.outcomes import GATEWAY
from copilot.throttling.demand import judge_too_tight, measure, too_tight
from tests.throttling.conftest import make_requests

T0 = 1_763_251_200_000
REFUSED = 2 * GATEWAY
PARTIES = (("app-a", "key-a"), ("(not set)", "(not set)"))


def test_a_refused_request_and_its_quick_retries_are_one_demand() -> None:
    #         refused  retry(1 s)  retry(1.5 s, served)  new (10 s later)
    ts = [T0, T0 + 1000, T0 + 2500, T0 + 12_500]
    req = make_requests(ts, outcome=[REFUSED, REFUSED, 0, 0], parties=PARTIES)
    demand = measure(req)
    assert demand.retry.tolist() == [False, True, True, False]
    row = demand.table.iloc[0]
    assert (row.attempts, row.refused, row.retries, row.demand, row.refused_demand) == (
        4,
        2,
        2,
        2,
        1,
    )


def test_a_slow_retry_is_new_demand_and_anonymous_callers_never_collapse() -> None:
    ts = [T0, T0 + 2001, T0 + 5000, T0 + 5100]
    req = make_requests(ts, outcome=[REFUSED, 0, REFUSED, 0], party=[0, 0, 1, 1], parties=PARTIES)
    assert not measure(req).retry.any()


def test_a_normal_app_refused_often_in_healthy_time_is_flagged_too_tight() -> None:
    n = 1000
    ts = T0 + np.arange(n) * 10_000
    outcome = np.where(np.arange(n) % 50 == 0, REFUSED, 0)  # 2 % refused, never retried
    policy = np.where(outcome == REFUSED, 1, 0)
    req = make_requests(ts, outcome=outcome, policy=policy, parties=PARTIES,
                        policies=("", "SA-PerApp"))  # fmt: skip
    demand = measure(req)
    healthy = np.ones(n, dtype=bool)
    found = too_tight(req, demand, healthy, set())
    assert [(f.app, f.refused, f.policies) for f in found] == [("app-a", 20, ("SA-PerApp",))]
    assert found[0].to_dict()["finding"] == "limit likely too tight"
    # Not when the refusals fell in excluded time, nor for an abusive client.
    assert too_tight(req, demand, np.zeros(n, dtype=bool), set()) == []
    assert too_tight(req, demand, healthy, {("orders", "app-a", "key-a")}) == []


def test_on_the_sample_the_partner_hitting_its_quota_is_flagged(sample_run) -> None:
    flagged = {(f.proxy, f.app) for f in sample_run.report.too_tight}
    assert ("catalog", "partner-globex-marketplace") in flagged  # 317 QuotaViolations
    assert not any(app == "dealfinder-app" for _, app in flagged)  # abusive, not too tight


def test_one_proxys_too_tight_judged_from_its_party_counts_is_too_tights() -> None:
    rng = np.random.default_rng(4)
    n = 6_000
    parties = (*PARTIES, ("app-b", "key-b"), ("app-c", "key-c"))
    outcome = np.where(rng.random(n) < 0.03, REFUSED, 0)
    req = make_requests(
        T0 + np.sort(rng.integers(0, 3_600_000, n)), proxy=rng.integers(0, 2, n).tolist(),
        party=rng.integers(0, 4, n).tolist(), outcome=outcome.tolist(),
        policy=np.where(outcome == REFUSED, rng.integers(1, 3, n), 0).tolist(),
        proxies=("orders", "search"), parties=parties, policies=("", "SA-PerApp", "Q-Hourly"),
    )  # fmt: skip
    demand = measure(req)
    healthy = rng.random(n) < 0.9
    named = {("search", "app-b", "key-b")}
    for proxy in (0, 1):
        share = req.subset(req.rows_of_proxy(proxy))
        keep = req.rows_of_proxy(proxy)
        fresh = ~demand.retry[keep] & healthy[keep]
        refused = np.bincount(share.party[demand.refused[keep] & fresh], minlength=len(parties))
        wanted = np.bincount(share.party[fresh], minlength=len(parties))
        whole = [f for f in too_tight(req, demand, healthy, named) if f.proxy == req.proxies[proxy]]
        got = judge_too_tight(demand.table, share, proxy, refused, wanted, named)
        assert got == whole and whole  # non-empty: the comparison has findings to compare
