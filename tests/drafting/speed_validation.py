"""How long validation takes per draft: every rule plus the sandbox load, no model, no dry run.

``python -m tests.drafting.speed_validation [--repeat N]`` drafts each request of
the offline-planner tests, then times ``validate_document`` (spec rules, render,
code rules, and loading the module in a child process under the Temporal
sandbox). The target (issue 5) is under 2 s per draft. Not a test: timing
thresholds do not belong in tests.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

from copilot.drafting.offline import OfflinePlanner
from copilot.drafting.record import PlanInput
from copilot.drafting.validate import validate_document
from copilot.scopes import load_catalog
from tests.drafting.test_offline import REQUESTS


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    catalog = load_catalog()
    worst = 0.0
    print(f"{'request':<60} {'median s':>9} {'max s':>7} {'code rules s':>13}")
    for request, scopes, _ in REQUESTS:
        doc = OfflinePlanner().plan(PlanInput(request, list(scopes), ""), catalog).answer
        runs, code_rules = [], []
        for _ in range(args.repeat):
            started = time.perf_counter()
            validation = validate_document(doc, catalog, tuple(scopes))
            runs.append(time.perf_counter() - started)
            code_rules.append(validation.seconds.get("code_rules", 0.0))
            assert validation.ok, validation.errors
        worst = max(worst, max(runs))
        print(
            f"{request[:58]:<60} {statistics.median(runs):9.3f} {max(runs):7.3f} {statistics.median(code_rules):13.3f}"
        )
    print(f"worst single validation: {worst:.3f} s (target < 2 s) on {os.cpu_count()} CPUs")
    return 0 if worst < 2.0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
