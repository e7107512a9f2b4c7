"""The console's pages, mounted under /console by api/main.py.

Every page reads through the services the JSON API uses (api.service.views, db.reports, db.live) and
every decision goes through api.auth.authorize and api.service.decisions.decide with the screen's
`seen_seq` / `expect_assignee`, so the console can do nothing the signed-in agent's key could not do
with curl, and a stale screen is refused with the workflow's reason.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlencode

import asyncpg
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response, StreamingResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape
from pydantic import TypeAdapter, ValidationError
from temporalio.client import Client

from api.auth import agent_for, authorize, key_matches
from api.errors import ApiError
from api.schemas import DecisionIn
from api.service.decisions import decide
from api.service.ids import workflow_id_for
from api.service.views import summaries, ticket_view
from console import dashboard, queries, session
from console.live import Hub
from console.session import Agent
from db import actions, customers, tickets
from db.live import live_samples
from domain.models import Priority, Status
from domain.success import report_window
from settings import Settings

HERE = Path(__file__).parent
STATIC = {"console.css": "text/css", "console.js": "text/javascript"}
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}
STREAM_SECONDS = 25.0  # a stream ends after this; the browser's EventSource reconnects at once
DECISION_KINDS = ("reply", "approve", "reject", "reassign", "priority", "resolve", "hand_back")
_decision = TypeAdapter[Any](DecisionIn)

env = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(default=True))
router = APIRouter(prefix="/console", include_in_schema=False)


# --- helpers -------------------------------------------------------------------------------------------


def _settings(request: Request) -> Settings:
    s: Settings = request.app.state.settings
    return s


def _pool(request: Request) -> asyncpg.Pool:
    p: asyncpg.Pool = request.app.state.pool
    return p


def _temporal(request: Request) -> Client:
    c: Client = request.app.state.temporal
    return c


def _agent(request: Request) -> Agent | None:
    return session.read_session(_settings(request), request.cookies.get(session.COOKIE))


def _hub(request: Request) -> Hub:
    hub: Hub | None = getattr(request.app.state, "console_hub", None)
    if hub is None:
        hub = request.app.state.console_hub = Hub(_settings(request).DATABASE_URL)
    return hub


def _sign_in_redirect(request: Request) -> RedirectResponse:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/console/sign-in?next={quote(target)}", status_code=303)


def _until(t: datetime | None, now: datetime) -> str:
    """A countdown: "in 3h 12m", "overdue 5m"."""
    if t is None:
        return ""
    seconds = int((t - now).total_seconds())
    span = abs(seconds)
    d, h, m = span // 86400, span % 86400 // 3600, span % 3600 // 60
    text = f"{d}d {h}h" if d else f"{h}h {m}m" if h else f"{m}m {span % 60}s" if m < 10 else f"{m}m"
    return f"in {text}" if seconds >= 0 else f"overdue {text}"


def _iso(t: datetime | None) -> str:
    return t.astimezone(UTC).isoformat() if t else ""


def _when(t: datetime | None) -> str:
    return t.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC") if t else ""


env.filters["iso"] = _iso
env.filters["when"] = _when
env.globals["fmt"] = dashboard.fmt


def render(request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    settings = _settings(request)
    context.setdefault("agent", _agent(request))
    context.setdefault("demo", settings.AGENT_KEYS is None)
    context.setdefault("now", datetime.now(UTC))
    context.setdefault("until", _until)
    html = env.get_template(template).render(request=request, **context)
    return HTMLResponse(html, status_code=status, headers=SECURITY_HEADERS)


async def _form(request: Request) -> dict[str, str]:
    """An application/x-www-form-urlencoded body, first value of each field (no multipart here)."""
    parsed = parse_qs((await request.body()).decode("utf-8", "replace"), keep_blank_values=True)
    return {k: v[0] for k, v in parsed.items()}


def _text(value: str | None, limit: int = 100) -> str | None:
    value = (value or "").strip()
    return value[:limit] if value and "\x00" not in value else None


# --- assets, sign-in ----------------------------------------------------------------------------------


@router.get("")
async def home() -> RedirectResponse:
    return RedirectResponse("/console/queue", status_code=303)


@router.get("/static/{name}")
async def static(name: str) -> Response:
    if name not in STATIC:
        return PlainTextResponse("not found", status_code=404)
    return Response(
        (HERE / "static" / name).read_bytes(), media_type=STATIC[name], headers={"Cache-Control": "max-age=300"}
    )


def _safe_next(target: str | None) -> str:
    return target if target and target.startswith("/console") and not target.startswith("//") else "/console/queue"


@router.get("/sign-in")
async def sign_in_page(request: Request, next: str | None = None, error: str | None = None) -> HTMLResponse:
    token = uuid.uuid4().hex
    response = render(
        request, "sign_in.html", status=401 if error else 200, token=token, next=_safe_next(next), error=error,
        settings=_settings(request), agent=None,
    )  # fmt: skip
    response.set_cookie(
        session.LOGIN_COOKIE, token, httponly=True, samesite="strict", path="/console", max_age=3600,
        secure=request.url.scheme == "https",
    )  # fmt: skip
    return response


@router.post("/sign-in")
async def sign_in(request: Request) -> Response:
    settings = _settings(request)
    form = await _form(request)
    target = _safe_next(form.get("next"))
    if not session.same_token(form.get("csrf"), request.cookies.get(session.LOGIN_COOKIE)):
        return await sign_in_page(request, target, "The sign-in form expired; try again.")
    key = form.get("key", "").strip()
    if settings.AGENT_KEYS is not None:
        entry = agent_for(settings, key) if key else None
        if entry is None:
            return await sign_in_page(request, target, "Not an agent's key.")
        agent_id = entry.agent_id
    else:  # local demo: a name; with API_KEY set, that key as well
        if settings.API_KEY is not None and not key_matches(key, settings.API_KEY):
            return await sign_in_page(request, target, "Wrong API key.")
        name = _text(form.get("name"))
        if name is None:
            return await sign_in_page(request, target, "Give your name.")
        agent_id, entry = name, None
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        session.COOKIE, session.new_session(settings, agent_id, entry), httponly=True, samesite="strict",
        path="/", max_age=int(settings.CONSOLE_SESSION_HOURS * 3600), secure=request.url.scheme == "https",
    )  # fmt: skip
    response.delete_cookie(session.LOGIN_COOKIE, path="/console")
    return response


@router.post("/sign-out")
async def sign_out(request: Request) -> Response:
    agent = _agent(request)
    form = await _form(request)
    if agent is not None and not session.same_token(form.get("csrf"), agent.csrf):
        return PlainTextResponse("bad form token", status_code=403)
    response = RedirectResponse("/console/sign-in", status_code=303)
    response.delete_cookie(session.COOKIE, path="/")
    return response


# --- the queue ----------------------------------------------------------------------------------------


def _filters(request: Request) -> queries.Filters:
    q = request.query_params
    status = q.get("status") if q.get("status") in {s.value for s in Status} else None
    priority = q.get("priority") if q.get("priority") in {p.value for p in Priority} else None
    return queries.Filters(
        status=status, priority=priority, category=_text(q.get("category")), channel=_text(q.get("channel")),
        product=_text(q.get("product")), customer=_text(q.get("customer"), 64),
    )  # fmt: skip


@router.get("/queue")
async def queue(request: Request) -> Response:
    agent = _agent(request)
    if agent is None:
        return _sign_in_redirect(request)
    view = request.query_params.get("view") or "mine"
    if view not in queries.VIEWS:
        view = "mine"
    f = _filters(request)
    pool = _pool(request)
    async with pool.acquire() as conn:
        rows = await queries.view_rows(conn, view, f, agent.agent_id)
        counts = await queries.view_counts(conn, f, agent.agent_id)
        choices = await queries.choices(conn)
        items = await summaries(conn, rows)
    links = {name: "/console/queue?" + urlencode({"view": name, **f.query()}) for name in queries.VIEWS}
    return render(
        request, "queue.html", view=view, views=queries.VIEWS, counts=counts, items=items, filters=f,
        links=links, choices=choices, statuses=[s.value for s in Status], priorities=[p.value for p in Priority],
        stream="/console/stream",
    )  # fmt: skip


# --- a ticket -----------------------------------------------------------------------------------------


async def _ticket_context(request: Request, ticket_id: str, agent: Agent) -> dict[str, Any]:
    settings, pool = _settings(request), _pool(request)
    t = await ticket_view(pool, _temporal(request), ticket_id, settings.API_QUERY_TIMEOUT_S)
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
        "temporal_url": f"{ui.rstrip('/')}/namespaces/{settings.TEMPORAL_NAMESPACE}/workflows/"
        + quote(workflow_id_for(ticket_id)),
        "stream": f"/console/stream?ticket={quote(ticket_id)}",
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
    }.get(kind or "")


@router.get("/tickets/{ticket_id}")
async def ticket_page(request: Request, ticket_id: str, done: str | None = None) -> Response:
    agent = _agent(request)
    if agent is None:
        return _sign_in_redirect(request)
    try:
        context = await _ticket_context(request, ticket_id, agent)
    except ApiError as e:
        return render(request, "error.html", status=e.status, error=e.message)
    return render(request, "ticket.html", notice=_done_text(done), **context)


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
    }.get(kind, ())
    for name in fields:
        if name in form:
            data[name] = form[name]
    return data


async def _latest(pool: asyncpg.Pool, ticket_id: str) -> str:
    """Who acted last, and when: what a refused stale screen missed."""
    events = await tickets.get_events(pool, ticket_id)
    people = [e for e in events if e.actor and e.actor != "system"] or events
    if not people:
        return ""
    e = people[-1]
    return f" Last change: {e.kind.replace('_', ' ')} by {e.actor or 'the system'} at {_when(e.created_at)}."


@router.post("/tickets/{ticket_id}/decide")
async def ticket_decide(request: Request, ticket_id: str) -> Response:
    agent = _agent(request)
    if agent is None:
        return _sign_in_redirect(request)
    form = await _form(request)
    if not session.same_token(form.get("csrf"), agent.csrf):
        return PlainTextResponse("bad form token: reload the page", status_code=403)
    settings, pool = _settings(request), _pool(request)
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
        await decide(pool, _temporal(request), ticket_id, decision, settings.API_DECISION_TIMEOUT_S)
    except ApiError as e:
        message = e.message
        if e.code in ("ticket_changed", "stale_request"):
            message += await _latest(pool, ticket_id)
        try:
            context = await _ticket_context(request, ticket_id, agent)
        except ApiError as missing:
            return render(request, "error.html", status=missing.status, error=missing.message)
        return render(
            request, "ticket.html", status=e.status, error=f"Refused ({e.code}): {message}", draft=form, **context
        )
    return RedirectResponse(f"/console/tickets/{quote(ticket_id)}?done={kind}", status_code=303)


# --- live updates -------------------------------------------------------------------------------------


@router.get("/stream")
async def stream(request: Request, ticket: str | None = None) -> Response:
    """Server-sent events: `change` with the ticket id whenever a ticket (or this one) changes in the store."""
    if _agent(request) is None:
        return PlainTextResponse("sign in first", status_code=401)
    hub = _hub(request)
    queue = await hub.subscribe()

    async def events() -> AsyncIterator[str]:
        try:
            yield "retry: 1000\nevent: ready\ndata: listening\n\n"
            end = time.monotonic() + STREAM_SECONDS
            while time.monotonic() < end and not await request.is_disconnected():
                try:
                    changed = await asyncio.wait_for(queue.get(), timeout=5)
                except TimeoutError:
                    yield ": keep-alive\n\n"
                    continue
                ids = {changed}
                await asyncio.sleep(0.25)  # gather a burst (a decision writes several rows) into one event
                while not queue.empty():
                    ids.add(queue.get_nowait())
                if ticket is None or ticket in ids:
                    yield f"event: change\ndata: {' '.join(sorted(ids))}\n\n"
        finally:
            with contextlib.suppress(Exception):
                await hub.unsubscribe(queue)

    return StreamingResponse(
        events(), media_type="text/event-stream", headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
    )


# --- the team lead's dashboard ------------------------------------------------------------------------


def _window(request: Request) -> tuple[datetime, datetime, str | None, str | None]:
    q = request.query_params
    since = datetime.fromisoformat(q["since"]) if q.get("since") else None
    until = datetime.fromisoformat(q["until"]) if q.get("until") else None
    days = int(q["days"]) if q.get("days") else (None if since else 7)
    if days is not None and not 1 <= days <= 366:
        raise ValueError("days must be 1 to 366")
    start, end = report_window(since, until, days, datetime.now(UTC))
    return start, end, _text(q.get("channel")), _text(q.get("product"))


@router.get("/dashboard")
async def dashboard_page(request: Request) -> Response:
    agent = _agent(request)
    if agent is None:
        return _sign_in_redirect(request)
    try:
        since, until, channel, product = _window(request)
    except ValueError as e:
        return render(request, "error.html", status=422, error=f"Window: {e}")
    pool = _pool(request)
    async with pool.acquire() as conn:
        current, previous, rows, per_bucket = await dashboard.build(conn, since, until, channel, product)
        floor = dashboard.floor(await live_samples(conn, datetime.now(UTC)))
    days = request.query_params.get("days") or ("" if request.query_params.get("since") else "7")
    query = {"since": since.isoformat(), "until": until.isoformat(), **({"channel": channel} if channel else {})}
    if product:
        query["product"] = product
    return render(
        request, "dashboard.html", report=current, previous=previous, rows=rows, per_bucket=per_bucket, floor=floor,
        since=since, until=until, channel=channel, product=product, days=days,
        csv_query=urlencode(query), stream="/console/stream",
    )  # fmt: skip


@router.get("/dashboard.csv")
async def dashboard_csv(request: Request, table: str = "metrics") -> Response:
    if _agent(request) is None:
        return PlainTextResponse("sign in first", status_code=401)
    try:
        since, until, channel, product = _window(request)
    except ValueError as e:
        return PlainTextResponse(str(e), status_code=422)
    pool = _pool(request)
    async with pool.acquire() as conn:
        if table == "floor":
            floor = dashboard.floor(await live_samples(conn, datetime.now(UTC)))
            body = dashboard.to_csv(
                ["table", "what", "value"], [[n, k, v] for n, rows in floor.items() for k, v in rows]
            )
        elif table in ("metrics", "daily"):
            _, _, rows, per_bucket = await dashboard.build(conn, since, until, channel, product)
            if table == "metrics":
                body = dashboard.to_csv(
                    ["metric", "value", "target", "met", "previous", "trend", "basis"],
                    [[r.metric.name, r.metric.value, r.metric.target, r.metric.met, r.previous, r.trend, r.metric.basis]
                     for r in rows],
                )  # fmt: skip
            else:
                names = [r.metric.name for r in rows]
                body = dashboard.to_csv(
                    ["period_start", "tickets", "resolved", *names],
                    [[start.date().isoformat(), rep.tickets, rep.resolved, *(m.value for m in rep.metrics)]
                     for start, rep in per_bucket],
                )  # fmt: skip
        else:
            return PlainTextResponse("table is metrics, daily or floor", status_code=422)
    name = f"{table}-{since:%Y%m%d}-{until:%Y%m%d}.csv"
    return Response(
        body, media_type="text/csv; charset=utf-8", headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )
