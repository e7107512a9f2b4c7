"""Known OpenAI-compatible server quirks, normalised before AutoGen reads a response.

llama.cpp's server (chatml-function-calling) returns the deprecated `function_call` field beside
`tool_calls`, which AutoGen rejects.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import openai


def normalise_legacy_function_call(completion: Any) -> Any:
    """A chat completion without the deprecated `function_call` field, which AutoGen rejects.

    llama.cpp's server (chatml-function-calling) returns it beside `tool_calls`, naming the same call;
    it is dropped. Alone, it is turned into the one tool call it stands for.
    """
    for choice in getattr(completion, "choices", None) or []:
        message = getattr(choice, "message", None)
        legacy = getattr(message, "function_call", None)
        if message is None or legacy is None:
            continue
        if not message.tool_calls:
            message.tool_calls = [
                openai.types.chat.ChatCompletionMessageToolCall(
                    id=f"call_legacy_{choice.index}",
                    type="function",
                    function=openai.types.chat.chat_completion_message_tool_call.Function(
                        name=legacy.name, arguments=legacy.arguments or "{}"
                    ),
                )
            ]
            if choice.finish_reason == "function_call":
                choice.finish_reason = "tool_calls"
        message.function_call = None
    return completion


def tolerate_quirks(create: Callable[..., Any]) -> Callable[..., Any]:
    """`create` (the SDK's), returning non-streamed completions normalised."""

    async def create_tolerantly(*args: Any, **kwargs: Any) -> Any:
        result = await create(*args, **kwargs)
        return result if kwargs.get("stream") else normalise_legacy_function_call(result)

    return create_tolerantly
