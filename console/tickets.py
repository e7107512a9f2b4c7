"""The queue (its views and filters) and a ticket's page, read through the services the JSON API uses."""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import Request
from fastapi.responses import Response

from api.errors import ApiError
from api.service.ids import workflow_id_for
from api.service.views import summaries, ticket_view
from console import queries, reply_tools, web
from console.session import Agent
from db import actions, customers, tickets, viewers
from domain.models import Category, Priority, Status

router = web.new_router()


def _filters(request: Request) -> queries.Filters:
    q = request.query_params
    status = q.get("status") if q.get("status") in {s.value for s in Status} else None
    priority = q.get("priority") if q.get("priority") in {p.value for p in Priority} else None
    return queries.Filters(
        status=status, priority=priority, category=web.text(q.get("category")), channel=web.text(q.get("channel")),
        product=web.text(q.get("product")), customer=web.text(q.get("customer"), 64),
        tag=web.text((q.get("tag") or "").strip().lower() or None, 40),
    )  # fmt: skip


@router.get("/queue")
async def queue(request: Request) -> Response:
    agent = web.agent(request)
    if agent is None:
        return web.sign_in_redirect(request)
    view = request.query_params.get("view") or "mine"
    if view not in queries.VIEWS:
        view = "mine"
    f = _filters(request)
    pool = web.pool(request)
    async with pool.acquire() as conn:
        rows = await queries.view_rows(conn, view, f, agent.agent_id)
        counts = await queries.view_counts(conn, f, agent.agent_id)
        choices = await queries.choices(conn)
        items = await summaries(conn, rows)
    links = {name: "/console/queue?" + urlencode({"view": name, **f.query()}) for name in queries.VIEWS}
    return web.render(
        request, "queue.html", view=view, views=queries.VIEWS, counts=counts, items=items, filters=f,
        links=links, choices=choices, statuses=[s.value for s in Status], priorities=[p.value for p in Priority],
        stream="/console/stream",
    )  # fmt: skip


async def ticket_context(request: Request, ticket_id: str, agent: Agent) -> dict[str, Any]:
    settings, pool = web.settings(request), web.pool(request)
    t = await ticket_view(pool, web.temporal(request), ticket_id, settings.API_QUERY_TIMEOUT_S)
    events = await tickets.get_events(pool, ticket_id)
    done = await actions.list_actions(pool, ticket_id)
    bugs = await actions.list_bug_reports(pool, ticket_id)
    customer = await customers.get_customer(pool, t.customer_id, stats=True)
    history = [
        r for r in await tickets.list_tickets(pool, customer_id=t.customer_id, limit=11) if r.ticket_id != ticket_id
    ]
    timeline: list[dict[str, Any]] = [{"type": "message", "at": m.created_at, "m": m} for m in t.messages]
    timeline += [{"type": "event", "at": e.created_at, "e": e} for e in events]
    timeline.sort(key=lambda item: item["at"])
    held_by = t.assigned_human if t.owner == "human" else None
    clocks = [
        ("First response", t.first_response_due, t.first_response_at),
        ("Next reply", t.next_reply_due, None),
        ("Resolution", t.resolution_due, t.resolved_at),
    ]
    ui = settings.CONSOLE_TEMPORAL_UI_URL or f"http://127.0.0.1:{settings.TEMPORAL_UI_PORT}"
    return {
        "t": t,
        "timeline": timeline,
        "actions_done": done,
        "bugs": bugs,
        "customer": customer,
        "history": history,
        "seen_seq": max((m.seq for m in t.messages), default=0),
        "expect_assignee": held_by or "",
        "held_by": held_by,
        "clocks": clocks,
        "can_act": agent.can_act(settings) and t.status not in ("closed",),
        "can_approve": {a.action_request_id: agent.can_approve(settings, a.routed_to) for a in t.pending_actions},
        "rid": lambda: uuid.uuid4().hex,
        "priorities": [p.value for p in Priority],
        "categories": [c.value for c in Category],
        "temporal_url": f"{ui.rstrip('/')}/namespaces/{settings.TEMPORAL_NAMESPACE}/workflows/"
        + quote(workflow_id_for(ticket_id)),
        "stream": f"/console/stream?ticket={quote(ticket_id)}",
        # the reply box's saved replies, filled for this ticket; who else has it open (console/presence.py)
        "saved_replies": await reply_tools.saved_replies_for(pool, ticket_id, t.subject, customer, agent),
        "others_viewing": [v for v in await viewers.viewers(pool, ticket_id) if v != agent.agent_id],
        "heartbeat_s": viewers.HEARTBEAT_S,
    }


def _done_text(kind: str | None) -> str | None:
    return {
        "reply": "Reply sent to the customer.",
        "approve": "Approved.",
        "reject": "Rejected.",
        "reassign": "Reassigned.",
        "priority": "Priority changed.",
        "resolve": "Resolved.",
        "hand_back": "Handed back to the agents.",
        "note": "Internal note added. The customer does not see it.",
        "tag": "Tags updated.",
        "recategorise": "Category changed.",
    }.get(kind or "")


@router.get("/tickets/{ticket_id}")
async def ticket_page(request: Request, ticket_id: str, done: str | None = None) -> Response:
    agent = web.agent(request)
    if agent is None:
        return web.sign_in_redirect(request)
    try:
        context = await ticket_context(request, ticket_id, agent)
    except ApiError as e:
        return web.render(request, "error.html", status=e.status, error=e.message)
    return web.render(request, "ticket.html", notice=_done_text(done), **context)
