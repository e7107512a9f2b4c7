"""Build the chat-completion client the agents run on, from operator settings.

Providers: "offline" (the built-in deterministic model, the default), "openai", "openai_compatible"
(Ollama, vLLM, LiteLLM and other servers speaking the OpenAI API) and "azure". Construction never
touches the network; a missing setting fails here, at start-up, with a message naming it.

Two things differ from AutoGen's stock OpenAI clients: they count tokens with our estimate instead of
tiktoken (which downloads its encodings at run time), and the SDK does not retry on its own, so a
rate limit or a 5xx fails the activity at once and Temporal's retry policy does the backoff, visibly.
`TurnModelClient` wraps whatever client a turn uses, to total its usage and keep the provider's
original exception (AutoGen teams re-raise errors as a bare RuntimeError).
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Sequence
from typing import Any

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
from autogen_ext.models.openai import AzureOpenAIChatCompletionClient, OpenAIChatCompletionClient
from autogen_ext.models.openai._model_info import get_token_limit

from agents.cost import OFFLINE_MODEL
from agents.offline.client import OfflineChatCompletionClient
from agents.tokens import EstimatedTokenCount

# Temporal retries the activity with backoff; SDK-internal retries would hide that from the history.
SDK_MAX_RETRIES = 0
REQUEST_TIMEOUT_SECONDS = 60.0  # below the activity's start-to-close, so a hung request fails first
DEFAULT_CONTEXT_WINDOW = 128_000

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


_SDK_OPTIONS: dict[str, Any] = {"max_retries": SDK_MAX_RETRIES, "timeout": REQUEST_TIMEOUT_SECONDS}


def _context_window(model: str) -> int:
    try:
        return get_token_limit(model)
    except KeyError:
        return DEFAULT_CONTEXT_WINDOW


class _ProviderClient(EstimatedTokenCount):
    """What both provider clients add to AutoGen's: their model's name, and token counts without tiktoken."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.model_name: str = kwargs["model"]

    def remaining_tokens(self, messages: Sequence[LLMMessage], *, tools: Sequence[Tool | ToolSchema] = []) -> int:
        return _context_window(self.model_name) - self.count_tokens(messages, tools=tools)


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


class TurnModelClient(EstimatedTokenCount, ChatCompletionClient):
    """Wraps the worker's shared client for one turn: totals this turn's usage, keeps the first
    provider exception as raised, and never lets anything count tokens with tiktoken."""

    def __init__(self, inner: ChatCompletionClient) -> None:
        self._inner = inner
        self.errors: list[BaseException] = []
        self.prompt_tokens = 0
        self.completion_tokens = 0
        self.calls = 0

    def _account(self, result: CreateResult) -> None:
        self.calls += 1
        self.prompt_tokens += result.usage.prompt_tokens
        self.completion_tokens += result.usage.completion_tokens

    # create and create_stream pass AutoGen's keyword arguments through untouched: their signature and
    # defaults are the inner client's (`ChatCompletionClient`'s), not restated here.
    async def create(self, messages: Sequence[LLMMessage], **kwargs: Any) -> CreateResult:
        try:
            result = await self._inner.create(messages, **kwargs)
        except Exception as exc:
            self.errors.append(exc)
            raise
        self._account(result)
        return result

    async def create_stream(
        self, messages: Sequence[LLMMessage], **kwargs: Any
    ) -> AsyncGenerator[str | CreateResult, None]:
        try:
            async for chunk in self._inner.create_stream(messages, **kwargs):
                if isinstance(chunk, CreateResult):
                    self._account(chunk)
                yield chunk
        except Exception as exc:
            self.errors.append(exc)
            raise

    async def close(self) -> None:
        return None  # the worker owns the shared client and closes it at shutdown

    def actual_usage(self) -> RequestUsage:
        return self._inner.actual_usage()

    def total_usage(self) -> RequestUsage:
        return RequestUsage(prompt_tokens=self.prompt_tokens, completion_tokens=self.completion_tokens)

    def remaining_tokens(self, messages: Sequence[LLMMessage], *, tools: Sequence[Tool | ToolSchema] = []) -> int:
        return _context_window(model_name_of(self._inner)) - self.count_tokens(messages, tools=tools)

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
) -> ChatCompletionClient:
    """Return a client for `provider`; raise ValueError for an unknown provider or missing setting."""
    kind = (provider or "offline").strip().lower()
    if kind == "offline":
        return OfflineChatCompletionClient()
    if kind == "openai":
        cfg = _require(kind, model=model, api_key=api_key)
        try:
            extra: dict[str, Any] = {"base_url": base_url} if base_url else {}
            return ProviderOpenAIClient(model=cfg["model"], api_key=cfg["api_key"], **_SDK_OPTIONS, **extra)
        except ValueError as err:
            raise ValueError(
                f"OpenAI model {model!r} is not known to AutoGen ({err}); "
                "use provider 'openai_compatible' to declare its capabilities"
            ) from err
    if kind == "openai_compatible":
        cfg = _require(kind, model=model, base_url=base_url)
        return ProviderOpenAIClient(
            model=cfg["model"],
            base_url=cfg["base_url"],
            api_key=api_key or PLACEHOLDER_API_KEY,
            model_info=COMPATIBLE_MODEL_INFO,
            **_SDK_OPTIONS,
        )
    if kind == "azure":
        cfg = _require(
            kind,
            model=model,
            api_key=api_key,
            azure_endpoint=azure_endpoint,
            azure_deployment=azure_deployment,
            api_version=api_version,
        )
        try:
            return ProviderAzureClient(
                model=cfg["model"],
                api_key=cfg["api_key"],
                azure_endpoint=cfg["azure_endpoint"],
                azure_deployment=cfg["azure_deployment"],
                api_version=cfg["api_version"],
                **_SDK_OPTIONS,
            )
        except ValueError as err:
            raise ValueError(f"Azure OpenAI model {model!r} is not known to AutoGen ({err})") from err
    raise ValueError(f"unknown LLM provider {provider!r}; expected one of {', '.join(PROVIDERS)}")
