"""JSON log lines keep the workflow and activity context the SDK attaches."""

from __future__ import annotations

import json
import logging

from copilot.estate.logs import JsonFormatter


def _record(**extra: object) -> logging.LogRecord:
    record = logging.LogRecord("atc.test", logging.INFO, __file__, 1, "hello %s", ("x",), None)
    record.__dict__.update(extra)
    return record


def test_a_plain_record_is_one_json_object() -> None:
    doc = json.loads(JsonFormatter().format(_record()))
    assert doc["message"] == "hello x" and doc["level"] == "INFO" and doc["logger"] == "atc.test"


def test_workflow_and_activity_ids_become_fields() -> None:
    record = _record(
        temporal_workflow={"workflow_id": "w-1", "run_id": "r-1", "nested": {"no": 1}},
        temporal_activity={"activity_id": "1", "workflow_run_id": "r-1"},
    )
    doc = json.loads(JsonFormatter().format(record))
    assert doc["workflow_id"] == "w-1" and doc["run_id"] == "r-1" and doc["activity_id"] == "1"
    assert "nested" not in doc


def test_a_message_with_newlines_stays_on_one_line() -> None:
    line = JsonFormatter().format(_record(msg="a\nb", args=()))
    assert "\n" not in line and json.loads(line)["message"] == "a\nb"
