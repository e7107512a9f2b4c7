"""A ticket's decision forms: each goes through api.auth.authorize and api.service.decisions.decide with the
screen's `seen_seq` / `expect_assignee`, so a stale screen is refused with the workflow's reason."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

import asyncpg
from fastapi import Request
from fastapi.responses import PlainTextResponse, RedirectResponse, Response
from pydantic import TypeAdapter, ValidationError

from api.auth import authorize
from api.errors import ApiError
from api.schemas import DecisionIn
from api.service.decisions import decide
from console import session, tickets, web
from console.session import Agent
from db import tickets as db_tickets

DECISION_KINDS = (
    "reply", "approve", "reject", "reassign", "priority", "resolve", "hand_back", "note", "tag", "recategorise",
)  # fmt: skip
_decision = TypeAdapter[Any](DecisionIn)

router = web.new_router()


def _decision_body(form: dict[str, str], agent: Agent) -> dict[str, Any]:
    kind = form.get("kind", "")
    data: dict[str, Any] = {"kind": kind, "request_id": form.get("request_id", ""), "agent_id": agent.agent_id}
    if form.get("seen_seq", "").isdigit():
        data["seen_seq"] = int(form["seen_seq"])
    if "expect_assignee" in form:
        data["expect_assignee"] = form["expect_assignee"]
    fields = {
        "reply": ("body",),
        "approve": ("action_request_id", "note", "message"),
        "reject": ("action_request_id", "note", "message"),
        "reassign": ("to",),
        "priority": ("priority", "reason"),
        "resolve": ("note",),
        "hand_back": ("note",),
        "recategorise": ("category", "reason"),
    }.get(kind, ())
    for name in fields:
        if name in form:
            data[name] = form[name]
    if kind == "note" and "note_body" in form:
        # Its own field name: a refused note comes back in the note box, never in the reply box (`draft.body`).
        data["body"] = form["note_body"]
    if kind == "tag":  # "billing, renewal  vip": typed as a list, or one tag's remove button
        for name in ("add", "remove"):
            data[name] = [t for t in re.split(r"[,\s]+", form.get(name, "")) if t]
    return data


async def _latest(pool: asyncpg.Pool, ticket_id: str) -> str:
    """Who acted last, and when: what a refused stale screen missed."""
    events = await db_tickets.get_events(pool, ticket_id)
    people = [e for e in events if e.actor and e.actor != "system"] or events
    if not people:
        return ""
    e = people[-1]
    return f" Last change: {e.kind.replace('_', ' ')} by {e.actor or 'the system'} at {web.when(e.created_at)}."


@router.post("/tickets/{ticket_id}/decide")
async def ticket_decide(request: Request, ticket_id: str) -> Response:
    agent = web.agent(request)
    if agent is None:
        return web.sign_in_redirect(request)
    form = await web.form(request)
    if not session.same_token(form.get("csrf"), agent.csrf):
        return PlainTextResponse("bad form token: reload the page", status_code=403)
    settings, pool = web.settings(request), web.pool(request)
    kind = form.get("kind", "")
    try:
        if kind not in DECISION_KINDS:
            raise ApiError(422, "invalid_decision", f"unknown decision {kind!r}")
        try:
            decision = _decision.validate_python(_decision_body(form, agent))
        except ValidationError as e:
            problems = "; ".join(f"{'.'.join(str(p) for p in err['loc'][1:])}: {err['msg']}" for err in e.errors())
            raise ApiError(422, "invalid_request", problems) from None
        await authorize(pool, settings, agent.key, ticket_id, decision)
        await decide(pool, web.temporal(request), ticket_id, decision, settings.API_DECISION_TIMEOUT_S)
    except ApiError as e:
        message = e.message
        if e.code in ("ticket_changed", "stale_request"):
            message += await _latest(pool, ticket_id)
        try:
            context = await tickets.ticket_context(request, ticket_id, agent)
        except ApiError as missing:
            return web.render(request, "error.html", status=missing.status, error=missing.message)
        return web.render(
            request, "ticket.html", status=e.status, error=f"Refused ({e.code}): {message}", draft=form, **context
        )
    return RedirectResponse(f"/console/tickets/{quote(ticket_id)}?done={kind}", status_code=303)
