"""Structured logs for long-running atc processes: one JSON object per line on stderr.

The SDK's ``workflow.logger`` and ``activity.logger`` attach the workflow
and run ids (and the activity's) to each record as ``temporal_workflow`` /
``temporal_activity``; this formatter keeps them as fields, so a log
collector can follow one workflow run across workers.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any

from temporalio import activity
from temporalio.worker import (
    ActivityInboundInterceptor,
    ExecuteActivityInput,
    Interceptor,
)

_CONTEXT = ("temporal_workflow", "temporal_activity")


class JsonFormatter(logging.Formatter):
    """A record as ``{"ts", "level", "logger", "message", ...temporal context}``."""

    def format(self, record: logging.LogRecord) -> str:
        doc: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key in _CONTEXT:
            value = getattr(record, key, None)
            if isinstance(value, dict):
                doc.update({k: v for k, v in value.items() if isinstance(v, str | int | float)})
        if record.exc_info:
            doc["exception"] = self.formatException(record.exc_info)
        return json.dumps(doc, default=str)


def log_json_to_stderr(level: int = logging.INFO) -> None:
    """Route the root logger to stderr as JSON lines (idempotent)."""
    root = logging.getLogger()
    if any(isinstance(h.formatter, JsonFormatter) for h in root.handlers):
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root.addHandler(handler)
    root.setLevel(level)


class _ActivityLogInbound(ActivityInboundInterceptor):
    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        activity.logger.info("activity started")
        try:
            result = await super().execute_activity(input)
        except BaseException as exc:
            activity.logger.warning("activity failed: %s: %s", type(exc).__name__, exc)
            raise
        activity.logger.info("activity completed")
        return result


class ActivityLogInterceptor(Interceptor):
    """Logs each activity's start and end through ``activity.logger`` (ids attached)."""

    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        return _ActivityLogInbound(super().intercept_activity(next))
