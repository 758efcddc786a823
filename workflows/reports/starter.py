"""Schedules of reports, and starting one now: what ``atc reports`` does on Temporal.

Each report is a Temporal Schedule ``atc-report-<NAME>`` whose action starts
``LogAnalysisWorkflow`` with the report's :class:`ReportInput`; overlapping
runs are skipped, and a run missed while the server was down is caught up
once within the catch-up window. The report's settings live in the schedule
itself, so ``list``/``show`` read them back from Temporal.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import asdict
from datetime import timedelta
from pathlib import Path
from typing import Any

from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionExecutionStartWorkflow,
    ScheduleActionStartWorkflow,
    ScheduleHandle,
    ScheduleIntervalSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleSpec,
    ScheduleUpdate,
    WorkflowFailureError,
)
from temporalio.service import RPCError, RPCStatusCode

from copilot.config import Settings
from copilot.errors import InputError
from copilot.reports.deliver import check_formats, check_webhook
from copilot.reports.discover import check_name, report_root
from workflows.reports.shared import (
    REPORT_WORKFLOW,
    SCHEDULE_PREFIX,
    ReportInput,
    ReportResult,
    schedule_id,
    workflow_id,
)

_DURATION = re.compile(r"^(\d+)([smhd])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}
WAIT_FOR_START_S = 30.0


def duration(text: str) -> timedelta:
    """``90s``, ``30m``, ``24h`` or ``7d`` as a timedelta (InputError otherwise)."""
    match = _DURATION.match(text.strip())
    if not match or int(match.group(1)) == 0:
        raise InputError(f"duration {text!r}: use a number and s, m, h or d (e.g. 24h)")
    return timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})


def timing(cron: str | None, every: str | None) -> ScheduleSpec:
    """When a report runs: a cron expression (UTC) or a fixed interval."""
    if bool(cron) == bool(every):
        raise InputError("give exactly one of --cron and --every")
    if cron:
        return ScheduleSpec(cron_expressions=[cron])
    return ScheduleSpec(intervals=[ScheduleIntervalSpec(every=duration(every or ""))])


def report_input(
    name: str, logs: str, formats: list[str], webhook: str | None, partitions: int = 0
) -> ReportInput:
    """A checked ReportInput (name, formats, webhook URL and partitions refused here if bad)."""
    check_name(name)
    if webhook:
        check_webhook(webhook)
    if partitions < 0:
        raise InputError(f"--partitions {partitions}: use 0 (one per file) or more")
    # Absolute: the worker may run in another directory (a glob stays a glob).
    where = str(Path(logs).expanduser().absolute())
    return ReportInput(name, where, check_formats(formats), webhook, partitions=partitions)


def _schedule(data: ReportInput, spec: ScheduleSpec, catchup: timedelta, queue: str) -> Schedule:
    action = ScheduleActionStartWorkflow(
        REPORT_WORKFLOW, data, id=workflow_id(data.name), task_queue=queue
    )
    policy = SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP, catchup_window=catchup)
    return Schedule(action=action, spec=spec, policy=policy)


async def schedule_report(
    client: Client, settings: Settings, data: ReportInput, spec: ScheduleSpec, catchup: timedelta
) -> str:
    """Create the report's schedule, or replace an existing one's settings; returns its id."""
    schedule = _schedule(data, spec, catchup, settings.reports_task_queue)
    sid = schedule_id(data.name)
    try:
        await client.create_schedule(sid, schedule)
    except RPCError as exc:
        if exc.status == RPCStatusCode.INVALID_ARGUMENT:
            raise InputError(f"Temporal refused the schedule: {exc.message}") from None
        raise
    except Exception as exc:  # noqa: BLE001 - the SDK's "already running" error has no stable type
        if "already" not in str(exc).lower():
            raise
        await client.get_schedule_handle(sid).update(lambda _: ScheduleUpdate(schedule=schedule))
    return sid


async def _handle(client: Client, name: str) -> ScheduleHandle:
    handle = client.get_schedule_handle(schedule_id(check_name(name)))
    try:
        await handle.describe()
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:
            raise InputError(f"no report schedule named {name!r}") from None
        raise
    return handle


async def delete_report(client: Client, name: str) -> None:
    await (await _handle(client, name)).delete()


async def run_now(client: Client, name: str, *, wait: bool = False) -> dict[str, Any]:
    """Trigger the schedule now; with ``wait``, wait for that run and return its result."""
    handle = await _handle(client, name)
    before = _action_ids(await handle.describe())
    await handle.trigger(overlap=ScheduleOverlapPolicy.SKIP)
    if not wait:
        return {"name": name, "triggered": True}
    started = await _new_action(handle, before)
    try:
        result = await client.get_workflow_handle(started, result_type=ReportResult).result()
    except WorkflowFailureError as exc:
        raise _run_error(exc.cause) from None
    return {"name": name, "workflow_id": started, **asdict(result)}


def _run_error(cause: BaseException) -> Exception:
    """The atc error a failed run stands for: the fan-out's failures name their class
    (``LogFormatError``), the report's own activities use the authoring kinds."""
    from copilot.errors import TemporalError
    from workflows.authoring.starter import atc_error
    from workflows.fanout.starter import atc_error as fanout_error

    err = fanout_error(cause)
    return atc_error(cause) if type(err) is TemporalError else err


async def _new_action(handle: ScheduleHandle, before: set[str]) -> str:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT_FOR_START_S
    while loop.time() < deadline:
        fresh = _action_ids(await handle.describe()) - before
        if fresh:
            return sorted(fresh)[-1]
        await asyncio.sleep(0.3)
    raise InputError("the triggered run did not start (a run of this report may still be going)")


def _action_ids(desc: Any) -> set[str]:
    actions = [r.action for r in desc.info.recent_actions] + list(desc.info.running_actions)
    return {a.workflow_id for a in actions if isinstance(a, ScheduleActionExecutionStartWorkflow)}


async def describe_report(client: Client, settings: Settings, name: str) -> dict[str, Any]:
    """The schedule, its settings, next runs and the last delivered results."""
    desc = await (await _handle(client, name)).describe()
    action = desc.schedule.action
    data: ReportInput | None = None
    if isinstance(action, ScheduleActionStartWorkflow) and action.args:
        (data,) = await desc.data_converter.decode(action.args, [ReportInput])  # type: ignore[arg-type]
    spec = desc.schedule.spec
    return {
        "name": name,
        "schedule_id": desc.id,
        "cron": list(spec.cron_expressions),
        "every": [str(i.every) for i in spec.intervals],
        "paused": desc.schedule.state.paused,
        "settings": asdict(data) if data else None,
        "next_runs": [t.isoformat() for t in desc.info.next_action_times[:3]],
        "recent_runs": [
            {
                "scheduled_at": r.scheduled_at.isoformat(),
                "workflow_id": getattr(r.action, "workflow_id", None),
            }
            for r in desc.info.recent_actions[-5:]
        ],
        "results": last_results(settings, name),
    }


def last_results(settings: Settings, name: str, limit: int = 5) -> list[dict[str, Any]]:
    """The newest delivered reports of ``name`` (directory and files)."""
    root = report_root(settings.data_dir, name)
    if not root.is_dir():
        return []
    dirs = sorted(
        (p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")), reverse=True
    )
    return [{"dir": str(d), "files": sorted(f.name for f in d.iterdir())} for d in dirs[:limit]]


async def list_reports(client: Client, settings: Settings) -> list[dict[str, Any]]:
    """Every report schedule with its next run."""
    out = []
    async for entry in await client.list_schedules():
        if entry.id.startswith(SCHEDULE_PREFIX):
            name = entry.id[len(SCHEDULE_PREFIX) :]
            nxt = (
                entry.info.next_action_times[0].isoformat()
                if entry.info and entry.info.next_action_times
                else None
            )
            out.append({"name": name, "schedule_id": entry.id, "next_run": nxt,
                        "results": last_results(settings, name, 1)})  # fmt: skip
    return sorted(out, key=lambda e: e["name"])
