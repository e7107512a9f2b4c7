"""The agents' model: provider and credentials, what it can do and may be sent, prices, and the code
sandbox (docs/agents.md, "Model configuration")."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import TYPE_CHECKING, Literal, Self

from pydantic import BaseModel, Field, field_validator, model_validator

from settings.core import refuse_placeholder

if TYPE_CHECKING:
    from agents.model_settings import ModelSettings

ModelProvider = Literal["offline", "openai", "azure", "openai_compatible"]


class AgentModelSettings(BaseModel):
    # Model provider for the agents: the built-in offline model unless configured otherwise.
    MODEL_PROVIDER: ModelProvider = "offline"
    MODEL_NAME: str = "gpt-4o-mini"
    OPENAI_API_KEY: str | None = None
    OPENAI_BASE_URL: str | None = None
    AZURE_OPENAI_ENDPOINT: str | None = None
    AZURE_OPENAI_DEPLOYMENT: str | None = None
    AZURE_OPENAI_API_VERSION: str = "2024-06-01"
    # What the model can do and what it may be sent (docs/agents.md, "Model configuration"). Unset, a
    # model AutoGen knows (gpt-4o-mini, ...) keeps its own capabilities and context window; any other
    # model is assumed to call tools and nothing more, with a context window of 8192 tokens.
    MODEL_FAMILY: str | None = None  # e.g. "gpt-4o", "llama-3.3-8b", "unknown"
    MODEL_FUNCTION_CALLING: bool | None = None  # the agents need it (handoffs and tools are tool calls)
    MODEL_STRUCTURED_OUTPUT: bool | None = None
    MODEL_JSON_OUTPUT: bool | None = None
    MODEL_VISION: bool | None = None
    MODEL_CONTEXT_WINDOW: int | None = Field(default=None, ge=1024)  # prompt + reply, in tokens
    # Sent with every request as max_tokens: a model that never stops cannot fill its context for minutes.
    MODEL_MAX_OUTPUT_TOKENS: int = Field(default=1024, ge=16)
    # One request; below the turn's 120 s start-to-close, so a hung request fails first.
    MODEL_TIMEOUT_S: float = Field(default=60.0, gt=0, le=110)
    # USD per 1,000 tokens; unset = the price table in agents/cost.py (0 for models not in it).
    MODEL_PRICE_IN_PER_1K: Decimal | None = Field(default=None, ge=0)
    MODEL_PRICE_OUT_PER_1K: Decimal | None = Field(default=None, ge=0)
    # A model that keeps failing (down, rate limited, timing out) hands the ticket to a person after
    # this long, instead of the turn's 30-minute schedule-to-close.
    MODEL_FAILURE_BUDGET_S: float = Field(default=180.0, ge=10, le=1500)
    # Streamed replies where a channel can show them (the server must stream usage too).
    MODEL_STREAMING: bool = False

    # The TechnicalAgent's sandboxed Python (diagnostics, calculations); off unless enabled.
    AGENT_CODE_EXECUTION: bool = False

    @field_validator("OPENAI_API_KEY")
    @classmethod
    def _no_placeholder_openai_key(cls, v: str | None) -> str | None:
        return refuse_placeholder(v)

    @field_validator("MODEL_FAMILY")
    @classmethod
    def _a_family_name(cls, v: str | None) -> str | None:
        if v is not None and not re.fullmatch(r"[a-z0-9][a-z0-9._-]*", v.strip().lower()):
            raise ValueError("must be a model family name such as gpt-4o, llama-3.3-8b or unknown")
        return v.strip().lower() if v is not None else None

    @model_validator(mode="after")
    def _model_limits_fit(self) -> Self:
        if self.MODEL_FUNCTION_CALLING is False:
            raise ValueError(
                "MODEL_FUNCTION_CALLING=false: the agents search, act and hand off through tool calls; "
                "configure a model that can call tools"
            )
        window, out = self.MODEL_CONTEXT_WINDOW, self.MODEL_MAX_OUTPUT_TOKENS
        if window is not None and out > window // 2:
            raise ValueError(
                f"MODEL_MAX_OUTPUT_TOKENS ({out}) must be at most half of MODEL_CONTEXT_WINDOW ({window}), "
                "leaving room for the prompt"
            )
        if (self.MODEL_PRICE_IN_PER_1K is None) != (self.MODEL_PRICE_OUT_PER_1K is None):
            raise ValueError("MODEL_PRICE_IN_PER_1K and MODEL_PRICE_OUT_PER_1K are set together, or neither")
        return self

    def model_settings(self) -> ModelSettings:
        """What the operator declared about the model, for agents.model_client.build_model_client."""
        from agents.model_settings import ModelSettings  # here: AutoGen loads in ~1 s; the API never needs it

        return ModelSettings(
            family=self.MODEL_FAMILY,
            function_calling=self.MODEL_FUNCTION_CALLING,
            structured_output=self.MODEL_STRUCTURED_OUTPUT,
            json_output=self.MODEL_JSON_OUTPUT,
            vision=self.MODEL_VISION,
            context_window=self.MODEL_CONTEXT_WINDOW,
            max_output_tokens=self.MODEL_MAX_OUTPUT_TOKENS,
            timeout_s=self.MODEL_TIMEOUT_S,
            price_in_per_1k=self.MODEL_PRICE_IN_PER_1K,
            price_out_per_1k=self.MODEL_PRICE_OUT_PER_1K,
            failure_budget_s=self.MODEL_FAILURE_BUDGET_S,
            streaming=self.MODEL_STREAMING,
        )
