"""Tickets: open one (starts its workflow), read it, add a customer follow-up, list them.

Thin: each route parses the request, calls the ticket service (api/service/) and shapes its answer.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Response

from api.deps import PoolDep, SettingsDep, TemporalDep
from api.roles import answers
from api.schemas import (
    MessageAccepted,
    MessageIn,
    MessageOut,
    MessagesAfter,
    TicketCreated,
    TicketFilters,
    TicketIn,
    TicketOut,
    TicketSummary,
)
from api.service import tickets as service
from api.service.ids import check_ticket_id, workflow_id_for
from api.service.views import messages_after, summaries, ticket_view
from db import tickets

router = APIRouter(prefix="/tickets", tags=["tickets"])


def _answers(method: str, path: str, also: int) -> dict[int | str, dict[str, Any]]:
    """The matrix's errors, and the other success this endpoint has (a repeat, a follow-up ticket)."""
    return {also: {"model": _SUCCESS[(method, also)]}, **answers(method, path)}


_SUCCESS: dict[tuple[str, int], Any] = {("POST", 200): TicketCreated, ("POST", 201): MessageAccepted}


@router.post("", status_code=201, response_model=TicketCreated, responses=_answers("POST", "/tickets", 200))
async def open_ticket(
    body: TicketIn,
    response: Response,
    pool: PoolDep,
    temporal: TemporalDep,
    settings: SettingsDep,
    idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
) -> TicketCreated:
    opened = await service.open_ticket(pool, temporal, settings, body, body.idempotency_key or idempotency_key)
    if not opened.created:
        response.status_code = 200
    return TicketCreated(
        ticket_id=opened.ticket_id,
        workflow_id=workflow_id_for(opened.ticket_id),
        status=opened.status,
        created=opened.created,
    )


@router.get("/{ticket_id}", response_model=TicketOut, responses=answers("GET", "/tickets/{ticket_id}"))
async def get_ticket(ticket_id: str, pool: PoolDep, temporal: TemporalDep, settings: SettingsDep) -> TicketOut:
    check_ticket_id(ticket_id)
    return await ticket_view(pool, temporal, ticket_id, settings.API_QUERY_TIMEOUT_S)


@router.post(
    "/{ticket_id}/messages",
    status_code=202,
    response_model=MessageAccepted,
    responses=_answers("POST", "/tickets/{ticket_id}/messages", 201),
)
async def add_message(
    ticket_id: str,
    body: MessageIn,
    response: Response,
    pool: PoolDep,
    temporal: TemporalDep,
    settings: SettingsDep,
    idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
) -> MessageAccepted:
    """A customer follow-up. On a closed ticket it opens a new ticket linked to the old one (201)."""
    check_ticket_id(ticket_id)
    done = await service.add_message(pool, temporal, settings, ticket_id, body.body, body.message_id or idempotency_key)
    if done.opened:
        response.status_code = 201
    return MessageAccepted(ticket_id=done.ticket_id, message_id=done.message_id, follows_up=done.follows_up)


@router.get(
    "/{ticket_id}/messages", response_model=list[MessageOut], responses=answers("GET", "/tickets/{ticket_id}/messages")
)
async def list_messages(
    ticket_id: str, pool: PoolDep, temporal: TemporalDep, f: Annotated[MessagesAfter, Query()]
) -> list[MessageOut]:
    """The ticket's messages with seq > after_seq, in order (at most `limit`): what a polling channel
    adapter reads, passing the last seq it has seen. Customer messages are included; `sender` tells."""
    check_ticket_id(ticket_id)
    return await messages_after(pool, temporal, ticket_id, f.after_seq, f.limit)


@router.get("", response_model=list[TicketSummary], responses=answers("GET", "/tickets"))
async def list_tickets(pool: PoolDep, f: Annotated[TicketFilters, Query()]) -> list[TicketSummary]:
    rows = await tickets.list_tickets(
        pool,
        status=f.status.value if f.status else None,
        priority=f.priority.value if f.priority else None,
        customer_id=f.customer_id,
        product=f.product,
        category=f.category.value if f.category else None,
        tag=f.tag,
        limit=f.limit,
        offset=f.offset,
    )
    return await summaries(pool, rows)
