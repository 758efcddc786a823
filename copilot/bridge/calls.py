"""The Temporal side of the bridge: one client connection, a client per namespace,
and the four operations (start, signal, update, status).

Nothing here looks at HTTP or tokens: the caller arrives as an
:class:`~copilot.bridge.identity.Identity` (set for the interceptor) and a route.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from temporalio.client import Client, WorkflowExecutionStatus, WorkflowFailureError
from temporalio.common import TypedSearchAttributes
from temporalio.exceptions import WorkflowAlreadyStartedError

from copilot.bridge.config import Route
from copilot.bridge.faults import innermost
from copilot.bridge.idempotency import CONFLICT_POLICY, REUSE_POLICY
from copilot.bridge.identity import IdentityInterceptor, register_attributes
from copilot.config import Settings
from copilot.temporal_connect import connect

CONNECT_WITHIN_S = 5.0
Connector = Callable[[Settings], Awaitable[Client]]


@dataclass(frozen=True)
class StartPlan:
    """Everything one start needs, decided before Temporal is called."""

    workflow_type: str
    workflow_id: str
    task_queue: str
    args: list[Any]
    memo: dict[str, Any]
    attributes: TypedSearchAttributes
    execution_timeout_s: int | None
    drafted: bool = False


class Admission:
    """A bound on in-flight Temporal calls; waits at most ``wait_s`` for a free slot."""

    def __init__(self, limit: int, wait_s: float) -> None:
        self.limit, self.wait_s = limit, wait_s
        self._lock = threading.Lock()  # the thread-safe count lets tests hold slots
        self.in_flight = 0

    def try_enter(self) -> bool:
        with self._lock:
            if self.in_flight >= self.limit:
                return False
            self.in_flight += 1
            return True

    def leave(self) -> None:
        with self._lock:
            self.in_flight -= 1

    async def enter(self) -> bool:
        """True once a slot is taken; False after ``wait_s`` without one."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.wait_s
        while not self.try_enter():
            if loop.time() >= deadline:
                return False
            await asyncio.sleep(0.005)
        return True


async def _connect(settings: Settings) -> Client:
    # A few seconds, not connect()'s minute: a gateway waiting on the bridge times out first.
    return await connect(settings, within_s=CONNECT_WITHIN_S)


class Temporal:
    """A lazily connected client per namespace, all sharing one connection."""

    def __init__(self, settings: Settings, connector: Connector | None = None) -> None:
        self.settings = settings
        self.interceptor = IdentityInterceptor()
        self._connector = connector or _connect
        self._base: Client | None = None
        self._clients: dict[str, Client] = {}
        self._indexed: dict[str, bool] = {}
        self._lock: asyncio.Lock | None = None

    async def client(self, namespace: str) -> Client:
        if namespace in self._clients:
            return self._clients[namespace]
        self._lock = self._lock or asyncio.Lock()
        async with self._lock:
            if self._base is None:
                self._base = await self._connector(self.settings)
            if namespace not in self._clients:
                client = Client(
                    self._base.service_client,
                    namespace=namespace,
                    interceptors=[self.interceptor],
                )
                self._indexed[namespace] = await register_attributes(client, namespace)
                if self._indexed[namespace]:
                    from workflows.runs.shared import ensure_run_attributes

                    await ensure_run_attributes(client, namespace)
                self._clients[namespace] = client
        return self._clients[namespace]

    def indexed(self, namespace: str) -> bool:
        return self._indexed.get(namespace, False)

    async def healthy(self) -> bool:
        client = await self.client(self.settings.temporal_namespace)
        return bool(await client.service_client.check_health(timeout=timedelta(seconds=3)))

    async def start(self, route: Route, plan: StartPlan) -> tuple[str, str, bool]:
        """(workflow id, run id, whether an existing run was returned)."""
        client = await self.client(route.namespace)
        timeout = plan.execution_timeout_s
        try:
            handle = await client.start_workflow(
                plan.workflow_type,
                args=plan.args,
                id=plan.workflow_id,
                task_queue=plan.task_queue,
                id_conflict_policy=CONFLICT_POLICY,
                id_reuse_policy=REUSE_POLICY,
                memo=plan.memo,
                search_attributes=plan.attributes if self.indexed(route.namespace) else None,
                execution_timeout=timedelta(seconds=timeout) if timeout else None,
            )
        except WorkflowAlreadyStartedError as exc:
            # REJECT_DUPLICATE after the first run closed: answer with that run.
            return plan.workflow_id, exc.run_id or "", True
        # The response says whether USE_EXISTING returned a running execution
        # (StartWorkflowExecutionResponse.started); the SDK keeps it on the handle.
        response = getattr(handle, "_start_workflow_response", None)
        existing = response is not None and not getattr(response, "started", True)
        return handle.id, handle.result_run_id or "", existing

    async def describe(self, namespace: str, workflow_id: str) -> Any:
        client = await self.client(namespace)
        return await client.get_workflow_handle(workflow_id).describe()

    async def signal(self, namespace: str, workflow_id: str, name: str, args: list) -> None:
        client = await self.client(namespace)
        await client.get_workflow_handle(workflow_id).signal(name, args=args)

    async def update(
        self, namespace: str, workflow_id: str, name: str, args: list, timeout_s: float
    ) -> Any:
        client = await self.client(namespace)
        return await client.get_workflow_handle(workflow_id).execute_update(
            name, args=args, rpc_timeout=timedelta(seconds=timeout_s)
        )

    async def status(self, namespace: str, described: Any) -> dict[str, Any]:
        """The status document; the result (or failure) once the workflow closed."""
        status = described.status or WorkflowExecutionStatus.RUNNING
        doc: dict[str, Any] = {
            "workflow_id": described.id,
            "run_id": described.run_id,
            "namespace": namespace,
            "workflow_type": described.workflow_type,
            "status": status.name,
            "started": described.start_time.isoformat() if described.start_time else None,
            "closed": described.close_time.isoformat() if described.close_time else None,
        }
        if status == WorkflowExecutionStatus.RUNNING:
            return doc
        client = await self.client(namespace)
        handle = client.get_workflow_handle(described.id, run_id=described.run_id)
        try:
            doc["result"] = await handle.result(follow_runs=False)
        except WorkflowFailureError as exc:
            doc["error"] = innermost(exc)[:500]
        return doc
