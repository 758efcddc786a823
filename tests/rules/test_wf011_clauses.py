"""WF011: a repeat, wait, condition, approval or retry the request asks for needs a step."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from copilot.drafting.validate import validate_document
from copilot.scopes import Catalog

REQUEST = "search the catalog every 20 seconds until it is completed, then email the customer"
SCOPES = ("catalog.read", "notifications.send")

_SEARCH = {
    "id": "search_catalog",
    "kind": "call",
    "operation": "catalog.search",
    "query": [{"name": "q", "value": "${inputs.query}"}],
    "timeout_s": 30,
}
_EMAIL = {
    "id": "email_customer",
    "kind": "notify",
    "operation": "notifications.send_email",
    "body": [{"name": "to", "value": "${inputs.customer_email}"}],
    "timeout_s": 30,
}
# What the issue saw: the search and the email, no repeat, no wait, no exit condition.
TWO_STEPS: dict[str, Any] = {
    "name": "search_then_email",
    "description": "search the catalog, then email the customer",
    "inputs": [
        {"name": "query", "type": "string", "example": "lamp"},
        {"name": "customer_email", "type": "string", "example": "c@example.com"},
    ],
    "steps": [_SEARCH, _EMAIL],
    "execution_timeout_s": 3600,
}


def _wf011(doc: dict[str, Any], catalog: Catalog, request: str = REQUEST) -> list:
    validation = validate_document(doc, catalog, SCOPES, sandbox=False, request=request)
    return [f for f in validation.findings if f.rule_id == "WF011"]


def test_a_spec_missing_the_loop_and_its_exit_is_refused(catalog: Catalog) -> None:
    found = _wf011(TWO_STEPS, catalog)
    assert [(f.severity, f.where) for f in found] == [
        ("error", "request.clauses[1]"),
        ("error", "request.clauses[2]"),
    ]
    assert "'every 20 seconds' (repeat) but no step does it" in found[0].message
    assert "poll" in found[0].message, "the fix names the construct"
    assert "'until it is completed' (condition)" in found[1].message
    validation = validate_document(TWO_STEPS, catalog, SCOPES, sandbox=False, request=REQUEST)
    assert not validation.ok and validation.code is None, "nothing is rendered"


def test_the_same_spec_with_a_bounded_poll_passes(catalog: Catalog) -> None:
    doc = copy.deepcopy(TWO_STEPS)
    doc["steps"][0]["poll"] = {
        "until": {"left": "${steps.search_catalog.body.status}", "op": "eq", "right": "completed"},
        "interval_s": 20,
        "max_attempts": 30,
    }
    assert _wf011(doc, catalog) == []
    assert validate_document(doc, catalog, SCOPES, sandbox=False, request=REQUEST).ok


def test_a_loop_written_as_a_branch_back_with_a_sleep_is_a_repeat(catalog: Catalog) -> None:
    doc = copy.deepcopy(TWO_STEPS)
    search = {**_SEARCH, "next": "done"}
    doc["steps"] = [
        search,
        {
            "id": "done",
            "kind": "branch",
            "condition": {
                "left": "${steps.search_catalog.body.status}",
                "op": "eq",
                "right": "completed",
            },
            "if_true": "email_customer",
            "if_false": "pause",
        },
        {"id": "pause", "kind": "sleep", "duration_s": 20, "next": "search_catalog"},
        _EMAIL,
    ]
    assert _wf011(doc, catalog) == []


@pytest.mark.parametrize(
    ("request_text", "kind"),
    [
        ("Wait 2 hours, then search the catalog and email the customer", "wait"),
        ("Search the catalog after a manager approves it, then email the customer", "approval"),
        ("Search the catalog with up to 5 attempts", "retry"),
        ("Search the catalog every hour, then email the customer", "repeat"),
    ],
)
def test_each_behaviour_clause_without_a_step_is_an_error(
    catalog: Catalog, request_text: str, kind: str
) -> None:
    doc = copy.deepcopy(TWO_STEPS)
    if kind == "retry":
        doc["steps"] = [{**_SEARCH, "retry": {"max_attempts": 1}}]
    found = _wf011(doc, catalog, request_text)
    assert [f.severity for f in found] == ["error"] and f"({kind})" in found[0].message


def test_a_call_with_no_fitting_step_is_only_a_warning(catalog: Catalog) -> None:
    found = _wf011(TWO_STEPS, catalog, "Search the catalog, refund the payment, email the customer")
    assert [(f.severity, "'refund the payment'" in f.message) for f in found] == [("warning", True)]


def test_without_a_request_the_rule_has_nothing_to_check(catalog: Catalog) -> None:
    validation = validate_document(TWO_STEPS, catalog, SCOPES, sandbox=False)
    assert [f for f in validation.findings if f.rule_id == "WF011"] == []


def test_a_repeat_with_no_end_asks_for_one(catalog: Catalog) -> None:
    found = _wf011(TWO_STEPS, catalog, "Search the catalog every hour, then email the customer")
    assert "'every hour' (repeat)" in found[0].message and "until what" in found[0].message
