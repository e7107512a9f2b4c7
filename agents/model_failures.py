"""What counts as a model failure, and how a turn repairs it.

`output_problem` classifies an answer that cannot be used as it is (empty, cut off at max_tokens,
malformed tool calls); `REPAIR_INSTRUCTIONS` is what the model is told before it tries again, at most
`MAX_REPAIRS` times, before `ModelOutputError`. `ModelRejectedRequest` is a request that cannot be made
to the model as configured (retrying will not help); `is_config_refusal` recognises AutoGen's own
refusals of that kind.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from autogen_core.models import CreateResult
from autogen_core.tools import Tool, ToolSchema

from agents.context import SYSTEM_NOTE
from agents.guardrails import strip_model_artifacts

MAX_REPAIRS = 2  # retries with a repair instruction after an empty, cut-off or malformed answer


class ModelOutputError(Exception):
    """The model's answers stayed unusable (empty, cut off at max_tokens, malformed) after the repairs."""

    def __init__(self, kind: str, detail: str, *, attempts: int, prompt_tokens: int = 0, completion_tokens: int = 0):
        super().__init__(f"{detail} ({attempts} attempt{'s' if attempts != 1 else ''})")
        self.kind = kind  # "empty" | "truncated" | "malformed"
        self.attempts = attempts
        self.prompt_tokens = prompt_tokens
        self.completion_tokens = completion_tokens


class ModelRejectedRequest(Exception):
    """The request cannot be made to this model as configured (too large for its context window, a
    capability it lacks): retrying will not help."""


REPAIR_INSTRUCTIONS = {
    "empty": f"{SYSTEM_NOTE} Your previous answer was empty. Write your reply to the customer now, in plain text.",
    "truncated": (
        f"{SYSTEM_NOTE} Your previous answer was cut off because it was too long. Write a complete, shorter "
        "reply to the customer (a few sentences), in plain text."
    ),
    "malformed": (
        f"{SYSTEM_NOTE} Your previous answer could not be read. Either write your reply to the customer in "
        "plain text, or call one of the offered tools by its exact name with JSON object arguments."
    ),
}
# AutoGen's own refusals of a request before it is sent: the configuration, not the model's answer.
_CONFIG_REFUSALS = ("does not support", "not supported by this model", "tool_choice", "model_info")


def is_config_refusal(exc: BaseException) -> bool:
    """AutoGen refused the request before sending it, for what the model was configured to support."""
    return any(r in str(exc) for r in _CONFIG_REFUSALS)


def _tool_names(tools: Sequence[Tool | ToolSchema]) -> set[str]:
    return {t.schema["name"] if isinstance(t, Tool) else t["name"] for t in tools}


def output_problem(result: CreateResult, tools: Sequence[Tool | ToolSchema]) -> tuple[str, str] | None:
    """(kind, what) when a model's answer cannot be used as it is; None when it can."""
    if isinstance(result.content, str):
        if result.finish_reason == "length":
            return "truncated", "the model's reply was cut off at MODEL_MAX_OUTPUT_TOKENS"
        if not strip_model_artifacts(result.content):
            return "empty", "the model's reply was empty (or only template tokens)"
        return None
    names = _tool_names(tools)
    for call in result.content:
        if names and call.name not in names:
            return "malformed", f"the model called a tool that does not exist ({call.name[:60]!r})"
        try:
            arguments = json.loads(call.arguments or "{}")
        except json.JSONDecodeError:
            return "malformed", f"the model's arguments for {call.name[:60]!r} are not JSON"
        if not isinstance(arguments, dict):
            return "malformed", f"the model's arguments for {call.name[:60]!r} are not a JSON object"
    return None
