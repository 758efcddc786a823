"""Clauses of a request, and which spec step implements each (the review shows the pairs)."""

from __future__ import annotations

import pytest

from copilot.drafting.clauses import extract_clauses
from copilot.drafting.offline import OfflinePlanner
from copilot.drafting.record import PlanInput
from copilot.drafting.spec import WorkflowSpec
from copilot.drafting.trace import shape_of, trace_clauses
from copilot.drafting.validate import validate_document
from copilot.scopes import Catalog
from tests.drafting.specs import FLAGSHIP_REQUEST

ISSUE_REQUEST = "search the catalog every 20 seconds until it is completed, then email the customer"
ISSUE_SCOPES = ("catalog.read", "notifications.send")

CLAUSES = [
    (
        ISSUE_REQUEST,
        [
            ("call", "search the catalog"),
            ("repeat", "every 20 seconds"),
            ("condition", "until it is completed"),
            ("notify", "email the customer"),
        ],
    ),
    (
        FLAGSHIP_REQUEST,
        [
            ("condition", "when an order over 10,000 is created"),
            ("approval", "hold it for a manager's approval for up to 48 hours"),
            ("call", "send it to fulfilment"),
            ("condition", "on rejection"),
            ("call", "cancel it"),
            ("notify", "notify the customer"),
        ],
    ),
    (
        "Wait 2 hours, look up the order and its items, and if it is still pending cancel it",
        [
            ("wait", "wait 2 hours"),
            ("call", "look up the order and its items"),
            ("condition", "if it is still pending"),
            ("call", "cancel it"),
        ],
    ),
    (
        "Refund the payment after finance approves it, then text the customer",
        [
            ("call", "refund the payment"),
            ("approval", "after finance approves it"),
            ("notify", "text the customer"),
        ],
    ),
    (
        "Cancel the order after a supervisor approves it; if nobody answers in 2 days, email the manager",
        [
            ("call", "cancel the order"),
            ("approval", "after a supervisor approves it"),
            ("condition", "if nobody answers in 2 days"),
            ("notify", "email the manager"),
        ],
    ),
    (
        "Create the order with up to 5 attempts, backing off between them",
        [("call", "create the order"), ("retry", "up to 5 attempts")],
    ),
    (
        "Search the catalog and fetch the product details",
        [("call", "search the catalog"), ("call", "fetch the product details")],
    ),
    (
        "After 30 minutes, get the shipment",
        [("wait", "after 30 minutes"), ("call", "get the shipment")],
    ),
    # An interval without a number is one unit; it is a clause, never dropped.
    ("list the orders every hour", [("call", "list the orders"), ("repeat", "every hour")]),
    ("every day list the orders", [("repeat", "every day"), ("call", "list the orders")]),
]


@pytest.mark.parametrize(("request_text", "expected"), CLAUSES)
def test_a_request_is_cut_into_clauses_of_one_kind_each(request_text: str, expected) -> None:
    clauses = extract_clauses(request_text)
    assert [(c.kind, c.text) for c in clauses] == expected
    assert [c.index for c in clauses] == list(range(len(expected)))


def test_clauses_carry_their_numbers() -> None:
    every, until = extract_clauses(ISSUE_REQUEST)[1:3]
    assert (every.seconds, until.role, until.value) == (20, "until", "completed")
    wait = extract_clauses("Wait 2 hours, then cancel the order")[0]
    assert wait.seconds == 7200
    threshold = extract_clauses(FLAGSHIP_REQUEST)[0]
    assert (threshold.role, threshold.value) == ("threshold", 10000.0)
    assert extract_clauses("Get the order with up to 3 tries")[1].attempts == 3
    assert extract_clauses("list the orders every hour")[1].seconds == 3600


def _offline(catalog: Catalog, request: str, scopes: tuple[str, ...]) -> WorkflowSpec:
    answer = OfflinePlanner().plan(PlanInput(request, list(scopes), ""), catalog).answer
    validation = validate_document(answer, catalog, scopes, sandbox=False, request=request)
    assert validation.errors == [], validation.errors
    assert validation.spec is not None
    return validation.spec


def test_the_issues_request_drafts_a_loop_with_a_wait_an_exit_and_the_email(
    catalog: Catalog,
) -> None:
    spec = _offline(catalog, ISSUE_REQUEST, ISSUE_SCOPES)
    search, email = spec.steps
    assert search.kind == "call" and search.poll is not None
    assert (search.poll.interval_s, search.poll.until.op, search.poll.until.right) == (
        20,
        "eq",
        "completed",
    )
    assert 1 <= search.poll.max_attempts <= 50, "the loop is bounded"
    assert email.kind == "notify" and search.next == email.id
    assert {"loop", "sleep", "exit", "sequence"} <= shape_of(spec)
    links = trace_clauses(spec, catalog, request=ISSUE_REQUEST)
    assert [(link.clause.kind, link.steps) for link in links] == [
        ("call", ["search_catalog"]),
        ("repeat", ["search_catalog"]),
        ("condition", ["search_catalog"]),
        ("notify", ["email_customer"]),
    ]
    assert links[1].how == "poll every 20 s, at most 50 times"


def test_the_flagship_clauses_each_have_their_step(catalog: Catalog) -> None:
    scopes = ("fulfilment.write", "notifications.send", "orders.read", "orders.write")
    spec = _offline(catalog, FLAGSHIP_REQUEST, scopes)
    links = {
        link.clause.text: link for link in trace_clauses(spec, catalog, request=FLAGSHIP_REQUEST)
    }
    assert links["when an order over 10,000 is created"].steps == ["check_amount"]
    assert links["on rejection"].how == "on reject go to cancel_order"
    assert links["send it to fulfilment"].steps == ["create_shipment"]
    assert all(link.implemented for link in links.values())
