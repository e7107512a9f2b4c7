"""A deterministic, network-free `ChatCompletionClient` that works through AutoGen's tool-calling path.

It behaves like a small, careful model: on the first call of a turn it asks for the tools it is
offered (`search_knowledge_base` with the customer's words, and `lookup_customer`); once AutoGen has
run them and put their results in the messages, it composes the answer from the retrieved passages
(see `agents.compose`). It reads the same `TICKET_CONTEXT:` line and tool results a real LLM reads,
so swapping in OpenAI or Azure changes nothing else in the system.

What it cannot do: paraphrase, reason across articles, follow instructions in the system prompt,
or decide on its own to escalate; handoffs to humans are decided by the workflow's rules.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import warnings
from collections.abc import AsyncGenerator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Self

from autogen_core import CancellationToken, Component, FunctionCall
from autogen_core.models import (
    ChatCompletionClient,
    CreateResult,
    FunctionExecutionResultMessage,
    LLMMessage,
    ModelCapabilities,
    ModelFamily,
    ModelInfo,
    RequestUsage,
    SystemMessage,
    UserMessage,
)
from autogen_core.tools import Tool, ToolSchema
from pydantic import BaseModel

from agents.compose import compose_answer, compose_handoff
from agents.context import (
    CUSTOMER_SOURCE,
    LOOKUP_TOOL,
    SEARCH_TOOL,
    TicketContext,
    parse_kb_results,
    parse_ticket_context,
    strip_ticket_context,
)
from domain.models import KbHit

CONTEXT_WINDOW = 128_000
MAX_QUERY_CHARS = 1000
CHARS_PER_TOKEN = 4
MESSAGE_OVERHEAD_TOKENS = 3

OFFLINE_MODEL_INFO = ModelInfo(
    vision=False,
    function_calling=True,
    json_output=False,
    family=ModelFamily.UNKNOWN,
    structured_output=False,
    multiple_system_messages=True,
)


def estimate_tokens(text: str) -> int:
    """A tokenizer-free estimate (about four characters per token), good enough for accounting."""
    return math.ceil(len(text) / CHARS_PER_TOKEN) if text else 0


def _message_text(message: LLMMessage) -> str:
    if isinstance(message, FunctionExecutionResultMessage):
        return "\n".join(r.content for r in message.content)
    content = message.content
    if isinstance(content, str):
        return content
    parts: list[str] = []
    for item in content:
        if isinstance(item, FunctionCall):
            parts.append(f"{item.name}({item.arguments})")
        elif isinstance(item, str):
            parts.append(item)
    return "\n".join(parts)


def _tool_name(tool: Tool | ToolSchema) -> str:
    return tool.name if isinstance(tool, Tool) else tool["name"]


def _tool_schema(tool: Tool | ToolSchema) -> Mapping[str, Any]:
    return tool.schema if isinstance(tool, Tool) else tool


@dataclass
class _Turn:
    """What the offline model understands of the conversation it was handed."""

    ctx: TicketContext
    customer_text: str
    has_tool_results: bool
    hits: list[KbHit] = field(default_factory=list)


def _read_turn(messages: Sequence[LLMMessage]) -> _Turn:
    ctx: TicketContext | None = None
    customer_text = ""
    fallback_text = ""
    last_user = -1
    for i, message in enumerate(messages):
        if isinstance(message, SystemMessage | UserMessage) and isinstance(message.content, str):
            ctx = ctx or parse_ticket_context(message.content)
        if isinstance(message, UserMessage):
            last_user = i
            text = _message_text(message)
            if message.source == CUSTOMER_SOURCE:
                customer_text = text
            elif strip_ticket_context(text):
                fallback_text = strip_ticket_context(text)
    # Only results that arrived after the latest user input belong to this turn.
    hits: list[KbHit] = []
    has_results = False
    for message in messages[last_user + 1 :]:
        if isinstance(message, FunctionExecutionResultMessage):
            has_results = True
            for result in message.content:
                if result.name == SEARCH_TOOL and not result.is_error:
                    hits.extend(parse_kb_results(result.content))
                elif result.name == LOOKUP_TOOL and not result.is_error and ctx is None:
                    ctx = _context_from_lookup(result.content)
    return _Turn(ctx or TicketContext(), customer_text or fallback_text, has_results, _dedupe(hits))


def _context_from_lookup(content: str) -> TicketContext | None:
    try:
        data = json.loads(content)
        return TicketContext(customer_first_name=data["first_name"], plan=data["plan"], vip=data["vip"])
    except (json.JSONDecodeError, KeyError, TypeError, ValueError):
        return None


def _dedupe(hits: list[KbHit]) -> list[KbHit]:
    best: dict[str, KbHit] = {}
    for hit in hits:
        if hit.article_id not in best or hit.score > best[hit.article_id].score:
            best[hit.article_id] = hit
    return sorted(best.values(), key=lambda h: -h.score)


def _call(name: str, arguments: dict[str, Any]) -> FunctionCall:
    args = json.dumps(arguments, ensure_ascii=False, sort_keys=True)
    digest = hashlib.sha256(f"{name}:{args}".encode()).hexdigest()[:16]
    return FunctionCall(id=f"call_{digest}", name=name, arguments=args)


class OfflineChatCompletionClientConfig(BaseModel):
    """Nothing to configure: the offline model is fully determined by its input."""


class OfflineChatCompletionClient(ChatCompletionClient, Component[OfflineChatCompletionClientConfig]):
    """Deterministic support-answer model: tool calls first, then an extractive answer."""

    component_type = "model"
    component_config_schema = OfflineChatCompletionClientConfig
    component_provider_override = "agents.offline_model.OfflineChatCompletionClient"

    def __init__(self) -> None:
        self._actual_usage = RequestUsage(prompt_tokens=0, completion_tokens=0)
        self._total_usage = RequestUsage(prompt_tokens=0, completion_tokens=0)

    async def create(
        self,
        messages: Sequence[LLMMessage],
        *,
        tools: Sequence[Tool | ToolSchema] = [],
        tool_choice: Tool | Literal["auto", "required", "none"] = "auto",
        json_output: bool | type[BaseModel] | None = None,
        extra_create_args: Mapping[str, Any] = {},
        cancellation_token: CancellationToken | None = None,
    ) -> CreateResult:
        if json_output:
            raise ValueError("The offline model does not support JSON or structured output.")
        turn = _read_turn(messages)
        prompt_tokens = self.count_tokens(messages, tools=tools)
        calls = self._plan_calls(turn, tools, tool_choice)
        if calls:
            completion = sum(estimate_tokens(c.name + c.arguments) for c in calls)
            return self._result("function_calls", calls, prompt_tokens, completion)
        if turn.ctx.handoff_reason:
            text = compose_handoff(turn.ctx)
        else:
            text = compose_answer(turn.ctx, turn.customer_text, turn.hits)
        return self._result("stop", text, prompt_tokens, estimate_tokens(text))

    async def create_stream(
        self,
        messages: Sequence[LLMMessage],
        *,
        tools: Sequence[Tool | ToolSchema] = [],
        tool_choice: Tool | Literal["auto", "required", "none"] = "auto",
        json_output: bool | type[BaseModel] | None = None,
        extra_create_args: Mapping[str, Any] = {},
        cancellation_token: CancellationToken | None = None,
    ) -> AsyncGenerator[str | CreateResult, None]:
        result = await self.create(
            messages,
            tools=tools,
            tool_choice=tool_choice,
            json_output=json_output,
            extra_create_args=extra_create_args,
            cancellation_token=cancellation_token,
        )
        if isinstance(result.content, str):
            for chunk in re.findall(r"\S+\s*|\s+", result.content):
                yield chunk
        yield result

    def _plan_calls(
        self,
        turn: _Turn,
        tools: Sequence[Tool | ToolSchema],
        tool_choice: Tool | Literal["auto", "required", "none"],
    ) -> list[FunctionCall]:
        # A handoff acknowledgement needs no troubleshooting, so no tools; neither does a turn whose
        # tool results are already in, or a reflection call (AutoGen sends tool_choice="none").
        if turn.ctx.handoff_reason or turn.has_tool_results or tool_choice == "none":
            return []
        offered = {_tool_name(t) for t in tools}
        calls: list[FunctionCall] = []
        if SEARCH_TOOL in offered:
            query = f"{turn.customer_text} {turn.ctx.subject}".strip()[:MAX_QUERY_CHARS]
            calls.append(_call(SEARCH_TOOL, {"query": query}))
        if LOOKUP_TOOL in offered:
            calls.append(_call(LOOKUP_TOOL, {}))
        return calls

    def _result(
        self,
        finish_reason: Literal["stop", "function_calls"],
        content: str | list[FunctionCall],
        prompt_tokens: int,
        completion_tokens: int,
    ) -> CreateResult:
        usage = RequestUsage(prompt_tokens=prompt_tokens, completion_tokens=completion_tokens)
        self._actual_usage = usage
        self._total_usage = RequestUsage(
            prompt_tokens=self._total_usage.prompt_tokens + prompt_tokens,
            completion_tokens=self._total_usage.completion_tokens + completion_tokens,
        )
        return CreateResult(finish_reason=finish_reason, content=content, usage=usage, cached=False)

    async def close(self) -> None:
        return None

    def actual_usage(self) -> RequestUsage:
        return self._actual_usage

    def total_usage(self) -> RequestUsage:
        return self._total_usage

    def count_tokens(self, messages: Sequence[LLMMessage], *, tools: Sequence[Tool | ToolSchema] = []) -> int:
        total = sum(estimate_tokens(_message_text(m)) + MESSAGE_OVERHEAD_TOKENS for m in messages)
        total += sum(estimate_tokens(json.dumps(_tool_schema(t), sort_keys=True)) for t in tools)
        return total

    def remaining_tokens(self, messages: Sequence[LLMMessage], *, tools: Sequence[Tool | ToolSchema] = []) -> int:
        return max(0, CONTEXT_WINDOW - self.count_tokens(messages, tools=tools))

    @property
    def capabilities(self) -> ModelCapabilities:
        warnings.warn("capabilities is deprecated, use model_info instead", DeprecationWarning, stacklevel=2)
        return ModelCapabilities(vision=False, function_calling=True, json_output=False)

    @property
    def model_info(self) -> ModelInfo:
        return OFFLINE_MODEL_INFO.copy()

    def _to_config(self) -> OfflineChatCompletionClientConfig:
        return OfflineChatCompletionClientConfig()

    @classmethod
    def _from_config(cls, config: OfflineChatCompletionClientConfig) -> Self:
        return cls()


__all__ = ["OFFLINE_MODEL_INFO", "OfflineChatCompletionClient", "estimate_tokens"]
