"""Build the chat-completion client the agents run on, from operator settings.

Providers: "offline" (the built-in deterministic model, the default), "openai", "openai_compatible"
(Ollama, vLLM, LiteLLM and other servers speaking the OpenAI API) and "azure". Construction never
touches the network; a missing setting fails here, at start-up, with a message naming it.

Two things differ from AutoGen's stock OpenAI clients: they count tokens with our estimate instead of
tiktoken (which downloads its encodings at run time), and the SDK does not retry on its own, so a
rate limit or a 5xx fails the activity at once and Temporal's retry policy does the backoff, visibly.
`TurnModelClient` wraps whatever client a turn uses, to total its usage and keep the provider's
original exception (AutoGen teams re-raise errors as a bare RuntimeError).

What the operator declares about the model (`ModelSettings`: capabilities, context window, maximum
output tokens, request timeout, price) is resolved here, once, into the client's `limits`: every
request then carries `max_tokens`, and `TurnModelClient` fits the prompt to the context window and
repairs unusable output (empty, cut off, malformed) a few times before giving up with
`ModelOutputError`. Known server quirks are normalised on the way in (llama.cpp's legacy
`function_call` field beside `tool_calls`, which AutoGen rejects).
"""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator, Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import openai
from autogen_core.models import (
    ChatCompletionClient,
    CreateResult,
    LLMMessage,
    ModelCapabilities,
    ModelFamily,
    ModelInfo,
    RequestUsage,
    UserMessage,
)
from autogen_core.tools import Tool, ToolSchema
from autogen_ext.models.openai import AzureOpenAIChatCompletionClient, OpenAIChatCompletionClient
from autogen_ext.models.openai._model_info import get_info, get_token_limit

from agents.context import SYSTEM_NOTE, SYSTEM_SOURCE, TICKET_CONTEXT_PREFIX
from agents.cost import OFFLINE_MODEL, estimate_cost_usd, per_mtok
from agents.guardrails import strip_model_artifacts
from agents.offline.client import OfflineChatCompletionClient
from agents.tokens import EstimatedTokenCount, PromptTooLarge, fit_to_window

# Temporal retries the activity with backoff; SDK-internal retries would hide that from the history.
SDK_MAX_RETRIES = 0
REQUEST_TIMEOUT_SECONDS = 60.0  # below the activity's start-to-close, so a hung request fails first
DEFAULT_CONTEXT_WINDOW = 128_000  # the offline model's (it reads everything)
UNKNOWN_MODEL_CONTEXT_WINDOW = 8192  # a model nobody declared: assume a small window, trim to fit
DEFAULT_MAX_OUTPUT_TOKENS = 1024
DEFAULT_FAILURE_BUDGET_S = 180.0
MAX_REPAIRS = 2  # retries with a repair instruction after an empty, cut-off or malformed answer

PROVIDERS = ("offline", "openai", "openai_compatible", "azure")

# Local servers accept any key, but the OpenAI SDK refuses to start without one.
PLACEHOLDER_API_KEY = "not-needed"

# What we may assume of an arbitrary model behind an OpenAI-compatible endpoint: it can call tools
# (the agents need that) and nothing more. Declared, because AutoGen only knows OpenAI model names.
COMPATIBLE_MODEL_INFO = ModelInfo(
    vision=False,
    function_calling=True,
    json_output=False,
    family=ModelFamily.UNKNOWN,
    structured_output=False,
)
# Reasoning models take max_completion_tokens; they reject max_tokens.
_COMPLETION_TOKENS_FAMILIES = {ModelFamily.O1, ModelFamily.O3, ModelFamily.O4, ModelFamily.GPT_5}


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


def _known_window(model: str) -> int | None:
    try:
        return get_token_limit(model)
    except KeyError:
        return None


def _context_window(model: str) -> int:
    return _known_window(model) or DEFAULT_CONTEXT_WINDOW


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
    window = declared.context_window or _known_window(model) or UNKNOWN_MODEL_CONTEXT_WINDOW
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


def _tolerate_quirks(create: Callable[..., Any]) -> Callable[..., Any]:
    async def create_tolerantly(*args: Any, **kwargs: Any) -> Any:
        result = await create(*args, **kwargs)
        return result if kwargs.get("stream") else normalise_legacy_function_call(result)

    return create_tolerantly


class _ProviderClient(EstimatedTokenCount):
    """What both provider clients add to AutoGen's: their model's name and limits, token counts without
    tiktoken, `max_tokens` on every request, and tolerance of known server quirks."""

    def __init__(self, *, limits: ModelLimits | None = None, **kwargs: Any) -> None:
        name: str = kwargs["model"]
        self.limits = limits or ModelLimits(context_window=_context_window(name), max_output_tokens=4096)
        info = kwargs.get("model_info") or _known_info(name)
        tokens_arg = (
            "max_completion_tokens" if info and info.get("family") in _COMPLETION_TOKENS_FAMILIES else "max_tokens"
        )
        kwargs.setdefault(tokens_arg, self.limits.max_output_tokens)
        super().__init__(**kwargs)
        self.model_name: str = name
        completions = self._client.chat.completions  # type: ignore[attr-defined]
        completions.create = _tolerate_quirks(completions.create)

    def remaining_tokens(self, messages: Sequence[LLMMessage], *, tools: Sequence[Tool | ToolSchema] = []) -> int:
        return self.limits.context_window - self.count_tokens(messages, tools=tools)


def _known_info(model: str) -> ModelInfo | None:
    try:
        return get_info(model)
    except (KeyError, ValueError):
        return None


class ProviderOpenAIClient(_ProviderClient, OpenAIChatCompletionClient):
    """AutoGen's OpenAI client, counting tokens without tiktoken and knowing its model's name."""


class ProviderAzureClient(_ProviderClient, AzureOpenAIChatCompletionClient):
    """AutoGen's Azure OpenAI client, counting tokens without tiktoken and knowing its model's name."""


def model_name_of(client: ChatCompletionClient) -> str:
    """The model behind `client` for pricing: "offline", the configured name, or "" if unknown."""
    if isinstance(client, OfflineChatCompletionClient):
        return OFFLINE_MODEL
    name = getattr(client, "model_name", "")
    return name if isinstance(name, str) else ""


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


class TurnModelClient(EstimatedTokenCount, ChatCompletionClient):
    """Wraps the worker's shared client for one turn: fits each prompt to the model's context window,
    repairs unusable answers (at most `MAX_REPAIRS` retries with a repair instruction, then
    `ModelOutputError`), totals this turn's usage, keeps the first provider exception as raised, and
    never lets anything count tokens with tiktoken."""

    def __init__(self, inner: ChatCompletionClient, *, max_repairs: int = MAX_REPAIRS) -> None:
        self._inner = inner
        self._max_repairs = max_repairs
        limits = getattr(inner, "limits", None)
        self.limits: ModelLimits | None = limits if isinstance(limits, ModelLimits) else None
        self.errors: list[BaseException] = []
        self.repairs: list[str] = []  # the problems repaired (or not), in order
        self.prompt_tokens = 0
        self.completion_tokens = 0
        self.calls = 0

    def _account(self, result: CreateResult) -> None:
        self.calls += 1
        self.prompt_tokens += result.usage.prompt_tokens
        self.completion_tokens += result.usage.completion_tokens

    def cost_usd(self, model: str) -> float:
        price = self.limits.price_per_mtok if self.limits is not None else None
        return estimate_cost_usd(model, self.prompt_tokens, self.completion_tokens, price)

    def _fit(self, messages: Sequence[LLMMessage], tools: Sequence[Tool | ToolSchema]) -> list[LLMMessage]:
        if self.limits is None:
            return list(messages)
        try:
            return fit_to_window(
                messages,
                tools,
                context_window=self.limits.context_window,
                max_output_tokens=self.limits.max_output_tokens,
                task_marker=TICKET_CONTEXT_PREFIX,
            )
        except PromptTooLarge as err:
            raise self._fail(ModelRejectedRequest(str(err))) from None

    def _fail(self, err: BaseException) -> BaseException:
        self.errors.append(err)
        return err

    # create and create_stream pass AutoGen's keyword arguments through untouched: their signature and
    # defaults are the inner client's (`ChatCompletionClient`'s), not restated here.
    async def create(self, messages: Sequence[LLMMessage], **kwargs: Any) -> CreateResult:
        tools: Sequence[Tool | ToolSchema] = kwargs.get("tools", [])
        prompt = self._fit(messages, tools)
        for attempt in range(self._max_repairs + 1):
            try:
                result = await self._inner.create(prompt, **kwargs)
            except (openai.APIResponseValidationError, json.JSONDecodeError) as exc:
                problem = ("malformed", f"the model's response could not be parsed: {type(exc).__name__}")
            except (openai.OpenAIError, ModelRejectedRequest) as exc:
                self.errors.append(exc)
                raise
            except Exception as exc:  # AutoGen could not read the response, or refused the request
                if isinstance(exc, ValueError) and any(r in str(exc) for r in _CONFIG_REFUSALS):
                    raise self._fail(ModelRejectedRequest(str(exc)[:300])) from exc
                problem = ("malformed", f"the model's response could not be read: {str(exc)[:200]}")
            else:
                self._account(result)
                found = output_problem(result, tools)
                if found is None:
                    return result
                problem = found
            self.repairs.append(problem[0])
            if attempt == self._max_repairs:
                break
            prompt = self._fit(
                [*prompt, UserMessage(content=REPAIR_INSTRUCTIONS[problem[0]], source=SYSTEM_SOURCE)], tools
            )
        raise self._fail(
            ModelOutputError(
                problem[0], problem[1], attempts=self._max_repairs + 1,
                prompt_tokens=self.prompt_tokens, completion_tokens=self.completion_tokens,
            )
        )  # fmt: skip

    async def create_stream(
        self, messages: Sequence[LLMMessage], **kwargs: Any
    ) -> AsyncGenerator[str | CreateResult, None]:
        """The reply as it is generated (MODEL_STREAMING), the server asked to stream its usage too. An
        answer that turns out unusable (or a stream AutoGen cannot read) falls back to `create`, repairs
        included, whose result ends the stream."""
        tools: Sequence[Tool | ToolSchema] = kwargs.get("tools", [])
        prompt = self._fit(messages, tools)
        extra = {"stream_options": {"include_usage": True}, **dict(kwargs.get("extra_create_args") or {})}
        final: CreateResult | None = None
        try:
            async for chunk in self._inner.create_stream(prompt, **{**kwargs, "extra_create_args": extra}):
                if isinstance(chunk, CreateResult):
                    final = chunk
                else:
                    yield chunk
        except (openai.APIResponseValidationError, json.JSONDecodeError):
            final = None
        except (openai.OpenAIError, ModelRejectedRequest) as exc:
            self.errors.append(exc)
            raise
        except ValueError as exc:  # e.g. AutoGen refusing a streamed legacy function_call
            if any(r in str(exc) for r in _CONFIG_REFUSALS) and "function" not in str(exc):
                raise self._fail(ModelRejectedRequest(str(exc)[:300])) from exc
            final = None
        if final is not None:
            self._account(final)
            if output_problem(final, tools) is None:
                yield final
                return
            self.repairs.append("streamed")
        yield await self.create(messages, **kwargs)

    async def close(self) -> None:
        return None  # the worker owns the shared client and closes it at shutdown

    def actual_usage(self) -> RequestUsage:
        return self._inner.actual_usage()

    def total_usage(self) -> RequestUsage:
        return RequestUsage(prompt_tokens=self.prompt_tokens, completion_tokens=self.completion_tokens)

    def remaining_tokens(self, messages: Sequence[LLMMessage], *, tools: Sequence[Tool | ToolSchema] = []) -> int:
        window = self.limits.context_window if self.limits is not None else _context_window(model_name_of(self._inner))
        return window - self.count_tokens(messages, tools=tools)

    @property
    def streams(self) -> bool:
        """Whether the agents should stream this model's replies (MODEL_STREAMING)."""
        return self.limits is not None and self.limits.streaming

    @property
    def capabilities(self) -> ModelCapabilities:
        return self._inner.capabilities

    @property
    def model_info(self) -> ModelInfo:
        return self._inner.model_info


def _require(provider: str, **settings: str | None) -> dict[str, str]:
    """The settings, all present and non-empty, or a ValueError naming every missing one."""
    missing = [name for name, value in settings.items() if not value]
    if missing:
        raise ValueError(f"LLM provider {provider!r} needs {', '.join(missing)} to be set")
    return {name: value for name, value in settings.items() if value}


def build_model_client(
    provider: str = "offline",
    *,
    model: str = "",
    api_key: str | None = None,
    base_url: str | None = None,
    azure_endpoint: str | None = None,
    azure_deployment: str | None = None,
    api_version: str | None = None,
    settings: ModelSettings | None = None,
    http_client: Any = None,
) -> ChatCompletionClient:
    """Return a client for `provider`; raise ValueError (`ModelConfigurationError` for the model's
    declared capabilities and limits) for an unknown provider or a missing or inconsistent setting."""
    kind = (provider or "offline").strip().lower()
    declared = settings or ModelSettings()
    if kind == "offline":
        return OfflineChatCompletionClient()
    if kind not in PROVIDERS:
        raise ValueError(f"unknown LLM provider {provider!r}; expected one of {', '.join(PROVIDERS)}")
    if kind == "openai":
        cfg = _require(kind, model=model, api_key=api_key)
    elif kind == "openai_compatible":
        cfg = _require(kind, model=model, base_url=base_url)
    else:
        cfg = _require(
            kind, model=model, api_key=api_key, azure_endpoint=azure_endpoint, azure_deployment=azure_deployment,
            api_version=api_version,
        )  # fmt: skip
    info = resolve_model_info(kind, cfg["model"], declared)
    common: dict[str, Any] = {
        "model": cfg["model"],
        "model_info": info,
        "limits": resolve_limits(cfg["model"], declared),
        "max_retries": SDK_MAX_RETRIES,
        "timeout": declared.timeout_s,
        **({"http_client": http_client} if http_client is not None else {}),
    }
    if kind == "azure":
        return ProviderAzureClient(
            api_key=cfg["api_key"],
            azure_endpoint=cfg["azure_endpoint"],
            azure_deployment=cfg["azure_deployment"],
            api_version=cfg["api_version"],
            **common,
        )
    extra: dict[str, Any] = {"base_url": base_url} if base_url else {}
    key = cfg.get("api_key") or api_key or PLACEHOLDER_API_KEY
    return ProviderOpenAIClient(api_key=key, **extra, **common)


def model_settings_summary(client: ChatCompletionClient) -> str:
    """One line for the worker's start-up log: what the model was declared to be and held to."""
    limits: ModelLimits | None = getattr(client, "limits", None)
    if limits is None:
        return model_name_of(client)
    info: Mapping[str, Any] = client.model_info
    return (
        f"{model_name_of(client)} (family {info.get('family')}, context {limits.context_window}, "
        f"max output {limits.max_output_tokens}, timeout {limits.timeout_s:g}s)"
    )
