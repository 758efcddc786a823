"""Avro exports: the column decoder gives exactly the chunks of fastavro's record-by-record path.

The files are written by fastavro itself (the encoder the decoder must agree
with) in the shape of a BigQuery extract of Apigee analytics
(cloud.google.com/apigee/docs/api-platform/analytics/analytics-reference):
nullable unions, ``TIMESTAMP`` as ``long``/``timestamp-micros``, fields atc
does not read, optional fields missing, blocks of every size.
"""

from __future__ import annotations

import io
import math
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import fastavro
import numpy as np
import pandas as pd
import pytest

from copilot.errors import LogFormatError
from copilot.logs import avro, avro_columns, avro_lanes
from copilot.logs.avro import read_avro
from copilot.logs.avro_columns import AvroDataError, CutsMissed, decode_blocks, plan
from copilot.logs.quarantine import Quarantine

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
MICROS = {"type": "long", "logicalType": "timestamp-micros"}
MILLIS = {"type": "long", "logicalType": "timestamp-millis"}


def _nullable(kind: Any, null_first: bool = True) -> list[Any]:
    return ["null", kind] if null_first else [kind, "null"]


# A BigQuery extract's record: every column nullable, the fields in BigQuery's
# order, two atc never reads (gateway_flow_id, request_size), no target_* fields,
# one always null (fastavro's records make it an Arrow null column, the decoder a
# string column of nulls: the chunks must not differ).
BIGQUERY_FIELDS = [
    ("client_received_start_timestamp", _nullable(MICROS)),
    ("client_sent_end_timestamp", _nullable(MICROS)),
    ("organization", _nullable("string")),
    ("environment", _nullable("string")),
    ("apiproxy", _nullable("string")),
    ("api_product", _nullable("string")),
    ("developer_app", _nullable("string")),
    ("client_id", _nullable("string")),
    ("request_verb", _nullable("string")),
    ("request_uri", _nullable("string")),
    ("proxy_basepath", _nullable("string")),
    ("proxy_pathsuffix", _nullable("string")),  # null in every record
    ("response_status_code", _nullable("long")),
    ("total_response_time", _nullable("long")),
    ("request_processing_latency", _nullable("double")),
    ("client_ip", _nullable("string", null_first=False)),
    ("useragent", _nullable("string")),
    ("ax_execution_fault_policy_name", _nullable("string")),
    ("ax_edge_execution_fault_code", _nullable("string")),
    ("is_error", _nullable("boolean")),
    ("gateway_flow_id", _nullable("string")),
    ("request_size", _nullable("long")),
]


def _schema(fields: list[tuple[str, Any]]) -> dict[str, Any]:
    def field(name: str, kind: Any) -> dict[str, Any]:
        # BigQuery gives nullable columns a null default; Avro wants it to be the first branch.
        nullable_first = isinstance(kind, list) and kind[0] == "null"
        return {"name": name, "type": kind, **({"default": None} if nullable_first else {})}

    return {"type": "record", "name": "ApigeeAnalytics", "fields": [field(*f) for f in fields]}


def _record(i: int) -> dict[str, Any]:
    """Request ``i``: every 7th has no app or product, every 13th a fault, every 50th is bad."""
    error = i % 13 == 0
    when = START + timedelta(milliseconds=i * 1_234)  # Apigee times are milliseconds
    return {
        "client_received_start_timestamp": None if i % 50 == 7 else when,
        "client_sent_end_timestamp": when + timedelta(milliseconds=20 + i % 300),
        "organization": "acme-prod",
        "environment": "prod" if i % 3 else "test",
        "apiproxy": "" if i % 50 == 21 else f"orders-v{i % 4}",
        "api_product": None if i % 7 == 0 else "gold",
        "developer_app": None if i % 7 == 0 else f"app-{i % 9}",
        "client_id": None if i % 7 == 0 else f"k{i % 9:032d}",
        "request_verb": ["GET", "post", "PUT", "DELETE"][i % 4],
        "request_uri": f"/orders/v1/items/{i}?page={i % 5}" + "x" * (i % 200),
        "proxy_basepath": "/orders/v1",
        "proxy_pathsuffix": None,
        "response_status_code": 999 if i % 50 == 33 else (500 if error else 200 + (i % 2) * 4),
        "total_response_time": None if i % 11 == 0 else 10 + i % 5000,
        "request_processing_latency": (i % 17) / 4,
        "client_ip": None if i % 5 == 0 else f"10.0.{i % 256}.{i % 199}",
        "useragent": "Mozilla/5.0 (X11; Linux x86_64) café ☕" if i % 2 else "curl/8.5.0",
        "ax_execution_fault_policy_name": "SA-Global" if error else None,
        "ax_edge_execution_fault_code": "policies.ratelimit.SpikeArrestViolation" if error else "",
        "is_error": error,
        "gateway_flow_id": f"flow-{i}",
        "request_size": -(2**62) if i == 3 else i * 1000,
    }


def _write(
    path: Path,
    fields: list[tuple[str, Any]],
    records: list[dict[str, Any]],
    **options: Any,
) -> Path:
    with path.open("wb") as out:
        fastavro.writer(out, fastavro.parse_schema(_schema(fields)), records, **options)
    return path


def _read_both(path: Path, **options: Any) -> tuple[list[pd.DataFrame], ...]:
    fast, slow = Quarantine(), Quarantine()
    got = list(read_avro(path, fast, **options))
    want = list(read_avro(path, slow, columnar=False, **options))
    assert fast == slow  # the same rows rejected, under the same row numbers
    return got, want


def _assert_same_chunks(got: list[pd.DataFrame], want: list[pd.DataFrame]) -> None:
    assert [len(c) for c in got] == [len(c) for c in want]
    for mine, theirs in zip(got, want, strict=True):
        pd.testing.assert_frame_equal(mine, theirs)


@pytest.mark.parametrize(
    ("codec", "sync_interval", "batch_rows"),
    [
        ("null", 16_000, 1_000),  # fastavro's default: ~40 records a block
        ("null", 200, 333),  # one or two records a block, chunks across blocks
        ("deflate", 1 << 20, 700),  # the whole file one block (decompressed first)
    ],
)
def test_bigquery_shaped_records_read_to_the_same_chunks_as_fastavro_records(
    codec: str, sync_interval: int, batch_rows: int, tmp_path: Path
) -> None:
    records = [_record(i) for i in range(2_500)]
    path = _write(
        tmp_path / "x.avro", BIGQUERY_FIELDS, records, codec=codec, sync_interval=sync_interval
    )
    got, want = _read_both(path, batch_rows=batch_rows)
    _assert_same_chunks(got, want)
    frame = pd.concat(got, ignore_index=True)
    assert len(frame) == 2_500 - 3 * 50  # rows 7, 21 and 33 of every 50 are rejected
    assert frame["app"].astype(str).str.startswith("app-").sum() < len(frame)  # nulls kept


def test_windows_of_blocks_meet_inside_a_chunk_with_row_numbers_intact(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    records = [_record(i) for i in range(1_200)]
    path = _write(tmp_path / "x.avro", BIGQUERY_FIELDS, records, sync_interval=3_000)
    monkeypatch.setattr(avro, "WINDOW_BYTES", 20_000)  # ~40 windows, none aligned to a chunk
    got, want = _read_both(path, batch_rows=256)
    _assert_same_chunks(got, want)
    q = Quarantine()
    list(read_avro(path, q))
    assert [s.line for s in q.samples][:3] == [8, 22, 34]  # 1-based rows of the file


def test_epoch_millis_timestamps_ints_floats_and_required_fields(tmp_path: Path) -> None:
    fields = [
        ("timestamp", MILLIS),  # not nullable
        ("apiproxy", "string"),
        ("request_verb", _nullable("string", null_first=False)),
        ("request_path", _nullable("string")),
        ("response_status_code", "int"),
        ("target_response_code", _nullable("int")),
        ("total_response_time", _nullable("float")),
        ("target_response_time", "double"),
        ("environment", "bytes"),  # read as bytes, turned to text by normalize
    ]
    records = [
        {
            "timestamp": START + timedelta(milliseconds=i * 997),
            "apiproxy": f"p{i % 3}",
            "request_verb": None if i % 4 == 0 else "GET",
            "request_path": None if i % 6 == 0 else f"/p/{i}",
            "response_status_code": 200 + i % 300,
            "target_response_code": None if i % 5 == 0 else 200,
            "total_response_time": i * 0.25,
            "target_response_time": math.inf if i == 5 else i / 3,
            "environment": b"prod",
        }
        for i in range(400)
    ]
    path = _write(tmp_path / "ms.avro", fields, records, sync_interval=500)
    got, want = _read_both(path, batch_rows=150)
    _assert_same_chunks(got, want)


def test_only_the_columns_asked_for_are_built(tmp_path: Path) -> None:
    path = _write(tmp_path / "x.avro", BIGQUERY_FIELDS, [_record(i) for i in range(300)])
    columns = ("ts", "proxy", "status", "total_ms")
    got, want = _read_both(path, columns=columns)
    _assert_same_chunks(got, want)
    assert list(got[0].columns) == list(columns)


VERB = {"type": "enum", "name": "Verb", "symbols": ["GET", "post", "PUT", "DELETE"]}


@pytest.mark.parametrize(
    ("name", "kind", "value"),
    [
        ("request_verb", VERB, None),  # an enum atc reads: fastavro gives its symbol
        ("extra", ["null", "string", "long"], 7),  # several value branches
        ("extra", {"type": "array", "items": "string"}, ["a"]),
    ],
)
def test_schemas_beyond_flat_primitives_take_the_fastavro_path(
    name: str, kind: Any, value: Any, tmp_path: Path
) -> None:
    fields = [(n, kind if n == name else t) for n, t in BIGQUERY_FIELDS]
    fields += [("extra", kind)] if name == "extra" else []
    assert plan(_schema(fields), ["apiproxy", "request_verb"]) is None
    records = [{**_record(i), **({"extra": value} if name == "extra" else {})} for i in range(40)]
    path = _write(tmp_path / "x.avro", fields, records)
    got, want = _read_both(path)
    _assert_same_chunks(got, want)
    assert sum(len(c) for c in got) == 40 - 3  # rows 7, 21 and 33 are rejected


def test_columns_atc_does_not_read_may_have_any_logical_type_or_be_enums(
    tmp_path: Path,
) -> None:
    fields = [
        *BIGQUERY_FIELDS,
        ("ingest_datetime", _nullable({"type": "string", "logicalType": "datetime"})),
        (
            "cost",
            _nullable({"type": "bytes", "logicalType": "decimal", "precision": 9, "scale": 2}),
        ),
        ("day", {"type": "int", "logicalType": "date"}),
        ("region", {"type": "enum", "name": "Region", "symbols": ["eu", "us"]}),
    ]
    assert plan(_schema(fields), ["apiproxy", "response_status_code"]) is not None
    assert plan(_schema(fields), ["day"]) is None  # read: fastavro's date conversion applies
    records = [
        {
            **_record(i),
            "ingest_datetime": None if i % 3 else "2026-03-02T09:00:00",
            "cost": Decimal(i) / 100,
            "day": START.date(),
            "region": "eu" if i % 2 else "us",
        }
        for i in range(500)
    ]
    path = _write(tmp_path / "x.avro", fields, records, sync_interval=2_000)
    got, want = _read_both(path, batch_rows=128)
    _assert_same_chunks(got, want)


ENCODED = [
    ("long", [0, -1, 1, 63, -64, 64, 8191, -8192, 2**31, -(2**63), 2**63 - 1]),
    ("int", [0, -1, 2**31 - 1, -(2**31)]),
    ("double", [0.0, -0.0, 1.5, -1e308, math.inf, 5e-324]),
    ("float", [0.0, 1.5, -3.25, 1e30]),
    ("boolean", [True, False, True]),
    ("string", ["", "a", "é☕", "y" * 127, "z" * 128, "w" * 70_000]),
    ("bytes", [b"", b"\x00\xff", b"q" * 300]),
]


@pytest.mark.parametrize(("kind", "values"), ENCODED)
@pytest.mark.parametrize("null_first", [True, False])
def test_each_primitive_decodes_to_the_value_fastavro_encoded(
    kind: str, values: list[Any], null_first: bool
) -> None:
    schema = _schema([("a", "long"), ("v", _nullable(kind, null_first)), ("z", "string")])
    rows = [{"a": i, "v": v, "z": str(i)} for i, v in enumerate([*values, None])]
    payloads, counts = _blocks(schema, [rows[:2], rows[2:], []])
    fields = plan(schema, ["v", "z"])
    assert fields is not None
    table = decode_blocks(payloads, counts, fields)
    want = [r["v"] for r in rows]
    if kind == "float":
        want = [None if v is None else float(np.float32(v)) for v in want]
    assert table.column("v").to_pylist() == want
    assert table.column("z").to_pylist() == [r["z"] for r in rows]


def _blocks(
    schema: dict[str, Any], groups: list[list[dict[str, Any]]]
) -> tuple[list[bytes], list[int]]:
    """Block payloads as an Avro file holds them: the records' encodings one after the other."""
    parsed = fastavro.parse_schema(schema)
    payloads = []
    for group in groups:
        out = io.BytesIO()
        for row in group:
            fastavro.schemaless_writer(out, parsed, row)
        payloads.append(out.getvalue())
    return payloads, [len(g) for g in groups]


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (b"\x04\x02a", "union branch out of range"),  # branch 2 of a two-branch union
        (b"\x02\x01a", "negative length"),  # length -1
        (b"\x02\x0aab", "do not end where their block ends"),  # a 5-byte string, 2 bytes left
        (b"\x02\x02ab", "union branch out of range"),  # a stray byte: no record's start
        (b"\x02\x02a\x00", "another number of records"),  # two records, the header says one
    ],
)
def test_damaged_block_bytes_are_errors_not_garbage(payload: bytes, message: str) -> None:
    schema = _schema([("apiproxy", _nullable("string"))])
    fields = plan(schema, ["apiproxy"])
    assert fields is not None
    with pytest.raises(AvroDataError, match=message):
        decode_blocks([b"\x02\x02a", payload], [1, 1], fields)


def test_a_damaged_file_is_a_format_error(tmp_path: Path) -> None:
    path = _write(tmp_path / "x.avro", BIGQUERY_FIELDS, [_record(i) for i in range(50)])
    data = bytearray(path.read_bytes())
    value = data.index(b"acme-prod")  # the first record's organization: tag 2, length 18, text
    assert data[value - 2 : value] == b"\x02\x12"
    data[value - 2] = 0x06  # union branch 3 of ["null", "string"]
    path.write_bytes(bytes(data))
    with pytest.raises(LogFormatError, match="Avro data cannot be read.*branch out of range"):
        list(read_avro(path, Quarantine()))


def _one_block(records: list[dict[str, Any]]) -> tuple[bytes, list[int]]:
    """The payload of one block holding ``records``, and where each record starts in it."""
    parsed = fastavro.parse_schema(_schema(BIGQUERY_FIELDS))
    out = io.BytesIO()
    starts = []
    for row in records:
        starts.append(out.tell())
        fastavro.schemaless_writer(out, parsed, row)
    return out.getvalue(), starts


def test_a_large_block_is_cut_only_at_true_record_starts() -> None:
    payload, starts = _one_block([_record(i) for i in range(3_000)])
    fields = plan(_schema(BIGQUERY_FIELDS), ["apiproxy"])
    assert fields is not None
    buf = np.frombuffer(payload + bytes(32), dtype=np.uint8)
    cuts = avro_lanes.split(buf, 0, len(payload), 3_000, fields)
    assert len(cuts) > 3_000 // avro_lanes.SEGMENT_RECORDS // 2  # most stretches found a start
    assert set(cuts) <= set(starts)


def test_a_wrong_guess_is_caught_not_decoded(monkeypatch: pytest.MonkeyPatch) -> None:
    records = [_record(i) for i in range(1_000)]
    payload, starts = _one_block(records)
    fields = plan(_schema(BIGQUERY_FIELDS), [n for n, _ in BIGQUERY_FIELDS])
    assert fields is not None
    right = decode_blocks([payload], [1_000], fields)
    assert right.column("gateway_flow_id").to_pylist() == [r["gateway_flow_id"] for r in records]
    for wrong in (starts[500] + 1, starts[500] - 1, starts[500] + 3):  # inside records
        monkeypatch.setattr(avro_columns, "split", lambda *a, w=wrong: [0, w])
        with pytest.raises(CutsMissed):
            decode_blocks([payload], [1_000], fields)
        assert decode_blocks([payload], [1_000], fields, cut=False).equals(right)
    monkeypatch.setattr(avro_columns, "split", lambda *a: [0, starts[400], starts[900]])
    assert decode_blocks([payload], [1_000], fields).equals(right)  # true starts are kept


def test_large_blocks_of_look_alike_fields_are_read_by_fastavro_instead(tmp_path: Path) -> None:
    # Every field a nullable string: any field's start parses as a record's, so
    # guessed cuts miss and the window is decoded record by record.
    names = ["timestamp", "apiproxy", "request_verb", "request_path", "organization"]
    fields = [(n, _nullable("string")) for n in names]
    records = [
        {
            "timestamp": f"2026-03-02T09:{i // 60 % 60:02d}:{i % 60:02d}Z",
            "apiproxy": f"p{i % 3}",
            "request_verb": "GET",
            "request_path": None if i % 4 else f"/x/{i}",
            "organization": "acme",
        }
        for i in range(2_000)
    ]
    path = _write(tmp_path / "s.avro", fields, records, sync_interval=1 << 22)
    blocks = list(fastavro.block_reader(path.open("rb")))
    assert [b.num_records for b in blocks] == [2_000]
    columns = plan(_schema(fields), names)
    assert columns is not None
    with pytest.raises(CutsMissed):
        decode_blocks([blocks[0].bytes_.getvalue()], [2_000], columns)
    got, want = _read_both(path, batch_rows=300)
    _assert_same_chunks(got, want)
    assert sum(len(c) for c in got) == 2_000
