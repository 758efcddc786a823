"""Loading a drafted workflow module and running a worker for it.

Only processes that exist to run drafts call :func:`load_draft_module` (the
dry-run harness, the sandbox check, a draft worker): code is imported only
after the AST allow-list passed, and never in the dashboard's or the CLI's
own process. The module is imported by name from a directory on
``sys.path`` because the workflow sandbox re-imports it by name.
"""

from __future__ import annotations

import hashlib
import importlib
import sys
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from temporalio import workflow
from temporalio.client import Client
from temporalio.worker import Worker

from workflows.runtime.gateway_activity import GatewayActivities
from workflows.runtime.shared import TASK_QUEUE


@dataclass(frozen=True)
class LoadedDraft:
    """A drafted module with its one workflow class and input dataclass."""

    module: ModuleType
    workflow_class: type
    input_class: type
    workflow_type: str


def load_draft_module(code: str, directory: Path) -> LoadedDraft:
    """Write ``code`` into ``directory`` and import it (directory joins ``sys.path``)."""
    name = "atc_draft_" + hashlib.sha256(code.encode("utf-8")).hexdigest()[:16]
    directory.mkdir(parents=True, exist_ok=True)
    (directory / f"{name}.py").write_text(code, encoding="utf-8")
    if str(directory) not in sys.path:
        sys.path.insert(0, str(directory))
    module = importlib.import_module(name)
    found = []
    for value in vars(module).values():
        if isinstance(value, type) and value.__module__ == module.__name__:
            defn = workflow._Definition.from_class(value)
            if defn is not None:
                found.append((value, defn))
    if len(found) != 1:
        raise ValueError(f"the module must define exactly one workflow class, found {len(found)}")
    cls, defn = found[0]
    run_hints = getattr(defn.run_fn, "__annotations__", {})
    input_class = _resolve(module, run_hints.get("data"))
    if not isinstance(input_class, type):
        raise ValueError("the workflow's run method must take one dataclass argument named data")
    return LoadedDraft(module, cls, input_class, str(defn.name))


def _resolve(module: ModuleType, hint: Any) -> Any:
    # ``from __future__ import annotations`` leaves hints as strings.
    return getattr(module, hint, None) if isinstance(hint, str) else hint


def draft_worker(
    client: Client,
    draft: LoadedDraft,
    activities: GatewayActivities,
    task_queue: str = TASK_QUEUE,
) -> Worker:
    """A worker running one drafted workflow and the scoped gateway activity."""
    return Worker(
        client,
        task_queue=task_queue,
        workflows=[draft.workflow_class],
        activities=[activities.call_operation],
    )
