"""The streaming analyzer agrees with a naive pandas computation on the same rows."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from copilot.analysis import Analysis, analyze, sketch, template_path
from copilot.analysis.result import KEYS
from copilot.logs import schema
from tests.analysis.synth import small_frame

THROTTLE_NAMES = {"SpikeArrestViolation", "QuotaViolation"}


def naive_outcomes(df: pd.DataFrame) -> pd.DataFrame:
    """The outcome rules of ``copilot.analysis.outcomes``, row by row."""

    def one(row) -> tuple[bool, bool, bool, bool]:
        code, policy = str(row.fault_code), str(row.fault_policy)
        reached = not pd.isna(row.target_status)
        gateway = code.rsplit(".", 1)[-1] in THROTTLE_NAMES or (
            policy != ""
            and code == ""
            and not reached
            and (row.status == 429 or (row.status == 500 and "quota" in policy.lower()))
        )
        e4 = not gateway and 400 <= row.status < 500
        e5 = not gateway and row.status >= 500
        be = not gateway and reached and row.target_status == 429
        return e4, e5, gateway, be

    flags = pd.DataFrame(
        [one(r) for r in df.itertuples()],
        columns=["errors_4xx", "errors_5xx", "gateway_429", "backend_429"],
        index=df.index,
    )
    return flags


@pytest.fixture(scope="module", params=[False, True], ids=["shared-keys", "one-key-per-app"])
def case(request) -> tuple[pd.DataFrame, Analysis]:
    df = small_frame(seed=11, one_to_one=request.param)
    naive = df.assign(
        **{c: df[c].astype(str) for c in ("proxy", "app", "client_id", "verb")},
        path=[template_path(p) for p in df["path"]],
    )
    naive = pd.concat([naive, naive_outcomes(df)], axis=1)
    return naive, analyze([df])


@pytest.mark.parametrize("kind", list(KEYS))
def test_counts_and_error_splits_are_exact(case, kind: str) -> None:
    naive, analysis = case
    keys = list(KEYS[kind])
    expected = naive.groupby(keys).agg(
        requests=("status", "size"),
        errors_4xx=("errors_4xx", "sum"),
        errors_5xx=("errors_5xx", "sum"),
        gateway_429=("gateway_429", "sum"),
        backend_429=("backend_429", "sum"),
    )
    got = analysis.tables[kind].assign(**{k: analysis.tables[kind][k].astype(str) for k in keys})
    got = got.set_index(keys)[expected.columns].sort_index()
    pd.testing.assert_frame_equal(got, expected.sort_index(), check_dtype=False)


@pytest.mark.parametrize("kind", list(KEYS))
@pytest.mark.parametrize(
    ("unit", "prefix", "active"), [("s", "rps", "active_seconds"), ("min", "rpm", "active_minutes")]
)
def test_rate_distributions_over_active_seconds_and_minutes_are_exact(
    case, kind: str, unit: str, prefix: str, active: str
) -> None:
    naive, analysis = case
    keys = list(KEYS[kind])
    per = naive.groupby([*keys, naive["ts"].dt.floor(unit)]).size().groupby(level=keys)
    expected = pd.DataFrame(
        {
            active: per.size(),
            f"{prefix}_p50": per.quantile(0.5),
            f"{prefix}_p95": per.quantile(0.95),
            f"{prefix}_p99": per.quantile(0.99),
            f"{prefix}_max": per.max(),
        }
    )
    table = analysis.tables[kind]
    got = table.assign(**{k: table[k].astype(str) for k in keys}).set_index(keys)
    got = got[expected.columns].sort_index()
    pd.testing.assert_frame_equal(got, expected.sort_index(), check_dtype=False, atol=1e-9)


@pytest.mark.parametrize("kind", list(KEYS))
def test_first_and_last_seen_are_the_group_extremes_to_the_second(case, kind: str) -> None:
    naive, analysis = case
    keys = list(KEYS[kind])
    ts = naive.groupby(keys)["ts"]
    table = analysis.tables[kind]
    got = table.assign(**{k: table[k].astype(str) for k in keys}).set_index(keys).sort_index()
    assert (got["first"] == ts.min().dt.floor("s").sort_index()).all()
    assert (got["last"] == ts.max().dt.floor("s").sort_index()).all()


@pytest.mark.parametrize("kind", list(KEYS))
@pytest.mark.parametrize("column", ["total_ms", "target_ms"])
def test_latency_quantiles_are_within_the_sketch_accuracy(case, kind: str, column: str) -> None:
    naive, analysis = case
    keys = list(KEYS[kind])
    table = analysis.tables[kind]
    got = table.assign(**{k: table[k].astype(str) for k in keys}).set_index(keys)
    for key, values in naive.groupby(keys)[column]:
        values = values.dropna().to_numpy(dtype=np.float64)
        row = got.loc[key if len(keys) > 1 else key[0]]
        for q in (0.5, 0.95, 0.99):
            estimate = row[f"{column}_p{round(q * 100)}"]
            if values.size == 0:
                assert np.isnan(estimate)
                continue
            exact = np.quantile(values, q, method="lower")
            assert abs(estimate - exact) <= sketch.REL_ACCURACY * exact + 1e-6


def test_proxy_minutes_match_a_groupby_with_quiet_minutes_as_zeros(case) -> None:
    naive, analysis = case
    minute = naive["ts"].dt.floor("min")
    counts = ["errors_4xx", "errors_5xx", "gateway_429", "backend_429"]
    grouped = naive.groupby(["proxy", minute])
    expected = grouped[counts].sum().astype("int64")
    expected.insert(0, "requests", grouped.size())
    frame = analysis.proxy_minutes.assign(proxy=analysis.proxy_minutes["proxy"].astype(str))
    got = frame.set_index(["proxy", "minute"])
    busy = got.loc[expected.index, ["requests", *counts]]
    pd.testing.assert_frame_equal(busy, expected, check_dtype=False, check_names=False)
    quiet = got.drop(expected.index)
    assert (quiet[["requests", *counts]] == 0).all().all()
    assert quiet["p95_ms"].isna().all()
    # each proxy's rows cover its span minute by minute
    for proxy, rows in frame.groupby("proxy"):
        steps = rows["minute"].diff().dropna().unique()
        assert list(steps) == [pd.Timedelta(minutes=1)]
        assert rows["minute"].min() == minute[naive["proxy"] == proxy].min()


def test_proxy_minute_latency_is_within_the_coarse_accuracy(case) -> None:
    naive, analysis = case
    frame = analysis.proxy_minutes.assign(proxy=analysis.proxy_minutes["proxy"].astype(str))
    got = frame.set_index(["proxy", "minute"])
    minute = naive["ts"].dt.floor("min")
    for key, values in naive.groupby(["proxy", minute])["total_ms"]:
        values = values.dropna().to_numpy(dtype=np.float64)
        for q, column in ((0.5, "p50_ms"), (0.95, "p95_ms")):
            exact = np.quantile(values, q, method="lower")
            assert abs(got.loc[key, column] - exact) <= sketch.COARSE_REL_ACCURACY * exact + 1e-6


def test_app_minutes_hold_every_consumer_minute_with_traffic(case) -> None:
    naive, analysis = case
    keys = ["proxy", "app", "client_id"]
    grouped = naive.groupby([*keys, naive["ts"].dt.floor("min")])
    expected = grouped[["errors_5xx", "gateway_429"]].sum().astype("int64")
    expected.insert(0, "requests", grouped.size())
    frame = analysis.app_minutes
    got = frame.assign(**{k: frame[k].astype(str) for k in keys}).set_index([*keys, "minute"])
    got = got[expected.columns].sort_index()
    pd.testing.assert_frame_equal(got, expected.sort_index(), check_dtype=False, check_names=False)


def test_records_time_range_and_top_consumers(case) -> None:
    naive, analysis = case
    assert analysis.records == len(naive)
    assert analysis.start == naive["ts"].min() and analysis.end == naive["ts"].max()
    by_app = naive.groupby("app").size().sort_values(ascending=False, kind="stable")
    top = analysis.top_consumers
    assert [c.app for c in top] == list(by_app.index)
    assert [c.requests for c in top] == list(by_app.to_numpy())
    first = top[0]
    mine = naive[naive["app"] == first.app]
    assert first.client_ids == tuple(sorted(mine["client_id"].unique()))
    assert first.peak_rps == mine.groupby(mine["ts"].dt.floor("s")).size().max()


def test_to_dict_is_strict_json_with_the_documented_keys(case) -> None:
    _, analysis = case
    body = json.loads(json.dumps(analysis.to_dict(), allow_nan=False))
    for key in (
        "records",
        "time_range",
        "proxies",
        "apps",
        "clients",
        "consumers",
        "endpoints",
        "anomalies",
        "top_consumers",
        "baseline",
    ):
        assert key in body
    proxy = body["proxies"][0]
    assert set(proxy) >= {
        "proxy",
        "requests",
        "errors",
        "error_rates",
        "per_second",
        "per_minute",
        "latency_ms",
        "first",
        "last",
    }
    assert set(proxy["errors"]) == {"4xx", "5xx", "gateway_429", "backend_429"}
    assert set(proxy["per_second"]) == {"active", "p50", "p95", "p99", "max"}
    assert set(body["endpoints"][0]) >= {"proxy", "verb", "path"}


def test_an_analysis_of_nothing_is_empty_not_an_error() -> None:
    analysis = analyze([schema.empty_frame()])
    body = analysis.to_dict()
    assert body["records"] == 0 and body["proxies"] == [] and body["anomalies"] == []
    assert body["time_range"] == {"start": None, "end": None}
    assert analysis.proxy_minutes.empty


def test_a_frame_that_is_not_canonical_is_bad_input() -> None:
    from copilot.errors import InputError

    with pytest.raises(InputError, match="missing columns"):
        analyze([pd.DataFrame({"ts": [pd.Timestamp("2024-01-01", tz="UTC")], "proxy": ["p"]})])


def test_rows_without_a_time_are_skipped_and_counted() -> None:
    frame = small_frame(seed=2, n=50)
    frame.loc[frame.index[:3], "ts"] = pd.NaT
    analysis = analyze([frame])
    assert analysis.records == 47 and analysis.skipped == 3
    assert sum(p.requests for p in analysis.proxies) == 47


def test_per_second_counts_are_kept_on_request() -> None:
    frame = small_frame(seed=12)
    analysis = analyze([frame], keep_seconds=True)
    naive = frame.assign(proxy=frame["proxy"].astype(str))
    expected = naive.groupby(["proxy", naive["ts"].dt.floor("s")]).size()
    got = analysis.proxy_seconds.assign(proxy=analysis.proxy_seconds["proxy"].astype(str))
    got = got.set_index(["proxy", "second"])["requests"]
    assert got.to_dict() == expected.to_dict()
    per_consumer = analysis.consumer_seconds
    assert per_consumer["requests"].sum() == len(frame)
    assert analyze([frame]).proxy_seconds is None
