"""Render drawn requests (:class:`~copilot.logs.sample_draws.Rows`) as Apigee export columns.

Field names are Apigee's analytics names (copilot.logs.fields.ANALYTICS_FIELDS
and docs/apigee.md, 'Analytics records'); dimensions Apigee could not resolve are
``(not set)``, and values that do not exist (no target call, no fault) are null.
"""

from __future__ import annotations

import re

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from copilot.logs import sample_scenario as sc
from copilot.logs.sample_apps import APPS
from copilot.logs.sample_draws import AGENTS, ID_KINDS, Rows
from copilot.logs.sample_estate import MESSAGE_PROCESSORS, NOT_SET, OPERATIONS, PROXIES
from copilot.logs.sample_policies import FAULTS
from copilot.logs.sample_pools import Pools

# Column order of the export (all fields of issue 2, item 2, plus sizes and flow id).
EXPORT_COLUMNS: tuple[str, ...] = (
    "client_received_start_timestamp",
    "client_sent_end_timestamp",
    "target_sent_start_timestamp",
    "target_received_end_timestamp",
    "organization",
    "environment",
    "apiproxy",
    "apiproxy_revision",
    "api_product",
    "developer_app",
    "developer_email",
    "client_id",
    "request_verb",
    "request_uri",
    "request_path",
    "proxy_basepath",
    "proxy_pathsuffix",
    "response_status_code",
    "target_response_code",
    "total_response_time",
    "target_response_time",
    "request_processing_latency",
    "response_processing_latency",
    "x_forwarded_for_ip",
    "client_ip",
    "useragent",
    "ax_execution_fault_policy_name",
    "ax_edge_execution_fault_code",
    "is_error",
    "request_size",
    "response_size",
    "gateway_flow_id",
    "target_host",
)

_PLACEHOLDER = re.compile(r"\{[a-z]+\}")
_SPLIT = [(_PLACEHOLDER.split(op.suffix) + [""])[:2] for op in OPERATIONS]
_ANONYMOUS = np.array([a.name == NOT_SET for a in APPS])


def _take(values: list[str | None] | tuple[str, ...], index: np.ndarray) -> pa.Array:
    """``values[index]`` as a plain string array (None stays null)."""
    return pa.array(values, pa.string()).take(pa.array(index))


def _join(*parts: pa.Array | str) -> pa.Array:
    return pc.binary_join_element_wise(*parts, "")


def _int_or_null(values: np.ndarray, valid: np.ndarray) -> pa.Array:
    return pa.array(values, pa.int64(), mask=~valid)


def _ids(rows: Rows, pools: Pools) -> pa.Array:
    """The id segment of each request path ('' for operations without one)."""
    kind, value = rows.id_kind, rows.id_value

    def pick(name: str) -> np.ndarray:
        return np.where(kind == ID_KINDS.index(name), value, 0)

    choices = [
        _take([""], np.zeros(kind.size, dtype=np.int64)),
        pa.array(pick("order")).cast(pa.string()),
        pools.payments.take(pa.array(pick("payment"))),
        pools.customers.take(pa.array(pick("customer"))),
        pools.shipments.take(pa.array(pick("shipment"))),
        pools.skus.take(pa.array(pick("sku"))),
    ]
    return pc.choose(pa.array(kind), *choices)


def _flow_ids(rows: Rows) -> pa.Array:
    """Apigee message ids: ``rrt-<processor>-<per-processor sequence>-1``."""
    codes = _take([f"rrt-{code}-" for _, code in MESSAGE_PROCESSORS], rows.mp)
    return _join(codes, pa.array(rows.seq).cast(pa.string()), "-1")


def export_table(rows: Rows, pools: Pools, scenario: sc.Scenario) -> pa.Table:
    """Analytics export records of ``rows`` as a pyarrow table (EXPORT_COLUMNS order)."""
    op, proxy, app, t = rows.op, rows.proxy, rows.app_shown, rows.timing
    called = t.target_ms >= 0
    sent = rows.ts_ms + t.request_ms
    received = sent + np.maximum(t.target_ms, 0)
    end = received + t.response_ms
    suffix = _join(
        _take([s[0] for s in _SPLIT], op), _ids(rows, pools), _take([s[1] for s in _SPLIT], op)
    )
    path = _join(_take([p.basepath for p in PROXIES], proxy), suffix)
    ips = pools.ips.take(pa.array(rows.ip))
    constant = np.zeros(len(rows), dtype=np.int64)
    columns = {
        "client_received_start_timestamp": pa.array(rows.ts_ms),
        "client_sent_end_timestamp": pa.array(end),
        "target_sent_start_timestamp": _int_or_null(sent, called),
        "target_received_end_timestamp": _int_or_null(received, called),
        "organization": _take([scenario.organization], constant),
        "environment": _take([scenario.environment], constant),
        "apiproxy": _take([p.name for p in PROXIES], proxy),
        "apiproxy_revision": pa.array(rows.revision).cast(pa.string()),
        "api_product": pc.if_else(
            pa.array(_ANONYMOUS[app]), NOT_SET, _take([o.product for o in OPERATIONS], op)
        ),
        "developer_app": _take([a.name for a in APPS], app),
        "developer_email": _take([a.email for a in APPS], app),
        "client_id": _take([sc.client_id_of(a.name) for a in APPS], app),
        "request_verb": _take([o.verb for o in OPERATIONS], op),
        "request_uri": _join(path, pools.queries.take(pa.array(rows.query))),
        "request_path": path,
        "proxy_basepath": _take([p.basepath for p in PROXIES], proxy),
        "proxy_pathsuffix": suffix,
        "response_status_code": pa.array(t.status.astype(np.int64)),
        "target_response_code": _int_or_null(t.target_status.astype(np.int64), t.target_status > 0),
        "total_response_time": pa.array(end - rows.ts_ms),
        "target_response_time": _int_or_null(t.target_ms, called),
        "request_processing_latency": pa.array(t.request_ms),
        "response_processing_latency": pa.array(t.response_ms),
        "x_forwarded_for_ip": ips,
        "client_ip": ips,
        "useragent": _take(AGENTS, rows.agent),
        # no policy / no fault: null (an empty cell), as in Apigee's export
        "ax_execution_fault_policy_name": _take([f[0] or None for f in FAULTS], t.fault),
        "ax_edge_execution_fault_code": _take([f[1] or None for f in FAULTS], t.fault),
        "is_error": pa.array((t.status >= 400).astype(np.int64)),
        "request_size": pa.array(t.request_size),
        "response_size": pa.array(t.response_size),
        "gateway_flow_id": _flow_ids(rows),
        "target_host": _take(
            [p.target_host for p in PROXIES] + [None], np.where(called, proxy, len(PROXIES))
        ),
    }
    return pa.table([columns[c] for c in EXPORT_COLUMNS], names=list(EXPORT_COLUMNS))
