"""Wire formats shared by the tools, the prompts and the offline model.

A real LLM and the built-in offline model read exactly the same text: the ticket context travels as a
`TICKET_CONTEXT: {json}` line at the top of the task, and knowledge-base results come back from the
`search_knowledge_base` tool as JSON. Keeping the writer and the parser of each format side by side
here means the offline model can never drift from what the tools actually produce.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, ValidationError

from domain.customer_text import prepared_text
from domain.models import Category, Channel, KbHit, Plan, Priority, Sentiment
from domain.turns import TurnRequest

TICKET_CONTEXT_PREFIX = "TICKET_CONTEXT:"

# Tool names: the tools are registered under these and the offline model asks for them by name.
SEARCH_TOOL = "search_knowledge_base"
LOOKUP_TOOL = "lookup_customer"
RESOLVE_TOOL = "mark_resolved"
REFUND_TOOL = "request_refund"
CREDIT_TOOL = "grant_credit"
BUG_TOOL = "record_bug_report"
CODE_TOOL = "run_python"
INVOICES_TOOL = "list_invoices"  # the BillingAgent's view of the ticket customer's invoices
ESCALATE_HANDOFF = "transfer_to_human"  # the handoff tool that ends the turn with the EscalationManager

# Message sources used in the task. They double as OpenAI `name` fields, so they must match
# ^[a-zA-Z0-9_-]+$ (AutoGen's OpenAI client asserts that).
CUSTOMER_SOURCE = "customer"
SYSTEM_SOURCE = "ticket_system"
HUMAN_AGENT_SOURCE = "human_agent"

SYSTEM_NOTE = "[ticket system note]"

# Passages are clipped so one long help article cannot crowd the model's context.
MAX_PASSAGE_CHARS = 1500
# The rest of a best hit's article (its other sections) may take this much: a help article is rarely longer,
# and the facts a how-to needs are often in the section after the one that matched.
MAX_MORE_CHARS = 3000


def clip_sections(text: str, limit: int) -> str:
    """`text` cut to `limit` characters at the last paragraph break before it (never mid-sentence), without
    a heading left at the end with nothing under it."""
    if len(text) <= limit:
        return text
    cut = text[:limit]
    while (at := cut.rfind("\n\n")) > 0:
        cut = cut[:at].rstrip()
        if not cut.rsplit("\n\n", 1)[-1].lstrip().startswith("#"):
            return cut
    return text[:limit]


class TicketContext(BaseModel):
    """What every agent needs to know about the ticket beyond the conversation itself."""

    ticket_id: str = ""
    customer_first_name: str = "there"
    plan: Plan = Plan.FREE
    vip: bool = False
    category: Category = Category.GENERAL
    priority: Priority = Priority.MEDIUM
    sentiment: Sentiment = Sentiment.NEUTRAL
    channel: Channel = Channel.CHAT
    subject: str = ""
    handoff_reason: str | None = None

    @classmethod
    def from_request(cls, request: TurnRequest) -> TicketContext:
        return cls(
            ticket_id=request.ticket_id,
            customer_first_name=request.customer.first_name,
            plan=request.customer.plan,
            vip=request.customer.is_vip,
            category=request.category,
            priority=request.priority,
            sentiment=request.sentiment,
            channel=request.channel,
            subject=request.subject,
            handoff_reason=request.handoff_reason,
        )


def render_ticket_context(ctx: TicketContext) -> str:
    """The one-line header a model reads first (deliberately no e-mail or customer id)."""
    return f"{TICKET_CONTEXT_PREFIX} {json.dumps(ctx.model_dump(mode='json'), ensure_ascii=False)}"


def parse_ticket_context(text: str) -> TicketContext | None:
    """Find and parse a `TICKET_CONTEXT:` line anywhere in `text`; None if absent or malformed."""
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith(TICKET_CONTEXT_PREFIX):
            try:
                return TicketContext.model_validate_json(stripped[len(TICKET_CONTEXT_PREFIX) :])
            except ValidationError:
                return None
    return None


def neutralize(text: str) -> str:
    """A customer's message as every agent (and model) reads it: their new words, nothing to obey.

    Prepared by `domain.customer_text`: quoted and forwarded history, signatures and disclaimers are
    left out (a forwarded mail the customer points at, "see below", comes after their words, without
    headers or addresses), and so is pasted text that addresses the system ("SYSTEM NOTE: …", "ignore
    previous instructions"). The transcript keeps the message as received.

    A customer (or a pasted e-mail) could also write a `TICKET_CONTEXT:` line claiming VIP status, or a
    "[ticket system note]": those lines are kept for the reader but can no longer be mistaken for ours.
    """
    out: list[str] = []
    for line in prepared_text(text).splitlines():
        stripped = line.strip()
        if stripped.upper().startswith(TICKET_CONTEXT_PREFIX) or stripped.lower().startswith(SYSTEM_NOTE.lower()):
            line = f"(customer wrote) {stripped}"
        out.append(line)
    return "\n".join(out)


def strip_ticket_context(text: str) -> str:
    """`text` without its `TICKET_CONTEXT:` line(s)."""
    lines = [ln for ln in text.splitlines() if not ln.strip().startswith(TICKET_CONTEXT_PREFIX)]
    return "\n".join(lines).strip()


def format_kb_results(query: str, hits: list[KbHit]) -> str:
    """The `search_knowledge_base` tool's answer: JSON a model can read and cite from."""
    results: list[dict[str, Any]] = [
        {
            "id": hit.article_id,
            "title": hit.title,
            "url": hit.url,
            "score": round(hit.score, 4),
            "category": hit.category,
            "passage": (hit.text or hit.snippet)[:MAX_PASSAGE_CHARS],
            # the article's other sections, best-matching first (their steps or facts may answer the question)
            **({"more_from_article": clip_sections(hit.more, MAX_MORE_CHARS)} if hit.more else {}),
        }
        for hit in hits
    ]
    payload: dict[str, Any] = {"query": query, "results": results}
    if not hits:
        payload["note"] = "No help-center article matched this query."
    return json.dumps(payload, ensure_ascii=False)


def parse_kb_results(text: str) -> list[KbHit]:
    """Inverse of `format_kb_results`; tolerant of anything else (returns what it can read)."""
    try:
        payload = json.loads(text)
    except json.JSONDecodeError:
        return []
    if not isinstance(payload, dict) or not isinstance(payload.get("results"), list):
        return []
    hits: list[KbHit] = []
    for item in payload["results"]:
        if not isinstance(item, dict):
            continue
        try:
            passage = str(item.get("passage", ""))
            hits.append(
                KbHit(
                    article_id=str(item["id"]),
                    title=str(item.get("title", "")),
                    url=str(item.get("url", "")),
                    score=float(item.get("score", 0.0)),
                    category=str(item.get("category", "")),
                    snippet=passage[:300],
                    text=passage,
                    more=str(item.get("more_from_article", "")),
                )
            )
        except (KeyError, TypeError, ValueError):
            continue
    return hits
