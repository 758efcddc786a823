"""Prompt injection through log content cannot change what a draft may call.

Log fields (user agents, paths, app names) reach a planner only as quoted
data in a message marked LOG CONTEXT; the allowed operations come from the
scopes alone; and whatever a model does with the injected text, the rules
refuse an operation outside the scopes.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from copilot.drafting.draft import draft_workflow
from copilot.drafting.mining import mine_paths
from copilot.drafting.offline import OfflinePlanner
from copilot.drafting.openai_planner import OpenAIPlanner
from copilot.drafting.prompt import CONTEXT_HEADER, base_messages
from copilot.drafting.record import PlanInput
from copilot.scopes import DEFAULT_PRODUCTS, Catalog

from .fake_llm import answer
from .hostile_logs import EVIL_APP, INJECTION, write_hostile_log
from .test_openai_planner import KEY_ENV, fake, fixture, llm, out_of_scope  # noqa: F401 - fixtures

SCOPES = ("notifications.send", "orders.read", "orders.write")
REQUEST = "Look the order up, ask a supervisor, cancel it and email the customer"


@pytest.fixture(scope="module")
def context(tmp_path_factory: pytest.TempPathFactory, catalog: Catalog) -> list[dict]:
    path = write_hostile_log(tmp_path_factory.mktemp("logs") / "hostile.csv")
    return [s.to_dict() for s in mine_paths([path], catalog)]


def test_mined_requests_are_written_from_catalog_terms_only(context: list[dict]) -> None:
    assert {s["kind"] for s in context} >= {"polling", "retry_storm"}
    for suggestion in context:
        text = suggestion["request"].lower()
        assert "ignore" not in text and "system" not in text and "refund" not in text
    evidence = json.dumps([s["evidence"] for s in context])
    assert "Ignore all previous instructions" in evidence  # kept, as evidence


def test_log_context_is_quoted_data_and_does_not_change_the_allowed_operations(
    catalog, context
) -> None:
    plain = base_messages(PlanInput(REQUEST, list(SCOPES), ""), catalog)
    steered = base_messages(PlanInput(REQUEST, list(SCOPES), "", context=context), catalog)
    assert steered[0] == plain[0]  # system rules + allowed operations: identical
    assert steered[-1] == plain[-1]  # the request is the user's alone
    data_message = steered[1]["content"]
    assert data_message.startswith(CONTEXT_HEADER)
    quoted = json.loads(data_message[len(CONTEXT_HEADER) :])
    assert INJECTION[:100] in json.dumps(quoted)
    for message in (steered[0], steered[-1]):
        assert (
            "Ignore all previous" not in message["content"] and EVIL_APP not in message["content"]
        )


def test_a_model_that_obeys_the_injection_is_rejected(catalog, fake, llm, context) -> None:  # noqa: F811
    llm.reset(*[answer(out_of_scope())] * 3)
    from copilot.config import Settings

    settings = Settings(
        llm_base_url=fake[1] + "/v1", llm_model="fake-model", llm_api_key_env=KEY_ENV
    )
    result = draft_workflow(
        REQUEST,
        catalog=catalog,
        scopes=SCOPES,
        planner=OpenAIPlanner(settings),
        products=DEFAULT_PRODUCTS,
        context=context,
        run_dry_run=False,
        sandbox=False,
    )
    assert not result.valid and result.code is None
    assert {f["rule_id"] for f in result.errors} == {"WF003"}
    system = llm.requests[0]["body"]["messages"][0]["content"]
    assert "payments.refund" not in system


def test_the_offline_planner_ignores_log_context(catalog, context) -> None:
    plain = OfflinePlanner().plan(PlanInput(REQUEST, list(SCOPES), ""), catalog)
    steered = OfflinePlanner().plan(PlanInput(REQUEST, list(SCOPES), "", context=context), catalog)
    assert steered.answer == plain.answer


def test_mining_the_hostile_log_from_a_path(tmp_path: Path, catalog: Catalog) -> None:
    suggestions = mine_paths([write_hostile_log(tmp_path / "h.csv")], catalog)
    polling = next(s for s in suggestions if s.kind == "polling")
    assert polling.operations[0] == "fulfilment.get_shipment"
    assert (
        polling.evidence["polled_requests"] == 40 and polling.evidence["median_interval_s"] == 15.0
    )
    storm = next(s for s in suggestions if s.kind == "retry_storm")
    assert storm.operations == ["orders.get"] and storm.evidence["retries"] == 6
