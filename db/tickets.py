"""Ticket store queries: tickets, their messages and events.

Writes are keyed by natural keys (ticket id, message seq, event key) so that an activity retried by
Temporal after a crash changes nothing the second time.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import asyncpg
from asyncpg.pool import PoolConnectionProxy
from pydantic import BaseModel

from domain.models import Citation

Conn = asyncpg.Pool | asyncpg.Connection | PoolConnectionProxy

INSERT_TICKET = """
INSERT INTO tickets (ticket_id, workflow_id, customer_id, channel, subject, status, created_at)
VALUES ($1, $2, $3, $4, $5, $6, $7)
ON CONFLICT (ticket_id) DO NOTHING
"""
UPDATE_TRIAGE = """
UPDATE tickets SET category = $2, priority = $3, sentiment = $4,
    first_response_due = $5, resolution_due = $6, updated_at = now()
WHERE ticket_id = $1
"""
UPDATE_STATUS = """
UPDATE tickets SET status = $2, assigned_agent = coalesce($3, assigned_agent),
    escalated = escalated OR $4, escalation_reason = coalesce($5, escalation_reason),
    resolved_at = CASE WHEN $2 IN ('resolved', 'closed') THEN coalesce(resolved_at, $6) ELSE resolved_at END,
    updated_at = now()
WHERE ticket_id = $1
"""
INSERT_MESSAGE = """
INSERT INTO messages (ticket_id, seq, sender, author, body, sentiment, citations, created_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
ON CONFLICT (ticket_id, seq) DO NOTHING
"""
MARK_RESPONSE = """
UPDATE tickets SET first_response_at = coalesce(first_response_at, $2), assigned_agent = $3, updated_at = now()
WHERE ticket_id = $1
"""
INSERT_EVENT = """
INSERT INTO ticket_events (ticket_id, event_key, kind, data, created_at)
VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (ticket_id, event_key) DO NOTHING
"""
GET_TICKET = "SELECT * FROM tickets WHERE ticket_id = $1"
GET_MESSAGES = "SELECT * FROM messages WHERE ticket_id = $1 ORDER BY seq"
GET_EVENTS = "SELECT * FROM ticket_events WHERE ticket_id = $1 ORDER BY created_at, event_key"


class MessageRecord(BaseModel):
    seq: int
    sender: str
    author: str
    body: str
    sentiment: str | None
    citations: list[Citation]
    created_at: datetime


class TicketRecord(BaseModel):
    ticket_id: str
    workflow_id: str
    customer_id: str
    channel: str
    subject: str
    status: str
    category: str | None
    priority: str | None
    sentiment: str | None
    escalated: bool
    escalation_reason: str | None
    assigned_agent: str | None
    created_at: datetime
    first_response_at: datetime | None
    first_response_due: datetime | None
    resolution_due: datetime | None
    resolved_at: datetime | None
    updated_at: datetime


class EventRecord(BaseModel):
    event_key: str
    kind: str
    data: dict[str, Any]
    created_at: datetime


async def insert_ticket(
    conn: Conn,
    *,
    ticket_id: str,
    workflow_id: str,
    customer_id: str,
    channel: str,
    subject: str,
    status: str,
    created_at: datetime,
) -> None:
    await conn.execute(INSERT_TICKET, ticket_id, workflow_id, customer_id, channel, subject, status, created_at)


async def update_triage(
    conn: Conn,
    ticket_id: str,
    *,
    category: str,
    priority: str,
    sentiment: str,
    first_response_due: datetime,
    resolution_due: datetime,
) -> None:
    await conn.execute(UPDATE_TRIAGE, ticket_id, category, priority, sentiment, first_response_due, resolution_due)


async def update_status(
    conn: Conn,
    ticket_id: str,
    status: str,
    *,
    at: datetime,
    assigned_agent: str | None = None,
    escalated: bool = False,
    escalation_reason: str | None = None,
) -> None:
    await conn.execute(UPDATE_STATUS, ticket_id, status, assigned_agent, escalated, escalation_reason, at)


async def insert_message(
    conn: Conn,
    ticket_id: str,
    *,
    seq: int,
    sender: str,
    author: str,
    body: str,
    sentiment: str | None,
    citations: list[Citation],
    created_at: datetime,
) -> bool:
    """Store one message; False when it was already stored (a retry)."""
    status = await conn.execute(
        INSERT_MESSAGE,
        ticket_id,
        seq,
        sender,
        author,
        body,
        sentiment,
        [c.model_dump() for c in citations],
        created_at,
    )
    return status.endswith(" 1")


async def mark_response(conn: Conn, ticket_id: str, at: datetime, responder: str) -> None:
    """A reply went out: the first one sets the first-response time; the replier owns the ticket now."""
    await conn.execute(MARK_RESPONSE, ticket_id, at, responder)


async def insert_event(
    conn: Conn,
    ticket_id: str,
    *,
    event_key: str,
    kind: str,
    data: dict[str, Any],
    created_at: datetime,
) -> None:
    await conn.execute(INSERT_EVENT, ticket_id, event_key, kind, data, created_at)


async def get_ticket(conn: Conn, ticket_id: str) -> TicketRecord | None:
    row = await conn.fetchrow(GET_TICKET, ticket_id)
    return None if row is None else TicketRecord.model_validate(dict(row))


async def get_messages(conn: Conn, ticket_id: str) -> list[MessageRecord]:
    return [MessageRecord.model_validate(dict(r)) for r in await conn.fetch(GET_MESSAGES, ticket_id)]


async def get_events(conn: Conn, ticket_id: str) -> list[EventRecord]:
    return [EventRecord.model_validate(dict(r)) for r in await conn.fetch(GET_EVENTS, ticket_id)]


async def list_tickets(
    conn: Conn,
    *,
    status: str | None = None,
    priority: str | None = None,
    customer_id: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> list[TicketRecord]:
    rows = await conn.fetch(
        """
        SELECT * FROM tickets
        WHERE ($1::text IS NULL OR status = $1) AND ($2::text IS NULL OR priority = $2)
          AND ($3::text IS NULL OR customer_id = $3)
        ORDER BY created_at DESC, ticket_id LIMIT $4 OFFSET $5
        """,
        status,
        priority,
        customer_id,
        limit,
        offset,
    )
    return [TicketRecord.model_validate(dict(r)) for r in rows]
