"""In-process and Temporal drafting are one loop: the same request stores the same version.

Each case drafts one request twice, with ``run_draft`` (in-process) and with
``DraftRequestWorkflow`` on the real time-skipping test server, from the same
``DraftInput`` (``copilot.drafting.job.draft_input``), and compares what the
store holds: spec text, code, their hashes, findings and validity. The cases
cover a valid offline draft (dry run included), an LLM answer that parses but
is not a valid spec (stored as canonical JSON plus its trailing newline), and
an answer that is not JSON at all and ends with a newline (stored as is).
"""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path
from typing import Any

import pytest

from copilot.config import Settings
from copilot.drafting.job import DraftJob, draft_input
from copilot.drafting.service import run_draft
from copilot.drafting.store import DraftStore
from copilot.scopes import DEFAULT_PRODUCTS, load_catalog
from tests.drafting.fake_llm import FakeLLM, answer
from tests.drafting.specs import FLAGSHIP_REQUEST, FLAGSHIP_SCOPES
from tests.workflows.test_drafting_workflow import (  # noqa: F401 - fake is a fixture
    KEY_ENV,
    LLM_SCOPES,
    _draft,
    _llm_settings,
    fake,
    running_worker,
)

STORED = ("spec_json", "code", "spec_hash", "code_hash", "findings", "valid", "planner", "attempts")
NOT_A_SPEC = {"name": "x", "steps": "none"}
NOT_JSON = "this is not a spec\n"


def _stored(data_dir: Path, draft_id: str | None) -> dict[str, Any]:
    assert draft_id is not None
    row = DraftStore.in_data_dir(data_dir).version(draft_id, 1)
    return {k: row[k] for k in STORED}


def _both(job: DraftJob, settings: Settings, temporal_dir: Path) -> tuple[dict, dict]:
    """Draft ``job`` in-process (into ``settings.data_dir``) and through Temporal."""
    doc = run_draft(job, settings=settings, run_dry_run=job.planner == "offline")
    data = draft_input(job, settings, load_catalog(job.products))
    data.run_dry_run = job.planner == "offline"
    temporal = dataclasses.replace(settings, data_dir=temporal_dir)

    async def go() -> str | None:
        async with running_worker(temporal) as client:
            record, _ = await _draft(client, data)
            return record.draft_id

    draft_id = asyncio.run(go())
    return _stored(settings.data_dir, doc["draft_id"]), _stored(temporal_dir, draft_id)


@pytest.mark.slow
def test_an_offline_draft_is_the_same_version_both_ways(tmp_path: Path) -> None:
    job = DraftJob(FLAGSHIP_REQUEST, list(FLAGSHIP_SCOPES), DEFAULT_PRODUCTS, planner="offline")
    here, there = _both(job, Settings(data_dir=tmp_path / "local"), tmp_path / "temporal")
    assert here["valid"] and here["code"], here["findings"]
    assert here == there


@pytest.mark.slow
@pytest.mark.parametrize(
    ("reply", "spec_text"),
    [
        (NOT_A_SPEC, '{\n  "name": "x",\n  "steps": "none"\n}\n'),
        (NOT_JSON, NOT_JSON),
    ],
    ids=["parsed-but-invalid", "not-json-with-newline"],
)
def test_a_rejected_llm_answer_is_stored_identically_both_ways(
    fake: tuple[FakeLLM, str],  # noqa: F811 - the fixture
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    reply: Any,
    spec_text: str,
) -> None:
    monkeypatch.setenv(KEY_ENV, "fake-key-123")
    fake[0].reset(answer(reply), answer(reply))
    job = DraftJob(
        "Cancel the order", LLM_SCOPES, DEFAULT_PRODUCTS, planner="openai", repair_attempts=0
    )
    here, there = _both(job, _llm_settings(fake, tmp_path / "local"), tmp_path / "temporal")
    assert not here["valid"] and here["code"] is None
    assert here["spec_json"] == spec_text
    assert here == there
