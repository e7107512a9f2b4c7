"""What the operator declares about the model, checked once at start-up.

`ModelSettings` is what the MODEL_* settings declare (capabilities, context window, maximum output
tokens, request timeout, price, failure budget, streaming); `resolve_model_info` and `resolve_limits`
turn it, with what AutoGen knows of the model, into the capabilities AutoGen is told and the
`ModelLimits` every request is held to, or fail with a one-line `ModelConfigurationError` naming the
setting.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from autogen_core.models import ModelFamily, ModelInfo
from autogen_ext.models.openai._model_info import get_info, get_token_limit

from agents.cost import per_mtok

REQUEST_TIMEOUT_SECONDS = 60.0  # below the activity's start-to-close, so a hung request fails first
DEFAULT_CONTEXT_WINDOW = 128_000  # the offline model's (it reads everything)
UNKNOWN_MODEL_CONTEXT_WINDOW = 8192  # a model nobody declared: assume a small window, trim to fit
DEFAULT_MAX_OUTPUT_TOKENS = 1024
DEFAULT_FAILURE_BUDGET_S = 180.0

# What we may assume of an arbitrary model behind an OpenAI-compatible endpoint: it can call tools
# (the agents need that) and nothing more. Declared, because AutoGen only knows OpenAI model names.
COMPATIBLE_MODEL_INFO = ModelInfo(
    vision=False,
    function_calling=True,
    json_output=False,
    family=ModelFamily.UNKNOWN,
    structured_output=False,
)


class ModelConfigurationError(ValueError):
    """The model settings cannot work; the message is one line naming the setting."""


@dataclass(frozen=True)
class ModelSettings:
    """What an operator declares about the model (MODEL_* settings); None = the known model's own value."""

    family: str | None = None
    function_calling: bool | None = None
    structured_output: bool | None = None
    json_output: bool | None = None
    vision: bool | None = None
    context_window: int | None = None
    max_output_tokens: int = DEFAULT_MAX_OUTPUT_TOKENS
    timeout_s: float = REQUEST_TIMEOUT_SECONDS
    price_in_per_1k: Decimal | None = None
    price_out_per_1k: Decimal | None = None
    failure_budget_s: float = DEFAULT_FAILURE_BUDGET_S
    streaming: bool = False

    def declares_capabilities(self) -> bool:
        return any(v is not None for v in (self.family, self.function_calling, self.structured_output, self.vision))


@dataclass(frozen=True)
class ModelLimits:
    """What every request to the model is held to, resolved from `ModelSettings` and the known model."""

    context_window: int
    max_output_tokens: int
    timeout_s: float = REQUEST_TIMEOUT_SECONDS
    price_per_mtok: tuple[Decimal, Decimal] | None = None  # None: agents.cost's table
    failure_budget_s: float = DEFAULT_FAILURE_BUDGET_S
    streaming: bool = False


def known_info(model: str) -> ModelInfo | None:
    """AutoGen's capabilities of `model`, or None for a model it does not know."""
    try:
        return get_info(model)
    except (KeyError, ValueError):
        return None


def known_window(model: str) -> int | None:
    """AutoGen's context window of `model`, or None for a model it does not know."""
    try:
        return get_token_limit(model)
    except KeyError:
        return None


def default_context_window(model: str) -> int:
    """The window assumed for a client built without declared limits: the known one, else the offline model's."""
    return known_window(model) or DEFAULT_CONTEXT_WINDOW


def resolve_model_info(kind: str, model: str, declared: ModelSettings) -> ModelInfo:
    """The capabilities AutoGen is told: the declared ones over the known model's (or the compatible default)."""
    base: ModelInfo
    if kind == "openai_compatible":
        base = ModelInfo(**COMPATIBLE_MODEL_INFO)
    else:
        try:
            base = ModelInfo(**get_info(model))
        except (KeyError, ValueError) as err:
            if not declared.declares_capabilities():
                raise ModelConfigurationError(
                    f"model {model!r} is not known to AutoGen; declare MODEL_FAMILY, MODEL_FUNCTION_CALLING, "
                    "MODEL_STRUCTURED_OUTPUT, MODEL_VISION and MODEL_CONTEXT_WINDOW for it"
                ) from err
            base = ModelInfo(**COMPATIBLE_MODEL_INFO)
    overrides = {
        "family": declared.family,
        "function_calling": declared.function_calling,
        "structured_output": declared.structured_output,
        "json_output": declared.json_output,
        "vision": declared.vision,
    }
    info = ModelInfo(**{**base, **{k: v for k, v in overrides.items() if v is not None}})  # type: ignore[typeddict-item]
    if not info["function_calling"]:
        raise ModelConfigurationError(
            f"model {model!r} cannot call tools (MODEL_FUNCTION_CALLING); the agents search, act and hand off "
            "through tool calls"
        )
    return info


def resolve_limits(model: str, declared: ModelSettings) -> ModelLimits:
    window = declared.context_window or known_window(model) or UNKNOWN_MODEL_CONTEXT_WINDOW
    if declared.max_output_tokens > window // 2:
        raise ModelConfigurationError(
            f"MODEL_MAX_OUTPUT_TOKENS ({declared.max_output_tokens}) must be at most half of the context window "
            f"({window} tokens for {model!r}; MODEL_CONTEXT_WINDOW declares it)"
        )
    price = None
    if declared.price_in_per_1k is not None and declared.price_out_per_1k is not None:
        price = per_mtok(declared.price_in_per_1k, declared.price_out_per_1k)
    return ModelLimits(
        context_window=window,
        max_output_tokens=declared.max_output_tokens,
        timeout_s=declared.timeout_s,
        price_per_mtok=price,
        failure_budget_s=declared.failure_budget_s,
        streaming=declared.streaming,
    )
