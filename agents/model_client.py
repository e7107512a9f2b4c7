"""Build the chat-completion client the agents run on, from operator settings.

Providers: "offline" (the built-in deterministic model, the default), "openai", "openai_compatible"
(Ollama, vLLM, LiteLLM and other servers speaking the OpenAI API) and "azure". Construction never
touches the network; a missing setting fails here, at start-up, with a message naming it.
"""

from __future__ import annotations

from autogen_core.models import ChatCompletionClient, ModelFamily, ModelInfo
from autogen_ext.models.openai import AzureOpenAIChatCompletionClient, OpenAIChatCompletionClient

from agents.offline_model import OfflineChatCompletionClient

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
            if base_url:
                return OpenAIChatCompletionClient(model=cfg["model"], api_key=cfg["api_key"], base_url=base_url)
            return OpenAIChatCompletionClient(model=cfg["model"], api_key=cfg["api_key"])
        except ValueError as err:
            raise ValueError(
                f"OpenAI model {model!r} is not known to AutoGen ({err}); "
                "use provider 'openai_compatible' to declare its capabilities"
            ) from err
    if kind == "openai_compatible":
        cfg = _require(kind, model=model, base_url=base_url)
        return OpenAIChatCompletionClient(
            model=cfg["model"],
            base_url=cfg["base_url"],
            api_key=api_key or PLACEHOLDER_API_KEY,
            model_info=COMPATIBLE_MODEL_INFO,
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
            return AzureOpenAIChatCompletionClient(
                model=cfg["model"],
                api_key=cfg["api_key"],
                azure_endpoint=cfg["azure_endpoint"],
                azure_deployment=cfg["azure_deployment"],
                api_version=cfg["api_version"],
            )
        except ValueError as err:
            raise ValueError(f"Azure OpenAI model {model!r} is not known to AutoGen ({err})") from err
    raise ValueError(f"unknown LLM provider {provider!r}; expected one of {', '.join(PROVIDERS)}")
