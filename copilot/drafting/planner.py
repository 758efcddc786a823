"""What every planner takes and returns, and how one is chosen.

A planner turns a request in words into a WorkflowSpec document. It never
decides what is valid: the rules do. ``PlanRequest.feedback`` carries the
findings of the previous attempt in the repair loop; ``context`` carries
log-derived evidence, which planners treat as quoted data only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from copilot.config import Settings
from copilot.errors import UsageError
from copilot.rules.base import Finding
from copilot.scopes.catalog import Catalog
from copilot.scopes.operations import Operation

OFFLINE_NOTE = "offline planner, no LLM used"


@dataclass
class PlanRequest:
    """One planning attempt's input."""

    request: str
    catalog: Catalog
    scopes: tuple[str, ...]
    context: list[dict[str, Any]] = field(default_factory=list)
    feedback: list[Finding] = field(default_factory=list)
    previous_answer: str | None = None

    @property
    def allowed_operations(self) -> list[Operation]:
        """Only the operations the chosen scopes grant: all a model is ever shown."""
        return self.catalog.operations_for(self.scopes)


@dataclass
class PlanResult:
    """A planner's answer: the document (or raw text that failed to parse) and its cost."""

    answer: dict[str, Any] | None
    planner: str
    model: str | None = None
    raw: str | None = None
    parse_error: str | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    prompt_hash: str | None = None
    notes: list[str] = field(default_factory=list)


class Planner(Protocol):
    """Anything that can plan. ``repairable`` planners get findings back and try again."""

    name: str
    model: str | None
    repairable: bool

    def plan(self, request: PlanRequest) -> PlanResult: ...


def choose_planner(settings: Settings, mode: str = "auto") -> Planner:
    """``offline``, ``openai``, or ``auto`` (OpenAI-compatible when a base URL is configured)."""
    if mode not in ("auto", "offline", "openai"):
        raise UsageError(f"unknown planner {mode!r}; choose auto, offline or openai")
    if mode == "offline" or (mode == "auto" and not settings.llm_base_url):
        from copilot.drafting.offline import OfflinePlanner

        return OfflinePlanner()
    if not settings.llm_base_url:
        raise UsageError("the openai planner needs ATC_LLM_BASE_URL (or llm_base_url in atc.toml)")
    from copilot.drafting.openai_planner import OpenAIPlanner

    return OpenAIPlanner(settings)
