"""The reference: the same aggregation as `atc analyze`, done by DuckDB on the same file.

Run in its own process so its peak RSS is its own. Prints one JSON line.
Aggregates per proxy, per app and per endpoint template: counts, 4xx/5xx,
gateway vs backend 429s, latency p50/p95/p99 (total and target), per-second
and per-minute rate p50/p95/p99/max, and the per-minute series per proxy and
per (proxy, app). DuckDB uses both cores, as our reader does.
"""

from __future__ import annotations

import json
import resource
import sys
import time

import duckdb

THROTTLE = "('policies.ratelimit.SpikeArrestViolation', 'policies.ratelimit.QuotaViolation')"

TEMPLATE = (
    "regexp_replace(regexp_replace(regexp_replace(request_path, "
    "'/[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}(/|$)', '/{id}\\1', 'g'), "
    "'/[A-Za-z]*_?[0-9a-fA-F]{12,}(/|$)', '/{id}\\1', 'g'), '/[0-9]+(/|$)', '/{id}\\1', 'g')"
)

GROUP_STATS = """
SELECT {keys}, count(*) AS requests,
  sum((status BETWEEN 400 AND 499)::INT) AS e4xx, sum((status >= 500)::INT) AS e5xx,
  sum((fault IN {throttle})::INT) AS gw429,
  sum((tstatus = 429 AND fault NOT IN {throttle})::INT) AS be429,
  quantile_cont(total_ms, [0.5, 0.95, 0.99]) AS total_q,
  quantile_cont(target_ms, [0.5, 0.95, 0.99]) AS target_q
FROM r GROUP BY ALL
"""

RATE_STATS = """
SELECT {keys}, quantile_cont(n, [0.5, 0.95, 0.99]) AS q, max(n) AS mx FROM (
  SELECT {keys}, {bucket} AS b, count(*) AS n FROM r GROUP BY ALL) GROUP BY ALL
"""


def run(path: str) -> dict[str, object]:
    con = duckdb.connect()
    start = time.perf_counter()
    con.execute(
        f"""CREATE TEMP TABLE r AS SELECT
          client_received_start_timestamp AS ts, apiproxy AS proxy, developer_app AS app,
          request_verb AS verb, {TEMPLATE} AS endpoint,
          response_status_code AS status, target_response_code AS tstatus,
          total_response_time AS total_ms, target_response_time AS target_ms,
          coalesce(ax_edge_execution_fault_code, '') AS fault
        FROM read_csv('{path}', header=true, auto_detect=true)"""
    )
    results: dict[str, int] = {}
    for name, keys in (
        ("proxies", "proxy"),
        ("apps", "proxy, app"),
        ("endpoints", "proxy, verb, endpoint"),
    ):
        results[name] = len(
            con.execute(GROUP_STATS.format(keys=keys, throttle=THROTTLE)).fetchall()
        )
        for bucket in ("ts // 1000", "ts // 60000"):
            con.execute(RATE_STATS.format(keys=keys, bucket=bucket)).fetchall()
    for keys in ("proxy", "proxy, app"):
        con.execute(
            f"SELECT {keys}, ts // 60000 AS minute, count(*), sum((status >= 500)::INT), "
            f"quantile_cont(total_ms, 0.95) FROM r GROUP BY ALL"
        ).fetchall()
    elapsed = time.perf_counter() - start
    records = con.execute("SELECT count(*) FROM r").fetchone()[0]
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {
        "engine": "duckdb " + duckdb.__version__,
        "seconds": elapsed,
        "records": records,
        "peak_rss_mb": rss_mb,
        **results,
    }


if __name__ == "__main__":
    print(json.dumps(run(sys.argv[1])))
