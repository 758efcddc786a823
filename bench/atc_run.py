"""atc's side of the benchmark: ingest + analyse one file in this process; prints one JSON line."""

from __future__ import annotations

import json
import resource
import sys
import time
from pathlib import Path

from copilot.pipeline import analyze_paths


def run(path: str) -> dict[str, object]:
    start = time.perf_counter()
    result = analyze_paths([Path(path)])
    elapsed = time.perf_counter() - start
    body = result.analysis.to_dict()
    return {
        "engine": "atc",
        "seconds": elapsed,
        "records": result.quarantine.records,
        "rejected": result.quarantine.rejected,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "proxies": len(body["proxies"]),
        "apps": len(body["apps"]),
        "endpoints": len(body["endpoints"]),
        "anomalies": len(body["anomalies"]),
    }


if __name__ == "__main__":
    print(json.dumps(run(sys.argv[1])))
