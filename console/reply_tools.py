"""The reply box's helpers: saved replies filled for the ticket at hand, and the help-article search
partial (`GET /console/articles`) whose results insert a link or a passage into the reply.

Saved replies come from db.saved_replies with their placeholders filled (domain.saved_replies); the
search is api.service.articles (ArticleSearchWorkflow, run by the worker that holds the knowledge base)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import Request
from fastapi.responses import PlainTextResponse, Response

from api.errors import ApiError
from api.service.articles import search_articles
from console import web
from console.session import Agent
from db.saved_replies import list_saved_replies
from db.tickets import Conn
from domain.article_search import MAX_QUERY, ArticleSearch
from domain.models import Customer, KbHit
from domain.saved_replies import fill

PASSAGE_CHARS = 1200
SEARCH_SECONDS = 5.0

router = web.new_router()


@dataclass(frozen=True)
class FilledReply:
    reply_id: int
    title: str
    body: str  # placeholders filled for this ticket


def placeholder_values(ticket_id: str, subject: str, customer: Customer | None, agent: Agent) -> dict[str, str]:
    return {
        "customer.name": customer.name if customer else "",
        "customer.first_name": customer.first_name if customer else "",
        "customer.email": customer.email if customer else "",
        "customer.company": (customer.company or "") if customer else "",
        "customer.plan": customer.plan.value if customer else "",
        "ticket.id": ticket_id,
        "ticket.subject": subject,
        "agent.name": agent.agent_id,
    }


async def saved_replies_for(
    conn: Conn, ticket_id: str, subject: str, customer: Customer | None, agent: Agent
) -> list[FilledReply]:
    values = placeholder_values(ticket_id, subject, customer, agent)
    return [FilledReply(r.reply_id, r.title, fill(r.body, values)) for r in await list_saved_replies(conn)]


def link_text(hit: KbHit) -> str:
    return f"{hit.title}: {hit.url}" if hit.url else hit.title


def passage(hit: KbHit) -> str:
    text = (hit.text or hit.snippet).strip()
    if len(text) <= PASSAGE_CHARS:
        return text
    cut = text[:PASSAGE_CHARS]
    return cut[: cut.rfind(" ")] + " …" if " " in cut else cut + " …"


@router.get("/articles")
async def articles(request: Request, q: str = "", product: str | None = None) -> Response:
    """The search results as an HTML fragment for the reply box (console.js puts it under the search field)."""
    agent = web.agent(request)
    if agent is None:
        return PlainTextResponse("sign in first", status_code=401)
    query = web.text(q, MAX_QUERY)
    context: dict[str, Any] = {"q": q.strip(), "hits": [], "error": None, "link_text": link_text, "passage": passage}
    if query is None:
        context["error"] = "Type a few words to search the help articles."
        return web.render(request, "_articles.html", status=422, **context)
    settings = web.settings(request)
    req = ArticleSearch(query=query, product=web.text(product))
    try:
        context["hits"] = await search_articles(
            web.temporal(request), settings.TEMPORAL_TASK_QUEUE, req, SEARCH_SECONDS
        )
    except ApiError as e:
        context["error"] = e.message
        return web.render(request, "_articles.html", status=e.status, **context)
    return web.render(request, "_articles.html", **context)
