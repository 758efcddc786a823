"""The same rows give the same analysis however they are chunked and ordered."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from copilot.analysis import Analysis, Analyzer, analyze
from copilot.logs import schema
from tests.analysis.synth import small_frame

CATEGORICAL = [c.name for c in schema.COLUMNS if c.dtype == "category"]


def recategorise(chunk: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """Give every categorical column its own category list: used ones, shuffled, plus junk."""
    chunk = chunk.copy()
    for name in CATEGORICAL:
        col = chunk[name].cat.remove_unused_categories()
        cats = list(col.cat.categories) + [f"unused-{rng.integers(1000)}"]
        rng.shuffle(cats)
        chunk[name] = col.cat.set_categories(cats)
    return chunk


def by_time(df: pd.DataFrame, pieces: int, rng: np.random.Generator) -> list[pd.DataFrame]:
    """Time-ordered chunks cut at random rows, so chunks split seconds and minutes."""
    ordered = df.sort_values("ts", kind="stable").reset_index(drop=True)
    cuts = np.sort(rng.choice(np.arange(1, len(ordered)), pieces - 1, replace=False))
    return [
        ordered.iloc[a:b] for a, b in zip(np.r_[0, cuts], np.r_[cuts, len(ordered)], strict=True)
    ]


def assert_same(a: Analysis, b: Analysis) -> None:
    assert a.to_dict() == b.to_dict()
    for kind in a.tables:
        pd.testing.assert_frame_equal(a.tables[kind], b.tables[kind])
    pd.testing.assert_frame_equal(a.proxy_minutes, b.proxy_minutes)
    pd.testing.assert_frame_equal(a.app_minutes, b.app_minutes)


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    return small_frame(seed=5, n=8_000)


@pytest.fixture(scope="module")
def whole(frame: pd.DataFrame) -> Analysis:
    return analyze([frame])


def test_time_ordered_chunks_that_split_seconds_match_one_chunk(frame, whole) -> None:
    rng = np.random.default_rng(1)
    assert_same(whole, analyze(by_time(frame, 9, rng)))


def test_chunks_with_their_own_categories_match_one_chunk(frame, whole) -> None:
    rng = np.random.default_rng(2)
    chunks = [recategorise(c, rng) for c in by_time(frame, 6, rng)]
    assert_same(whole, analyze(chunks))


def test_out_of_order_and_interleaved_chunks_match_one_chunk(frame, whole) -> None:
    rng = np.random.default_rng(3)
    reversed_chunks = by_time(frame, 7, rng)[::-1]
    assert_same(whole, analyze(reversed_chunks))
    shuffled = frame.sample(frac=1.0, random_state=4)  # every chunk spans the whole range
    bounds = np.linspace(0, len(shuffled), 6).astype(int)
    interleaved = [
        recategorise(shuffled.iloc[a:b], rng) for a, b in zip(bounds[:-1], bounds[1:], strict=True)
    ]
    assert_same(whole, analyze(interleaved))


def test_single_row_chunks_and_empty_chunks_change_nothing() -> None:
    frame = small_frame(seed=8, n=300)
    rows = [frame.iloc[i : i + 1] for i in range(len(frame))]
    rows.insert(10, frame.iloc[:0])
    assert_same(analyze([frame]), analyze(rows))


def test_finish_can_be_called_between_chunks(frame, whole) -> None:
    analyzer = Analyzer()
    chunks = by_time(frame, 4, np.random.default_rng(6))
    for chunk in chunks[:2]:
        analyzer.add(chunk)
    partial = analyzer.finish()
    assert partial.records == sum(len(c) for c in chunks[:2])
    for chunk in chunks[2:]:
        analyzer.add(chunk)
    assert_same(whole, analyzer.finish())
