"""The agents' tools, built per turn around one ticket.

Both tools close over the current `TurnRequest`, so neither can reach another ticket or customer:
`lookup_customer` takes no arguments on purpose (a model cannot ask for someone else's record), and
`search_knowledge_base` only sees the help center. A `ToolLog` records what the tools returned so
`run_turn` can cite articles and surface knowledge-base failures.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from autogen_core.tools import BaseTool, FunctionTool

from agents.context import LOOKUP_TOOL, SEARCH_TOOL, format_kb_results
from domain.models import KbHit
from domain.turns import TurnRequest

KbSearch = Callable[[str, int, str | None], Awaitable[list[KbHit]]]
KB_TOP_K = 4


@dataclass
class ToolLog:
    """Side record of one turn's tool use (AutoGen turns tool exceptions into error text)."""

    hits: dict[str, KbHit] = field(default_factory=dict)
    errors: list[Exception] = field(default_factory=list)


def build_tools(request: TurnRequest, kb_search: KbSearch, log: ToolLog) -> list[BaseTool[Any, Any]]:
    """`search_knowledge_base` and `lookup_customer`, bound to this request."""

    async def search_knowledge_base(query: str) -> str:
        try:
            hits = await kb_search(query, KB_TOP_K, None)
        except Exception as exc:
            # Remembered so run_turn can re-raise: an unreachable KB must fail the activity (and be
            # retried by Temporal), not quietly turn into "I couldn't find a documented answer".
            log.errors.append(exc)
            raise
        for hit in hits:
            known = log.hits.get(hit.article_id)
            if known is None or hit.score > known.score:
                log.hits[hit.article_id] = hit
        return format_kb_results(query, hits)

    def lookup_customer() -> str:
        customer = request.customer
        return json.dumps(
            {
                "name": customer.name,
                "first_name": customer.first_name,
                "plan": customer.plan.value,
                "vip": customer.is_vip,
            },
            ensure_ascii=False,
        )

    return [
        FunctionTool(
            search_knowledge_base,
            name=SEARCH_TOOL,
            description=(
                "Search Lumora's help-center articles. Returns JSON with up to 4 results, each with id, "
                "title, url and the matching passage. Cite the articles you use by title and url."
            ),
        ),
        FunctionTool(
            lookup_customer,
            name=LOOKUP_TOOL,
            description=(
                "Return the plan, VIP status and name of the customer who opened this ticket. "
                "Takes no arguments and cannot look up anyone else."
            ),
        ),
    ]
