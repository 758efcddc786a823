"""Quarantined lines keep the kind of failure apart from the offending value."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from copilot.logs.quarantine import Quarantine
from copilot.logs.reader import read_logs
from tests.paths import LOGS

GOOD: dict[str, Any] = json.loads((LOGS / "analytics_export.jsonl").read_text().splitlines()[0])


def _with(**changes: Any) -> bytes:
    record = {**GOOD, **changes}
    return json.dumps({k: v for k, v in record.items() if v is not None}).encode()


def _read(tmp_path: Path, lines: list[bytes]) -> tuple[Quarantine, list[dict[str, Any]]]:
    path = tmp_path / "records.jsonl"
    path.write_bytes(b"\n".join([_with(), *lines]) + b"\n")
    q = Quarantine(path=tmp_path / "rejected.jsonl")
    read_logs([path], quarantine=q)
    kept = [json.loads(x) for x in q.path.read_text().splitlines()]  # type: ignore[union-attr]
    return q, kept


# a bad line, the kind it is counted under, the detail kept with it
CASES = [
    (_with(client_received_start_timestamp="2025-13-45"), "bad_timestamp", "'2025-13-45'"),
    (_with(apiproxy=None), "missing_field", "apiproxy"),
    (_with(apiproxy=""), "missing_field", "apiproxy"),
    (_with(response_status_code="OK"), "bad_number", "status 'OK'"),
    (_with(response_status_code=999), "out_of_range", "status '999'"),
    (_with(total_response_time=-5), "negative", "total_ms '-5'"),
    (_with(request_verb="GET /x"), "bad_verb", "'GET /X'"),
    (b"[1, 2]", "not_an_object", "not a JSON object"),
    (b'{"apiproxy": "orders"', "bad_json", None),
    (b"\xff\xfe not text", "bad_utf8", ""),
]


@pytest.mark.parametrize(("line", "kind", "detail"), CASES)
def test_each_failure_is_kept_with_its_kind_and_its_detail(
    tmp_path: Path, line: bytes, kind: str, detail: str | None
) -> None:
    q, kept = _read(tmp_path, [line])
    assert (q.records, q.rejected, dict(q.kinds)) == (1, 1, {kind: 1})
    (sample,) = q.samples
    assert (sample.line, sample.kind) == (2, kind)
    if detail is not None:
        assert sample.detail == detail
    assert kept == [sample.to_dict()]
    assert {"kind", "detail", "reason"} <= set(kept[0])


def test_three_bad_timestamps_are_one_kind_counted_three_times_with_three_details(
    tmp_path: Path,
) -> None:
    times = ["2025-13-01T00:00:00Z", "yesterday", "1763287200123abc"]
    q, kept = _read(tmp_path, [_with(client_received_start_timestamp=t) for t in times])
    assert dict(q.kinds) == {"bad_timestamp": 3}
    assert q.to_dict()["kinds"] == {"bad_timestamp": 3}
    assert [s.detail for s in q.samples] == [repr(t) for t in times]
    assert [(k["kind"], k["detail"]) for k in kept] == [("bad_timestamp", repr(t)) for t in times]
    assert q.samples[1].reason == "bad timestamp 'yesterday'"
