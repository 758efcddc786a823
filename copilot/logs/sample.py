"""A deterministic, realistic generator of Apigee analytics traffic.

Six proxies (orders, payments, catalog, customers, fulfilment, notifications)
and ten developer apps plus anonymous catalog traffic, with UTC diurnal and
weekly seasonality, Poisson arrivals with short bursts, a price scraper (the
abusive client), a flash-sale incident that pushes the orders backend past its
capacity knee (5xx, climbing latency), and the gateway's existing SpikeArrest
and Quota limits rejecting with their fault names. The returned
:class:`~copilot.logs.sample_scenario.Scenario` is the ground truth.

Generation is vectorised and works one UTC day at a time (``iter_chunks``,
``iter_days``), so millions of rows never sit in memory together; day ``d``
depends only on the seed, the scenario and ``d``, so the same arguments give
the same bytes.

    scenario = make_scenario(days=7, seed=7)
    for table in iter_chunks(scenario):  # pyarrow Tables, EXPORT_COLUMNS, time-sorted
        ...
    frame, scenario = generate(days=1, seed=1)   # small samples as one DataFrame
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import numpy as np
import pandas as pd
import pyarrow as pa

from copilot.errors import UsageError
from copilot.logs import sample_scenario as sc
from copilot.logs.sample_apps import APPS
from copilot.logs.sample_backend import backend_outcomes
from copilot.logs.sample_columns import EXPORT_COLUMNS, export_table
from copilot.logs.sample_draws import Rows, draw_rows
from copilot.logs.sample_policies import gateway_faults
from copilot.logs.sample_pools import Pools, build_pools
from copilot.logs.sample_scenario import DEFAULT_SEED, DEFAULT_START, Scenario
from copilot.logs.sample_traffic import arrivals, expected_rows
from copilot.timeunits import DAY_MS, SECOND_MS

__all__ = [
    "DEFAULT_SEED",
    "DEFAULT_ROWS_PER_DAY",
    "DEFAULT_START",
    "EXPORT_COLUMNS",
    "MAX_DAYS",
    "Scenario",
    "generate",
    "generate_day",
    "iter_chunks",
    "iter_days",
    "make_scenario",
    "to_frame",
]

MAX_DAYS = 366
# ~150k rows a week: the bundled sample; the nominal rates (scale 1) give ~32k a day
DEFAULT_ROWS_PER_DAY = 12_500
CHUNK_ROWS = 200_000
_ERROR_BOOST = np.array([a.error_boost for a in APPS])


def make_scenario(
    *, days: int = 7, seed: int = DEFAULT_SEED, start: date = DEFAULT_START, rows: int | None = None
) -> Scenario:
    """The scenario (and ground truth) for about ``rows`` requests over ``days`` days from ``start``.

    ``rows`` defaults to ``DEFAULT_ROWS_PER_DAY`` per day. Every rate, the
    backend's knee and the existing limits scale together with it, so the
    story (seasonality, scraper, incident, throttling) is the same at any size.
    """
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= MAX_DAYS:
        raise UsageError(f"days must be an integer from 1 to {MAX_DAYS}, got {days!r}")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise UsageError(f"seed must be a non-negative integer, got {seed!r}")
    if rows is None:
        rows = DEFAULT_ROWS_PER_DAY * days
    if isinstance(rows, bool) or not isinstance(rows, int) or rows < 1:
        raise UsageError(f"rows must be a positive integer, got {rows!r}")
    nominal = expected_rows(sc.build_scenario(seed, start, days, 1.0, 0))
    return sc.build_scenario(seed, start, days, rows / nominal, rows)


def _day_rows(scenario: Scenario, day: int, pools: Pools) -> Rows:
    """Every random choice of day ``day``, as numbers."""
    if not 0 <= day < scenario.days:
        raise UsageError(f"day must be from 0 to {scenario.days - 1}, got {day}")
    rng = np.random.default_rng(np.random.SeedSequence([scenario.seed, day]))
    arr = arrivals(day, scenario, rng)
    sec = (arr.ts_ms - (scenario.start_ms + day * DAY_MS)) // SECOND_MS
    fault = gateway_faults(sec, arr.app, arr.op, scenario, rng)
    timing = backend_outcomes(sec, arr.op, fault, _ERROR_BOOST[arr.app], scenario, rng)
    return draw_rows(arr, timing, scenario, pools, rng, day)


def generate_day(scenario: Scenario, day: int, pools: Pools | None = None) -> pa.Table:
    """Day ``day`` (0-based) of the scenario as a time-sorted pyarrow table of export records."""
    pools = pools or build_pools(scenario.seed)
    return export_table(_day_rows(scenario, day, pools), pools, scenario)


def iter_chunks(scenario: Scenario, max_rows: int = CHUNK_ROWS) -> Iterator[pa.Table]:
    """The whole sample in time order, as tables of at most ``max_rows`` rows.

    Memory stays near one day of numbers plus one chunk of text, however many
    rows are asked for; the rows do not depend on ``max_rows``.
    """
    if max_rows < 1:
        raise UsageError(f"max_rows must be positive, got {max_rows}")
    pools = build_pools(scenario.seed)
    for day in range(scenario.days):
        rows = _day_rows(scenario, day, pools)
        for start in range(0, len(rows), max_rows):
            yield export_table(rows.block(start, start + max_rows), pools, scenario)


def iter_days(scenario: Scenario) -> Iterator[pa.Table]:
    """Every day of the scenario, in order, one pyarrow table each."""
    pools = build_pools(scenario.seed)
    for day in range(scenario.days):
        yield generate_day(scenario, day, pools)


def to_frame(table: pa.Table) -> pd.DataFrame:
    """A pandas frame of export records; integer columns with nulls become ``Int64``."""
    return table.to_pandas(types_mapper={pa.int64(): pd.Int64Dtype()}.get)


def generate(
    *, days: int = 7, seed: int = DEFAULT_SEED, start: date = DEFAULT_START, rows: int | None = None
) -> tuple[pd.DataFrame, Scenario]:
    """The whole sample as one DataFrame with its scenario (for small samples and tests)."""
    scenario = make_scenario(days=days, seed=seed, start=start, rows=rows)
    table = pa.concat_tables(list(iter_chunks(scenario)))
    return to_frame(table), scenario
