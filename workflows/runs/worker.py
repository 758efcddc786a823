"""The runs worker: ``python -m workflows.runs.worker`` (both halves, started and stopped together).

Split by trust, one task queue per approved version
(``<ATC_RUNS_TASK_QUEUE>.<draft>.v<N>``):

- the *drafted-workflow worker* of each version runs in an isolated child
  (:mod:`workflows.runs.drafted`): it loads only the re-rendered,
  hash-checked code, registers the workflow and no activity, and holds no
  key;
- the *activity worker* (this process) runs ``atc.call_operation`` only, on
  each version's queue, bound to that version's workflow type and approved
  scopes: a call from any other workflow type is refused, and each call is
  signed with a fresh JWT (``sub`` ``run:<workflow id>``, lifetime at most
  15 minutes) minted from a key *reference*.

One queue per version means a version's activity worker never serves
another version's workflows, and a child only ever receives tasks of the one
type it registered. The store is read again every few seconds: a newly
approved version gets its pair of workers; a version that no longer verifies
loses them. SIGTERM/SIGINT stop polling, let running calls finish, and stop
the children. Prints ``atc runs worker: polling`` once every served version
polls.
"""

from __future__ import annotations

import asyncio
import logging
import tempfile
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from temporalio.client import Client
from temporalio.worker import Worker

from copilot.config import Settings
from copilot.drafting.store import DraftStore
from copilot.estate.logs import ActivityLogInterceptor
from copilot.runs.approved import ApprovedVersion, servable_versions
from copilot.scopes import load_catalog
from copilot.scopes.client import GatewaySettings
from copilot.temporal_connect import connect, connection_material
from workflows.process import worker_main
from workflows.runs.drafted import DraftedChild
from workflows.runs.gateway import Gateway, gateway
from workflows.runs.shared import READY, ensure_run_attributes
from workflows.runtime.gateway_activity import GatewayActivities

_log = logging.getLogger(__name__)
RESCAN_S = 3.0
READY_TIMEOUT_S = 90.0
GRACEFUL_SHUTDOWN_S = 30.0


def version_activities(approved: ApprovedVersion, gw: Gateway) -> GatewayActivities:
    """The gateway activity bound to one approved version's type and scopes."""
    settings = GatewaySettings(
        base_url=gw.base_url,
        key_ref=gw.key_ref,
        issuer=gw.issuer,
        audience=gw.audience,
        subject="run",
        scopes=approved.scopes,
        token_ttl_s=gw.token_ttl_s,
    )
    return GatewayActivities(
        load_catalog(approved.products),
        settings,
        workflow_type=approved.workflow_type,
        subject_prefix="run",
    )


@dataclass
class Served:
    """One version's pair of workers."""

    approved: ApprovedVersion
    child: DraftedChild
    worker: Worker
    task: asyncio.Task


class RunsWorker:
    """Both halves for every servable version, kept in step with the store."""

    def __init__(self, client: Client, settings: Settings, gw: Gateway, root: Path) -> None:
        self.client, self.settings, self.gw, self.root = client, settings, gw, root
        self.store = DraftStore.in_data_dir(settings.data_dir)
        self.served: dict[str, Served] = {}
        # The isolated child sees no settings or files: it gets the connection itself.
        self.connect = {"connection": connection_material(settings)}

    async def refresh(self) -> None:
        """Serve what verifies now; stop what no longer does."""
        versions, skipped = await asyncio.to_thread(servable_versions, self.store)
        for reason in skipped:
            _log.warning("not served: %s", reason)
        wanted = {v.workflow_type: v for v in versions}
        for name in [n for n in self.served if n not in wanted]:
            await self._stop(self.served.pop(name))
        new = [v for name, v in wanted.items() if name not in self.served]
        for approved in new:
            self.served[approved.workflow_type] = self._start(approved)
        for approved in new:
            child = self.served[approved.workflow_type].child
            ok = await asyncio.to_thread(child.ready.wait, READY_TIMEOUT_S)
            state = f"isolated: {child.isolation}" if ok else "NOT READY"
            print(f"atc runs worker: {approved.workflow_type} on {child.task_queue} ({state})")

    def _start(self, approved: ApprovedVersion) -> Served:
        queue = approved.task_queue(self.settings.runs_task_queue)
        child = DraftedChild(
            approved, queue, self.connect, self.root / approved.workflow_type,
            self.settings.runs_isolation,
        )  # fmt: skip
        child.start()
        worker = Worker(
            self.client,
            task_queue=queue,
            activities=[version_activities(approved, self.gw).call_operation],
            graceful_shutdown_timeout=timedelta(seconds=GRACEFUL_SHUTDOWN_S),
            interceptors=[ActivityLogInterceptor()],
        )
        return Served(approved, child, worker, asyncio.create_task(worker.run()))

    async def _stop(self, served: Served) -> None:
        await served.worker.shutdown()
        await asyncio.to_thread(served.child.stop)

    async def close(self) -> None:
        for served in list(self.served.values()):
            await self._stop(served)
        self.served.clear()


async def run_worker(settings: Settings, stop: asyncio.Event) -> None:
    """Connect, serve until ``stop`` is set, then stop both halves."""
    client = await connect(settings)
    registered = await ensure_run_attributes(client, settings.temporal_namespace)
    print(f"atc runs worker: search attributes {'registered' if registered else 'unavailable'}")
    with gateway(settings) as gw, tempfile.TemporaryDirectory(prefix="atc-runs-") as tmp:
        where = "emulator (demo key)" if gw.emulated else gw.base_url
        print(f"atc runs worker: gateway {where}", flush=True)
        runs = RunsWorker(client, settings, gw, Path(tmp))
        try:
            await runs.refresh()
            print(READY, flush=True)
            while not stop.is_set():
                try:
                    await asyncio.wait_for(stop.wait(), RESCAN_S)
                except TimeoutError:
                    await runs.refresh()
            print("atc runs worker: stopping; running calls may finish", flush=True)
        finally:
            await runs.close()


def main() -> None:
    worker_main(
        "atc runs worker",
        lambda s: (
            f"{s.temporal_address} namespace {s.temporal_namespace} queues {s.runs_task_queue}.*"
        ),
        run_worker,
    )


if __name__ == "__main__":
    main()
