"""A spilled estate loads, proxy by proxy, exactly what the in-memory requests hold."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from copilot.analysis import Analyzer
from copilot.commands._output import to_json
from copilot.pipeline import read_pass
from copilot.spill import SpillDir
from copilot.throttling.bundle import read_estate
from copilot.throttling.collect import ATTRS, EXTRA_COLUMNS, Collector
from copilot.throttling.requests import Requests
from copilot.throttling.run import build_report, collected_attrs
from copilot.throttling.spilled import InMemory
from tests.paths import SAMPLE_LOG
from tests.throttling.conftest import BUNDLES

ARRAYS = ("ts", "proxy", "party", "outcome", "policy", "target_ms", "status")


def _same(got: Requests, want: Requests) -> None:
    for name in ARRAYS:
        np.testing.assert_array_equal(getattr(got, name), getattr(want, name), err_msg=name)
    for name in ("proxies", "parties", "policies", "fault_codes"):
        assert getattr(got, name) == getattr(want, name), name
    assert list(got.attrs) == list(want.attrs)
    for name, (ids, labels) in want.attrs.items():
        np.testing.assert_array_equal(got.attrs[name][0], ids, err_msg=name)
        assert got.attrs[name][1] == labels, name
    assert got.status_logged() == want.status_logged()


def _collect(chunks, spill: SpillDir | None) -> Collector:
    collector = Collector(ATTRS, spill=spill)
    for chunk in chunks:
        collector.add(chunk)
    return collector


def _frame(rows: list[tuple]) -> pd.DataFrame:
    ts, proxy, app, client, policy, path = zip(*rows, strict=True)
    n = len(rows)
    return pd.DataFrame(
        {
            "ts": pd.to_datetime(list(ts), unit="ms", utc=True),
            "proxy": list(proxy), "app": list(app), "client_id": list(client),
            "status": [429 if p else 200 for p in policy], "target_status": [200] * n,
            "target_ms": [5.0] * n, "fault_policy": list(policy),
            "fault_code": ["policies.ratelimit.SpikeArrestViolation" if p else "" for p in policy],
            "verb": ["GET"] * n, "path": list(path), "basepath": ["/v1"] * n,
            "pathsuffix": list(path), "client_ip": ["10.0.0.1"] * n, "api_product": ["p"] * n,
        }
    )  # fmt: skip


def test_each_proxy_of_the_sample_loads_as_its_share_of_the_whole(tmp_path: Path) -> None:
    memory, spilled = Collector(ATTRS), Collector(ATTRS, spill=SpillDir())
    extra = [c for c in EXTRA_COLUMNS if c in ATTRS]
    read_pass([SAMPLE_LOG], consumers=[memory, spilled], extra_columns=extra)
    whole = InMemory(memory.finish())
    source = spilled.finish_source()
    assert source.proxies == whole.proxies and source.size == whole.size > 0
    np.testing.assert_array_equal(source.counts, whole.counts)
    assert source.span == whole.span
    for p in range(len(source.proxies)):
        _same(source.load(p), whole.load(p))
        _same(source.load(p), whole.load(p))  # again, from the sorted files


@pytest.mark.parametrize("order", ["as written", "reversed", "interleaved"])
def test_chunks_out_of_time_order_load_sorted_with_ties_in_arrival_order(order: str) -> None:
    rows = [
        (1_000, "b", "app1", "k1", "", "/x"), (1_000, "a", "app2", "k2", "SA", "/y"),
        (3_000, "a", "app1", "k1", "", "/z"), (2_000, "a", "app1", "k1", "", "/x"),
        (1_000, "a", "app1", "k1", "", "/w"), (5_000, "b", "(not set)", "(not set)", "", "/x"),
    ]  # fmt: skip
    chunks = [_frame(rows[i : i + 2]) for i in range(0, len(rows), 2)]
    chunks = {"as written": chunks, "reversed": chunks[::-1],
              "interleaved": [chunks[1], chunks[0], chunks[2]]}[order]  # fmt: skip
    whole = InMemory(_collect(chunks, None).finish())
    source = _collect(chunks, SpillDir()).finish_source()
    for p in range(len(whole.proxies)):
        _same(source.load(p), whole.load(p))
    a = source.load(source.proxies.index("a"))
    assert a.ts.tolist() == sorted(a.ts.tolist())


def test_a_spilling_collector_leaves_nothing_behind_when_closed() -> None:
    spill = SpillDir()
    collector = _collect([_frame([(1_000, "a", "app1", "k1", "", "/x")])], spill)
    collector.finish_source().load(0)
    assert any(spill.path.iterdir())
    with pytest.raises(ValueError, match="finish_source"):
        collector.finish()
    spill.close()
    assert not spill.path.exists()


def test_the_advice_from_spilled_shares_is_the_advice_from_memory() -> None:
    estate = read_estate([BUNDLES])
    attrs = collected_attrs(estate)
    memory, spilled = Collector(attrs), Collector(attrs, spill=SpillDir())
    extra = [c for c in EXTRA_COLUMNS if c in attrs]
    run = read_pass([SAMPLE_LOG], consumers=[memory, spilled], extra_columns=extra)
    reports = [
        build_report(run.analysis, req, estate=estate)
        for req in (memory.finish(), spilled.finish_source())
    ]
    first, second = (to_json(r.to_dict()) for r in reports)
    assert first == second and reports[0].current_replays and reports[0].suggestions


def test_a_chunk_whose_every_time_is_unusable_adds_nothing() -> None:
    before_1970 = _frame([(-5_000, "a", "app1", "k1", "", "/x")])
    kept = _frame([(1_000, "a", "app1", "k1", "", "/y")])
    source = _collect([before_1970, kept], SpillDir()).finish_source()
    whole = InMemory(_collect([before_1970, kept], None).finish())
    assert source.size == whole.size == 1
    _same(source.load(0), whole.load(0))


@pytest.mark.parametrize("spilled", [False, True], ids=["in memory", "spilled"])
def test_no_requests_give_a_report_that_says_so(spilled: bool) -> None:
    collector = Collector((), spill=SpillDir() if spilled else None)
    report = build_report(Analyzer().finish(), collector.finish_source())
    assert report.records == 0 and report.suggestions == []
    assert report.notes == ["no requests: nothing to suggest"]
    assert to_json(report.to_dict())


@pytest.mark.parametrize("spilled", [False, True], ids=["in memory", "spilled"])
def test_a_lean_share_keeps_what_the_advice_reads_and_refuses_writes_to_the_rest(
    spilled: bool,
) -> None:
    memory, spilling = Collector(ATTRS), Collector(ATTRS, spill=SpillDir())
    read_pass([SAMPLE_LOG], consumers=[memory, spilling], extra_columns=list(EXTRA_COLUMNS))
    source = spilling.finish_source() if spilled else InMemory(memory.finish())
    whole = InMemory(memory.finish())
    for p in range(len(whole.proxies)):
        lean, full = source.load(p, lean=True), whole.load(p)
        for name in ("ts", "proxy", "party", "outcome", "policy"):
            np.testing.assert_array_equal(getattr(lean, name), getattr(full, name), name)
        assert lean.attrs == {} and np.isnan(lean.target_ms).all() and not lean.status.any()
        assert lean.status_logged() == full.status_logged()
        with pytest.raises(ValueError, match="read-only"):
            lean.target_ms[0] = 1.0
