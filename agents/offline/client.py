"""A deterministic, network-free `ChatCompletionClient` that works through AutoGen's tool-calling path.

It behaves like a small, careful model and is driven by AutoGen exactly like a real one: it is
offered the agent's tools and handoffs, answers with function calls (search the KB, look up the
customer, request a refund, file a bug report, hand the ticket over...), and once AutoGen has run
them and put their results in the messages, it writes the reply from the retrieved passages and the
tool results. What it decides, and when, is `agents.offline.policy`; how it words the reply is
`agents.offline.compose` and `agents.offline.notes`. It reads the same `TICKET_CONTEXT:` line, system
prompt and tool results a real LLM reads, so swapping in OpenAI or Azure changes nothing else in the
system.

What it cannot do: paraphrase, reason across articles, follow the system prompt's nuances, weigh a
refund against the policy's fine print (it acts on explicit requests; the authority limit is
enforced by the tool either way), or understand a request its rules don't recognise.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import AsyncGenerator, Mapping, Sequence
from typing import Any, Literal, Self

from autogen_core import CancellationToken, Component, FunctionCall
from autogen_core.models import (
    ChatCompletionClient,
    CreateResult,
    LLMMessage,
    ModelCapabilities,
    ModelFamily,
    ModelInfo,
    RequestUsage,
)
from autogen_core.tools import Tool, ToolSchema
from pydantic import BaseModel

from agents.offline.policy import compose_text, plan_calls, read_turn
from agents.tokens import EstimatedTokenCount, estimate_tokens

CONTEXT_WINDOW = 128_000
OFFLINE_MODEL_INFO = ModelInfo(
    vision=False,
    function_calling=True,
    json_output=False,
    family=ModelFamily.UNKNOWN,
    structured_output=False,
    multiple_system_messages=True,
)


def _tool_name(tool: Tool | ToolSchema) -> str:
    return tool.name if isinstance(tool, Tool) else tool["name"]


class OfflineChatCompletionClientConfig(BaseModel):
    """Nothing to configure: the offline model is fully determined by its input."""


class OfflineChatCompletionClient(
    EstimatedTokenCount, ChatCompletionClient, Component[OfflineChatCompletionClientConfig]
):
    """Deterministic support-answer model: tool calls first, then an extractive answer."""

    component_type = "model"
    component_config_schema = OfflineChatCompletionClientConfig
    component_provider_override = "agents.offline.client.OfflineChatCompletionClient"

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
        turn = read_turn(messages)
        prompt_tokens = self.count_tokens(messages, tools=tools)
        # A reflection call (AutoGen sends tool_choice="none") or a turn without tools only writes.
        calls = plan_calls(turn, {_tool_name(t) for t in tools}) if tools and tool_choice != "none" else []
        if calls:
            completion = sum(estimate_tokens(c.name + c.arguments) for c in calls)
            return self._result("function_calls", calls, prompt_tokens, completion)
        text = compose_text(turn)
        return self._result("stop", text, prompt_tokens, estimate_tokens(text))

    async def create_stream(
        self, messages: Sequence[LLMMessage], **kwargs: Any
    ) -> AsyncGenerator[str | CreateResult, None]:
        result = await self.create(messages, **kwargs)
        if isinstance(result.content, str):
            for chunk in re.findall(r"\S+\s*|\s+", result.content):
                yield chunk
        yield result

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
