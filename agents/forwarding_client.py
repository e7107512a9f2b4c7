"""The base of the clients that wrap another `ChatCompletionClient` for a turn or a trace.

`ForwardingClient` holds the wrapped client and forwards what every wrapper passes through unchanged:
the last call's usage, the capabilities and the model info. Subclasses decide the rest (`create`,
`create_stream`, `close`, the usage totals and token counts).
"""

from __future__ import annotations

from autogen_core.models import ChatCompletionClient, ModelCapabilities, ModelInfo, RequestUsage


class ForwardingClient(ChatCompletionClient):
    """A client wrapping `inner`; forwards `actual_usage`, `capabilities` and `model_info` to it."""

    def __init__(self, inner: ChatCompletionClient) -> None:
        self._inner = inner

    def actual_usage(self) -> RequestUsage:
        return self._inner.actual_usage()

    @property
    def capabilities(self) -> ModelCapabilities:
        return self._inner.capabilities

    @property
    def model_info(self) -> ModelInfo:
        return self._inner.model_info
