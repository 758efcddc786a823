"""Text renderings of export records: JSON lines, Cloud Logging entries, syslog lines.

Every function turns a pyarrow table of Apigee export records into a string
array, one line per record, with pyarrow kernels (no per-row Python). Flow
variables follow Apigee's names (copilot.logs.fields.FLOW_VARIABLES and
TIMESTAMP_VARIABLES); a variable Apigee could not resolve is unset and renders
as an empty string, as MessageLogging does (analytics' ``(not set)`` is an
analytics rendering, not a flow-variable value).

Syslog messages are plain text, one per line, so a log field holding a line
break or a terminal escape would forge lines or repaint whoever reads the
file: their non-printable characters are written as visible escapes
(:mod:`copilot.logs.printable`). JSON renderings escape them as JSON does.
"""

from __future__ import annotations

import json
import re

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from copilot.logs.printable import printable

NOT_SET = "(not set)"
_CONTROL = r"[\x00-\x1f]"
# what printable() escapes, in RE2 (the Python check decides for the rows this finds)
_UNPRINTABLE = r"[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Co}]|[^\P{Zs} ]"
_PLACEHOLDER = re.compile(r"\{([A-Za-z0-9_.\-]+)\}")
_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
SYSLOG_PRI = 14  # facility user (1), severity informational (6): MessageLogging's logLevel INFO
CLOUD_LOCATION = "us-central1"

# flow variable -> export field (MessageLogging templates name flow variables)
FLOW_FROM_EXPORT: dict[str, str] = {
    "organization.name": "organization",
    "environment.name": "environment",
    "apiproxy.name": "apiproxy",
    "apiproxy.revision": "apiproxy_revision",
    "proxy.basepath": "proxy_basepath",
    "proxy.pathsuffix": "proxy_pathsuffix",
    "request.verb": "request_verb",
    "request.uri": "request_uri",
    "request.path": "request_path",
    "response.status.code": "response_status_code",
    "target.response.status.code": "target_response_code",
    "client.ip": "client_ip",
    "request.header.x-forwarded-for": "x_forwarded_for_ip",
    "request.header.user-agent": "useragent",
    "developer.app.name": "developer_app",
    "developer.email": "developer_email",
    "client_id": "client_id",
    "apiproduct.name": "api_product",
    "target.host": "target_host",
    # fault.name is the code's last part (SpikeArrestViolation), see flow_variables
    "fault.name": "ax_edge_execution_fault_code",
    "fault.policy": "ax_execution_fault_policy_name",
    "client.received.start.timestamp": "client_received_start_timestamp",
    "client.sent.end.timestamp": "client_sent_end_timestamp",
    "target.sent.start.timestamp": "target_sent_start_timestamp",
    "target.received.end.timestamp": "target_received_end_timestamp",
    # the policy runs in PostClientFlow, after the response went out
    "system.timestamp": "client_sent_end_timestamp",
    "messageid": "gateway_flow_id",
}


def _text(column: pa.ChunkedArray | pa.Array) -> pa.Array:
    """Any column as strings (nulls stay null)."""
    column = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    if pa.types.is_floating(column.type):
        column = pc.if_else(pc.is_nan(column), None, column)
        whole = pc.equal(column, pc.floor(column))
        return pc.if_else(
            whole,
            pc.cast(pc.cast(column, pa.int64(), safe=False), pa.string()),
            pc.cast(column, pa.string()),
        )
    if pa.types.is_timestamp(column.type):
        return pc.cast(pc.cast(column.cast(pa.timestamp("ms", "UTC")), pa.int64()), pa.string())
    return pc.cast(column, pa.string())


def json_string(values: pa.Array) -> pa.Array:
    """JSON string literals of ``values`` (null -> ``null``)."""
    escaped = pc.replace_substring(pc.replace_substring(values, "\\", "\\\\"), '"', '\\"')
    quoted = pc.binary_join_element_wise('"', escaped, '"', "")
    if pc.any(pc.match_substring_regex(values, _CONTROL)).as_py():
        # rare: control characters need json's escaping; do those few in Python
        fixed = [json.dumps(v) if v is not None else None for v in values.to_pylist()]
        quoted = pa.array(fixed, pa.string())
    return pc.fill_null(quoted, "null")


def printable_text(values: pa.Array) -> pa.Array:
    """``values`` with control, format and separator characters as visible escapes."""
    if not pc.any(pc.match_substring_regex(values, _UNPRINTABLE)).as_py():
        return values
    # rare: do the few affected values in Python
    fixed = [None if v is None else printable(v) for v in values.to_pylist()]
    return pa.array(fixed, pa.string())


def jsonl_lines(table: pa.Table) -> pa.Array:
    """One JSON object per record; numbers stay numbers, missing values are null."""
    parts: list[pa.Array | str] = []
    for index, name in enumerate(table.column_names):
        column = table.column(name)
        numeric = pa.types.is_integer(column.type) or pa.types.is_floating(column.type)
        value = pc.fill_null(_text(column), "null") if numeric else json_string(_text(column))
        parts += [("{" if index == 0 else ",") + json.dumps(name) + ":", value]
    return pc.binary_join_element_wise(*parts, "}", "")


def flow_variables(table: pa.Table) -> dict[str, pa.Array]:
    """Flow-variable values per record as strings; unset values are empty strings."""
    n = table.num_rows
    empty = pa.array([""]).take(pa.array(np.zeros(n, dtype=np.int64)))
    out: dict[str, pa.Array] = {}
    for variable, field in FLOW_FROM_EXPORT.items():
        if field not in table.column_names:
            out[variable] = empty
            continue
        values = _text(table.column(field))
        if variable == "fault.name":
            # Apigee's fault.name is the short name: policies.ratelimit.QuotaViolation -> QuotaViolation
            values = pc.replace_substring_regex(values, r"^.*\.", "")
        out[variable] = pc.fill_null(pc.if_else(pc.equal(values, NOT_SET), "", values), "")
    if "is_error" in table.column_names:
        flag = pc.cast(pc.cast(table.column("is_error").combine_chunks(), pa.int64()), pa.bool_())
        out["is.error"] = pc.fill_null(pc.if_else(flag, "true", "false"), "")
    return out


def fill_template(template: str, variables: dict[str, pa.Array], n: int) -> pa.Array:
    """The MessageLogging message per record; unknown variables render empty, like Apigee."""
    parts: list[pa.Array | str] = []
    position = 0
    for match in _PLACEHOLDER.finditer(template):
        parts.append(template[position : match.start()])
        parts.append(variables.get(match.group(1), ""))
        position = match.end()
    parts.append(template[position:])
    if not any(isinstance(p, pa.Array) for p in parts):
        return pa.array([template] * n, pa.string())
    return pc.binary_join_element_wise(*parts, "")


def _ms(values: pa.Array) -> pa.Array:
    """Epoch-ms strings as int64 (empty -> 0)."""
    return pc.cast(pc.if_else(pc.equal(values, ""), "0", values), pa.int64())


def _inner(values: pa.Array) -> pa.Array:
    """JSON-escaped text without the surrounding quotes."""
    return pc.utf8_slice_codeunits(json_string(values), 1, -1)


def _times(epoch_ms: pa.Array, fmt: str) -> pa.Array:
    return pc.strftime(pc.cast(_ms(epoch_ms), pa.timestamp("ms", "UTC")), format=fmt)


def lines_bytes(lines: pa.Array, end: str = "\n") -> memoryview:
    """All lines joined, each followed by ``end``: a view of Arrow's buffer, no copy."""
    if len(lines) == 0:
        return memoryview(b"")
    joined = pc.binary_join_element_wise(lines, end, "")
    joined = pa.concat_arrays([joined])  # fresh buffers, offset 0
    offsets = np.frombuffer(joined.buffers()[1], dtype=np.int32, count=len(joined) + 1)
    return memoryview(joined.buffers()[2])[offsets[0] : offsets[-1]]


def _hashes(seed: np.ndarray) -> np.ndarray:
    """splitmix64 of ``seed``: stable pseudo-random bits without a random generator."""
    z = seed.astype(np.uint64) + np.uint64(0x9E3779B97F4A7C15)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def _hex(bits: np.ndarray, width: int) -> pa.Array:
    raw = bits.astype(">u8").view(np.uint8).reshape(-1, 8)
    chars = np.empty((raw.shape[0], 16), dtype=np.uint8)
    chars[:, 0::2], chars[:, 1::2] = _HEX[raw >> 4], _HEX[raw & 0x0F]
    chars = np.ascontiguousarray(chars[:, :width])
    offsets = np.arange(0, (len(chars) + 1) * width, width, dtype=np.int32)
    return pa.StringArray.from_buffers(
        len(chars), pa.py_buffer(offsets), pa.py_buffer(chars.tobytes())
    )


def syslog_lines(table: pa.Table, template: str) -> pa.Array:
    """``<PRI>1 TIMESTAMP HOST apigee - - - MESSAGE`` per record.

    The timestamp uses MessageLogging's default DateFormat
    ``yyyy-MM-dd'T'HH:mm:ss.SSSZ`` (``+0000``); HOST is the message processor
    named in the message id.
    """
    variables = flow_variables(table)
    stamp = _times(variables["system.timestamp"], "%Y-%m-%dT%H:%M:%S+0000")
    host = pc.fill_null(
        pc.struct_field(pc.extract_regex(variables["messageid"], r"^rrt-(?P<mp>[0-9a-f]+)-"), [0]),
        "",
    )
    host = pc.binary_join_element_wise("apigee-mp-", host, "")
    host = pc.if_else(pc.equal(host, "apigee-mp-"), "apigee-runtime", host)
    message = printable_text(fill_template(template, variables, table.num_rows))
    return pc.binary_join_element_wise(
        f"<{SYSLOG_PRI}>1 ", stamp, " ", host, " apigee - - - ", message, ""
    )


def cloud_logging_lines(
    table: pa.Table, start: int, *, template: str, text_share: float = 0.0
) -> pa.Array:
    """One Cloud Logging LogEntry (compact JSON) per record; ``start`` is the first record's number."""
    n = table.num_rows
    v = flow_variables(table)
    received = _ms(v["client.received.start.timestamp"])
    seed = np.asarray(received, dtype=np.int64).view(np.uint64) + np.arange(
        start, start + n, dtype=np.uint64
    )
    bits = _hashes(seed)
    sent = _ms(v["client.sent.end.timestamp"])
    # Cloud Logging receives the entry a fraction of a second after the policy sent it.
    delay_ns = (bits % np.uint64(900_000_000)).astype(np.int64) + 100_000_000
    receive = pc.cast(
        pc.add(pc.multiply(sent, 1_000_000), pa.array(delay_ns)), pa.timestamp("ns", "UTC")
    )
    status = _ms(v["response.status.code"])
    severity = pc.if_else(
        pc.greater_equal(status, 500),
        "ERROR",
        pc.if_else(pc.greater_equal(status, 400), "WARNING", "INFO"),
    )
    as_text = pa.array((bits >> np.uint64(11)).astype(np.float64) / 2.0**53 < text_share)
    keys = [k for k in v if k != "messageid"] + ["messageid"]
    payload: list[pa.Array | str] = []
    for index, key in enumerate(keys):
        payload += [("" if index == 0 else ",") + json.dumps(key) + ":", json_string(v[key])]
    body = pc.binary_join_element_wise('"jsonPayload":{', *payload, "}", "")
    if text_share > 0:
        text = pc.binary_join_element_wise(
            '"textPayload":', json_string(fill_template(template, v, n)), ""
        )
        body = pc.if_else(as_text, text, body)
    org = _inner(v["organization.name"])
    return pc.binary_join_element_wise(
        '{"insertId":"',
        _hex(bits, 16),
        '",',
        body,
        ',"logName":"projects/',
        org,
        '/logs/apigee","receiveTimestamp":"',
        pc.strftime(receive, format="%Y-%m-%dT%H:%M:%SZ"),
        '","resource":{"labels":{"location":"',
        CLOUD_LOCATION,
        '","method":"',
        _inner(v["apiproxy.name"]),
        '","project_id":"',
        org,
        '","service":"apigee.googleapis.com","version":"',
        _inner(v["apiproxy.revision"]),
        '"},"type":"api"},"severity":"',
        severity,
        '","timestamp":"',
        _times(v["client.received.start.timestamp"], "%Y-%m-%dT%H:%M:%SZ"),
        '"}',
        "",
    )
