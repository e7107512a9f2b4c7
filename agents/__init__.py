"""The AutoGen side of Lumora support: six roles, their tools, and the model-client factory.

Activities call `run_turn` (one agent turn for one ticket) with a client from `build_model_client`;
nothing here keeps state between calls.
"""

from agents.model_client import build_model_client
from agents.offline.client import OfflineChatCompletionClient
from agents.team import SPECIALIST_FOR, build_specialist, run_turn

__all__ = [
    "SPECIALIST_FOR",
    "OfflineChatCompletionClient",
    "build_model_client",
    "build_specialist",
    "run_turn",
]
