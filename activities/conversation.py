"""One AutoGen agent turn. The agents are rebuilt on every call from the transcript the workflow owns."""

from __future__ import annotations

from autogen_core.models import ChatCompletionClient
from temporalio import activity

from agents.team import run_turn
from domain.models import KbHit
from domain.turns import TurnOutcome, TurnRequest
from kb.index import KnowledgeBase


class ConversationActivities:
    def __init__(self, model_client: ChatCompletionClient, kb: KnowledgeBase) -> None:
        self._model_client = model_client
        self._kb = kb

    async def _search(self, query: str, limit: int, category: str | None) -> list[KbHit]:
        return await self._kb.search(query, limit=limit, category=category)

    @activity.defn(name="conversation.run_agent_turn")
    async def run_agent_turn(self, req: TurnRequest) -> TurnOutcome:
        return await run_turn(req, model_client=self._model_client, kb_search=self._search)
