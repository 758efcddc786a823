"""The OpenAI-compatible planner against a fake server on loopback (real HTTP, real SDK).

Every scripted case ends in the right outcome (valid, rejected with the rule
id, repaired, retried, or a clear error) and nothing outside the scopes ever
renders as valid.
"""

from __future__ import annotations

import ast
import json
import traceback
from collections.abc import Iterator

import httpx
import pytest

from copilot.config import Settings
from copilot.drafting.draft import draft_workflow
from copilot.drafting.openai_planner import OpenAIPlanner
from copilot.drafting.outcomes_llm import REDACTED, redact
from copilot.drafting.record import DraftRecord, PlanInput
from copilot.errors import LLMError
from copilot.scopes import DEFAULT_PRODUCTS, Catalog
from copilot.scopes.server import BackgroundServer
from tests.paths import LLM_FIXTURES

from .fake_llm import (
    FakeLLM,
    Reply,
    answer,
    error,
    reflecting,
    reflecting_answer,
    refusal,
    slow,
    tool_answer,
)

pytestmark = pytest.mark.slow  # real HTTP with real timeouts and retries

SCOPES = ("notifications.send", "orders.read", "orders.write")
KEY_ENV = "ATC_FAKE_LLM_KEY"


def fixture(name: str) -> dict:
    return json.loads((LLM_FIXTURES / name).read_text(encoding="utf-8"))


def out_of_scope() -> dict:
    doc = fixture("valid_spec.json")
    doc["steps"][2]["operation"] = "payments.refund"  # needs payments.refund: not granted
    return doc


@pytest.fixture(scope="module")
def fake() -> Iterator[tuple[FakeLLM, str]]:
    server = FakeLLM()
    with BackgroundServer(server.app) as running:
        yield server, running.url


@pytest.fixture
def llm(fake: tuple[FakeLLM, str], monkeypatch: pytest.MonkeyPatch) -> FakeLLM:
    monkeypatch.setenv(KEY_ENV, "fake-key-123")
    fake[0].reset()
    return fake[0]


def _settings(fake: tuple[FakeLLM, str], timeout_s: float = 10.0) -> Settings:
    return Settings(
        llm_base_url=fake[1] + "/v1",
        llm_model="fake-model",
        llm_api_key_env=KEY_ENV,
        llm_timeout_s=timeout_s,
    )


def _draft(
    catalog: Catalog,
    fake: tuple[FakeLLM, str],
    *replies: Reply,
    dry_run: bool = False,
    timeout_s: float = 10.0,
    sleeps: list[float] | None = None,
) -> DraftRecord:
    fake[0].reset(*replies)
    return draft_workflow(
        "Look the order up, ask a supervisor, cancel it and email the customer",
        catalog=catalog,
        scopes=SCOPES,
        planner=OpenAIPlanner(_settings(fake, timeout_s)),
        products=DEFAULT_PRODUCTS,
        repair_attempts=2,
        run_dry_run=dry_run,
        sandbox=dry_run,
        sleep=(sleeps.append if sleeps is not None else lambda s: None),
    )


@pytest.mark.slow
def test_a_valid_spec_is_valid_after_rules_sandbox_and_dry_run(catalog, fake, llm) -> None:
    result = _draft(catalog, fake, answer(fixture("valid_spec.json")), dry_run=True)
    assert result.valid and result.attempts == 1, result.findings
    assert (result.prompt_tokens, result.completion_tokens) == (120, 80)
    assert result.dry_run["ok"] and [s["name"] for s in result.dry_run["scenarios"]] == [
        "approve",
        "reject",
        "no-answer",
    ]
    sent = llm.requests[0]
    assert sent["headers"]["authorization"] == "Bearer fake-key-123"
    body = sent["body"]
    assert body["model"] == "fake-model" and body["temperature"] == 0
    assert body["response_format"]["type"] == "json_schema"
    assert body["response_format"]["json_schema"]["strict"] is True


def test_the_prompt_lists_only_the_operations_the_scopes_allow(catalog, fake, llm) -> None:
    _draft(catalog, fake, answer(fixture("valid_spec.json")))
    system = llm.system_prompt()
    listed = json.loads(system.split("ALLOWED OPERATIONS (JSON):\n", 1)[1])
    assert [op["id"] for op in listed] == [op.id for op in catalog.operations_for(SCOPES)]
    assert "payments.refund" not in system and "fulfilment.create_shipment" not in system


def test_an_out_of_scope_spec_is_rejected_with_wf003_and_never_rendered(catalog, fake, llm) -> None:
    result = _draft(catalog, fake, *[answer(out_of_scope())] * 3)
    assert not result.valid and result.attempts == 3
    assert {f["rule_id"] for f in result.errors} == {"WF003"}
    assert result.code is None
    repair = llm.requests[1]["body"]["messages"]
    assert repair[-2]["role"] == "assistant" and "WF003" in repair[-1]["content"]


def test_findings_go_back_and_a_repaired_spec_is_valid(catalog, fake, llm) -> None:
    result = _draft(
        catalog, fake, answer(out_of_scope(), usage=(100, 50)), answer(fixture("valid_spec.json"))
    )
    assert result.rules_ok and result.attempts == 2
    assert (result.prompt_tokens, result.completion_tokens) == (220, 130)
    assert [h["attempt"] for h in result.history] == [1, 2]
    assert result.history[0]["errors"][0]["rule_id"] == "WF003"


def test_code_like_text_in_free_text_fields_renders_only_as_literals(catalog, fake, llm) -> None:
    doc = fixture("injection_free_text.json")
    result = _draft(catalog, fake, answer(doc))
    assert result.rules_ok, result.findings
    tree = ast.parse(result.code)
    called = {ast.unparse(n.func) for n in ast.walk(tree) if isinstance(n, ast.Call)}
    assert not {"__import__", "eval", "exec"} & called
    assert "socket" not in {
        a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names
    }
    literals = {
        n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)
    }
    assert doc["description"] in literals


def test_code_like_text_in_every_field_is_refused_by_the_schema(catalog, fake, llm) -> None:
    result = _draft(catalog, fake, *[answer(fixture("injection_everywhere.json"))] * 3)
    assert not result.valid and {f["rule_id"] for f in result.errors} == {"WF001"}
    assert result.code is None


def test_malformed_json_is_repaired_or_rejected_as_wf001(catalog, fake, llm) -> None:
    repaired = _draft(
        catalog, fake, answer('{"name": "x", "steps": [ oops'), answer(fixture("valid_spec.json"))
    )
    assert repaired.rules_ok and repaired.attempts == 2
    assert "not a JSON document" in llm.requests[1]["body"]["messages"][-1]["content"]
    rejected = _draft(catalog, fake, *[answer("Sure! Here is your workflow: ...")] * 3)
    assert not rejected.valid and {f["rule_id"] for f in rejected.errors} == {"WF001"}


def test_429_is_retried_after_the_servers_retry_after(catalog, fake, llm) -> None:
    sleeps: list[float] = []
    result = _draft(
        catalog,
        fake,
        error(429, "slow down", {"Retry-After": "7"}),
        answer(fixture("valid_spec.json")),
        sleeps=sleeps,
    )
    assert result.rules_ok and result.attempts == 1
    assert sleeps == [7.0] and len(llm.requests) == 2


def test_500_is_retried_and_a_persistent_500_is_a_clear_error(catalog, fake, llm) -> None:
    sleeps: list[float] = []
    result = _draft(
        catalog, fake, error(500, "boom"), answer(fixture("valid_spec.json")), sleeps=sleeps
    )
    assert result.rules_ok and sleeps == [1.0]
    with pytest.raises(LLMError, match=r"HTTP 500.*gave up after 4 tries"):
        _draft(catalog, fake, *[error(500, "boom")] * 4)


def test_a_timeout_is_retried_then_a_clear_error(catalog, fake, llm) -> None:
    sleeps: list[float] = []
    with pytest.raises(LLMError, match=r"did not answer within 0.3 s.*gave up after 4 tries"):
        _draft(catalog, fake, *[slow(2.0)] * 4, timeout_s=0.3, sleeps=sleeps)
    assert sleeps == [1.0, 2.0, 4.0]


def test_a_refusal_is_a_clear_error(catalog, fake, llm) -> None:
    with pytest.raises(LLMError, match="the model refused to draft: I can't help with that"):
        _draft(catalog, fake, refusal())


def test_a_server_without_json_schema_gets_a_strict_tool_instead(catalog, fake, llm) -> None:
    rejected = error(400, "response_format json_schema is not supported by this server")
    result = _draft(
        catalog,
        fake,
        rejected,
        tool_answer(out_of_scope()),
        tool_answer(fixture("valid_spec.json")),
    )
    assert result.rules_ok and result.attempts == 2
    first, fallback, repair = (r["body"] for r in llm.requests)
    assert "response_format" in first and "response_format" not in fallback
    assert fallback["tools"][0]["function"]["name"] == "submit_workflow_spec"
    assert fallback["tool_choice"]["function"]["name"] == "submit_workflow_spec"
    assert "tools" in repair  # the fallback is remembered


def test_a_bad_key_is_not_retried(catalog, fake, llm) -> None:
    with pytest.raises(LLMError, match="refused the API key"):
        _draft(catalog, fake, error(401, "invalid api key"))
    assert len(llm.requests) == 1


# --- credentials never leave the planner -------------------------------------

SK_KEY = "sk-proj-Q7vX2mN9pL4kR8sT1wY6zA3bC5dE"
ECHO = "Incorrect API key {api_key}; you sent Authorization: {authorization}; headers {headers}"


def _leaks(error: BaseException, key: str) -> list[str]:
    """Every rendering of ``error`` that still holds the key or its bearer header."""
    texts = {
        "message": getattr(error, "message", ""),
        "str": str(error),
        "repr": repr(error),
        "traceback": "".join(traceback.format_exception(error)),
    }
    return [name for name, text in texts.items() if key in text or "Bearer sk" in text]


def test_the_fake_really_reflects_the_key(fake, llm) -> None:
    llm.reset(reflecting(401, ECHO))
    response = httpx.post(
        fake[1] + "/v1/chat/completions",
        json={},
        headers={"Authorization": "Bearer fake-key-123"},
        trust_env=False,
    )
    assert response.json()["error"]["message"].count("fake-key-123") == 3


@pytest.mark.parametrize("status", [400, 401, 403, 404, 422, 429, 500, 503])
@pytest.mark.parametrize("key", ["fake-key-123", SK_KEY])
def test_an_endpoint_that_echoes_the_key_never_leaks_it(
    fake, llm, monkeypatch: pytest.MonkeyPatch, status: int, key: str
) -> None:
    monkeypatch.setenv(KEY_ENV, key)
    llm.reset(reflecting(status, ECHO))
    planner = OpenAIPlanner(_settings(fake))
    with pytest.raises(LLMError) as raised:
        planner.complete([{"role": "user", "content": "hi"}])
    assert llm.requests[0]["headers"]["authorization"] == f"Bearer {key}"
    assert _leaks(raised.value, key) == []
    assert REDACTED in raised.value.message
    assert raised.value.__cause__ is None and raised.value.__context__ is None


def test_a_retried_failure_that_echoes_the_key_never_leaks_it(catalog, fake, llm) -> None:
    with pytest.raises(LLMError, match="gave up after 4 tries") as raised:
        _draft(catalog, fake, *[reflecting(500, ECHO)] * 4)
    assert _leaks(raised.value, "fake-key-123") == []


def test_a_refusal_that_echoes_the_key_never_leaks_it(catalog, fake, llm) -> None:
    echo = reflecting_answer({"content": None, "refusal": "No. You sent {authorization}"})
    with pytest.raises(LLMError, match="the model refused to draft") as raised:
        _draft(catalog, fake, echo)
    assert _leaks(raised.value, "fake-key-123") == []


def test_an_answer_that_echoes_the_key_is_kept_without_it(catalog, fake, llm) -> None:
    llm.reset(reflecting_answer({"content": '{"name": "key {api_key}", "steps": [ oops'}))
    result = OpenAIPlanner(_settings(fake)).plan(
        PlanInput(request="cancel order 1", scopes=list(SCOPES), products=""), catalog=catalog
    )
    assert result.answer is None and result.raw is not None
    assert "fake-key-123" not in result.raw and REDACTED in result.raw
    assert "fake-key-123" not in (result.parse_error or "")


def test_credentials_in_the_endpoint_url_stay_out_of_the_identity() -> None:
    settings = Settings(llm_base_url="http://user:url-secret-99@127.0.0.1:9/v1?api-key=q-secret-7")
    identity = OpenAIPlanner(settings).identity
    assert "url-secret-99" not in identity and "q-secret-7" not in identity


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("Authorization: Bearer abc.def-ghi", "abc.def-ghi"),
        ("{'authorization': 'Basic dXNlcjpwYXNz'}", "dXNlcjpwYXNz"),
        ('"Authorization":"Token t0k3n-value"', "t0k3n-value"),
        ("api-key: azure-key-123", "azure-key-123"),
        ("x-api-key=abcd1234", "abcd1234"),
        ("invalid key sk-live_abcdefgh12345", "abcdefgh12345"),
        ("bearer lower.case.token", "lower.case.token"),
        ("https://user:pa55word@llm.example/v1", "pa55word"),
        ("https://llm.example/v1?key=AIzaSyQ-123&x=1", "AIzaSyQ-123"),
        ("the configured key my-own-key-42 was rejected", "my-own-key-42"),
    ],
)
def test_redact_removes_credentials_of_every_shape(text: str, secret: str) -> None:
    cleaned = redact(text, ["my-own-key-42"])
    assert secret not in cleaned and REDACTED in cleaned


def test_redact_keeps_ordinary_text() -> None:
    text = "the LLM endpoint refused the API key (HTTP 401): invalid api key"
    assert redact(text, ["not", ""]) == text
