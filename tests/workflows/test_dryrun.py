"""The dry run really executes on the Temporal time-skipping test server.

Activities go through the scoped gateway client to the gateway emulator and
a mock backend on loopback; the harness answers approvals through the
``decide`` update and skips waits on the test server's clock.
"""

from __future__ import annotations

import pytest

from copilot.drafting.dryrun import dry_run
from copilot.drafting.render import render
from copilot.drafting.spec import parse_spec
from copilot.scopes import DEFAULT_PRODUCTS
from tests.drafting.specs import FLAGSHIP_SCENARIOS, FLAGSHIP_SCOPES, flagship

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def report():
    spec = parse_spec(flagship())
    return dry_run(
        render(spec, FLAGSHIP_SCOPES), spec, products=DEFAULT_PRODUCTS, scopes=FLAGSHIP_SCOPES
    )


def _scenario(report, name: str) -> dict:
    return next(s for s in report.scenarios if s["name"] == name)


def test_every_scenario_completes(report) -> None:
    assert report.ok and report.error is None
    assert [s["name"] for s in report.scenarios] == FLAGSHIP_SCENARIOS


def test_both_sides_of_the_branch_are_driven_and_reported(report) -> None:
    assert _scenario(report, "is_large-false")["path"] == ["get_order", "is_large", "ship"]
    assert _scenario(report, "is_large-true")["path"][:3] == [
        "get_order",
        "is_large",
        "manager_approval",
    ]
    (branch,) = report.branches
    assert branch["false"] == ["is_large-false"] and branch["covered"]


def test_the_approved_path_ships_the_order(report) -> None:
    run = _scenario(report, "approve")
    assert run["path"] == ["get_order", "is_large", "manager_approval", "ship"]
    assert run["approvals"] == [{"step": "manager_approval", "answer": "approve"}]
    calls = [(c["operation"], c["method"], c["status"]) for c in run["calls"]]
    assert calls == [("orders.get", "GET", 200), ("fulfilment.create_shipment", "POST", 201)]
    assert run["calls"][0]["url"].endswith("/v1/orders/ORD-1001")
    # No step reads the shipment's body, so none of it enters workflow history.
    assert run["result"]["results"]["ship"] == {"status": 201, "body": {}}


def test_rejection_and_silence_take_the_reject_path(report) -> None:
    for name, outcome in (("reject", "reject"), ("no-answer", "timeout")):
        run = _scenario(report, name)
        assert run["path"][-2:] == ["cancel_order", "notify_customer"]
        assert run["result"]["results"]["manager_approval"]["outcome"] == outcome


def test_every_call_passed_the_gateway(report) -> None:
    assert report.gateway and all(entry["status"] in (200, 201) for entry in report.gateway)


def test_the_runtime_lock_refuses_what_the_worker_was_not_granted() -> None:
    spec = parse_spec(flagship())
    code = render(spec, FLAGSHIP_SCOPES)
    narrow = ("orders.read", "fulfilment.write")
    result = dry_run(
        code,
        spec,
        products=DEFAULT_PRODUCTS,
        scopes=narrow,
        scenarios=[{"name": "reject", "answers": {"*": "reject"}}],
    )
    assert not result.ok
    failed = result.scenarios[0]
    assert "needs orders.write" in failed["error"]
    assert failed["calls"][-1]["retryable"] is False  # a policy refusal is not retried


def test_a_child_that_dies_without_a_report_is_a_failure_not_a_pass() -> None:
    spec = parse_spec(flagship())
    result = dry_run(
        "raise SystemExit(7)\n", spec, products=DEFAULT_PRODUCTS, scopes=FLAGSHIP_SCOPES
    )
    assert not result.ok
    assert result.error.startswith("the dry-run process exited 2")


def test_an_unreadable_product_file_fails_the_dry_run(tmp_path) -> None:
    spec = parse_spec(flagship())
    missing = tmp_path / "no-products.json"
    result = dry_run("", spec, products=missing, scopes=FLAGSHIP_SCOPES)
    assert not result.ok
    assert result.error.startswith(f"cannot read the product file {missing}")


@pytest.mark.slow
def test_silence_that_the_spec_says_fails_the_workflow_is_a_finished_path() -> None:
    from tests.drafting.specs import gated

    spec = parse_spec(gated("fail"))
    result = dry_run(
        render(spec, FLAGSHIP_SCOPES), spec, products=DEFAULT_PRODUCTS, scopes=FLAGSHIP_SCOPES
    )
    silent = next(s for s in result.scenarios if s["name"] == "no-answer")
    assert result.ok, result.failures()
    assert silent["completed"] and "timed out" in silent["outcome"]
    assert not [c for c in silent["calls"] if c.get("method") == "POST"]  # no branch ran
