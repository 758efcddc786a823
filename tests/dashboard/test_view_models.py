"""View models of the Status, Runs and Overview pages over real document shapes."""

from __future__ import annotations

from copilot.dashboard import overview, runs, status
from copilot.dashboard.columns import TABLES, help_for

DOWN_DOC = {
    "temporal": {"address": "localhost:7233", "namespace": "default", "connection": "plain",
                 "up": False, "detail": "TemporalError: cannot reach"},
    "workers": [{"kind": "runs", "installed": True, "task_queues": ["atc-runs"], "polling": False,
                 "pollers": []}],
    "schedules": {"listed": False, "items": []},
    "gateway": {"url": None, "up": False, "detail": "not running (start it with `atc up`)"},
    "dashboard": {"url": "http://127.0.0.1:8501", "up": True, "http_status": 200},
    "llm": {"configured": False},
    "bridge": {"configured": False},
}  # fmt: skip


def test_status_rows_say_what_is_down_and_what_to_do() -> None:
    rows = {r["part"]: r for r in status.rows(DOWN_DOC)}
    assert rows["Temporal"]["state"] == "down" and "`make run`" in rows["Temporal"]["detail"]
    assert rows["runs worker"]["detail"] == "no worker polls atc-runs; `make run` starts one"
    assert rows["dashboard"] == {
        "part": "dashboard", "state": "up", "detail": "http://127.0.0.1:8501 answered HTTP 200"
    }  # fmt: skip
    assert rows["LLM endpoint"]["state"] == "not configured"


def test_a_run_waiting_at_an_approval_shows_each_steps_state() -> None:
    view = {
        "status": "RUNNING",
        "steps": ["lookup"],
        "now": {"step": "approve", "kind": "approval"},
    }
    assert runs.pending_approval(view) == "approve"
    table = runs.steps_table(None, {**view, "steps": ["lookup", "approve"]})
    assert list(table["state"]) == ["done", "waiting for approval"]
    assert runs.pending_approval({**view, "status": "COMPLETED"}) is None


def test_a_result_is_written_inline_never_as_json() -> None:
    lines = runs.result_lines({"path": ["a", "b"], "order": {"id": 7}, "note": None})
    assert lines == [("path", "a → b"), ("order", "id: 7"), ("note", "–")]


def test_failed_runs_and_waiting_drafts_need_attention() -> None:
    rows = overview.failed_run_rows(
        [{"run_id": "run-1", "status": "FAILED", "draft_id": "d1", "started": "2026-11-30T01:00:00+00:00"},
         {"run_id": "run-2", "status": "COMPLETED", "draft_id": "d1", "started": None}]
    )  # fmt: skip
    assert rows == [{"what": "run failed", "where": "run-1 (draft d1)",
                     "when": "2026-11-30 01:00 UTC", "page": "Runs"}]  # fmt: skip
    drafts = overview.draft_rows([{"id": "d2", "status": "draft", "latest": 2, "request": "x"},
                                  {"id": "d3", "status": "approved", "latest": 1}])  # fmt: skip
    assert [d["where"] for d in drafts] == ["d2: x"]


def test_every_column_of_the_attention_table_has_help() -> None:
    assert set(help_for("attention", overview.COLUMNS)) == set(overview.COLUMNS)
    assert all(text.endswith(".") for table in TABLES.values() for text in table.values())


def test_the_watch_panel_refreshes_only_while_a_run_goes_on() -> None:
    for state in ("RUNNING", None):
        assert runs.refresh_every(state) == runs.WATCH_EVERY_S
    for state in ("COMPLETED", "FAILED", "TERMINATED", "CANCELED", "TIMED_OUT"):
        assert runs.refresh_every(state) is None
