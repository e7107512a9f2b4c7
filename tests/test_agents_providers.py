"""Model providers: the real OpenAI client path against a mocked HTTP server, error mapping for
Temporal, token counting without tiktoken, and cost per turn."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import httpx2
import pytest
import tiktoken
import tiktoken.load
from autogen_core.model_context import TokenLimitedChatCompletionContext
from autogen_core.models import UserMessage
from autogen_ext.models.openai import OpenAIChatCompletionClient
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.conversation import ConversationActivities
from agents.cost import estimate_cost_usd, price_for
from agents.model_client import ProviderOpenAIClient, TurnModelClient, build_model_client, model_name_of
from agents.model_settings import ModelSettings
from agents.offline.client import OfflineChatCompletionClient
from agents.team import run_turn
from domain.models import KbHit
from domain.turns import TurnOutcome
from kb.index import KnowledgeBase
from tests.test_agents import RATE_LIMIT_HITS, RATE_LIMITS_URL, FakeKb, make_request

API_KEY = "sk-test-0123456789abcdefSECRET"
Handler = Callable[[httpx2.Request], httpx2.Response]


@pytest.fixture
def no_tiktoken(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Fail loudly if anything asks tiktoken for an encoding (it would download one)."""
    used: list[str] = []

    def forbidden(*args: Any, **kwargs: Any) -> Any:
        used.append(repr(args))
        raise AssertionError("tiktoken was asked for an encoding; it downloads its files at run time")

    for name in ("get_encoding", "encoding_for_model"):
        monkeypatch.setattr(tiktoken, name, forbidden)
    for name in ("read_file", "read_file_cached", "load_tiktoken_bpe"):
        monkeypatch.setattr(tiktoken.load, name, forbidden)
    yield used
    assert used == []


def completion(message: dict[str, Any], finish: str, prompt: int = 1200, completion_tokens: int = 80) -> dict[str, Any]:
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1,
        "model": "gpt-4o-mini-2024-07-18",
        "choices": [{"index": 0, "message": message, "finish_reason": finish}],
        "usage": {"prompt_tokens": prompt, "completion_tokens": completion_tokens, "total_tokens": prompt + 80},
    }


def openai_client(handler: Handler, model: str = "gpt-4o-mini") -> ProviderOpenAIClient:
    http = httpx2.AsyncClient(transport=httpx2.MockTransport(handler))
    return ProviderOpenAIClient(model=model, api_key=API_KEY, http_client=http, max_retries=0)


class ScriptedOpenAI:
    """A fake chat-completions endpoint: a tool call first, then the answer."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        body = json.loads(request.content)
        self.requests.append(body)
        if len(self.requests) == 1:
            call = {
                "id": "call_1",
                "type": "function",
                "function": {"name": "search_knowledge_base", "arguments": json.dumps({"query": "429 burst limit"})},
            }
            return httpx2.Response(
                200, json=completion({"role": "assistant", "content": None, "tool_calls": [call]}, "tool_calls")
            )
        text = "Hi Priya, Pro plans allow a burst of 300 requests per minute."
        text += f"\n\n- [API rate limits by plan]({RATE_LIMITS_URL})"
        return httpx2.Response(200, json=completion({"role": "assistant", "content": text}, "stop"))


async def test_openai_path_runs_tools_and_reports_usage_and_cost(no_tiktoken: list[str]) -> None:
    server = ScriptedOpenAI()
    outcome = await run_turn(make_request(), model_client=openai_client(server), kb_search=FakeKb(RATE_LIMIT_HITS))
    assert outcome.agent == "TechnicalAgent" and outcome.tool_calls == ["search_knowledge_base"]
    assert [c.article_id for c in outcome.citations] == ["kb-api-rate-limits"]
    assert (outcome.prompt_tokens, outcome.completion_tokens) == (2400, 160)  # as the provider reported them
    assert outcome.cost_usd == pytest.approx(2400 * 0.15e-6 + 160 * 0.60e-6)
    first = server.requests[0]
    assert first["model"] == "gpt-4o-mini"
    names = {t["function"]["name"] for t in first["tools"]}
    assert {"search_knowledge_base", "lookup_customer", "transfer_to_human", "transfer_to_billingagent"} <= names
    # The tool result went back to the model as a tool message.
    assert any(m["role"] == "tool" for m in server.requests[1]["messages"])


def test_token_counting_never_uses_tiktoken(no_tiktoken: list[str]) -> None:
    messages = [UserMessage(content="We get HTTP 429 from the events API " * 20, source="customer")]
    client = openai_client(ScriptedOpenAI())
    assert 150 < client.count_tokens(messages) < 250
    assert client.remaining_tokens(messages) == 128_000 - client.count_tokens(messages)
    assert TurnModelClient(client).count_tokens(messages) == client.count_tokens(messages)
    compatible = build_model_client("openai_compatible", model="llama3.1:8b", base_url="http://127.0.0.1:1/v1")
    # An undeclared model is assumed to have a small window (no lookup); a declared one has its own.
    assert compatible.remaining_tokens(messages) == 8192 - client.count_tokens(messages)
    declared = build_model_client(
        "openai_compatible", model="llama3.1:8b", base_url="http://127.0.0.1:1/v1",
        settings=ModelSettings(context_window=32_768),
    )  # fmt: skip
    assert declared.remaining_tokens(messages) == 32_768 - client.count_tokens(messages)


async def test_autogens_token_limited_context_is_safe_with_our_clients(no_tiktoken: list[str]) -> None:
    context = TokenLimitedChatCompletionContext(openai_client(ScriptedOpenAI()), token_limit=50)
    for i in range(5):
        await context.add_message(UserMessage(content=f"message {i} " * 10, source="customer"))
    assert 0 < len(await context.get_messages()) < 5


def test_the_guard_would_catch_autogens_stock_client(no_tiktoken: list[str]) -> None:
    stock = OpenAIChatCompletionClient(model="gpt-4o-mini", api_key=API_KEY)
    with pytest.raises(AssertionError, match="tiktoken"):
        stock.count_tokens([UserMessage(content="hi", source="customer")])
    no_tiktoken.clear()  # expected here: this is the behaviour our clients avoid


def test_factory_clients_leave_retries_to_temporal() -> None:
    client = build_model_client("openai", model="gpt-4o-mini", api_key=API_KEY)
    assert isinstance(client, ProviderOpenAIClient) and model_name_of(client) == "gpt-4o-mini"
    assert client._client.max_retries == 0  # noqa: SLF001 - the SDK's own retry count
    azure = build_model_client(
        "azure", model="gpt-4o", api_key=API_KEY, azure_endpoint="https://x.openai.azure.com", azure_deployment="d",
        api_version="2024-06-01",
    )  # fmt: skip
    assert model_name_of(azure) == "gpt-4o"
    assert model_name_of(OfflineChatCompletionClient()) == "offline"


def _error(status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> Handler:
    def handler(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(status, json=body, headers=headers or {})

    return handler


def _body(message: str, code: str | None = None, kind: str = "invalid_request_error") -> dict[str, Any]:
    return {"error": {"message": message, "type": kind, "code": code, "param": None}}


class NoKb:
    async def search(self, query: str, limit: int = 5, category: str | None = None) -> list[KbHit]:
        return []


def _activity_env(attempt: int = 1, failing_for_s: float = 0.0) -> ActivityEnvironment:
    env = ActivityEnvironment()
    now = datetime.now(UTC)
    env.info = dataclasses.replace(
        env.info,
        attempt=attempt,
        scheduled_time=now - timedelta(seconds=failing_for_s),
        current_attempt_scheduled_time=now,
    )
    return env


async def _activity_error(handler: Handler) -> ApplicationError:
    activities = ConversationActivities(openai_client(handler), cast(KnowledgeBase, NoKb()))
    with pytest.raises(ApplicationError) as err:
        await _activity_env().run(activities.run_agent_turn, make_request())
    return err.value


async def _handed_over(handler: Handler, *, attempt: int = 1, failing_for_s: float = 0.0) -> TurnOutcome:
    activities = ConversationActivities(openai_client(handler), cast(KnowledgeBase, NoKb()))
    outcome: TurnOutcome = await _activity_env(attempt, failing_for_s).run(activities.run_agent_turn, make_request())
    assert outcome.decision == "escalate" and outcome.agent == "EscalationManager" and outcome.reply
    return outcome


@pytest.mark.parametrize(
    ("status", "body", "headers", "delay"),
    [
        (429, _body("Rate limit reached", "rate_limit_exceeded"), {"retry-after": "7"}, 7),
        (500, _body("The server had an error", None, "server_error"), {}, None),
        (503, _body("Overloaded", None, "server_error"), {}, None),
    ],
)
async def test_a_provider_that_is_down_is_retried_with_backoff(
    status: int, body: dict[str, Any], headers: dict[str, str], delay: int | None
) -> None:
    err = await _activity_error(_error(status, body, headers))
    assert err.type == "ModelUnavailableError" and not err.non_retryable
    assert f"HTTP {status}" in err.message and API_KEY not in err.message and "SECRET" not in err.message
    assert err.next_retry_delay == (timedelta(seconds=delay) if delay else None)
    assert err.__cause__ is None  # the raw provider error is not shipped to Temporal


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (401, _body(f"Incorrect API key provided: {API_KEY}", "invalid_api_key")),
        (404, _body("The model `gpt-9` does not exist", "model_not_found")),
        (400, _body("Invalid 'messages[1].name'", None)),
        (400, _body("This model's maximum context length is 8192 tokens", "context_length_exceeded")),
        (429, _body("You exceeded your current quota", "insufficient_quota")),
    ],
)
async def test_configuration_errors_go_to_a_person_at_once_with_the_cause(status: int, body: dict[str, Any]) -> None:
    outcome = await _handed_over(_error(status, body))
    reason = outcome.escalation_reason or ""
    assert outcome.failure == "model_config" and f"HTTP {status}" in reason and body["error"]["message"][:20] in reason
    assert API_KEY not in reason and "SECRET" not in reason


async def test_a_provider_down_past_the_failure_budget_goes_to_a_person() -> None:
    outcome = await _handed_over(_error(503, _body("Overloaded", None, "server_error")), attempt=6, failing_for_s=170)
    assert outcome.failure == "model_unavailable" and "HTTP 503" in (outcome.escalation_reason or "")
    assert "attempt 6" in (outcome.escalation_reason or "")


async def test_attempts_that_timed_out_past_the_failure_budget_go_to_a_person() -> None:
    calls: list[int] = []

    def never_called(request: httpx2.Request) -> httpx2.Response:
        calls.append(1)
        raise AssertionError("no model call after the budget")

    outcome = await _handed_over(never_called, attempt=3, failing_for_s=200)
    assert calls == [] and outcome.failure == "model_unavailable"
    assert "did not complete a turn in 200 s (2 attempts)" in (outcome.escalation_reason or "")


async def test_an_unreachable_provider_is_retryable() -> None:
    def unreachable(request: httpx2.Request) -> httpx2.Response:
        raise httpx2.ConnectError("connection refused", request=request)

    err = await _activity_error(unreachable)
    assert err.type == "ModelUnavailableError" and not err.non_retryable


async def test_other_failures_pass_through_unchanged() -> None:
    async def broken_kb(query: str, limit: int, category: str | None) -> list[KbHit]:
        raise ConnectionError("qdrant unreachable")

    with pytest.raises(ConnectionError):
        await run_turn(make_request(), model_client=openai_client(ScriptedOpenAI()), kb_search=broken_kb)


def test_price_table() -> None:
    assert price_for("gpt-4o-mini-2024-07-18") == price_for("gpt-4o-mini")
    assert price_for("gpt-4o-2024-08-06") == price_for("gpt-4o") != price_for("gpt-4o-mini")
    assert estimate_cost_usd("gpt-4o", 1_000_000, 1_000_000) == 12.5
    assert estimate_cost_usd("offline", 10_000, 10_000) == 0.0
    assert estimate_cost_usd("llama3.1:8b", 10_000, 10_000) == 0.0


async def test_offline_turns_cost_nothing() -> None:
    outcome = await run_turn(
        make_request(), model_client=OfflineChatCompletionClient(), kb_search=FakeKb(RATE_LIMIT_HITS)
    )
    assert outcome.cost_usd == 0.0 and outcome.prompt_tokens > 0
