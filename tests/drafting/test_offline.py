"""The offline planner drafts valid workflows from words, against the shipped products."""

from __future__ import annotations

import pytest

from copilot.drafting.draft import draft_workflow
from copilot.drafting.offline import OfflinePlanner
from copilot.drafting.planner import OFFLINE_NOTE
from copilot.drafting.record import PlanInput
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
        FLAGSHIP_REQUEST + "; if the manager does not respond within 2 days, escalate to finance",
        FLAGSHIP_SCOPES,
        {"approval", "notify"},
    ),
    (
        "Fetch the order and the customer in parallel, then notify the customer",
        ("orders.read", "customers.read", "notifications.send"),
        {"parallel"},
    ),
]


def _plan(catalog: Catalog, request: str, scopes) -> dict:
    result = OfflinePlanner().plan(PlanInput(request, list(scopes), ""), catalog)
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
    # The request says nothing about silence: the workflow stops, it does not cancel.
    assert approval["on_timeout"] == "stop" and "on_timeout_next" not in approval


_SUPERVISED = "Cancel the order after a supervisor approves it"
_ORDER_SCOPES = ("orders.read", "orders.write", "notifications.send")


@pytest.mark.parametrize(
    ("silence", "on_timeout", "escalates_to"),
    [
        ("", "stop", None),
        ("; if nobody answers in 2 days, email the manager", "escalate", "manager"),
        ("; if the supervisor does not respond, escalate", "escalate", "manager"),
        ("; if it times out, escalate to finance", "escalate", "finance"),
        ("; if nobody answers, stop", "stop", None),
        ("; if no one decides, treat it as rejected", "reject", None),
        ("; if there is no answer, fail", "fail", None),
    ],
)
def test_silence_is_what_the_request_says_and_never_rejection_by_default(
    catalog: Catalog, silence: str, on_timeout: str, escalates_to: str | None
) -> None:
    doc = _plan(catalog, _SUPERVISED + silence, _ORDER_SCOPES)
    steps = {s["id"]: s for s in doc["steps"]}
    approval = next(s for s in doc["steps"] if s["kind"] == "approval")
    assert approval["on_timeout"] == on_timeout
    if escalates_to is None:
        assert "on_timeout_next" not in approval
    else:
        target = steps[approval["on_timeout_next"]]
        assert target["kind"] == "notify" and target["next"] == "end"
        assert target["body"][0]["value"] == "${inputs." + escalates_to + "_email}"
    validation = validate_document(doc, catalog, _ORDER_SCOPES, sandbox=False)
    assert validation.errors == [], validation.errors


def test_a_poll_is_bounded_like_a_retry_and_has_no_retry_of_its_own(catalog: Catalog) -> None:
    doc = _plan(catalog, REQUESTS[2][0], REQUESTS[2][1])
    poll = next(s for s in doc["steps"] if s.get("poll"))
    assert "retry" not in poll and 1 <= poll["poll"]["max_attempts"] <= 50


def test_the_planner_is_deterministic(catalog: Catalog) -> None:
    assert _plan(catalog, FLAGSHIP_REQUEST, FLAGSHIP_SCOPES) == _plan(
        catalog, FLAGSHIP_REQUEST, FLAGSHIP_SCOPES
    )


def test_an_operation_outside_the_scopes_is_kept_for_the_rules_to_refuse(catalog: Catalog) -> None:
    result = OfflinePlanner().plan(PlanInput("Refund the payment", ["orders.read"], ""), catalog)
    assert any("needs payments.refund" in n for n in result.notes)
    validation = validate_document(result.answer, catalog, ("orders.read",), sandbox=False)
    assert {f.rule_id for f in validation.errors} == {"WF003"}


def test_a_request_with_nothing_to_do_is_a_clear_input_error(catalog: Catalog) -> None:
    with pytest.raises(InputError, match="no operation to call"):
        OfflinePlanner().plan(PlanInput("make it nice", ["orders.read"], ""), catalog)


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
        assert all(s["completed"] for s in result.dry_run["scenarios"])
