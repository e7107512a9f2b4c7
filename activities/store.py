"""Ticket store activities. Each write is idempotent: a retry after a crash writes nothing twice.

Timestamps come from the workflow (`workflow.now()`), not from the database clock, so a retried
write stores exactly what the first attempt would have.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import asyncpg
from temporalio import activity

from db import outbox, tickets
from domain.models import Citation, Sender, Sentiment


@dataclass
class CreateTicketInput:
    ticket_id: str
    workflow_id: str
    customer_id: str
    channel: str
    subject: str
    created_at: datetime
    linked_ticket_id: str | None = None
    product: str | None = None


@dataclass
class RecordTriageInput:
    ticket_id: str
    category: str
    priority: str
    sentiment: str
    first_response_due: datetime
    resolution_due: datetime
    at: datetime
    details: dict[str, Any] = field(default_factory=dict)


@dataclass
class RecordMessageInput:
    ticket_id: str
    seq: int
    sender: Sender
    author: str
    body: str
    created_at: datetime
    sentiment: Sentiment | None = None
    citations: list[Citation] = field(default_factory=list)
    # Answers from agents or humans count as the ticket's first response (not a hand-over acknowledgement).
    counts_as_response: bool = False


@dataclass
class RecordStatusInput:
    ticket_id: str
    status: str
    at: datetime
    event_key: str
    assigned_agent: str | None = None
    escalated: bool = False
    escalation_reason: str | None = None


@dataclass
class SyncTicketInput:
    """The ticket's current snapshot, and optionally the audit event that explains the change."""

    snapshot: tickets.TicketSnapshot
    event: AuditEvent | None = None


@dataclass
class AuditEvent:
    event_key: str  # unique per ticket; the same key written twice is stored once
    kind: str
    at: datetime
    actor: str | None = None
    data: dict[str, Any] = field(default_factory=dict)


class StoreActivities:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    @activity.defn(name="store.create_ticket")
    async def create_ticket(self, inp: CreateTicketInput) -> None:
        async with self._pool.acquire() as conn, conn.transaction():
            await tickets.insert_ticket(
                conn,
                ticket_id=inp.ticket_id,
                workflow_id=inp.workflow_id,
                customer_id=inp.customer_id,
                channel=inp.channel,
                subject=inp.subject,
                status="new",
                created_at=inp.created_at,
                linked_ticket_id=inp.linked_ticket_id,
                product=inp.product,
            )
            await tickets.insert_event(
                conn,
                inp.ticket_id,
                event_key="created",
                kind="created",
                data={"channel": inp.channel},
                created_at=inp.created_at,
            )

    @activity.defn(name="store.record_triage")
    async def record_triage(self, inp: RecordTriageInput) -> None:
        async with self._pool.acquire() as conn, conn.transaction():
            await tickets.update_triage(
                conn,
                inp.ticket_id,
                category=inp.category,
                priority=inp.priority,
                sentiment=inp.sentiment,
                first_response_due=inp.first_response_due,
                resolution_due=inp.resolution_due,
                triage_label=inp.details.get("label"),  # absent in inputs recorded before it existed
            )
            await tickets.insert_event(
                conn,
                inp.ticket_id,
                event_key="triaged",
                kind="triaged",
                data={
                    "category": inp.category,
                    "priority": inp.priority,
                    "sentiment": inp.sentiment,
                    **inp.details,
                },
                created_at=inp.at,
            )

    @activity.defn(name="store.record_message")
    async def record_message(self, inp: RecordMessageInput) -> bool:
        async with self._pool.acquire() as conn, conn.transaction():
            stored = await tickets.insert_message(
                conn,
                inp.ticket_id,
                seq=inp.seq,
                sender=inp.sender.value,
                author=inp.author,
                body=inp.body,
                sentiment=inp.sentiment.value if inp.sentiment else None,
                citations=inp.citations,
                created_at=inp.created_at,
            )
            if inp.sender != Sender.CUSTOMER:
                # To the customer's channel: queued with the message, so it is sent if and only if it is
                # stored; on a retry (message already stored) this writes the row only if it is missing.
                await outbox.enqueue(conn, inp.ticket_id, inp.seq)
            if inp.counts_as_response:
                await tickets.mark_response(conn, inp.ticket_id, inp.created_at, inp.author)
            return stored

    @activity.defn(name="store.record_status")
    async def record_status(self, inp: RecordStatusInput) -> None:
        async with self._pool.acquire() as conn, conn.transaction():
            await tickets.update_status(
                conn,
                inp.ticket_id,
                inp.status,
                at=inp.at,
                assigned_agent=inp.assigned_agent,
                escalated=inp.escalated,
                escalation_reason=inp.escalation_reason,
            )
            await tickets.insert_event(
                conn,
                inp.ticket_id,
                event_key=inp.event_key,
                kind=f"status:{inp.status}",
                data={"assigned_agent": inp.assigned_agent, "escalation_reason": inp.escalation_reason},
                created_at=inp.at,
            )

    @activity.defn(name="store.sync_ticket")
    async def sync_ticket(self, inp: SyncTicketInput) -> None:
        async with self._pool.acquire() as conn, conn.transaction():
            await tickets.sync_ticket(conn, inp.snapshot)
            if inp.event is not None:
                e = inp.event
                await tickets.insert_audit_event(
                    conn, inp.snapshot.ticket_id, event_key=e.event_key, kind=e.kind, data=e.data,
                    created_at=e.at, actor=e.actor,
                )  # fmt: skip
