"""Token estimates that need no tokenizer download.

AutoGen's OpenAI client counts tokens with tiktoken, which fetches its encoding files from the
internet the first time (and fails offline). Nothing in this project calls it: every client it builds
(the offline model, the provider clients and `agents.model_client.TurnModelClient`) takes its
`count_tokens` from `EstimatedTokenCount` instead. It is for context budgeting only; usage and cost
come from what the provider reports.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

from autogen_core import FunctionCall
from autogen_core.models import FunctionExecutionResultMessage, LLMMessage
from autogen_core.tools import Tool, ToolSchema

CHARS_PER_TOKEN = 4
MESSAGE_OVERHEAD_TOKENS = 3


def estimate_tokens(text: str) -> int:
    """About four characters per token: within ~15% of cl100k/o200k on English support text."""
    return math.ceil(len(text) / CHARS_PER_TOKEN) if text else 0


def message_text(message: LLMMessage) -> str:
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


def _schema(tool: Tool | ToolSchema) -> Mapping[str, Any]:
    return tool.schema if isinstance(tool, Tool) else tool


def estimate_messages_tokens(messages: Sequence[LLMMessage], tools: Sequence[Tool | ToolSchema] = ()) -> int:
    total = sum(estimate_tokens(message_text(m)) + MESSAGE_OVERHEAD_TOKENS for m in messages)
    total += sum(estimate_tokens(json.dumps(_schema(t), sort_keys=True)) for t in tools)
    return total


class EstimatedTokenCount:
    """Mixin for a `ChatCompletionClient` (listed before it): `count_tokens` by this estimate, never tiktoken."""

    def count_tokens(self, messages: Sequence[LLMMessage], *, tools: Sequence[Tool | ToolSchema] = []) -> int:
        return estimate_messages_tokens(messages, tools)
