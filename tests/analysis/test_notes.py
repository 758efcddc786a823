"""The result says how requests were counted and what the logs could not tell."""

from __future__ import annotations

import pandas as pd

from copilot.analysis import analyze
from copilot.logs import schema

SA = schema.SPIKE_ARREST_FAULT


def frame(rows: list[tuple]) -> pd.DataFrame:
    """Canonical rows from (second, proxy, verb, path, status, target_status, fault_code)."""
    columns = ["second", "proxy", "verb", "path", "status", "target_status", "fault_code"]
    raw = pd.DataFrame(rows, columns=columns)
    raw["ts"] = pd.to_datetime(raw.pop("second") * 1000 + 1_763_287_200_000, unit="ms", utc=True)
    raw["status"] = raw["status"].astype("Int16")
    raw["target_status"] = raw["target_status"].astype("Int16")
    raw["path"] = raw["path"].astype("string")
    raw["verb"] = raw["verb"].astype("category")
    raw["fault_policy"] = ["SA-1" if c else "" for c in raw["fault_code"]]
    return schema.conform(raw)


ROWS = [
    (0, "orders", "GET", "/v1/orders/1", 200, 200, ""),
    (1, "orders", "GET", "/v1/orders/2", 404, 404, ""),
    (2, "orders", "GET", "/v1/orders/3", 429, None, SA),
    (3, "orders", "GET", "/v1/orders/4", 429, 429, ""),
    (4, "orders", "POST", "/v1/orders", 503, 503, ""),
    (5, "orders", "GET", "/v1/orders/5", 500, None, schema.QUOTA_FAULT),
]


def test_status_classes_keep_gateway_throttling_out_of_4xx_and_5xx() -> None:
    result = analyze([frame(ROWS)]).to_dict()
    assert result["status_classes"] == {
        "ok": 1,
        "4xx": 2,  # the 404 and the backend's 429
        "5xx": 1,  # the 503; the Quota 500 is throttling
        "gateway_429": 2,
        "unknown": 0,
        "backend_429": 1,
    }
    assert result["notes"][0].startswith("4xx and 5xx exclude requests refused by the gateway")
    assert "(2, counted as gateway_429" in result["notes"][0]
    assert result["unavailable"] == {}


def test_no_path_means_no_endpoints_and_a_stated_reason() -> None:
    rows = [(s, p, None, None, st, None, "") for s, p, _, _, st, _, _ in ROWS]
    result = analyze([frame(rows)]).to_dict()
    assert result["endpoints"] == []
    assert "no request path" in result["unavailable"]["endpoints"]
    assert result["proxies"][0]["requests"] == len(ROWS)


def test_some_rows_without_a_path_are_left_out_of_endpoints_only() -> None:
    rows = [*ROWS, (9, "orders", "GET", None, 200, 200, "")]
    result = analyze([frame(rows)]).to_dict()
    assert sum(e["requests"] for e in result["endpoints"]) == len(ROWS)
    assert result["proxies"][0]["requests"] == len(ROWS) + 1
    assert any("1 of 7 requests have no logged path" in n for n in result["notes"])


def test_requests_without_a_status_count_but_in_no_class() -> None:
    rows = [*ROWS, (9, "orders", None, "/v1/orders/9", None, None, "")]
    result = analyze([frame(rows)]).to_dict()
    assert result["status_classes"]["unknown"] == 1
    assert result["proxies"][0]["requests"] == len(ROWS) + 1
    assert any("lower bounds" in n for n in result["notes"])
    verbs = {e["verb"] for e in result["endpoints"]}
    assert "(unknown)" in verbs
