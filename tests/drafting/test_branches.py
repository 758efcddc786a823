"""The dry run takes both sides of every branch, on inputs and on response fields."""

from __future__ import annotations

import pytest

from copilot.drafting.branches import branch_scenarios, coverage, default_answers, sides
from copilot.drafting.dryrun import dry_run, scenarios_for
from copilot.drafting.offline import OfflinePlanner
from copilot.drafting.record import PlanInput
from copilot.drafting.spec import Condition
from copilot.drafting.validate import validate_document
from copilot.scopes import Catalog

PENDING = "Wait 2 hours, look up the order and its items, and if it is still pending cancel it"
SCOPES = ("orders.read", "orders.write")


@pytest.mark.parametrize(
    ("op", "right", "true", "false"),
    [
        ("eq", "pending", "pending", "not-pending"),
        ("ne", "pending", "not-pending", "pending"),
        ("gt", 10000, 10001.0, 10000.0),
        ("ge", 5, 5.0, 4.0),
        ("lt", 3, 2.0, 3.0),
        ("le", 3, 3.0, 4.0),
        ("eq", True, True, False),
        ("exists", None, "present", None),
        ("not_exists", None, None, "present"),
        ("contains", "gold", "gold", ""),
    ],
)
def test_sides_make_the_condition_hold_and_fail(op: str, right, true, false) -> None:
    from workflows.runtime.shared import compare

    assert sides(Condition(left="${inputs.x}", op=op, right=right)) == (true, false)
    assert compare(true, op, right) and not compare(false, op, right)


def _spec(catalog: Catalog, request: str, scopes: tuple[str, ...]):
    answer = OfflinePlanner().plan(PlanInput(request, list(scopes), ""), catalog).answer
    validation = validate_document(answer, catalog, scopes, sandbox=False, request=request)
    assert validation.ok, validation.errors
    return validation


def test_a_branch_on_a_response_field_gets_a_scenario_per_side(catalog: Catalog) -> None:
    spec = _spec(catalog, PENDING, SCOPES).spec
    named = {s["name"]: s for s in branch_scenarios(spec)}
    assert named["check_order_status-true"]["responses"] == {"orders.get": {"status": "pending"}}
    assert named["check_order_status-false"]["responses"] == {
        "orders.get": {"status": "not-pending"}
    }
    assert [s["name"] for s in scenarios_for(spec)] == [
        "run",
        "check_order_status-true",
        "check_order_status-false",
    ]


def test_a_poll_is_answered_so_that_it_ends(catalog: Catalog) -> None:
    request = "Get the shipment every 30 seconds until it is delivered, then email the customer"
    spec = _spec(catalog, request, ("fulfilment.write", "notifications.send")).spec
    assert default_answers(spec) == {
        "responses": {"fulfilment.get_shipment": {"status": "delivered"}}
    }


def test_coverage_reads_each_side_off_the_paths(catalog: Catalog) -> None:
    spec = _spec(catalog, PENDING, SCOPES).spec
    paths = [
        {"name": "a", "path": ["wait_2h", "get_order", "list_items", "check_order_status"]},
    ]
    (row,) = coverage(spec, paths)
    assert (row["true"], row["false"], row["covered"]) == ([], ["a"], False)


@pytest.mark.slow  # a dry run on the time-skipping test server
def test_the_dry_run_drives_both_sides_of_a_status_check(catalog: Catalog) -> None:
    validation = _spec(catalog, PENDING, SCOPES)
    report = dry_run(validation.code, validation.spec, products=catalog.source, scopes=SCOPES)
    assert report.ok, report.failures()
    paths = {s["name"]: s["path"] for s in report.scenarios}
    assert paths["check_order_status-true"][-1] == "cancel_order"
    assert paths["check_order_status-false"][-1] == "check_order_status", "nothing cancelled"
    cancelled = [
        c["operation"] for c in report.scenarios[2]["calls"] if c["operation"] == "orders.cancel"
    ]
    assert cancelled == []
    (row,) = report.branches
    assert row["covered"] and row["false"] == ["check_order_status-false"]
    assert report.to_dict()["branches"] == report.branches
