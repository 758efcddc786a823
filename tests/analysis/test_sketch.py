"""Log-bucket latency sketches: bounded relative error, exact merging."""

from __future__ import annotations

import numpy as np
import pytest

from copilot.analysis import sketch


def test_every_bucket_represents_its_values_within_the_relative_accuracy() -> None:
    values = np.geomspace(0.02, 5e6, 20_000)
    represented = sketch.bucket_value(sketch.bucket_index(values))
    assert np.max(np.abs(represented - values) / values) <= sketch.REL_ACCURACY + 1e-9


def test_coarse_buckets_stay_within_five_percent() -> None:
    values = np.geomspace(0.1, 5e6, 20_000)
    coarse = sketch.coarse_value(sketch.coarse_index(sketch.bucket_index(values)))
    assert np.max(np.abs(coarse - values) / values) <= sketch.COARSE_REL_ACCURACY + 1e-9
    assert sketch.COARSE_REL_ACCURACY < 0.06


def test_nan_zero_and_huge_values_get_their_own_buckets() -> None:
    idx = sketch.bucket_index(np.array([np.nan, 0.0, 0.001, 1e12], dtype=np.float32))
    assert idx[0] == sketch.NAN_BUCKET
    assert idx[1] == idx[2] == 0
    assert idx[3] == sketch.N_BUCKETS - 1
    assert sketch.bucket_value(np.array([0]))[0] == 0.0


@pytest.mark.parametrize("q", [0.5, 0.95, 0.99])
def test_sparse_quantiles_match_the_lower_order_statistic_within_one_percent(q: float) -> None:
    rng = np.random.default_rng(7)
    groups = {g: rng.lognormal(3 + g, 1.0, 500 + 300 * g) for g in range(4)}
    cells = {}
    for g, values in groups.items():
        for b in sketch.bucket_index(values):
            cells[(g, int(b))] = cells.get((g, int(b)), 0) + 1
    keys = sorted(cells)
    present, idx = sketch.sparse_quantiles(
        np.array([k[0] for k in keys]),
        np.array([k[1] for k in keys]),
        np.array([cells[k] for k in keys]),
        (q,),
    )
    assert present.tolist() == [0, 1, 2, 3]
    for g, estimate in zip(present, sketch.bucket_value(idx[:, 0]), strict=True):
        exact = np.quantile(groups[int(g)], q, method="lower")
        assert abs(estimate - exact) <= sketch.REL_ACCURACY * exact
