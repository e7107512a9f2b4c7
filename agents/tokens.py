"""Token estimates that need no tokenizer download.

AutoGen's OpenAI client counts tokens with tiktoken, which fetches its encoding files from the
internet the first time (and fails offline). Nothing in this project calls it: every client it builds
(the offline model, the provider clients and `agents.model_client.TurnModelClient`) takes its
`count_tokens` from `EstimatedTokenCount` instead. It is for context budgeting only (`fit_to_window`,
which trims a prompt to the model's declared context window); usage and cost come from what the
provider reports.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

from autogen_core import FunctionCall
from autogen_core.models import AssistantMessage, FunctionExecutionResultMessage, LLMMessage, SystemMessage, UserMessage
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


# What the estimate may be off by (other tokenizers than OpenAI's count more tokens per character),
# kept free on top of the reply's max_tokens when a prompt is fitted to a context window.
SAFETY_MARGIN = 0.10
TRIMMED = " [...trimmed to fit the model's context window...] "
MIN_KEPT_CHARS = 200


class PromptTooLarge(ValueError):
    """Even trimmed, the system prompt, the tools and the new messages do not fit the context window."""


def _is_task_start(message: LLMMessage, marker: str) -> bool:
    return isinstance(message, UserMessage) and isinstance(message.content, str) and message.content.startswith(marker)


def _shorten(text: str, keep: int) -> str:
    """`text` cut to about `keep` characters, its beginning and end kept."""
    if len(text) <= keep:
        return text
    keep = max(keep, MIN_KEPT_CHARS)
    head = keep * 2 // 3
    return text[:head] + TRIMMED + text[len(text) - (keep - head) :]


def fit_to_window(
    messages: Sequence[LLMMessage],
    tools: Sequence[Tool | ToolSchema],
    *,
    context_window: int,
    max_output_tokens: int,
    task_marker: str,
) -> list[LLMMessage]:
    """`messages` trimmed so that they, the tools and a `max_output_tokens` reply fit `context_window`.

    What goes first: the older transcript (messages before the turn's task, which starts with the
    `task_marker` line), oldest first; then retrieved passages and other tool results, oldest first;
    then the longest remaining message is shortened in the middle. The system prompt is never cut; if it
    and the tools alone do not fit, `PromptTooLarge`.
    """
    budget = int(context_window * (1 - SAFETY_MARGIN)) - max_output_tokens - estimate_messages_tokens([], tools)
    out = list(messages)

    def over() -> int:
        return estimate_messages_tokens(out) - budget

    if over() <= 0:
        return out
    start = next((i for i, m in enumerate(out) if not isinstance(m, SystemMessage)), len(out))
    task = next((i for i, m in enumerate(out) if _is_task_start(m, task_marker)), None)
    if task is None:  # no task line: protect the last customer message onwards
        task = max((i for i, m in enumerate(out) if isinstance(m, UserMessage)), default=len(out))
    while over() > 0 and start < task:  # 1. the older transcript, oldest first
        del out[start]
        task -= 1
    for i, message in enumerate(out):  # 2. tool results (retrieved passages), oldest first
        excess = over()
        if excess <= 0:
            break
        if isinstance(message, FunctionExecutionResultMessage):
            results = []
            for result in message.content:
                keep = max(len(result.content) - excess * CHARS_PER_TOKEN - len(TRIMMED), MIN_KEPT_CHARS)
                shortened = _shorten(result.content, keep)
                excess -= estimate_tokens(result.content) - estimate_tokens(shortened)
                results.append(result.model_copy(update={"content": shortened}))
            out[i] = message.model_copy(update={"content": results})
    while over() > 0:  # 3. the longest remaining message, in its middle
        texts = [(len(m.content), i) for i, m in enumerate(out) if isinstance(m, UserMessage | AssistantMessage)
                 and isinstance(m.content, str) and len(m.content) > MIN_KEPT_CHARS + len(TRIMMED)]  # fmt: skip
        if not texts:
            raise PromptTooLarge(
                f"the system prompt and tools need about {estimate_messages_tokens(out, tools)} tokens, more than "
                f"MODEL_CONTEXT_WINDOW ({context_window}) leaves beside MODEL_MAX_OUTPUT_TOKENS ({max_output_tokens})"
            )
        length, i = max(texts)
        message = out[i]
        assert isinstance(message, UserMessage | AssistantMessage) and isinstance(message.content, str)
        keep = max(length - over() * CHARS_PER_TOKEN - len(TRIMMED), MIN_KEPT_CHARS)
        out[i] = message.model_copy(update={"content": _shorten(message.content, keep)})
    return out
