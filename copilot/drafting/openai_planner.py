"""The OpenAI-compatible planner (OpenAI, Azure OpenAI, vLLM, Ollama, LM Studio).

Chat completions with a strict JSON-Schema ``response_format``; when the
server refuses that (400/422), the same schema as a strict function tool the
model must call, remembered for later attempts. Model, base URL, timeout and
the *name* of the environment variable holding the key come from settings.
The SDK's own retries are off (``max_retries=0``): transient failures become
:class:`LLMUnavailable` with the server's ``Retry-After``, and the caller
(the drafting loop, or Temporal when planning runs in an activity) retries.

Nothing that leaves the planner carries a credential: error messages, the
refusal text, the raw answer and its parse error are redacted
(:func:`copilot.drafting.outcomes_llm.redact`), and errors are raised without
the SDK exception chained to them, since that holds the request and its headers.
"""

from __future__ import annotations

import json
import os
from typing import Any

import openai

from copilot.config import Settings
from copilot.drafting.outcomes_llm import redact, unavailable
from copilot.drafting.prompt import messages_for, prompt_hash
from copilot.drafting.record import PlanInput, PlanOutput
from copilot.drafting.schema import strict_json_schema
from copilot.errors import LLMError
from copilot.scopes.catalog import Catalog

TOOL_NAME = "submit_workflow_spec"
_UNSUPPORTED_HINTS = (
    "response_format",
    "json_schema",
    "structured",
    "not supported",
    "unsupported",
)


class OpenAIPlanner:
    """Plans with any OpenAI-compatible chat completions endpoint."""

    name = "openai"
    repairable = True

    def __init__(self, settings: Settings, *, client: openai.OpenAI | None = None) -> None:
        if not settings.llm_base_url and client is None:
            raise LLMError("no LLM endpoint configured (ATC_LLM_BASE_URL)")
        self.model = settings.llm_model
        self.timeout_s = settings.llm_timeout_s
        # Local servers (vLLM, Ollama, LM Studio) take any key; the SDK needs a non-empty one.
        key = os.environ.get(settings.llm_api_key_env) or "not-set"
        self.client = client or openai.OpenAI(
            base_url=settings.llm_base_url,
            api_key=key,
            timeout=settings.llm_timeout_s,
            max_retries=0,
        )
        self._secrets = tuple(
            {str(k) for k in (key, getattr(self.client, "api_key", None)) if k and k != "not-set"}
        )
        self.identity = self._clean(
            f"openai-compatible|{settings.llm_base_url}|{settings.llm_model}"
        )
        self.mode = "json_schema"

    def _clean(self, text: str) -> str:
        return redact(text, self._secrets)

    def _create(self, messages: list[dict[str, str]]) -> Any:
        schema = strict_json_schema()
        common: dict[str, Any] = {"model": self.model, "messages": messages, "temperature": 0}
        if self.mode == "json_schema":
            common["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": "WorkflowSpec", "strict": True, "schema": schema},
            }
        else:
            common["tools"] = [
                {
                    "type": "function",
                    "function": {
                        "name": TOOL_NAME,
                        "description": "Submit the drafted WorkflowSpec.",
                        "parameters": schema,
                        "strict": True,
                    },
                }
            ]
            common["tool_choice"] = {"type": "function", "function": {"name": TOOL_NAME}}
        return self.client.chat.completions.create(**common)

    def complete(self, messages: list[dict[str, str]]) -> Any:
        """One completion; falls back to tool calling once if structured output is refused."""
        try:
            try:
                return self._create(messages)
            except (openai.BadRequestError, openai.UnprocessableEntityError) as exc:
                text = str(exc).lower()
                if self.mode != "json_schema" or not any(h in text for h in _UNSUPPORTED_HINTS):
                    raise
                self.mode = "tools"
                return self._create(messages)
        except openai.APIError as exc:
            error = unavailable(exc, self.timeout_s, self._secrets)
        except openai.OpenAIError as exc:
            error = LLMError(self._clean(f"the LLM client failed: {type(exc).__name__}: {exc}"))
        # Raised here, outside the handler, so the SDK error is neither cause nor context.
        raise error

    def plan(self, data: PlanInput, catalog: Catalog) -> PlanOutput:
        completion = self.complete(messages_for(data, catalog))
        result = PlanOutput(answer=None, planner=self.name, model=self.model)
        result.prompt_hash = prompt_hash(data, catalog)
        usage = getattr(completion, "usage", None)
        if usage is not None:
            result.prompt_tokens = int(usage.prompt_tokens or 0)
            result.completion_tokens = int(usage.completion_tokens or 0)
        if not completion.choices:
            raise LLMError("the LLM endpoint answered with no choices")
        choice = completion.choices[0]
        message = choice.message
        if getattr(message, "refusal", None):
            raise LLMError(f"the model refused to draft: {self._clean(str(message.refusal))[:300]}")
        if choice.finish_reason == "content_filter":
            raise LLMError("the endpoint's content filter stopped the answer")
        raw = message.content
        if self.mode == "tools" or (raw is None and message.tool_calls):
            calls = message.tool_calls or []
            raw = next((c.function.arguments for c in calls if c.function.name == TOOL_NAME), None)
        raw = self._clean(raw) if isinstance(raw, str) else raw
        result.raw = raw
        if choice.finish_reason == "length":
            result.parse_error = "the answer was cut off (finish_reason=length)"
        elif not raw:
            result.parse_error = "the answer was empty"
        else:
            try:
                doc = json.loads(raw)
            except ValueError as exc:
                result.parse_error = self._clean(f"{type(exc).__name__}: {exc}")[:200]
            else:
                if isinstance(doc, dict):
                    result.answer = doc
                else:
                    result.parse_error = f"the answer is a JSON {type(doc).__name__}, not an object"
        result.notes = [f"planned by {self.model} via {self.mode}"]
        return result
