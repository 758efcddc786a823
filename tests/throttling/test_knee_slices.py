"""A knee read from a share's time slices is the knee of the share loaded whole."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from copilot.analysis.outcomes import GATEWAY
from copilot.logs.sample import iter_chunks
from copilot.logs.writers import write_records
from copilot.pipeline import read_pass
from copilot.throttling.collect import ATTRS, EXTRA_COLUMNS, Collector
from copilot.throttling.knee import Knee, find_knee, find_knee_slices
from copilot.throttling.requests import Requests
from copilot.throttling.shares import in_slices, slice_of
from tests.paths import SAMPLE_LOG
from tests.throttling.conftest import knee_scenario

pytestmark = pytest.mark.slow  # one-row pieces over tens of thousands of requests

WHOLE = 1 << 40
SIZES = [1, 7, 256, 10_000, WHOLE]


def _collect(path: Path) -> Requests:
    collector = Collector(ATTRS)
    extra = [c for c in EXTRA_COLUMNS if c in ATTRS]
    read_pass([path], consumers=[collector], extra_columns=extra)
    return collector.finish()


@pytest.fixture(scope="module")
def sample() -> Requests:
    return _collect(SAMPLE_LOG)


@pytest.fixture(scope="module")
def estate(tmp_path_factory: pytest.TempPathFactory) -> Requests:
    """Two generated days whose orders backend degrades below its busiest minutes."""
    path = tmp_path_factory.mktemp("knee-slices") / "estate.csv"
    write_records(iter_chunks(knee_scenario(0.6, days=2, seed=11, rows=40_000)), path)
    return _collect(path)


def _same(got: Knee, want: Knee) -> None:
    assert got.to_dict() == want.to_dict()
    assert (got.rpm, got.rpm_low, got.rpm_high) == (want.rpm, want.rpm_low, want.rpm_high)
    pd.testing.assert_frame_equal(got.bins, want.bins)


def _sliced(share: Requests, rows: int):
    """The share as a source's slices: never splitting a millisecond."""
    return lambda: (part.req for part in in_slices(share, rows))


def _ragged(share: Requests, rows: int):
    """Pieces of exactly ``rows`` rows, cuts inside milliseconds and bursts."""
    return lambda: (
        slice_of(share, a, min(a + rows, share.size)) for a in range(0, share.size, rows)
    )


def _knees(req: Requests, proxy: int, rows: int, cut) -> tuple[Knee, Knee]:
    share = req.subset(req.rows_of_proxy(proxy))
    name = req.proxies[proxy]
    return find_knee_slices(cut(share, rows), name), find_knee(req, proxy)


@pytest.mark.parametrize("rows", SIZES)
def test_the_sample_s_knees_from_slices_are_the_whole_share_s(sample: Requests, rows: int) -> None:
    for proxy in range(len(sample.proxies)):
        _same(*_knees(sample, proxy, rows, _sliced))
    assert find_knee(sample, sample.proxy_id("orders")).rpm is not None  # a knee to match


@pytest.mark.parametrize("rows", SIZES)
def test_a_generated_knee_from_slices_is_the_whole_share_s(estate: Requests, rows: int) -> None:
    for name in ("orders", "catalog"):
        _same(*_knees(estate, estate.proxy_id(name), rows, _sliced))
    knee = find_knee(estate, estate.proxy_id("orders"))
    assert knee.rpm is not None and knee.rpm_low <= knee.rpm <= knee.rpm_high


@pytest.mark.parametrize("rows", [2, 7, 256])
def test_cuts_inside_a_millisecond_give_the_same_knee(estate: Requests, rows: int) -> None:
    orders = estate.proxy_id("orders")
    share = estate.subset(estate.rows_of_proxy(orders))
    share.ts = share.ts // 10_000 * 10_000  # 10 s steps: bursts of ties, still in time order
    inside = share.ts[rows::rows] == share.ts[rows - 1 : -1 : rows]
    assert inside.sum() > 10  # the premise: many cuts fall among one millisecond's requests
    whole = find_knee(share, orders)
    assert whole.rpm is not None
    _same(find_knee_slices(_ragged(share, rows), "orders"), whole)


def test_a_share_refused_at_the_gateway_has_no_knee(sample: Requests) -> None:
    share = sample.subset(sample.rows_of_proxy(0))
    share.outcome[:] = 2 * GATEWAY  # every request refused by the gateway's own limits
    found = find_knee_slices(_sliced(share, 7), share.proxies[0])
    assert found.reason == "no traffic reached the backend" and found.observed_max_rpm == 0.0
