"""Which planner drafts: offline, or an OpenAI-compatible endpoint.

Kept apart from the protocol (:mod:`copilot.drafting.planner`), which the
planners themselves import: the choice imports them, never the other way.
"""

from __future__ import annotations

from copilot.config import Settings
from copilot.drafting.planner import Planner
from copilot.errors import UsageError


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
