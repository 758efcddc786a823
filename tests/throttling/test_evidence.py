"""The evidence of a share read in time slices is the evidence of the whole share.

``evidence.gather`` reads a share larger than ``shares.SHARE_ROWS`` in slices
(``copilot.throttling.evidence_slices``); here every share is sliced
(``SHARE_ROWS`` = 0) at 1, 7 and 500 rows a slice and compared with the whole-share
path field by field: the demand table, retry storms, knees, abusive clients and
excluded windows, forecasts, admitted requests, minutes and refusals, and the
collapsed retries the first read writes for the suggestions. On the bundled
sample, a generated estate with retry storms added (one judged on a bundle's
Retry-After), and random streams with many requests in one millisecond.
"""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from copilot.analysis.outcomes import GATEWAY
from copilot.logs.sample import iter_chunks, make_scenario
from copilot.logs.schema import NOT_SET
from copilot.logs.writers import write_records
from copilot.pipeline import read_pass
from copilot.spill import SpillDir
from copilot.throttling import shares
from copilot.throttling.bundle import read_estate
from copilot.throttling.bundle_model import BundleInfo, Estate
from copilot.throttling.collect import ATTRS, EXTRA_COLUMNS, Collector
from copilot.throttling.demand import measure
from copilot.throttling.evidence import Evidence, gather, legit_minutes
from copilot.throttling.evidence_slices import RETRY
from copilot.throttling.requests import Requests
from copilot.throttling.spilled import InMemory
from tests.paths import SAMPLE_LOG
from tests.throttling.conftest import BUNDLES

SLICES = (1, 7, 500)
SA_CODE = "policies.ratelimit.SpikeArrestViolation"


def _gather(
    analysis, req: Requests, estate: Estate | None, rows: int | None
) -> tuple[Evidence, InMemory]:
    """The evidence over a fresh source: whole shares (``rows`` None) or every share in
    slices of ``rows``."""
    source = InMemory(req)
    with pytest.MonkeyPatch.context() as patch:
        if rows is not None:
            patch.setattr(shares, "SHARE_ROWS", 0)
            patch.setattr(shares, "SLICE_ROWS", rows)
        ev = gather(analysis, source, 0.2, list(estate.policies) if estate else [], estate)
    return ev, source


def _same_forecast(got, want) -> None:
    for f in dataclasses.fields(want):
        a, b = getattr(got, f.name), getattr(want, f.name)
        if isinstance(b, pd.Series):
            pd.testing.assert_series_equal(a, b)
        else:
            assert a == b, f.name


def _assert_same(got: Evidence, want: Evidence) -> None:
    pd.testing.assert_frame_equal(got.demand, want.demand)
    assert got.storms == want.storms
    assert got.abusive == want.abusive
    np.testing.assert_array_equal(got.bad_party, want.bad_party)
    assert list(got.knees) == list(want.knees)
    for name, knee in want.knees.items():
        assert got.knees[name].to_dict() == knee.to_dict()
        pd.testing.assert_frame_equal(got.knees[name].bins, knee.bins)
    assert [w.to_dict() for w in got.health.excluded] == [w.to_dict() for w in want.health.excluded]
    np.testing.assert_array_equal(got.health.healthy, want.health.healthy)
    assert list(got.forecasts) == list(want.forecasts)
    for key, fc in want.forecasts.items():
        _same_forecast(got.forecasts[key], fc)
    source = want.source
    for party in range(len(source.parties)):
        for policy in range(len(source.policies)):
            assert got.admits.infer(party, policy) == want.admits.infer(party, policy)
    assert list(got.minutes) == list(want.minutes) == want.active
    for p, counts in want.minutes.items():
        assert got.minutes[p].dtype == counts.dtype
        np.testing.assert_array_equal(got.minutes[p], counts)
    assert list(got.refusals) == list(want.refusals) == want.active
    for p, counts in want.refusals.items():
        assert list(got.refusals[p].items()) == list(counts.items())


def _assert_retries_written(source: InMemory, active: list[int]) -> None:
    """The derived column of collapsed retries is ``demand.measure``'s, share by share."""
    for p in active:
        pieces = list(source.slices(p, 1 << 30, lean=True, derived=(RETRY,)))
        written = np.concatenate([s.derived[RETRY] for s in pieces])
        np.testing.assert_array_equal(written, measure(source.load(p)).retry)


def _assert_by_definition(ev: Evidence) -> None:
    """Minutes and refusals of the whole-share path are what they say they are."""
    source = ev.source
    for p in ev.active:
        share = source.load(p)
        refused = (share.outcome >> 1) == GATEWAY
        expected = {}
        for party, policy in zip(
            share.party[refused].tolist(), share.policy[refused].tolist(), strict=True
        ):
            expected[(party, policy)] = expected.get((party, policy), 0) + 1
        assert ev.refusals[p] == expected
        series = legit_minutes(ev.traffic(share), p)
        np.testing.assert_array_equal(ev.minutes[p], series.to_numpy())


def _check(analysis, req: Requests, estate: Estate | None, slices=SLICES) -> Evidence:
    want, _ = _gather(analysis, req, estate, None)
    _assert_by_definition(want)
    for rows in slices:
        got, source = _gather(analysis, req, estate, rows)
        _assert_same(got, want)
        _assert_retries_written(source, want.active)
    return want


# --- the bundled sample -------------------------------------------------------------


@pytest.fixture(scope="module")
def sample():
    collector = Collector(ATTRS)
    run = read_pass([SAMPLE_LOG], consumers=[collector], extra_columns=list(EXTRA_COLUMNS))
    return run.analysis, collector.finish()


def test_the_sample_sliced_gives_the_whole_shares_evidence(sample) -> None:
    analysis, req = sample
    ev = _check(analysis, req, read_estate([BUNDLES]), slices=(7, 500))  # 1: see the others
    assert ev.abusive and any(w.kind == "abusive_client" for w in ev.health.excluded)
    assert any(ev.refusals.values())


# --- a generated estate with retry storms ---------------------------------------------


def _retry_after_estate(root: Path, proxy: str, seconds: int) -> Estate:
    """The fixture bundles, ``proxy``'s 429s carrying ``Retry-After: seconds``."""
    shutil.copytree(BUNDLES, root)
    bundle = root / proxy / "apiproxy"
    (bundle / "policies" / "AM-RetryAfter.xml").write_text(
        '<AssignMessage name="AM-RetryAfter"><Set><Headers>'
        f'<Header name="Retry-After">{seconds}</Header></Headers></Set>'
        '<AssignTo createNew="false" type="response"/></AssignMessage>'
    )
    endpoint = bundle / "proxies" / "default.xml"
    endpoint.write_text(endpoint.read_text().replace(
        "<Name>SA-Global</Name>", "<Name>SA-Global</Name>\n      </Step>\n      <Step>\n"
        "        <Name>AM-RetryAfter</Name>", 1,
    ))  # fmt: skip
    estate = read_estate([root])
    assert {b.name: b.retry_after_s for b in estate.bundles}[proxy] == seconds
    return estate


def _client(
    start: int, cycles: int, gap: int, same_path: bool, jitter: int = 1
) -> list[tuple[int, bool, int]]:
    """(ms, refused, path id) of a client asking every 10 s; every 5th refused, then asked
    again ``gap`` ms later (refused) and twice ``gap`` after that (admitted, both in one
    millisecond): the same path each time, or (``same_path`` False) the next pages. The
    gap grows by a millisecond a cycle, ``jitter`` values in turn."""
    out = []
    for i in range(cycles * 5):
        t, g = start + i * 10_000, gap + (i // 5) % jitter
        out.append((t, i % 5 == 0, i))
        if i % 5 == 0:
            again = [i] * 3 if same_path else [i + 1_000 * k for k in (1, 2, 3)]  # next pages
            out += [(t + g, True, again[0]), (t + 2 * g, False, again[1]),
                    (t + 2 * g, False, again[2])]  # fmt: skip
    return out


def _with_clients(req: Requests, clients: list[tuple[str, tuple[str, str], list]]) -> Requests:
    """``req`` and the rows of ``clients`` (proxy, party, rows from :func:`_client`), in
    time order (ties: ``req``'s first, then as listed), refused by a new SpikeArrest."""
    parties = list(req.parties)
    policies = [*req.policies, "SA-Storm"]
    paths = list(req.attrs["path"][1])
    cols = {k: [getattr(req, k)] for k in ("ts", "proxy", "party", "outcome", "policy")}
    verb, path = [req.attrs["verb"][0]], [req.attrs["path"][0]]
    get = req.attrs["verb"][1].index("GET")
    for proxy, party, rows in clients:
        if party not in parties:
            parties.append(party)
        ts, refused, path_ids = (np.array(c) for c in zip(*rows, strict=True))
        n = ts.size
        cols["ts"].append(ts.astype(np.int64))
        cols["proxy"].append(np.full(n, req.proxies.index(proxy), np.int16))
        cols["party"].append(np.full(n, parties.index(party), np.int32))
        cols["outcome"].append(np.where(refused, 2 * GATEWAY, 0).astype(np.int8))
        cols["policy"].append(np.where(refused, len(policies) - 1, 0).astype(np.int16))
        verb.append(np.full(n, get, np.int32))
        path.append((len(paths) + path_ids).astype(np.int32))
    paths += [f"/storm/{i}" for i in range(4_000)]
    merged = {k: np.concatenate(v) for k, v in cols.items()}
    order = np.argsort(merged["ts"], kind="stable")
    size = order.size
    return Requests(
        merged["ts"][order], merged["proxy"][order], merged["party"][order],
        merged["outcome"][order], merged["policy"][order], np.full(size, 50.0, np.float32),
        req.proxies, parties, policies, {**req.fault_codes, "SA-Storm": (SA_CODE,)},
        status=np.full(size, 200, np.int16),
        attrs={"verb": (np.concatenate(verb)[order], req.attrs["verb"][1]),
               "path": (np.concatenate(path)[order], paths)},
    )  # fmt: skip


@pytest.fixture(scope="module")
def stormy(tmp_path_factory: pytest.TempPathFactory):
    """A generated 3-day estate (its scraper is abusive) with clients retrying 429s."""
    tmp = tmp_path_factory.mktemp("stormy")
    scenario = make_scenario(days=3, seed=5, rows=15_000)
    path = tmp / "estate.csv"
    write_records(iter_chunks(scenario), path)
    collector = Collector(("verb", "path"))
    run = read_pass([path], consumers=[collector])
    req = collector.finish()
    start = int(req.ts[0]) + 17
    clients = [
        ("catalog", ("retrier", "key-retrier"), _client(start, 60, 150, True, jitter=4)),
        ("orders", ("patient", "key-patient"), _client(start + 5, 60, 2_500, True)),
        ("orders", ("pager", "key-pager"), _client(start + 9, 60, 150, False)),
        ("orders", (NOT_SET, NOT_SET), _client(start + 3, 60, 100, True)),
        ("catalog", ("edge", "key-edge"), _client(start + 1, 60, 2_000, True)),
    ]
    return run.analysis, _with_clients(req, clients), _retry_after_estate(tmp / "b", "orders", 3)


def test_a_generated_estate_with_retry_storms_sliced_gives_the_whole_shares_evidence(
    stormy,
) -> None:
    analysis, req, estate = stormy
    ev = _check(analysis, req, estate)
    windows = {s.app: (s.window_ms, s.window_source) for s in ev.storms}
    # 'patient' waits 2.5 s: within orders' Retry-After (3 s), beyond the default 2 s
    assert windows["retrier"] == (2_000, "default") and windows["edge"] == (2_000, "default")
    assert windows["patient"] == (3_000, "Retry-After")
    retrier = next(s for s in ev.storms if s.app == "retrier")
    assert retrier.median_gap_ms == 151.5  # 30 gaps each of 150-153 ms: the middle two's mean
    assert "pager" not in windows and NOT_SET not in windows  # new pages; anonymous
    assert any(w.kind == "abusive_client" for w in ev.health.excluded)


def test_without_bundles_the_default_window_judges_every_proxy(stormy) -> None:
    analysis, req, _ = stormy
    ev = _check(analysis, req, None, slices=(7,))
    assert "patient" not in {s.app for s in ev.storms}


# --- random streams with ties -----------------------------------------------------------


def _random_estate(seed: int) -> tuple[SimpleNamespace, Requests, Estate]:
    """Two proxies, six parties (one anonymous, one abusive), bursts of many requests in
    one millisecond, refusals by three policies, a few paths."""
    rng = np.random.default_rng(seed)
    n = 4_000
    instants = np.sort(rng.choice(np.arange(0, 4 * 3_600_000, 250), 600, replace=False))
    ts = np.sort(rng.choice(instants, n)) + 1_763_251_200_000
    party = rng.integers(0, 6, n)
    refused = rng.random(n) < np.where(party == 5, 0.5, 0.15)
    policy = np.where(refused, rng.integers(1, 4, n), np.where(rng.random(n) < 0.05, 4, 0))
    parties = [(NOT_SET, NOT_SET), ("a", "ka"), ("b", "kb"), ("c", "kc"), ("d", "kd"),
               ("bad", "kbad")]  # fmt: skip
    policies = ["", "Q-Hourly", "SA-Burst", "SA-Global", "VA-Key"]
    codes = {"Q-Hourly": ("policies.ratelimit.QuotaViolation",), "SA-Burst": (SA_CODE,),
             "SA-Global": (SA_CODE,), "VA-Key": ("steps.oauth.v2.InvalidApiKey",)}  # fmt: skip
    req = Requests(
        ts, np.where(rng.random(n) < 0.8, 0, 1).astype(np.int16), party.astype(np.int32),
        np.where(refused, 2 * GATEWAY, rng.integers(0, 3, n) * 2).astype(np.int8),
        policy.astype(np.int16), rng.gamma(2.0, 30.0, n).astype(np.float32),
        ["orders", "search"], parties, policies, codes, status=np.full(n, 200, np.int16),
        attrs={"verb": (rng.integers(0, 2, n).astype(np.int32), ["GET", "POST"]),
               "path": (rng.integers(0, 3, n).astype(np.int32), ["/a", "/b", "/c"])},
    )  # fmt: skip
    consumers = pd.DataFrame(
        {
            "proxy": "orders", "app": [a for a, _ in parties[1:]],
            "client_id": [c for _, c in parties[1:]], "requests": [500] * 5,
            "errors_4xx": [5, 5, 5, 5, 200], "gateway_429": [10, 10, 10, 10, 250],
            "rpm_p99": [5.0] * 5,
        }
    )  # fmt: skip
    frame = pd.DataFrame({"proxy": pd.Series([], dtype=str), "minute": [], "requests": []})
    analysis = SimpleNamespace(tables={"consumers": consumers}, anomalies=[], proxy_minutes=frame)
    bundle = BundleInfo("search", "proxy", ("/search",), "search.zip", retry_after_s=1.5)
    return analysis, req, Estate([bundle], [], [], [])


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_streams_with_ties_sliced_give_the_whole_shares_evidence(seed: int) -> None:
    analysis, req, estate = _random_estate(seed)
    ev = _check(analysis, req, estate)
    assert [a.app for a in ev.abusive] == ["bad"]
    assert ev.demand["retries"].sum() > 0  # quick retries were collapsed
    assert any(w.kind == "abusive_client" for w in ev.health.excluded)


def test_spilled_shares_sliced_give_the_evidence_of_whole_shares_in_memory() -> None:
    estate = read_estate([BUNDLES])
    with SpillDir() as spill, pytest.MonkeyPatch.context() as patch:
        memory, spilling = Collector(ATTRS), Collector(ATTRS, spill=spill)
        extra = list(EXTRA_COLUMNS)
        run = read_pass([SAMPLE_LOG], consumers=[memory, spilling], extra_columns=extra)
        want, _ = _gather(run.analysis, memory.finish(), estate, None)
        source = spilling.finish_source()
        patch.setattr(shares, "SHARE_ROWS", 0)
        patch.setattr(shares, "SLICE_ROWS", 300)
        got = gather(run.analysis, source, 0.2, list(estate.policies), estate)
        _assert_same(got, want)
        _assert_retries_written(source, want.active)
