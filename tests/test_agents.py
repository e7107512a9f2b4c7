"""Agent turns: routing, the offline model through AutoGen's tool path, and the client factory."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from autogen_core import CancellationToken, FunctionCall
from autogen_core.models import (
    CreateResult,
    LLMMessage,
    ModelFamily,
    ModelInfo,
    RequestUsage,
    SystemMessage,
    UserMessage,
)
from autogen_ext.models.openai import OpenAIChatCompletionClient
from autogen_ext.models.replay import ReplayChatCompletionClient

from agents.context import TicketContext, parse_ticket_context, render_ticket_context
from agents.model_client import build_model_client
from agents.offline.client import OfflineChatCompletionClient
from agents.team import SPECIALIST_FOR, build_conversation, run_turn
from agents.tools import ToolLog, build_tools
from domain.models import (
    Category,
    Channel,
    Customer,
    KbHit,
    Plan,
    Priority,
    Sender,
    Sentiment,
    TranscriptEntry,
)
from domain.turns import TurnRequest

AT = datetime(2025, 11, 24, 9, 30, tzinfo=UTC)
RATE_LIMITS_URL = "https://help.lumora.io/articles/api-rate-limits"
RATE_LIMITS_TEXT = """# API rate limits by plan

Every Lumora plan limits how fast you can send data to the event API.

- Free plans allow 1,000 requests per hour.
- Starter plans allow 5,000 requests per hour and a burst of 100 requests per minute.
- Pro plans allow 10,000 requests per hour and a burst of 300 requests per minute. Exceeding either \
returns HTTP 429 with a Retry-After header.

## Handling 429 responses

When you receive a 429, wait for the number of seconds in the Retry-After header before retrying.
Use exponential backoff and send events with the /v1/batch endpoint, which accepts up to 500 events \
per request and counts as one request.
"""
RATE_LIMIT_HITS = [
    KbHit(
        article_id="kb-api-rate-limits",
        title="API rate limits by plan",
        url=RATE_LIMITS_URL,
        score=0.83,
        category="technical",
        snippet="Pro plans allow 10,000 requests per hour and a burst of 300 requests per minute.",
        text=RATE_LIMITS_TEXT,
    ),
    KbHit(
        article_id="kb-change-plan",
        title="Changing your plan",
        url="https://help.lumora.io/articles/change-plan",
        score=0.29,
        category="billing",
        snippet="Upgrade or downgrade from Settings → Billing.",
        text="You can upgrade or downgrade at any time from Settings → Billing. Changes are prorated daily.",
    ),
]
PRIYA_MESSAGE = (
    "We're getting HTTP 429 'Rate limit exceeded' errors from the event API even though we're under "
    "10,000 req/h. Please help ASAP!"
)


class FakeKb:
    """In-test knowledge base: returns fixed hits and records every query."""

    def __init__(self, hits: list[KbHit]) -> None:
        self.hits = hits
        self.calls: list[tuple[str, int, str | None]] = []

    async def __call__(self, query: str, limit: int, category: str | None) -> list[KbHit]:
        self.calls.append((query, limit, category))
        return self.hits[:limit]


def make_request(
    body: str = PRIYA_MESSAGE,
    *,
    name: str = "Priya Sharma",
    plan: Plan = Plan.PRO,
    category: Category = Category.TECHNICAL,
    subject: str = "Event API returns 429",
    handoff_reason: str | None = None,
    earlier: list[TranscriptEntry] | None = None,
) -> TurnRequest:
    prior = earlier or []
    return TurnRequest(
        ticket_id="ticket-1001",
        customer=Customer(customer_id="cus-42", email="priya@example.com", name=name, plan=plan),
        channel=Channel.EMAIL,
        subject=subject,
        category=category,
        priority=Priority.HIGH,
        sentiment=Sentiment.NEGATIVE,
        transcript=[
            *prior,
            TranscriptEntry(seq=len(prior) + 1, sender=Sender.CUSTOMER, author="cus-42", body=body, at=AT),
        ],
        handoff_reason=handoff_reason,
    )


async def test_offline_answer_for_rate_limited_pro_customer() -> None:
    kb = FakeKb(RATE_LIMIT_HITS)
    outcome = await run_turn(make_request(), model_client=OfflineChatCompletionClient(), kb_search=kb)

    assert outcome.agent == "TechnicalAgent"
    assert outcome.decision == "reply"
    assert outcome.reply.startswith("Hi Priya,")
    assert "429" in outcome.reply
    assert "burst of 300 requests per minute" in outcome.reply
    assert "Retry-After" in outcome.reply
    assert "Pro plan" in outcome.reply  # the retrieved sentence names the customer's plan
    assert "Free plans allow" not in outcome.reply  # another plan's limit would mislead
    assert f"[API rate limits by plan]({RATE_LIMITS_URL})" in outcome.reply
    assert "change-plan" not in outcome.reply
    assert [c.url for c in outcome.citations] == [RATE_LIMITS_URL]
    assert "search_knowledge_base" in outcome.tool_calls
    assert outcome.prompt_tokens > 0 and outcome.completion_tokens > 0
    query, limit, category = kb.calls[0]
    assert "429" in query and "Event API returns 429" in query
    assert (limit, category) == (4, None)


async def test_the_reply_leads_with_the_answer_and_never_quotes_the_customer_back() -> None:
    outcome = await run_turn(
        make_request(), model_client=OfflineChatCompletionClient(), kb_search=FakeKb(RATE_LIMIT_HITS)
    )
    assert "Rate limit exceeded" not in outcome.reply and "req/h" not in outcome.reply
    assert "I understand this is urgent" in outcome.reply  # the customer wrote "ASAP"
    assert outcome.reply.index("burst of 300 requests per minute") < outcome.reply.index("Helpful articles")
    assert "help further" in outcome.reply


async def test_same_request_gives_identical_reply() -> None:
    request = make_request()
    first = await run_turn(request, model_client=OfflineChatCompletionClient(), kb_search=FakeKb(RATE_LIMIT_HITS))
    second = await run_turn(request, model_client=OfflineChatCompletionClient(), kb_search=FakeKb(RATE_LIMIT_HITS))
    assert first == second


async def test_billing_ticket_routes_to_billing_agent() -> None:
    request = make_request(
        "I was charged twice for the Pro plan this month, can you refund one charge?",
        category=Category.BILLING,
        subject="Double charge",
    )
    outcome = await run_turn(request, model_client=OfflineChatCompletionClient(), kb_search=FakeKb([]))
    assert outcome.agent == "BillingAgent"
    assert SPECIALIST_FOR[Category.BILLING] == "BillingAgent"
    assert set(SPECIALIST_FOR) == set(Category)


async def test_handoff_writes_acknowledgement_without_troubleshooting() -> None:
    kb = FakeKb(RATE_LIMIT_HITS)
    request = make_request(handoff_reason="VIP customer with very negative sentiment")
    outcome = await run_turn(request, model_client=OfflineChatCompletionClient(), kb_search=kb)

    assert outcome.agent == "EscalationManager"
    assert outcome.decision == "escalate"
    assert outcome.escalation_reason == "VIP customer with very negative sentiment"
    assert outcome.reply.startswith("Hi Priya,")
    assert "specialist will reply within 4 hours" in outcome.reply  # high priority
    assert "Retry-After" not in outcome.reply and "Helpful articles" not in outcome.reply
    assert "very negative" not in outcome.reply  # the internal reason stays internal
    assert outcome.citations == [] and outcome.tool_calls == [] and kb.calls == []
    assert outcome.prompt_tokens > 0


async def test_empty_kb_says_so_and_asks_one_question() -> None:
    outcome = await run_turn(make_request(), model_client=OfflineChatCompletionClient(), kb_search=FakeKb([]))
    assert "couldn't find a documented answer" in outcome.reply
    assert outcome.reply.count("?") == 1
    assert outcome.decision == "reply"
    assert outcome.citations == []
    assert "search_knowledge_base" in outcome.tool_calls


async def test_irrelevant_hits_are_not_presented_as_an_answer() -> None:
    request = make_request("How do I set up SAML single sign-on with Okta?", subject="SSO setup")
    outcome = await run_turn(request, model_client=OfflineChatCompletionClient(), kb_search=FakeKb(RATE_LIMIT_HITS))
    assert "couldn't find a documented answer" in outcome.reply
    assert "Okta" not in outcome.reply  # the customer's question is not quoted back
    assert outcome.citations == []


async def test_follow_up_turn_sees_prior_agent_reply_as_assistant() -> None:
    earlier = [
        TranscriptEntry(seq=1, sender=Sender.CUSTOMER, author="cus-42", body="Our events are rejected.", at=AT),
        TranscriptEntry(seq=2, sender=Sender.AGENT, author="TechnicalAgent", body="Which status code?", at=AT),
    ]
    request = make_request("It's HTTP 429 on the event API.", earlier=earlier)
    history, task = build_conversation(request)
    assert [type(m).__name__ for m in history] == ["UserMessage", "AssistantMessage"]
    assert task[0].to_text().startswith("TICKET_CONTEXT: ")
    assert [m.source for m in task] == ["ticket_system", "customer"]

    outcome = await run_turn(request, model_client=OfflineChatCompletionClient(), kb_search=FakeKb(RATE_LIMIT_HITS))
    assert "HTTP 429" in outcome.reply and RATE_LIMITS_URL in outcome.reply


async def test_lookup_customer_takes_no_arguments_and_returns_only_this_customer() -> None:
    tools = build_tools(make_request(), FakeKb([]), ToolLog())
    lookup = next(t for t in tools if t.name == "lookup_customer")
    assert lookup.schema.get("parameters", {}).get("properties", {}) == {}
    result = await lookup.run_json({"customer_id": "cus-999"}, CancellationToken())
    data = json.loads(lookup.return_value_as_string(result))
    assert data == {"name": "Priya Sharma", "first_name": "Priya", "plan": "pro", "vip": False}


async def test_kb_outage_fails_the_turn_instead_of_a_silent_not_found() -> None:
    async def broken_kb(query: str, limit: int, category: str | None) -> list[KbHit]:
        raise ConnectionError("qdrant unreachable")

    with pytest.raises(ConnectionError, match="qdrant unreachable"):
        await run_turn(make_request(), model_client=OfflineChatCompletionClient(), kb_search=broken_kb)


async def test_run_turn_with_replay_client_uses_the_same_tool_path() -> None:
    answer = (
        "Hi Priya, Pro plans allow a burst of 300 requests per minute, so spread your calls.\n\n"
        f"Helpful articles:\n- [API rate limits by plan]({RATE_LIMITS_URL})"
    )
    client = ReplayChatCompletionClient(
        [
            CreateResult(
                finish_reason="function_calls",
                content=[
                    FunctionCall(
                        id="call_1",
                        name="search_knowledge_base",
                        arguments=json.dumps({"query": "429 burst"}),
                    )
                ],
                usage=RequestUsage(prompt_tokens=50, completion_tokens=12),
                cached=False,
            ),
            answer,
        ],
        model_info=ModelInfo(
            vision=False,
            function_calling=True,
            json_output=False,
            family=ModelFamily.UNKNOWN,
            structured_output=False,
        ),
    )
    kb = FakeKb(RATE_LIMIT_HITS)
    outcome = await run_turn(make_request(), model_client=client, kb_search=kb)

    assert outcome.agent == "TechnicalAgent"
    assert outcome.reply == answer
    assert outcome.tool_calls == ["search_knowledge_base"]
    assert kb.calls == [("429 burst", 4, None)]
    assert [c.article_id for c in outcome.citations] == ["kb-api-rate-limits"]
    assert outcome.prompt_tokens > 0 and outcome.completion_tokens > 0
    first_call = client.create_calls[0]
    offered = {t.name if hasattr(t, "name") else t["name"] for t in first_call["tools"]}
    assert {"search_knowledge_base", "lookup_customer", "mark_resolved", "transfer_to_human"} <= offered
    assert "transfer_to_billingagent" in offered and "request_refund" not in offered  # refunds are billing's
    assert any("TICKET_CONTEXT: " in str(m.content) for m in first_call["messages"])


async def test_agent_requested_handoff_is_stripped_and_escalates() -> None:
    reply = "Hi Priya, a billing specialist will review your $250 refund.\nHANDOFF_TO_HUMAN: refund above $100"
    client = ReplayChatCompletionClient(
        [reply],
        model_info=ModelInfo(
            vision=False, function_calling=True, json_output=False, family="unknown", structured_output=False
        ),
    )
    request = make_request("Please refund $250.", category=Category.BILLING, subject="Refund")
    outcome = await run_turn(request, model_client=client, kb_search=FakeKb([]))
    assert outcome.decision == "escalate"
    assert outcome.escalation_reason == "refund above $100"
    assert "HANDOFF_TO_HUMAN" not in outcome.reply


async def test_offline_client_contract() -> None:
    client = OfflineChatCompletionClient()
    info = client.model_info
    assert info["function_calling"] is True and info["vision"] is False and info["json_output"] is False
    assert info["family"] == ModelFamily.UNKNOWN and info["structured_output"] is False
    ctx = TicketContext(customer_first_name="Ana", plan=Plan.STARTER, handoff_reason="customer asked for a human")
    assert parse_ticket_context(render_ticket_context(ctx)) == ctx
    messages: list[LLMMessage] = [
        SystemMessage(content="You are a support agent."),
        UserMessage(content=render_ticket_context(ctx), source="ticket_system"),
        UserMessage(content="Can I talk to a person?", source="customer"),
    ]
    assert client.count_tokens(messages) > 0
    assert 0 < client.remaining_tokens(messages) < 128_000
    chunks = [c async for c in client.create_stream(messages)]
    final = chunks[-1]
    assert isinstance(final, CreateResult) and isinstance(final.content, str)
    assert "".join(c for c in chunks[:-1] if isinstance(c, str)) == final.content
    assert final.content.startswith("Hi Ana,") and "human specialist" in final.content
    assert client.total_usage().completion_tokens == final.usage.completion_tokens > 0
    assert OfflineChatCompletionClient.load_component(client.dump_component()).model_info == info


def test_build_model_client_defaults_to_offline() -> None:
    explicit = build_model_client(
        "offline",
        model="offline",
        api_key=None,
        base_url=None,
        azure_endpoint=None,
        azure_deployment=None,
        api_version=None,
    )
    assert isinstance(explicit, OfflineChatCompletionClient)
    assert isinstance(build_model_client(), OfflineChatCompletionClient)


def test_build_model_client_rejects_unknown_provider() -> None:
    with pytest.raises(ValueError, match="unknown LLM provider 'anthropic'"):
        build_model_client("anthropic", model="claude")


def test_build_model_client_openai_requires_api_key() -> None:
    with pytest.raises(ValueError, match="api_key"):
        build_model_client("openai", model="gpt-4o", api_key=None)


def test_build_model_client_azure_names_missing_settings() -> None:
    with pytest.raises(ValueError, match="azure_endpoint, azure_deployment, api_version"):
        build_model_client("azure", model="gpt-4o", api_key="k")


def test_build_model_client_openai_compatible_constructs_offline() -> None:
    client = build_model_client("openai_compatible", model="llama3.1:8b", base_url="http://127.0.0.1:11434/v1")
    assert isinstance(client, OpenAIChatCompletionClient)
    assert client.model_info["function_calling"] is True
    with pytest.raises(ValueError, match="base_url"):
        build_model_client("openai_compatible", model="llama3.1:8b")
