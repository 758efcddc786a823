"""The pattern miner on the bundled sample: suggestions with evidence that draft valid specs."""

from __future__ import annotations

import pytest

from copilot.config import load_settings
from copilot.drafting.mining import mine_paths
from copilot.drafting.offline import OfflinePlanner
from copilot.drafting.record import PlanInput
from copilot.drafting.validate import validate_document
from copilot.scopes import Catalog


@pytest.fixture(scope="module")
def suggestions(catalog: Catalog) -> list:
    return mine_paths([load_settings().sample_path], catalog)


def test_the_sample_yields_every_kind_with_evidence(suggestions) -> None:
    kinds = {s.kind for s in suggestions}
    assert kinds == {"polling", "retry_storm", "call_chain"}
    for s in suggestions:
        assert s.evidence["requests"] > 0 and s.evidence["first"] <= s.evidence["last"]
        assert s.operations and s.scopes


def test_the_scraper_shows_up_as_a_polling_client(suggestions) -> None:
    search = next(
        s for s in suggestions if s.kind == "polling" and s.operations[0] == "catalog.search"
    )
    assert "dealfinder-app" in search.evidence["consumers"]


def test_every_suggestion_drafts_a_valid_spec_offline(catalog: Catalog, suggestions) -> None:
    for s in suggestions:
        result = OfflinePlanner().plan(PlanInput(s.request, list(s.scopes), ""), catalog)
        validation = validate_document(result.answer, catalog, tuple(s.scopes), sandbox=False)
        assert validation.errors == [], (s.request, validation.errors)
        called = [st["operation"] for st in result.answer["steps"] if "operation" in st]
        assert called[0] == s.operations[0], s.request


def test_each_pattern_drafts_a_workflow_of_its_own_shape(catalog: Catalog, suggestions) -> None:
    from copilot.drafting.trace import shape_of

    shapes = {"polling": set(), "retry_storm": set(), "call_chain": set()}
    for s in suggestions:
        result = OfflinePlanner().plan(PlanInput(s.request, list(s.scopes), ""), catalog)
        validation = validate_document(
            result.answer, catalog, tuple(s.scopes), sandbox=False, request=s.request
        )
        assert validation.errors == [], (s.request, validation.errors)
        assert set(s.shape) <= shape_of(validation.spec), s.request
        shapes[s.kind] |= shape_of(validation.spec)
        steps = validation.spec.steps
        if s.kind == "polling":  # a bounded loop with a wait and an exit, then the email
            poll = steps[0].poll
            assert poll is not None and poll.interval_s >= 10 and poll.max_attempts <= 50
            assert poll.until.op == "eq" and steps[-1].kind == "notify"
        elif s.kind == "retry_storm":  # one call, retried with backoff and a bound
            retry = steps[0].retry
            assert len(steps) == 1 and retry.max_attempts == 5 and retry.backoff > 1
        else:  # the two calls in order
            assert [st.operation for st in steps] == s.operations
    assert "loop" not in shapes["call_chain"] | shapes["retry_storm"], "only polling loops"


def test_a_polling_draft_without_its_loop_is_not_valid(catalog: Catalog, suggestions) -> None:
    s = next(s for s in suggestions if s.kind == "polling")
    result = OfflinePlanner().plan(PlanInput(s.request, list(s.scopes), ""), catalog)
    result.answer["steps"][0].pop("poll")
    validation = validate_document(
        result.answer, catalog, tuple(s.scopes), sandbox=False, request=s.request
    )
    assert {f.rule_id for f in validation.errors} == {"WF011"}
