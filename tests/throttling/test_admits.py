"""A quota's allowance read from the logs counts a client's admitted requests on every proxy."""

from __future__ import annotations

import numpy as np
import pytest

from copilot.throttling.admits import HourlyAdmits
from copilot.throttling.spilled import InMemory
from copilot.timeunits import HOUR_MS
from tests.throttling.conftest import make_requests

POLICIES = ("", "Q-Hourly", "SA-Burst")


def _estate(seed: int):
    """Two proxies, three clients, refusals by two policies, over a few hours."""
    rng = np.random.default_rng(seed)
    n = 3_000
    ts = np.sort(rng.integers(0, 5 * HOUR_MS, n))
    policy = np.where(rng.random(n) < 0.1, rng.integers(1, 3, n), 0)
    refused = (policy > 0) & (rng.random(n) < 0.8)
    return make_requests(
        ts, proxy=rng.integers(0, 2, n).tolist(), party=rng.integers(0, 3, n).tolist(),
        outcome=np.where(refused, 6, 0).tolist(), policy=policy.tolist(),
        proxies=("orders", "payments"),
        parties=(("app-a", "k-a"), ("app-b", "k-b"), ("app-c", "k-c")), policies=POLICIES,
    ), refused  # fmt: skip


def _by_definition(req, refused, party: int, policy: int) -> int | None:
    """Most admitted in a clock hour where ``policy`` faulted for ``party`` (every proxy)."""
    mine = req.party == party
    hours = np.unique(req.ts[mine & (req.policy == policy)] // HOUR_MS)
    if hours.size == 0:
        return None
    hour = req.ts // HOUR_MS
    return max(int((mine & ~refused & (hour == h)).sum()) for h in hours)


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("proxy_order", [(0, 1), (1, 0)])
def test_shares_read_proxy_by_proxy_infer_what_the_whole_estate_shows(seed, proxy_order) -> None:
    req, refused = _estate(seed)
    source = InMemory(req)
    admits = HourlyAdmits(len(POLICIES))
    for p in proxy_order:
        admits.add_hits(source.load(p))
    admits.seal_hits()
    for p in proxy_order:
        share = source.load(p)
        admits.add_admitted(share, refused[req.rows_of_proxy(p)])
    for party in range(3):
        for policy in (1, 2):
            assert admits.infer(party, policy) == _by_definition(req, refused, party, policy)


def test_a_policy_that_never_met_the_client_infers_nothing() -> None:
    req = make_requests([0, 1, 2], policy=[0, 0, 0], policies=POLICIES)
    admits = HourlyAdmits(len(POLICIES))
    admits.add_hits(req)
    admits.seal_hits()
    admits.add_admitted(req, np.zeros(3, bool))
    assert admits.infer(0, 1) is None
