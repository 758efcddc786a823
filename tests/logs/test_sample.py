"""The sample generator: determinism, the shipped copy, and the story it tells."""

from __future__ import annotations

import gzip
import hashlib
import json
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from copilot.errors import UsageError
from copilot.logs.sample import (
    EXPORT_COLUMNS,
    generate,
    generate_day,
    iter_chunks,
    make_scenario,
)
from copilot.logs.sample_backend import failure_share, slowdown
from copilot.logs.sample_policies import sliding_allowance
from copilot.logs.schema import GATEWAY_THROTTLE_FAULTS, NOT_SET
from copilot.logs.writers import write_records
from tests.paths import SAMPLE

pytestmark = pytest.mark.slow  # regenerates the 7-day sample

SHIPPED = SAMPLE / "apigee-analytics-7d.csv.gz"
MINUTE = 60_000

# The analytics fields issue 2 (item 2) lists, plus the ones the generator adds.
ISSUE_FIELDS = {
    "client_received_start_timestamp", "client_sent_end_timestamp", "target_sent_start_timestamp",
    "target_received_end_timestamp", "organization", "environment", "apiproxy",
    "apiproxy_revision", "api_product", "developer_app", "developer_email", "client_id",
    "request_verb", "request_uri", "request_path", "proxy_basepath", "proxy_pathsuffix",
    "response_status_code", "target_response_code", "total_response_time",
    "target_response_time", "request_processing_latency", "response_processing_latency",
    "x_forwarded_for_ip", "client_ip", "useragent", "ax_execution_fault_policy_name",
    "ax_edge_execution_fault_code", "is_error", "request_size", "response_size",
    "gateway_flow_id", "target_host",
}  # fmt: skip


@pytest.fixture(scope="module")
def week() -> tuple[pd.DataFrame, object]:
    """The default 7-day sample (the one that ships), as a frame with its scenario."""
    return generate(days=7, seed=7)


def _ms(frame: pd.DataFrame) -> np.ndarray:
    return frame["client_received_start_timestamp"].to_numpy(dtype=np.int64)


def _in(frame: pd.DataFrame, window: object) -> np.ndarray:
    start, end = window.ms()  # type: ignore[attr-defined]
    ts = _ms(frame)
    return (ts >= start) & (ts < end)


# --- determinism -----------------------------------------------------------


def test_same_arguments_give_identical_bytes(tmp_path: Path) -> None:
    paths = [tmp_path / "a.csv", tmp_path / "b.csv"]
    for path in paths:
        scenario = make_scenario(days=2, seed=11, rows=20_000)
        write_records(iter_chunks(scenario), path)
    assert paths[0].read_bytes() == paths[1].read_bytes()
    other = tmp_path / "c.csv"
    write_records(iter_chunks(make_scenario(days=2, seed=12, rows=20_000)), other)
    assert other.read_bytes() != paths[0].read_bytes()


def test_chunk_size_and_day_order_do_not_change_rows() -> None:
    scenario = make_scenario(days=2, seed=3, rows=10_000)
    small = pa.concat_tables(list(iter_chunks(scenario, max_rows=777)))
    whole = pa.concat_tables([generate_day(scenario, 0), generate_day(scenario, 1)])
    assert small.equals(whole)
    # a day depends only on the seed, the scenario and its index
    assert generate_day(scenario, 1).equals(
        whole.slice(whole.num_rows - generate_day(scenario, 1).num_rows)
    )


def test_shipped_sample_regenerates_identically(tmp_path: Path) -> None:
    fresh = tmp_path / "apigee-analytics-7d.csv.gz"
    write_records(iter_chunks(make_scenario(days=7, seed=7)), fresh)
    assert gzip.decompress(fresh.read_bytes()) == gzip.decompress(SHIPPED.read_bytes())
    assert fresh.read_bytes()[4:8] == b"\0\0\0\0"  # gzip mtime 0: stable compressed bytes


def test_shipped_ground_truth_matches_the_generator() -> None:
    shipped = json.loads((SAMPLE / "apigee-analytics-7d.scenario.json").read_text())
    assert shipped == make_scenario(days=7, seed=7).to_dict()
    readme = (SAMPLE / "README.md").read_text()
    assert (
        "atc sample --days 7 --seed 7 --out copilot/data/sample/apigee-analytics-7d.csv.gz"
        in readme
    )
    digest = hashlib.sha256(gzip.decompress(SHIPPED.read_bytes())).hexdigest()
    assert digest in readme


# --- volume and arguments -----------------------------------------------------


def test_rows_knob_scales_volume_and_limits_together() -> None:
    small = make_scenario(days=3, seed=1, rows=30_000)
    big = make_scenario(days=3, seed=1, rows=300_000)
    rows = sum(t.num_rows for t in iter_chunks(small))
    assert abs(rows - 30_000) / 30_000 < 0.05
    assert big.backend.knee_rps == pytest.approx(10 * small.backend.knee_rps, rel=1e-3)
    assert big.limit("SA-Global").per_second == pytest.approx(
        10 * small.limit("SA-Global").per_second, rel=0.05
    )
    assert (
        big.limit("Q-PerApp").allow["partner-globex-marketplace"]
        > small.limit("Q-PerApp").allow["partner-globex-marketplace"]
    )


@pytest.mark.parametrize(
    "kwargs",
    [{"days": 0}, {"days": 367}, {"seed": -1}, {"rows": 0}, {"days": 1.5}, {"rows": True}],
)
def test_bad_arguments_are_usage_errors(kwargs: dict[str, object]) -> None:
    with pytest.raises(UsageError):
        make_scenario(**kwargs)  # type: ignore[arg-type]


def test_start_date_moves_everything() -> None:
    scenario = make_scenario(days=1, seed=1, rows=2_000, start=date(2027, 3, 1))
    table = generate_day(scenario, 0)
    ts = pd.to_datetime(table["client_received_start_timestamp"].to_numpy(), unit="ms", utc=True)
    assert ts.min().date() == ts.max().date() == date(2027, 3, 1)
    assert scenario.incident.window.start.date() == date(2027, 3, 1)


# --- record shape --------------------------------------------------------------


def test_every_analytics_field_is_present_and_time_sorted(week) -> None:
    frame, _ = week
    assert set(EXPORT_COLUMNS) == ISSUE_FIELDS
    assert list(frame.columns) == list(EXPORT_COLUMNS)
    assert 80_000 < len(frame) < 95_000
    assert np.all(np.diff(_ms(frame)) >= 0)


def test_latencies_follow_from_the_four_timestamps(week) -> None:
    frame, _ = week
    f = frame.astype(
        {c: "float64" for c in frame.columns if c.endswith(("timestamp", "time", "latency"))}
    )
    crs, cse = f["client_received_start_timestamp"], f["client_sent_end_timestamp"]
    tss, tre = f["target_sent_start_timestamp"], f["target_received_end_timestamp"]
    assert (f["total_response_time"] == cse - crs).all()
    called = tss.notna()
    assert (f["target_response_time"][called] == (tre - tss)[called]).all()
    assert (f["request_processing_latency"][called] == (tss - crs)[called]).all()
    assert (f["response_processing_latency"][called] == (cse - tre)[called]).all()
    assert (f["total_response_time"] >= 0).all() and (f["target_response_time"][called] >= 1).all()


def test_not_reached_targets_leave_target_fields_empty(week) -> None:
    frame, _ = week
    gateway = frame["ax_execution_fault_policy_name"].notna()
    for column in (
        "target_response_code",
        "target_response_time",
        "target_sent_start_timestamp",
        "target_host",
    ):
        assert frame.loc[gateway, column].isna().all(), column
    assert (
        frame.loc[~gateway & frame["target_sent_start_timestamp"].notna(), "target_host"]
        .notna()
        .all()
    )
    assert (frame["is_error"] == (frame["response_status_code"] >= 400).astype(int)).all()


def test_dimensions_are_realistic(week) -> None:
    frame, scenario = week
    assert set(frame["apiproxy"]) == set(scenario.proxies)
    apps = set(frame["developer_app"])
    assert set(scenario.apps) <= apps and NOT_SET in apps
    anonymous = frame[frame["developer_app"] == NOT_SET]
    assert (anonymous["client_id"] == NOT_SET).all() and (anonymous["api_product"] == NOT_SET).all()
    assert set(frame.loc[frame["apiproxy"] == "catalog", "developer_app"]) >= {
        NOT_SET,
        "storefront-web",
    }
    for app, client_id in scenario.apps.items():
        assert set(frame.loc[frame["developer_app"] == app, "client_id"]) == {client_id}
    orders = frame[frame["apiproxy"] == "orders"]
    assert orders["request_path"].str.fullmatch(r"/v1/orders(/\d+(/items|/cancel)?)?").all()
    uri, path = frame["request_uri"].to_numpy(str), frame["request_path"].to_numpy(str)
    assert all(u == p or u.startswith(p + "?") for u, p in zip(uri, path, strict=True))
    assert (
        frame["proxy_basepath"] + frame["proxy_pathsuffix"].fillna("") == frame["request_path"]
    ).all()
    search = frame[frame["request_path"] == "/v1/catalog/search"]
    assert search["request_uri"].str.contains(r"\?q=").all()
    # apps differ in their user agents
    agents = frame.groupby("developer_app")["useragent"].agg(lambda s: s.mode().iloc[0])
    assert agents["shopco-ios"] != agents["storefront-web"] != agents["partner-acme-logistics"]


# --- the story -----------------------------------------------------------------


def test_diurnal_and_weekly_seasonality(week) -> None:
    frame, _ = week
    ts = pd.to_datetime(_ms(frame), unit="ms", utc=True)
    web = frame["developer_app"].eq("storefront-web").to_numpy()
    by_hour = pd.Series(ts[web].hour).value_counts()
    assert by_hour.max() / by_hour.min() > 3  # evening peak vs early-morning trough (UTC)
    business = frame["developer_app"].eq("partner-initech-pos").to_numpy()
    weekday = pd.Series(ts[business].day_of_week)
    assert (weekday >= 5).sum() / 2 < 0.25 * (weekday < 5).sum() / 5  # shops' back office rests
    everything = pd.Series(ts.floor("h")).value_counts()
    assert everything.max() / everything.min() > 2


def test_abusive_client(week) -> None:
    frame, scenario = week
    abuser = frame["developer_app"] == scenario.abusive.developer_app
    assert 0.05 < abuser.mean() < 0.15
    assert set(frame.loc[abuser, "client_id"]) == {scenario.abusive.client_id}
    assert set(frame.loc[abuser, "apiproxy"]) == {"catalog"}
    inside = np.zeros(len(frame), dtype=bool)
    for window in scenario.abusive.windows:
        inside |= _in(frame, window)
    assert inside[abuser.to_numpy()].all()
    rejected = frame.loc[abuser, "ax_execution_fault_policy_name"].eq("SA-PerApp").mean()
    assert rejected > 0.1
    assert frame.loc[abuser, "client_ip"].nunique() <= 12


def test_incident_has_5xx_and_climbing_latency(week) -> None:
    frame, scenario = week
    orders = frame["apiproxy"].eq("orders").to_numpy()
    during = _in(frame, scenario.incident.window) & orders
    outside = ~_in(frame, scenario.incident.window) & orders
    status = frame["response_status_code"].to_numpy()
    assert (status[during] >= 500).mean() > 0.10
    assert (status[outside] >= 500).mean() < 0.005
    targets = frame.loc[during, "target_response_code"].dropna()
    assert {502, 503, 504} <= set(targets.astype(int))
    latency = frame["target_response_time"].astype("float64").to_numpy()
    assert np.nanmedian(latency[during]) > 2 * np.nanmedian(latency[outside])
    # calls that outlast the proxy's target timeout: Apigee's own 504, no target status
    timeouts = frame[
        frame["ax_edge_execution_fault_code"].eq("messaging.adaptors.http.flow.GatewayTimeout")
    ]
    assert len(timeouts) > 0 and timeouts["target_response_code"].isna().all()
    assert (timeouts["response_status_code"] == 504).all()
    assert (timeouts["target_response_time"] == scenario.backend.target_timeout_ms).all()


def test_backend_knee(week) -> None:
    """Per minute of traffic reaching the orders target: healthy below the knee, failing above."""
    frame, scenario = week
    knee = scenario.backend.knee_rps
    reached = frame[frame["apiproxy"].eq("orders") & frame["target_sent_start_timestamp"].notna()]
    minute = _ms(reached) // MINUTE
    g = (
        pd.DataFrame(
            {
                "minute": minute,
                "latency": reached["target_response_time"].astype("float64").to_numpy(),
                "failed": (reached["response_status_code"] >= 500).to_numpy(),
            }
        )
        .groupby("minute")
        .agg(n=("latency", "size"), latency=("latency", "median"), failed=("failed", "mean"))
    )
    u = g["n"] / 60 / knee
    healthy_latency = g.loc[u < 0.6, "latency"].median()
    low, high = g[u < 0.6], g[u > 1.2]
    assert len(high) >= 10
    assert low["failed"].mean() < 0.005
    assert high["failed"].mean() > 0.05
    assert high["latency"].median() > 1.5 * healthy_latency


def test_knee_model() -> None:
    assert slowdown(np.array([0.5, 0.75]))[0] == 1.0 == slowdown(np.array([0.75]))[0]
    assert slowdown(np.array([1.0]))[0] == pytest.approx(1.5)
    assert failure_share(np.array([0.5]))[0] < 0.001
    assert failure_share(np.array([1.0]))[0] == pytest.approx(0.01, abs=0.001)
    assert failure_share(np.array([1.5]))[0] > 0.3


def test_gateway_429s_carry_their_fault_names(week) -> None:
    frame, scenario = week
    throttled = frame["response_status_code"].eq(429)
    gateway = throttled & frame["target_response_code"].isna()
    backend = throttled & frame["target_response_code"].eq(429)
    assert (gateway | backend).equals(throttled)
    assert set(frame.loc[gateway, "ax_execution_fault_policy_name"]) == {
        "SA-Global",
        "SA-PerApp",
        "Q-PerApp",
    }
    assert set(frame.loc[gateway, "ax_edge_execution_fault_code"]) == set(GATEWAY_THROTTLE_FAULTS)
    assert frame.loc[gateway, "total_response_time"].max() <= 10
    assert backend.sum() > 10
    assert frame.loc[backend, "ax_execution_fault_policy_name"].isna().all()
    quota = frame["ax_execution_fault_policy_name"].eq("Q-PerApp")
    assert set(frame.loc[quota, "developer_app"]) <= set(scenario.limit("Q-PerApp").allow)


def test_spike_arrest_global_holds_its_rate_and_fires_only_in_the_incident(week) -> None:
    frame, scenario = week
    limit = scenario.limit("SA-Global")
    orders = frame["apiproxy"].eq("orders")
    rejected = frame["ax_execution_fault_policy_name"].eq("SA-Global")
    assert rejected.sum() > 0
    assert _in(frame, scenario.incident.window)[rejected.to_numpy()].all()
    seconds = (_ms(frame[orders & ~rejected]) - scenario.start_ms) // 1000
    counts = np.bincount(seconds)
    window = np.convolve(counts, np.ones(60, dtype=int))[: counts.size]
    assert window.max() <= round(limit.per_second * 60)


def test_quota_allows_exactly_its_count_per_hour(week) -> None:
    frame, scenario = week
    allow = scenario.limit("Q-PerApp").allow["partner-globex-marketplace"]
    globex = frame[frame["developer_app"].eq("partner-globex-marketplace")]
    # the quota counts what passed SA-Global and verification (sample_policies' flow order)
    counted = globex[
        globex["ax_execution_fault_policy_name"].fillna("").isin(["", "Q-PerApp", "SA-PerApp"])
    ]
    passed = counted[~counted["ax_execution_fault_policy_name"].eq("Q-PerApp")]
    per_hour = pd.Series(_ms(passed) // 3_600_000).value_counts()
    assert per_hour.max() <= allow
    rejected_hours = set(
        _ms(counted[counted["ax_execution_fault_policy_name"].eq("Q-PerApp")]) // 3_600_000
    )
    assert rejected_hours and all(per_hour[h] == allow for h in rejected_hours)


def test_sliding_allowance_is_greedy_and_bounded() -> None:
    counts = np.array([0, 5, 5, 5, 0, 0, 3, 0, 0, 0])
    allowed = sliding_allowance(counts, limit=6, window=3)
    assert allowed.tolist() == [0, 5, 1, 0, 0, 0, 3, 0, 0, 0]
    free = np.array([1, 1, 1, 1])
    assert sliding_allowance(free, limit=10, window=60).tolist() == free.tolist()
