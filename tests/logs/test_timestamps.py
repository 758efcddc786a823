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
