"""Shared fixtures: generated scenarios with a known knee and abusive client, and a builder
of small hand-made request arrays."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from copilot.logs.sample import iter_chunks, make_scenario
from copilot.logs.writers import write_records
from copilot.throttling.collect import Requests
from copilot.throttling.run import SuggestRun, suggest_paths
from tests.paths import FIXTURES
from tests.paths import SAMPLE_LOG as SAMPLE

BUNDLES = FIXTURES / "bundles" / "shopco"
ROWS = 300_000


def knee_scenario(knee_factor: float, days: int = 7, seed: int = 11, rows: int = ROWS):
    """A generated scenario whose backend knee is ``knee_factor`` x the default (the
    generator reads the knee from the scenario)."""
    scenario = make_scenario(days=days, seed=seed, rows=rows)
    backend = dataclasses.replace(
        scenario.backend, knee_rps=round(scenario.backend.knee_rps * knee_factor, 4)
    )
    return dataclasses.replace(scenario, backend=backend)


def scenario_run(tmp: Path, knee_factor: float) -> tuple[SuggestRun, object]:
    """A 7-day generated scenario whose backend knee is ``knee_factor`` x the default.

    At 300k rows the default knee sits at about 1.2x the nightly batch job's busiest
    minutes; the factor separates "a limit fits below the knee" (1.4) from "the knee is
    below legitimate peaks" (0.6).
    """
    scenario = knee_scenario(knee_factor)
    path = tmp / f"knee-{knee_factor}.csv"
    write_records(iter_chunks(scenario), path)
    return suggest_paths([path]), scenario


@pytest.fixture(scope="session")
def roomy(tmp_path_factory: pytest.TempPathFactory):
    """Knee well above legitimate peaks."""
    return scenario_run(tmp_path_factory.mktemp("roomy"), 1.4)


@pytest.fixture(scope="session")
def cramped(tmp_path_factory: pytest.TempPathFactory):
    """Knee below legitimate peaks: a capacity problem."""
    return scenario_run(tmp_path_factory.mktemp("cramped"), 0.6)


@pytest.fixture(scope="session")
def sample_run() -> SuggestRun:
    """The bundled sample with the fixture bundles holding its current limits."""
    return suggest_paths([SAMPLE], bundles=[BUNDLES])


def make_requests(
    ts: list[int] | np.ndarray,
    *,
    proxy: list[int] | None = None,
    party: list[int] | None = None,
    outcome: list[int] | None = None,
    policy: list[int] | None = None,
    target_ms: list[float] | None = None,
    proxies: tuple[str, ...] = ("orders",),
    parties: tuple[tuple[str, str], ...] = (("app-a", "key-a"),),
    policies: tuple[str, ...] = ("",),
    fault_codes: dict | None = None,
) -> Requests:
    """Hand-made requests (sorted by ``ts``), for unit tests."""
    ts = np.asarray(ts, dtype=np.int64)
    n = ts.size

    def col(values, dtype, default=0):
        return np.asarray(values if values is not None else [default] * n, dtype=dtype)

    return Requests(
        ts=ts,
        proxy=col(proxy, np.int16),
        party=col(party, np.int32),
        outcome=col(outcome, np.int8),
        policy=col(policy, np.int16),
        target_ms=col(target_ms, np.float32, 50.0),
        proxies=list(proxies),
        parties=list(parties),
        policies=list(policies),
        fault_codes=dict(fault_codes or {}),
    )


COHORT = [  # app, requests, 4xx, gateway 429, rpm p99
    ("web", 5000, 25, 10, 6.0),
    ("ios", 4000, 20, 5, 5.0),
    ("android", 3000, 15, 3, 5.0),
]


def consumers_analysis(extra: tuple, surge_share: float = 0.0) -> SimpleNamespace:
    """An analysis stand-in holding the consumers table of ``COHORT`` plus ``extra``, and an
    anomaly ``extra`` drove ``surge_share`` of (the inputs ``find_abusive`` reads)."""
    rows = [*COHORT, extra]
    consumers = pd.DataFrame(
        {
            "proxy": "catalog",
            "app": [r[0] for r in rows],
            "client_id": [f"key-{r[0]}" for r in rows],
            "requests": [r[1] for r in rows],
            "errors_4xx": [r[2] for r in rows],
            "gateway_429": [r[3] for r in rows],
            "rpm_p99": [r[4] for r in rows],
        }
    )
    anomalies = []
    if surge_share:
        driver = SimpleNamespace(app=extra[0], client_id=f"key-{extra[0]}", share=surge_share)
        anomalies.append(
            SimpleNamespace(
                proxy="catalog",
                metric="requests",
                drivers=[driver],
                start=pd.Timestamp("2026-11-17 09:00", tz="UTC"),
                end=pd.Timestamp("2026-11-17 12:30", tz="UTC"),
            )
        )
    return SimpleNamespace(tables={"consumers": consumers}, anomalies=anomalies)


def chunk_frame(rows: list[tuple], attrs: bool = False) -> pd.DataFrame:
    """A canonical chunk of (ms, proxy, app, client id, refusing policy, path) rows, GETs;
    ``attrs``: with the flow columns bundle conditions read (basepath, client IP...)."""
    ts, proxy, app, client, policy, path = zip(*rows, strict=True)
    n = len(rows)
    frame = {
        "ts": pd.to_datetime(list(ts), unit="ms", utc=True),
        "proxy": list(proxy), "app": list(app), "client_id": list(client),
        "status": [429 if p else 200 for p in policy], "target_status": [200] * n,
        "target_ms": [5.0] * n, "fault_policy": list(policy),
        "fault_code": ["policies.ratelimit.SpikeArrestViolation" if p else "" for p in policy],
        "verb": ["GET"] * n, "path": list(path),
    }  # fmt: skip
    if attrs:
        frame |= {"basepath": ["/v1"] * n, "pathsuffix": list(path),
                  "client_ip": ["10.0.0.1"] * n, "api_product": ["p"] * n}  # fmt: skip
    return pd.DataFrame(frame)
