"""What every planner is: it takes one planner call and answers with a spec document.

A planner turns a request in words into a WorkflowSpec document. It never
decides what is valid: the rules do. It takes the loop's own serialisable
record of the call (:class:`copilot.drafting.record.PlanInput`: its
``feedback`` carries the findings of the previous attempt in the repair loop,
its ``context`` log-derived evidence, which planners treat as quoted data
only) and the product catalog, and answers with a
:class:`~copilot.drafting.record.PlanOutput` (the loop adds the timing and
the model hash). Which planner runs is chosen in :mod:`copilot.drafting.planners`.
"""

from __future__ import annotations

from typing import Protocol

from copilot.drafting.record import PlanInput, PlanOutput
from copilot.scopes.catalog import Catalog
from copilot.scopes.operations import Operation

OFFLINE_NOTE = "offline planner, no LLM used"


def allowed_operations(data: PlanInput, catalog: Catalog) -> list[Operation]:
    """Only the operations the chosen scopes grant: all a model is ever shown."""
    return catalog.operations_for(tuple(data.scopes))


class Planner(Protocol):
    """Anything that can plan. ``repairable`` planners get findings back and try again."""

    name: str
    model: str | None
    repairable: bool

    def plan(self, data: PlanInput, catalog: Catalog) -> PlanOutput: ...
