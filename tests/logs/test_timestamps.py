"""Timestamp encodings seen in Apigee logs all land on the same UTC instant."""

from __future__ import annotations

import pyarrow as pa
import pytest

from copilot.logs.timestamps import parse_timestamps

INSTANT = 1763287200123  # 2025-11-16T10:00:00.123Z


@pytest.mark.parametrize(
    "value",
    [
        "1763287200123",
        "2025-11-16T10:00:00.123Z",
        "2025-11-16T10:00:00.123+00:00",
        "2025-11-16T11:00:00.123+01:00",
        "2025-11-16 10:00:00.123 UTC",
        "2025-11-16 10:00:00.123",
        "2025-11-16T10:00:00.123456789Z",
        " 1763287200123 ",
    ],
)
def test_encoding_parses_to_the_instant(value: str) -> None:
    parsed = parse_timestamps(pa.array([value]))
    assert parsed.cast(pa.int64())[0].as_py() == INSTANT


@pytest.mark.parametrize(
    ("value", "ms"),
    [(1763287200, 1763287200000), (1763287200123, INSTANT), (1763287200123456, INSTANT)],
)
def test_epoch_unit_is_told_apart_by_magnitude(value: int, ms: int) -> None:
    assert parse_timestamps(pa.array([value])).cast(pa.int64())[0].as_py() == ms


@pytest.mark.parametrize("value", ["yesterday", "2025-13-45T99:00:00Z", "", None])
def test_unparseable_values_become_null(value: str | None) -> None:
    assert parse_timestamps(pa.array([value, "1763287200123"], type=pa.string()))[0].as_py() is None


@pytest.mark.parametrize("unit", ["us", "ns"])
@pytest.mark.parametrize("tz", [None, "UTC"])
def test_typed_timestamps_finer_than_a_millisecond_are_cut_to_it(unit: str, tz: str | None) -> None:
    # BigQuery exports TIMESTAMP as microseconds; a sub-millisecond part must not fail the file
    per_ms = {"us": 1_000, "ns": 1_000_000}[unit]
    fine = pa.array([INSTANT * per_ms + per_ms - 1, INSTANT * per_ms], pa.timestamp(unit, tz=tz))
    assert parse_timestamps(fine).cast(pa.int64()).to_pylist() == [INSTANT, INSTANT]
