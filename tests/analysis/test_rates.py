"""Rate distributions: the dense-histogram and sort paths, and blockwise processing, agree."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from copilot.analysis import rates
from copilot.analysis.sparse import count_cells


def test_both_distribution_paths_equal_pandas_quantiles(monkeypatch) -> None:
    rng = np.random.default_rng(4)
    groups = rng.integers(0, 6, 5_000)
    groups[groups == 3] = 4  # group 3 has no values
    values = rng.poisson(3.0, 5_000) + (groups == 5) * 50
    expected = pd.Series(values).groupby(groups).quantile([0.5, 0.95, 0.99]).unstack()
    dense = rates.distribution(groups, values, 7)
    monkeypatch.setattr(rates, "_DENSE_LIMIT", 1)
    sorted_path = rates.distribution(groups, values, 7)
    np.testing.assert_array_equal(dense, sorted_path)
    for g in (0, 1, 2, 4, 5):
        np.testing.assert_allclose(dense[g, :3], expected.loc[g].to_numpy())
        assert dense[g, 3] == values[groups == g].max()
    assert np.isnan(dense[[3, 6]]).all()


def test_rate_table_is_the_same_whatever_the_block_size(monkeypatch) -> None:
    rng = np.random.default_rng(5)
    group = rng.integers(0, 4, 30_000)
    second = np.sort(rng.integers(1_700_000_000, 1_700_003_000, 30_000))
    keys, counts = count_cells(group, second)
    whole = rates.rate_table([(keys, counts)], 5)
    monkeypatch.setattr(rates, "_BLOCK", 97)
    blocked = rates.rate_table([(keys, counts)], 5)
    pd.testing.assert_frame_equal(whole, blocked)
    per_minute = pd.Series(1, index=[group, second // 60]).groupby(level=[0, 1]).sum()
    assert whole.loc[0, "active_minutes"] == per_minute.loc[0].size
    assert whole.loc[0, "rpm_max"] == per_minute.loc[0].max()


@pytest.mark.parametrize("n_groups", [1, 3])
def test_an_empty_aggregate_gives_empty_rates(n_groups: int) -> None:
    table = rates.rate_table([(np.zeros(0, np.int64), np.zeros(0, np.int32))], n_groups)
    assert len(table) == n_groups and (table["active_seconds"] == 0).all()
    assert table["rps_max"].isna().all()
