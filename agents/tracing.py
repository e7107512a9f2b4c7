"""OpenTelemetry spans for an agent turn and its model calls (GenAI semantic conventions).

`turn_span` wraps one `run_turn` (`invoke_agent support_team`); `TracedChatCompletionClient` wraps the
turn's model client so every model call is a `chat {model}` span with `gen_ai.request.model`, the
provider, the finish reason and `gen_ai.usage.input_tokens` / `output_tokens`. Tool calls need nothing
here: AutoGen's `BaseTool.run_json` opens an `execute_tool {name}` span itself. Every span carries
`gen_ai.conversation.id` = the ticket id.

Only the OpenTelemetry API is used: with no tracer provider installed (tracing off, the default) the
spans are the API's no-op spans, and `traced` returns the client unwrapped. Message content (prompts,
replies, customer text) is never recorded unless `capture_message_content(True)` was called (the
worker does, from OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT).
"""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from autogen_core.models import (
    ChatCompletionClient,
    CreateResult,
    LLMMessage,
    RequestUsage,
)
from autogen_core.tools import Tool, ToolSchema
from autogen_ext.models.openai import AzureOpenAIChatCompletionClient, OpenAIChatCompletionClient
from opentelemetry import trace
from opentelemetry.trace import NoOpTracerProvider, ProxyTracerProvider, Span, SpanKind, Status, StatusCode

from agents.forwarding_client import ForwardingClient

_tracer = trace.get_tracer("support.agents")
_conversation: ContextVar[str | None] = ContextVar("gen_ai_conversation_id", default=None)
_capture = False

OPERATION = "gen_ai.operation.name"
CONVERSATION = "gen_ai.conversation.id"
REQUEST_MODEL = "gen_ai.request.model"
INPUT_TOKENS = "gen_ai.usage.input_tokens"
OUTPUT_TOKENS = "gen_ai.usage.output_tokens"
TEAM = "support_team"


def capture_message_content(on: bool) -> None:
    """Record prompts and replies on the model-call spans (off by default: they hold customer text)."""
    global _capture
    _capture = on


def tracing_active() -> bool:
    """A real tracer provider is installed (telemetry configured); otherwise spans are no-ops."""
    return not isinstance(trace.get_tracer_provider(), ProxyTracerProvider | NoOpTracerProvider)


def provider_of(client: ChatCompletionClient) -> str:
    """`gen_ai.provider.name` for a client: the well-known values, or "offline" for the built-in model."""
    if isinstance(client, AzureOpenAIChatCompletionClient):
        return "azure.ai.openai"
    if isinstance(client, OpenAIChatCompletionClient):
        return "openai"
    return "offline"


@contextmanager
def turn_span(ticket_id: str, *, first_agent: str) -> Iterator[Span]:
    """The span of one agent turn (the AutoGen team's run); model and tool spans nest under it."""
    token = _conversation.set(ticket_id)
    try:
        with _tracer.start_as_current_span(
            f"invoke_agent {TEAM}",
            kind=SpanKind.INTERNAL,
            attributes={
                OPERATION: "invoke_agent",
                "gen_ai.agent.name": TEAM,
                CONVERSATION: ticket_id,
                "support.first_agent": first_agent,
            },
            record_exception=False,  # an exception's message may quote a prompt or a reply
            set_status_on_exception=False,
        ) as span:
            try:
                yield span
            except Exception as exc:
                span.set_attribute("error.type", type(exc).__name__)
                span.set_status(Status(StatusCode.ERROR, type(exc).__name__))
                raise
    finally:
        _conversation.reset(token)


def _content(messages: Sequence[LLMMessage]) -> str:
    return json.dumps(
        [{"role": m.type, "content": m.content if isinstance(m.content, str) else str(m.content)} for m in messages]
    )


class TracedChatCompletionClient(ForwardingClient):
    """Forwards everything to `inner`; each `create` / `create_stream` is one `chat {model}` span."""

    def __init__(self, inner: ChatCompletionClient, *, model: str, provider: str) -> None:
        super().__init__(inner)
        self.model_name = model  # what agents.model_client.model_name_of reads
        self._provider = provider

    @contextmanager
    def _span(self, messages: Sequence[LLMMessage]) -> Iterator[Span]:
        attributes: dict[str, Any] = {
            OPERATION: "chat",
            REQUEST_MODEL: self.model_name,
            "gen_ai.provider.name": self._provider,
            "gen_ai.system": self._provider,
        }
        conversation = _conversation.get()
        if conversation is not None:
            attributes[CONVERSATION] = conversation
        with _tracer.start_as_current_span(
            f"chat {self.model_name}",
            kind=SpanKind.CLIENT,
            attributes=attributes,
            record_exception=False,
            set_status_on_exception=False,
        ) as span:
            if _capture:
                span.set_attribute("gen_ai.input.messages", _content(messages))
            try:
                yield span
            except Exception as exc:
                span.set_attribute("error.type", type(exc).__name__)
                span.set_status(Status(StatusCode.ERROR, type(exc).__name__))  # the message may quote a prompt
                raise

    @staticmethod
    def _record(span: Span, result: CreateResult) -> None:
        span.set_attribute(INPUT_TOKENS, result.usage.prompt_tokens)
        span.set_attribute(OUTPUT_TOKENS, result.usage.completion_tokens)
        span.set_attribute("gen_ai.response.finish_reasons", [str(result.finish_reason)])
        if not isinstance(result.content, str):
            span.set_attribute("gen_ai.response.tool_calls", [call.name for call in result.content])
        if _capture:
            span.set_attribute("gen_ai.output.messages", json.dumps({"content": str(result.content)}))

    async def create(self, messages: Sequence[LLMMessage], **kwargs: Any) -> CreateResult:
        with self._span(messages) as span:
            result = await self._inner.create(messages, **kwargs)
            self._record(span, result)
            return result

    async def create_stream(
        self, messages: Sequence[LLMMessage], **kwargs: Any
    ) -> AsyncGenerator[str | CreateResult, None]:
        with self._span(messages) as span:
            async for chunk in self._inner.create_stream(messages, **kwargs):
                if isinstance(chunk, CreateResult):
                    self._record(span, chunk)
                yield chunk

    async def close(self) -> None:
        await self._inner.close()

    def total_usage(self) -> RequestUsage:
        return self._inner.total_usage()

    def count_tokens(self, messages: Sequence[LLMMessage], *, tools: Sequence[Tool | ToolSchema] = []) -> int:
        return self._inner.count_tokens(messages, tools=tools)

    def remaining_tokens(self, messages: Sequence[LLMMessage], *, tools: Sequence[Tool | ToolSchema] = []) -> int:
        return self._inner.remaining_tokens(messages, tools=tools)


def traced(client: ChatCompletionClient, *, model: str, provider: str) -> ChatCompletionClient:
    """`client` with a span per model call when tracing is on; `client` itself when it is off."""
    if not tracing_active():
        return client
    return TracedChatCompletionClient(client, model=model, provider=provider)
