"""Build the chat-completion client the agents run on, from operator settings.

Providers: "offline" (the built-in deterministic model, the default), "openai", "openai_compatible"
(Ollama, vLLM, LiteLLM and other servers speaking the OpenAI API) and "azure". Construction never
touches the network; a missing setting fails here, at start-up, with a message naming it.

Two things differ from AutoGen's stock OpenAI clients: they count tokens with our estimate instead of
tiktoken (which downloads its encodings at run time), and the SDK does not retry on its own, so a
rate limit or a 5xx fails the activity at once and Temporal's retry policy does the backoff, visibly.
`TurnModelClient` wraps whatever client a turn uses, to total its usage and keep the provider's
original exception (AutoGen teams re-raise errors as a bare RuntimeError).

What the operator declares about the model (`agents.model_settings.ModelSettings`: capabilities,
context window, maximum output tokens, request timeout, price) is resolved, once, into the client's
`limits`: every request then carries `max_tokens`, and `TurnModelClient` fits the prompt to the
context window and repairs unusable output (`agents.model_failures`: empty, cut off, malformed) a few
times before giving up with `ModelOutputError`. Known server quirks are normalised on the way in
(`agents.server_quirks`).
"""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator, Awaitable, Callable, Mapping, Sequence
from typing import Any

import openai
from autogen_core.models import ChatCompletionClient, CreateResult, LLMMessage, ModelFamily, RequestUsage, UserMessage
from autogen_core.tools import Tool, ToolSchema
from autogen_ext.models.openai import AzureOpenAIChatCompletionClient, OpenAIChatCompletionClient

from agents.context import SYSTEM_SOURCE, TICKET_CONTEXT_PREFIX
from agents.cost import OFFLINE_MODEL, estimate_cost_usd
from agents.forwarding_client import ForwardingClient
from agents.model_failures import (
    MAX_REPAIRS,
    REPAIR_INSTRUCTIONS,
    ModelOutputError,
    ModelRejectedRequest,
    is_config_refusal,
    output_problem,
)
from agents.model_settings import (
    ModelLimits,
    ModelSettings,
    default_context_window,
    known_info,
    resolve_limits,
    resolve_model_info,
)
from agents.offline.client import OfflineChatCompletionClient
from agents.server_quirks import tolerate_quirks
from agents.tokens import EstimatedTokenCount, PromptTooLarge, fit_to_window

# Temporal retries the activity with backoff; SDK-internal retries would hide that from the history.
SDK_MAX_RETRIES = 0

PROVIDERS = ("offline", "openai", "openai_compatible", "azure")

# Local servers accept any key, but the OpenAI SDK refuses to start without one.
PLACEHOLDER_API_KEY = "not-needed"

# Reasoning models take max_completion_tokens; they reject max_tokens.
_COMPLETION_TOKENS_FAMILIES = {ModelFamily.O1, ModelFamily.O3, ModelFamily.O4, ModelFamily.GPT_5}


class _ProviderClient(EstimatedTokenCount):
    """What both provider clients add to AutoGen's: their model's name and limits, token counts without
    tiktoken, `max_tokens` on every request, and tolerance of known server quirks."""

    def __init__(self, *, limits: ModelLimits | None = None, **kwargs: Any) -> None:
        name: str = kwargs["model"]
        self.limits = limits or ModelLimits(context_window=default_context_window(name), max_output_tokens=4096)
        info = kwargs.get("model_info") or known_info(name)
        tokens_arg = (
            "max_completion_tokens" if info and info.get("family") in _COMPLETION_TOKENS_FAMILIES else "max_tokens"
        )
        kwargs.setdefault(tokens_arg, self.limits.max_output_tokens)
        super().__init__(**kwargs)
        self.model_name: str = name
        completions = self._client.chat.completions  # type: ignore[attr-defined]
        completions.create = tolerate_quirks(completions.create)

    def remaining_tokens(self, messages: Sequence[LLMMessage], *, tools: Sequence[Tool | ToolSchema] = []) -> int:
        return self.limits.context_window - self.count_tokens(messages, tools=tools)


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


class TurnModelClient(EstimatedTokenCount, ForwardingClient):
    """Wraps the worker's shared client for one turn: fits each prompt to the model's context window,
    repairs unusable answers (at most `MAX_REPAIRS` retries with a repair instruction, then
    `ModelOutputError`), totals this turn's usage, keeps the first provider exception as raised, and
    never lets anything count tokens with tiktoken."""

    def __init__(self, inner: ChatCompletionClient, *, max_repairs: int = MAX_REPAIRS) -> None:
        super().__init__(inner)
        self._max_repairs = max_repairs
        limits = getattr(inner, "limits", None)
        self.limits: ModelLimits | None = limits if isinstance(limits, ModelLimits) else None
        self.errors: list[BaseException] = []
        self.repairs: list[str] = []  # the problems repaired (or not), in order
        self.prompt_tokens = 0
        self.completion_tokens = 0
        self.calls = 0
        # Told when a streamed answer is thrown away for a repair (a draft being shown must start over).
        self.on_stream_discarded: Callable[[], Awaitable[None]] | None = None

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
                if isinstance(exc, ValueError) and is_config_refusal(exc):
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
            if is_config_refusal(exc) and "function" not in str(exc):
                raise self._fail(ModelRejectedRequest(str(exc)[:300])) from exc
            final = None
        if final is not None:
            self._account(final)
            if output_problem(final, tools) is None:
                yield final
                return
            self.repairs.append("streamed")
        if self.on_stream_discarded is not None:
            await self.on_stream_discarded()
        yield await self.create(messages, **kwargs)

    async def close(self) -> None:
        return None  # the worker owns the shared client and closes it at shutdown

    def total_usage(self) -> RequestUsage:
        return RequestUsage(prompt_tokens=self.prompt_tokens, completion_tokens=self.completion_tokens)

    def remaining_tokens(self, messages: Sequence[LLMMessage], *, tools: Sequence[Tool | ToolSchema] = []) -> int:
        window = (
            self.limits.context_window
            if self.limits is not None
            else default_context_window(model_name_of(self._inner))
        )
        return window - self.count_tokens(messages, tools=tools)

    @property
    def streams(self) -> bool:
        """Whether the agents should stream this model's replies (MODEL_STREAMING)."""
        return self.limits is not None and self.limits.streaming


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
