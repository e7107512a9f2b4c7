"""Ticket store queries: tickets, their messages and events.

Writes are keyed by natural keys (ticket id, message seq, event key) so that an activity retried by
Temporal after a crash changes nothing the second time.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import asyncpg
from asyncpg.pool import PoolConnectionProxy
from pydantic import BaseModel, Field

from db.tag_filter import CATEGORY_TAG, is_rare_tag, rare_tag_condition
from domain.models import Citation

Conn = asyncpg.Pool | asyncpg.Connection | PoolConnectionProxy

INSERT_TICKET = """
INSERT INTO tickets (
    ticket_id, workflow_id, customer_id, channel, subject, status, created_at, linked_ticket_id, product
)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
ON CONFLICT (ticket_id) DO NOTHING
"""
UPDATE_TRIAGE = """
UPDATE tickets SET category = $2, priority = $3, sentiment = $4,
    first_response_due = $5, resolution_due = $6, triage_label = $7, updated_at = now()
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
GET_MESSAGES_AFTER = "SELECT * FROM messages WHERE ticket_id = $1 AND seq > $2 ORDER BY seq LIMIT $3"
GET_EVENTS = "SELECT * FROM ticket_events WHERE ticket_id = $1 ORDER BY created_at, event_key"


class MessageRecord(BaseModel):
    seq: int
    sender: str
    author: str
    body: str
    sentiment: str | None
    citations: list[Citation]
    created_at: datetime


class TicketKey(BaseModel):  # what names a ticket; never changes once it is opened
    ticket_id: str
    workflow_id: str
    customer_id: str
    channel: str
    subject: str


class TicketProgress(BaseModel):
    """Where the ticket's workflow has taken it: columns it moves, shared by the row and the snapshot."""

    status: str
    category: str | None = None
    priority: str | None = None
    sentiment: str | None = None
    escalated: bool = False
    escalation_reason: str | None = None
    assigned_agent: str | None = None


class TicketFields(TicketProgress, TicketKey):  # fields: TicketKey's, TicketProgress's, these (reversed MRO)
    """The ticket row's fields in the order of the API's ticket body (api.schemas.TicketOut derives from
    this). Only the key and `status` are required: a ticket not yet stored is shown from its workflow."""

    created_at: datetime | None = None
    first_response_at: datetime | None = None
    first_response_due: datetime | None = None
    resolution_due: datetime | None = None
    resolved_at: datetime | None = None
    owner: str = "agents"
    assigned_human: str | None = None
    sla_breached: bool = False
    next_reply_due: datetime | None = None
    csat_score: int | None = None
    linked_ticket_id: str | None = None
    product: str | None = None
    triage_label: str | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    tags: list[str] = Field(default_factory=list)  # people's labels, sorted (the `tag` decision)


class TicketRecord(TicketFields):  # a stored row (SELECT * FROM tickets)
    created_at: datetime  # a stored row always has it
    updated_at: datetime
    csat_comment: str | None = None

    @property
    def sla_due(self) -> datetime | None:
        """The nearest running SLA deadline (what the human queue is sorted by within a priority)."""
        first = self.first_response_due if self.first_response_at is None else None
        return min((d for d in (first, self.next_reply_due, self.resolution_due) if d is not None), default=None)


class EventRecord(BaseModel):
    event_key: str
    kind: str
    data: dict[str, Any]
    created_at: datetime
    actor: str | None = None


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
    linked_ticket_id: str | None = None,
    product: str | None = None,
) -> None:
    await conn.execute(
        INSERT_TICKET,
        ticket_id,
        workflow_id,
        customer_id,
        channel,
        subject,
        status,
        created_at,
        linked_ticket_id,
        product,
    )


async def update_triage(
    conn: Conn,
    ticket_id: str,
    *,
    category: str,
    priority: str,
    sentiment: str,
    first_response_due: datetime,
    resolution_due: datetime,
    triage_label: str | None = None,
) -> None:
    await conn.execute(
        UPDATE_TRIAGE, ticket_id, category, priority, sentiment, first_response_due, resolution_due, triage_label
    )


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


async def open_follow_up(conn: Conn, ticket_id: str) -> str | None:
    """The newest follow-up of ``ticket_id`` that is not closed: where a later message to the closed
    ticket belongs, rather than in yet another new ticket."""
    found: str | None = await conn.fetchval(
        """
        SELECT ticket_id FROM tickets
        WHERE linked_ticket_id = $1 AND status <> 'closed'
        ORDER BY created_at DESC LIMIT 1
        """,
        ticket_id,
    )
    return found


async def get_messages(conn: Conn, ticket_id: str) -> list[MessageRecord]:
    return [MessageRecord.model_validate(dict(r)) for r in await conn.fetch(GET_MESSAGES, ticket_id)]


async def get_messages_after(conn: Conn, ticket_id: str, after_seq: int, limit: int) -> list[MessageRecord]:
    """The messages with seq > after_seq, oldest first (an adapter's incremental read)."""
    rows = await conn.fetch(GET_MESSAGES_AFTER, ticket_id, after_seq, limit)
    return [MessageRecord.model_validate(dict(r)) for r in rows]


async def get_events(conn: Conn, ticket_id: str) -> list[EventRecord]:
    return [EventRecord.model_validate(dict(r)) for r in await conn.fetch(GET_EVENTS, ticket_id)]


async def list_tickets(
    conn: Conn,
    *,
    status: str | None = None,
    priority: str | None = None,
    customer_id: str | None = None,
    product: str | None = None,
    category: str | None = None,
    tag: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> list[TicketRecord]:
    rare = f" AND {rare_tag_condition(8)}" if await is_rare_tag(conn, tag) else ""
    rows = await conn.fetch(
        f"""
        SELECT * FROM tickets
        WHERE ($1::text IS NULL OR status = $1) AND ($2::text IS NULL OR priority = $2)
          AND ($3::text IS NULL OR customer_id = $3) AND ($4::text IS NULL OR product = $4) AND {CATEGORY_TAG}{rare}
        ORDER BY created_at DESC, ticket_id LIMIT $5 OFFSET $6
        """,
        status, priority, customer_id, product, limit, offset, category, tag,
    )  # fmt: skip
    return [TicketRecord.model_validate(dict(r)) for r in rows]


SYNC_TICKET = """
UPDATE tickets SET
    status = $3, category = $4, priority = $5, sentiment = $6, escalated = $7, escalation_reason = $8,
    assigned_agent = $9, owner = $10, assigned_human = $11, first_response_due = $12, next_reply_due = $13,
    resolution_due = $14, sla_breached = $15, resolved_at = $16, csat_score = $17, csat_comment = $18,
    prompt_tokens = $19, completion_tokens = $20, cost_usd = $21, tags = $22, state_version = $2, updated_at = now()
WHERE ticket_id = $1 AND state_version < $2
"""
INSERT_AUDIT_EVENT = """
INSERT INTO ticket_events (ticket_id, event_key, kind, data, created_at, actor)
VALUES ($1, $2, $3, $4, $5, $6)
ON CONFLICT (ticket_id, event_key) DO NOTHING
"""


class TicketSnapshot(TicketProgress):
    """The ticket's mutable fields as the workflow sees them, stamped with a growing version."""

    ticket_id: str
    version: int
    owner: str = "agents"
    assigned_human: str | None = None
    first_response_due: datetime | None = None
    next_reply_due: datetime | None = None
    resolution_due: datetime | None = None
    sla_breached: bool = False
    resolved_at: datetime | None = None
    csat_score: int | None = None
    csat_comment: str | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    tags: list[str] = Field(default_factory=list)  # people's labels (V19); written whole with each snapshot


async def sync_ticket(conn: Conn, s: TicketSnapshot) -> bool:
    """Apply the snapshot unless a newer one is already stored; True when applied."""
    status = await conn.execute(
        SYNC_TICKET,
        s.ticket_id, s.version, s.status, s.category, s.priority, s.sentiment, s.escalated, s.escalation_reason,
        s.assigned_agent, s.owner, s.assigned_human, s.first_response_due, s.next_reply_due, s.resolution_due,
        s.sla_breached, s.resolved_at, s.csat_score, s.csat_comment, s.prompt_tokens, s.completion_tokens,
        s.cost_usd, s.tags,
    )  # fmt: skip
    return status.endswith(" 1")


async def insert_audit_event(
    conn: Conn, ticket_id: str, *, event_key: str, kind: str, data: dict[str, Any], created_at: datetime,
    actor: str | None,
) -> None:  # fmt: skip
    await conn.execute(INSERT_AUDIT_EVENT, ticket_id, event_key, kind, data, created_at, actor)


# The nearest SLA deadline still running: the first response while none was given, the next reply owed,
# the resolution. LEAST skips NULLs. `TicketRecord.sla_due` is the same in Python.
SLA_DUE = "least(CASE WHEN first_response_at IS NULL THEN first_response_due END, next_reply_due, resolution_due)"


async def escalated_queue(
    conn: Conn,
    *,
    priority: str | None = None,
    product: str | None = None,
    assignee: str | None = None,
    unassigned: bool = False,
    category: str | None = None,
    tag: str | None = None,
    limit: int = 100,
) -> list[TicketRecord]:
    """The human queue: tickets a human owns or must look at, by priority, then the nearest running SLA
    deadline (`sla_due`). An escalated ticket nobody has answered yet owes its first response, which
    falls due long before its resolution: it counts too."""
    rows = await conn.fetch(
        f"""
        SELECT * FROM tickets
        WHERE escalated AND status NOT IN ('resolved', 'closed')
          AND ($1::text IS NULL OR priority = $1) AND ($3::text IS NULL OR product = $3)
          AND ($4::text IS NULL OR assigned_human = $4) AND (NOT $5::bool OR assigned_human IS NULL)
          AND ($6::text IS NULL OR category = $6) AND ($7::text IS NULL OR tags @> ARRAY[$7::text])
        ORDER BY CASE priority WHEN 'critical' THEN 0 WHEN 'high' THEN 1 WHEN 'medium' THEN 2 ELSE 3 END,
                 {SLA_DUE} NULLS LAST, created_at
        LIMIT $2
        """,
        priority, limit, product, assignee, unassigned, category, tag,
    )  # fmt: skip
    return [TicketRecord.model_validate(dict(r)) for r in rows]
