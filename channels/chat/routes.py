"""The chat widget's endpoints. Public (no API key): each call carries the visitor's signed token.

* `GET /chat/widget.js`: the widget (one `<script src=".../chat/widget.js" data-token="…">` tag);
* `GET /chat/page?token=…`: a page holding only the widget (a host site can link to it or frame it);
* `GET /chat/session?token=…`: the visitor's current chat ticket, if any;
* `POST /chat/messages`: the visitor writes: a new chat ticket (channel=chat), or a message on theirs,
  through the same ticket service as `POST /tickets` (limits, idempotency, follow-ups);
* `GET /chat/stream?token=…&ticket_id=…&after_seq=…`: server-sent events: each message (`id:` its seq,
  so a reconnecting browser resumes after the last one it saw via `Last-Event-ID`), `handover` when
  a person takes the ticket over, and `typing` (`{"typing": true|false}`) while a streaming model
  writes the agents' reply. Only that it is being written: the visitor reads the reply once the output
  guard has passed it whole and it is stored (docs/channels.md#live-reply-drafts).

A token names one customer; a ticket of anyone else is 403, whatever its id.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator
from importlib import resources
from typing import Annotated

import asyncpg
from fastapi import APIRouter, Header, Query, Request, Response
from fastapi.responses import HTMLResponse, StreamingResponse
from pydantic import BaseModel, Field

from api.deps import PoolDep, SettingsDep, TemporalDep
from api.errors import ApiError
from api.schemas import MAX_BODY, ApiModel, TicketIn
from api.service import tickets as service
from api.service.ids import check_ticket_id
from channels.chat.tokens import InvalidToken, Visitor, verify_token
from db import tickets
from db.drafts import DraftEvent, listener_on
from domain.models import Channel
from settings import Settings

router = APIRouter(prefix="/chat", tags=["chat"])

HANDOVER_TEXT = "A person will take over this conversation and reply here."
ROW_WAIT_S = 5.0  # a ticket just opened is stored by its workflow's first activity, a moment later
KEEPALIVE_S = 15.0
# Any site may embed the widget: the token, not a cookie, says who the visitor is.
CORS = {
    "access-control-allow-origin": "*",
    "access-control-allow-headers": "content-type, last-event-id",
    "access-control-allow-methods": "GET, POST, OPTIONS",
}
CURRENT_CHAT = """
SELECT ticket_id FROM tickets WHERE customer_id = $1 AND channel = 'chat' AND status <> 'closed'
ORDER BY created_at DESC LIMIT 1
"""


def visitor_of(token: str, settings: Settings) -> Visitor:
    if settings.CHAT_SIGNING_SECRET is None:
        raise ApiError(503, "chat_disabled", "the chat is not configured (CHAT_SIGNING_SECRET)")
    try:
        return verify_token(settings.CHAT_SIGNING_SECRET.get_secret_value(), token)
    except InvalidToken as e:
        raise ApiError(401, "invalid_token", str(e), CORS) from None


async def own_ticket(pool: tickets.Conn, visitor: Visitor, ticket_id: str | None) -> tickets.TicketRecord | None:
    """The visitor's ticket `ticket_id` (403 when it is someone else's), or their current chat ticket."""
    if ticket_id is None:
        current = await pool.fetchval(CURRENT_CHAT, visitor.customer_id)
        return None if current is None else await tickets.get_ticket(pool, current)
    check_ticket_id(ticket_id)
    deadline = time.monotonic() + ROW_WAIT_S
    while (row := await tickets.get_ticket(pool, ticket_id)) is None and time.monotonic() < deadline:  # noqa: ASYNC110 - a row, not an event
        await asyncio.sleep(0.1)
    if row is None:
        raise ApiError(404, "not_found", f"no ticket {ticket_id}", CORS)
    if row.customer_id != visitor.customer_id:
        raise ApiError(403, "forbidden", "this chat belongs to another visitor", CORS)
    return row


class ChatMessageIn(ApiModel):
    token: str = Field(min_length=1, max_length=2048)
    body: str = Field(min_length=1, max_length=MAX_BODY)
    ticket_id: str | None = Field(default=None, min_length=1, max_length=100)
    # The widget's id for this message: a retried POST is taken once.
    message_id: str | None = Field(default=None, min_length=1, max_length=200)


class ChatMessageAccepted(BaseModel):
    ticket_id: str
    message_id: str | None
    opened: bool  # this message opened the ticket


class ChatSession(BaseModel):
    ticket_id: str | None
    customer_id: str


@router.options("/{path:path}", include_in_schema=False)
async def preflight() -> Response:
    return Response(status_code=204, headers=CORS)


@router.get("/widget.js", include_in_schema=False)
async def widget_js() -> Response:
    js = resources.files("channels.chat").joinpath("widget.js").read_text(encoding="utf-8")
    return Response(js, media_type="text/javascript", headers={"cache-control": "public, max-age=300", **CORS})


@router.get("/page", response_class=HTMLResponse, include_in_schema=False)
async def page(token: Annotated[str, Query(max_length=2048)]) -> HTMLResponse:
    safe = json.dumps(token)[1:-1].replace("<", "\\u003c").replace('"', "&quot;")
    return HTMLResponse(
        "<!doctype html><html lang=en><head><meta charset=utf-8><title>Support chat</title>"
        '<meta name=viewport content="width=device-width, initial-scale=1"></head><body>'
        f'<script src="/chat/widget.js" data-token="{safe}" data-open="true"></script></body></html>'
    )


@router.get("/session", response_model=ChatSession)
async def session(
    response: Response, pool: PoolDep, settings: SettingsDep, token: Annotated[str, Query(max_length=2048)]
) -> ChatSession:
    visitor = visitor_of(token, settings)
    row = await own_ticket(pool, visitor, None)
    response.headers.update(CORS)
    return ChatSession(ticket_id=row.ticket_id if row else None, customer_id=visitor.customer_id)


@router.post("/messages", response_model=ChatMessageAccepted)
async def write(
    body: ChatMessageIn, response: Response, pool: PoolDep, temporal: TemporalDep, settings: SettingsDep
) -> ChatMessageAccepted:
    visitor = visitor_of(body.token, settings)
    response.headers.update(CORS)
    row = await own_ticket(pool, visitor, body.ticket_id)
    if row is None:
        subject = " ".join(body.body.split())[:80]
        opened = await service.open_ticket(
            pool, temporal, settings,
            TicketIn(customer_id=visitor.customer_id, channel=Channel.CHAT, subject=subject, body=body.body),
            f"chat:{body.message_id}" if body.message_id else None,
        )  # fmt: skip
        return ChatMessageAccepted(ticket_id=opened.ticket_id, message_id=body.message_id, opened=True)
    done = await service.add_message(pool, temporal, settings, row.ticket_id, body.body, body.message_id)
    return ChatMessageAccepted(ticket_id=done.ticket_id, message_id=done.message_id, opened=done.opened)


async def _typing_during(drafts: asyncio.Queue[DraftEvent] | None, wait_s: float, typing: bool) -> bool:
    """Wait up to `wait_s` for the ticket's drafts; whether the agents are writing a reply afterwards.
    The drafts' text is never read here: a visitor sees only the final, guarded reply."""
    if drafts is None:
        await asyncio.sleep(wait_s)
        return False
    try:
        event = await asyncio.wait_for(drafts.get(), timeout=wait_s)
    except TimeoutError:
        return typing
    while not drafts.empty():  # the newest draft says where the turn is
        event = drafts.get_nowait()
    return event.state == "typing"


def _sse(event: str, data: object, event_id: int | None = None) -> str:
    head = f"id: {event_id}\n" if event_id is not None else ""
    return f"{head}event: {event}\ndata: {json.dumps(data, default=str)}\n\n"


@router.get("/stream")
async def stream(
    request: Request,
    pool: PoolDep,
    settings: SettingsDep,
    token: Annotated[str, Query(max_length=2048)],
    ticket_id: Annotated[str | None, Query(max_length=100)] = None,
    after_seq: Annotated[int, Query(ge=0)] = 0,
    last_event_id: Annotated[str | None, Header(max_length=20)] = None,
) -> StreamingResponse:
    visitor = visitor_of(token, settings)
    row = await own_ticket(pool, visitor, ticket_id)
    if row is None:
        raise ApiError(404, "no_chat", "this visitor has no chat yet: write first", CORS)
    tid = row.ticket_id
    start = int(last_event_id) if last_event_id and last_event_id.isdigit() else after_seq
    poll, lifetime = settings.CHAT_POLL_S, settings.CHAT_STREAM_MAX_S

    listener = listener_on(request.app.state, settings.DATABASE_URL)

    async def events() -> AsyncIterator[str]:
        # Listening before the first event: once a client has it, no typing event of this ticket is missed.
        try:
            drafts: asyncio.Queue[DraftEvent] | None = await listener.subscribe(tid)
        except (TimeoutError, OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
            drafts = None  # no live typing indicator: the messages still arrive
        yield f"retry: 1000\n\n{_sse('ticket', {'ticket_id': tid})}"
        seq, handed, typing, began = start, False, False, time.monotonic()
        quiet_since = began
        try:
            while time.monotonic() - began < lifetime and not await request.is_disconnected():
                async with pool.acquire() as conn:
                    new = await tickets.get_messages_after(conn, tid, seq, 100)
                    t = await tickets.get_ticket(conn, tid)
                for m in new:
                    if typing and m.sender != "customer":
                        typing = False
                        yield _sse("typing", {"typing": False})
                    yield _sse("message", {**m.model_dump(mode="json", include={"seq", "sender", "author", "body",
                                                                              "created_at"})}, m.seq)  # fmt: skip
                    seq, quiet_since = m.seq, time.monotonic()
                if t is not None and not handed and (t.escalated or t.owner == "human"):
                    handed = True
                    yield _sse("handover", {"text": HANDOVER_TEXT, "reason": t.escalation_reason})
                if time.monotonic() - quiet_since > KEEPALIVE_S:
                    quiet_since = time.monotonic()
                    yield ": keep-alive\n\n"
                now_typing = await _typing_during(drafts, poll, typing)
                if now_typing != typing:
                    typing, quiet_since = now_typing, time.monotonic()
                    yield _sse("typing", {"typing": typing})
        finally:
            if drafts is not None:
                with contextlib.suppress(Exception):
                    await listener.unsubscribe(tid, drafts)

    return StreamingResponse(
        events(), media_type="text/event-stream",
        headers={"cache-control": "no-cache", "x-accel-buffering": "no", **CORS},
    )  # fmt: skip
