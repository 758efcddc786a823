"""The pattern miner on the bundled sample: suggestions with evidence that draft valid specs."""

from __future__ import annotations

import pytest

from copilot.config import load_settings
from copilot.drafting.mining import mine_paths
from copilot.drafting.offline import OfflinePlanner
from copilot.drafting.planner import PlanRequest
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
        result = OfflinePlanner().plan(PlanRequest(s.request, catalog, tuple(s.scopes)))
        validation = validate_document(result.answer, catalog, tuple(s.scopes), sandbox=False)
        assert validation.errors == [], (s.request, validation.errors)
        called = [st["operation"] for st in result.answer["steps"] if "operation" in st]
        assert called[0] == s.operations[0], s.request
