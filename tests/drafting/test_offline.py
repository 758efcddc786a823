"""The offline planner drafts valid workflows from words, against the shipped products."""

from __future__ import annotations

import pytest

from copilot.drafting.draft import draft_workflow
from copilot.drafting.offline import OfflinePlanner
from copilot.drafting.planner import OFFLINE_NOTE, PlanRequest
from copilot.drafting.validate import validate_document
from copilot.errors import InputError
from copilot.scopes import DEFAULT_PRODUCTS, Catalog

from .specs import FLAGSHIP_REQUEST, FLAGSHIP_SCOPES

REQUESTS = [
    (FLAGSHIP_REQUEST, FLAGSHIP_SCOPES, {"approval", "branch"}),
    (
        "Refund the payment after finance approves it, then email the customer",
        ("payments.read", "payments.refund", "notifications.send"),
        {"approval"},
    ),
    (
        "Poll the shipment every 5 minutes until it is delivered, then text the customer",
        ("fulfilment.write", "notifications.send"),
        {"notify"},
    ),
    (
        "Wait 2 hours, look up the order and its items, and if it is still pending cancel it",
        ("orders.read", "orders.write"),
        {"sleep", "branch"},
    ),
    (
        "Update the customer's address and send them a confirmation email",
        ("customers.write", "notifications.send"),
        {"notify"},
    ),
    ("Search the catalog and fetch the product details", ("catalog.read",), {"call"}),
    (
        "Fetch the order and the customer in parallel, then notify the customer",
        ("orders.read", "customers.read", "notifications.send"),
        {"parallel"},
    ),
]


def _plan(catalog: Catalog, request: str, scopes) -> dict:
    result = OfflinePlanner().plan(PlanRequest(request, catalog, tuple(scopes)))
    assert result.notes[0] == OFFLINE_NOTE and result.model is None
    return result.answer


@pytest.mark.parametrize(("request_text", "scopes", "kinds"), REQUESTS)
def test_each_request_gives_a_spec_that_passes_every_rule(
    catalog: Catalog, request_text, scopes, kinds
) -> None:
    doc = _plan(catalog, request_text, scopes)
    validation = validate_document(doc, catalog, tuple(scopes), sandbox=False)
    assert validation.errors == [], validation.errors
    assert kinds <= {s["kind"] for s in doc["steps"]}
    assert "no LLM used" in doc["description"]


def test_the_flagship_reads_as_asked(catalog: Catalog) -> None:
    doc = _plan(catalog, FLAGSHIP_REQUEST, FLAGSHIP_SCOPES)
    steps = {s["id"]: s for s in doc["steps"]}
    approval = next(s for s in doc["steps"] if s["kind"] == "approval")
    assert approval["approver"] == "manager" and approval["timeout_s"] == 48 * 3600
    assert steps[approval["next"]]["operation"] == "fulfilment.create_shipment"
    rejected = steps[approval["on_reject"]]
    assert rejected["operation"] == "orders.cancel"
    assert steps[rejected["next"]]["operation"] == "notifications.send_email"
    branch = next(s for s in doc["steps"] if s["kind"] == "branch")
    assert branch["condition"] == {"left": "${inputs.amount}", "op": "gt", "right": 10000.0}


def test_the_planner_is_deterministic(catalog: Catalog) -> None:
    assert _plan(catalog, FLAGSHIP_REQUEST, FLAGSHIP_SCOPES) == _plan(
        catalog, FLAGSHIP_REQUEST, FLAGSHIP_SCOPES
    )


def test_an_operation_outside_the_scopes_is_kept_for_the_rules_to_refuse(catalog: Catalog) -> None:
    result = OfflinePlanner().plan(PlanRequest("Refund the payment", catalog, ("orders.read",)))
    assert any("needs payments.refund" in n for n in result.notes)
    validation = validate_document(result.answer, catalog, ("orders.read",), sandbox=False)
    assert {f.rule_id for f in validation.errors} == {"WF003"}


def test_a_request_with_nothing_to_do_is_a_clear_input_error(catalog: Catalog) -> None:
    with pytest.raises(InputError, match="no operation to call"):
        OfflinePlanner().plan(PlanRequest("make it nice", catalog, ("orders.read",)))


@pytest.mark.slow
def test_five_requests_are_valid_end_to_end_with_a_dry_run(catalog: Catalog) -> None:
    for request_text, scopes, _ in REQUESTS[:5]:
        result = draft_workflow(
            request_text,
            catalog=catalog,
            scopes=tuple(scopes),
            planner=OfflinePlanner(),
            products=DEFAULT_PRODUCTS,
        )
        assert result.valid, (request_text, result.findings, result.dry_run)
        assert result.attempts == 1 and result.prompt_tokens == 0
        assert all(s["completed"] for s in result.dry_run.scenarios)
