"""Spec rules: each one fires on what it is about, says how to fix it, and only then."""

from __future__ import annotations

from typing import Any

import pytest

from copilot.drafting.validate import validate_document
from copilot.rules import Finding, all_rules
from copilot.scopes import Catalog
from tests.drafting.specs import FLAGSHIP_SCOPES, flagship, gated, minimal, polled


def _errors(doc: Any, catalog: Catalog, scopes=FLAGSHIP_SCOPES) -> list[Finding]:
    return [f for f in validate_document(doc, catalog, tuple(scopes), sandbox=False).findings]


def _ids(findings: list[Finding], severity: str = "error") -> set[str]:
    return {f.rule_id for f in findings if f.severity == severity}


def test_the_flagship_passes_every_rule(catalog: Catalog) -> None:
    assert _errors(flagship(), catalog) == []


def test_rules_have_unique_ids_one_file_each_and_say_how_to_fix() -> None:
    rules = all_rules()
    assert len({r.id for r in rules}) == len(rules) >= 15
    assert {
        "WF001",
        "WF002",
        "WF003",
        "WF004",
        "WF005",
        "WF006",
        "WF007",
        "WF101",
        "WF104",
        "WF105",
    } <= {r.id for r in rules}


def test_schema_errors_and_non_json_are_wf001(catalog: Catalog) -> None:
    assert _ids(_errors("{not json", catalog)) == {"WF001"}
    doc = flagship()
    doc["steps"][0]["kind"] = "shell"
    found = _errors(doc, catalog)
    assert _ids(found) == {"WF001"} and "fix:" in found[0].message


def test_an_invented_operation_is_wf002(catalog: Catalog) -> None:
    found = _errors(minimal("orders.delete_everything"), catalog)
    assert _ids(found) == {"WF002"}
    assert "orders.get" in found[0].message  # the fix lists what is allowed


def test_an_operation_outside_the_scopes_is_wf003_with_the_scope_it_needs(catalog: Catalog) -> None:
    doc = minimal("payments.refund", params=[{"name": "id", "value": "${inputs.order_id}"}])
    found = _errors(doc, catalog, ["orders.read"])
    assert _ids(found) == {"WF003"}
    assert "payments.refund" in found[0].message and "fix:" in found[0].message
    # An operation no product grants to anyone is out of every scope.
    assert _ids(_errors(minimal("payments.create", params=[]), catalog, ["payments.read"])) == {
        "WF003"
    }


@pytest.mark.parametrize(
    ("change", "rule"),
    [
        (lambda d: d["steps"][0].update(timeout_s=None), "WF004"),
        (lambda d: d["steps"][0].update(timeout_s=86400), "WF004"),
        (lambda d: d.update(execution_timeout_s=None), "WF004"),
        (lambda d: d["steps"][2].update(timeout_s=None), "WF005"),
        (lambda d: d["steps"][2].update(timeout_s=90 * 86400), "WF005"),
        (lambda d: d["steps"][1].update(if_true="nowhere"), "WF006"),
        (lambda d: d["steps"][4].update(next="is_large"), "WF006"),  # a cycle
        (
            lambda d: d["steps"][4].update(body=[{"name": "s", "value": "${steps.ship.body.id}"}]),
            "WF008",
        ),
        (lambda d: d["inputs"].append({"name": "api_token", "type": "string"}), "WF007"),
        (
            lambda d: d["steps"][5]["body"].append(
                {"name": "note", "value": "Bearer eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.sig"}
            ),
            "WF007",
        ),
        (lambda d: d["steps"][5]["body"].append({"name": "authorization", "value": "x"}), "WF007"),
        (lambda d: d["steps"][5]["body"].append({"name": "x", "value": "${inputs.nope}"}), "WF008"),
        (
            lambda d: d["steps"][5]["body"].append({"name": "x", "value": "${steps.ship.body}"}),
            "WF008",
        ),
        (lambda d: d["steps"][0].update(params=[]), "WF009"),
        (lambda d: d["steps"][0]["params"].append({"name": "extra", "value": "1"}), "WF009"),
        (lambda d: d["steps"][0].update(retry={"max_attempts": 0}), "WF010"),
    ],
)
def test_each_rule_fires_on_its_problem(catalog: Catalog, change, rule: str) -> None:
    doc = flagship()
    change(doc)
    found = _errors(doc, catalog)
    assert rule in _ids(found), found
    assert all("fix:" in f.message for f in found if f.rule_id == rule)


def test_unreachable_steps_are_wf006(catalog: Catalog) -> None:
    doc = flagship()
    doc["steps"][3]["next"] = "end"
    doc["steps"][2]["on_reject"] = "end"
    found = _errors(doc, catalog)
    assert _ids(found) == {"WF006"}
    assert "cancel_order can never run" in " ".join(f.message for f in found)


def test_a_reference_on_some_paths_only_is_a_warning(catalog: Catalog) -> None:
    doc = flagship()
    doc["steps"][3]["body"].append(
        {"name": "approved_by", "value": "${steps.manager_approval.reviewer}"}
    )
    found = _errors(doc, catalog)
    assert _ids(found) == set() and "WF008" in _ids(found, "warning")


def test_spec_errors_stop_before_rendering(catalog: Catalog) -> None:
    doc = flagship()
    doc["steps"][0]["operation"] = "payments.refund"
    validation = validate_document(doc, catalog, FLAGSHIP_SCOPES, sandbox=False)
    assert validation.code is None and not validation.ok


def _messages(findings: list[Finding], rule: str, severity: str = "error") -> list[str]:
    return [f.message for f in findings if f.rule_id == rule and f.severity == severity]


@pytest.mark.parametrize(
    ("change", "rule", "says"),
    [
        (
            lambda d: d["steps"][1].update(on_timeout=None),
            "WF005",
            "fix: set on_timeout to stop, escalate (with on_timeout_next), fail, reject or approve",
        ),
        (lambda d: d["steps"][1].update(on_timeout_next=None), "WF005", "names no step"),
        (lambda d: d["steps"][1].update(on_timeout_next="end"), "WF005", "names no step"),
        (lambda d: d["steps"][1].update(on_timeout_next="nowhere"), "WF006", "which is no step"),
        (lambda d: d["steps"][5].update(next="sign_off"), "WF006", "cycle"),
        (
            lambda d: d["steps"][5]["body"].append(
                {"name": "x", "value": "${steps.get_order.body}"}
            ),
            "WF008",
            "reads a whole response body",
        ),
        (
            lambda d: d["steps"][5]["body"].append(
                {"name": "x", "value": "${steps.get_order.headers.x}"}
            ),
            "WF008",
            "is not part of a call's result",
        ),
        (
            lambda d: d["steps"][5]["body"].append(
                {"name": "x", "value": "${steps.sign_off.body.x}"}
            ),
            "WF008",
            "is not part of an approval's result",
        ),
    ],
)
def test_silence_and_result_rules_fire_with_a_fix(catalog: Catalog, change, rule, says) -> None:
    doc = gated("escalate")
    change(doc)
    messages = _messages(_errors(doc, catalog), rule)
    assert messages and any(says in m for m in messages), messages
    assert all("fix:" in m for m in messages)


@pytest.mark.parametrize("on_timeout", ["stop", "escalate", "fail", "reject", "approve"])
def test_every_stated_silence_passes(catalog: Catalog, on_timeout: str) -> None:
    assert _errors(gated(on_timeout), catalog) == []


def test_the_escalation_step_is_reachable_only_through_the_escalation(catalog: Catalog) -> None:
    doc = gated("escalate")
    doc["steps"][1]["on_timeout"] = "stop"
    found = _errors(doc, catalog)
    assert any("tell_manager can never run" in m for m in _messages(found, "WF006"))
    assert _messages(found, "WF005", "warning")  # on_timeout_next without escalate is ignored


@pytest.mark.parametrize(
    ("change", "rule", "severity"),
    [
        (lambda p: p["poll"]["until"].update(left="${inputs.shipment_id}"), "WF008", "error"),
        (lambda p: p["poll"].update(max_attempts=51), "WF004", "error"),
        (lambda p: p.update(retry={"max_attempts": 3}), "WF010", "warning"),
    ],
)
def test_polls_read_their_own_answer_within_the_retry_bound(
    catalog: Catalog, change, rule: str, severity: str
) -> None:
    doc = polled()
    assert _errors(doc, catalog) == []
    change(doc["steps"][0])
    found = _errors(doc, catalog)
    assert _messages(found, rule, severity), found
