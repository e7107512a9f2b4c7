"""Reads of the ticket store shaped as API bodies, shared by the ticket routes and the human queue."""

from __future__ import annotations

import asyncpg
from temporalio.client import Client

from api.schemas import MessageOut, PendingActionOut, TicketOut, TicketSummary
from api.service.ids import workflow_id_for
from api.service.rpc import is_open, query_state
from db import actions, tickets


async def ticket_view(pool: asyncpg.Pool, temporal: Client, ticket_id: str, query_timeout_s: float) -> TicketOut:
    """The ticket with its messages and the actions waiting on a person; from its workflow while it
    is started but not yet stored."""
    # One snapshot: the ticket row and its messages must agree (a reply is never shown without its
    # first-response time).
    async with pool.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
        row = await tickets.get_ticket(conn, ticket_id)
        messages = await tickets.get_messages(conn, ticket_id) if row else []
        pending = (await actions.pending_actions(conn, [ticket_id])).get(ticket_id, []) if row else []
    if row is None:
        # Started but its first activity has not written the row yet: answer from the workflow.
        state = await query_state(temporal, ticket_id, query_timeout_s)
        return TicketOut(
            ticket_id=ticket_id,
            workflow_id=workflow_id_for(ticket_id),
            customer_id=state.customer_id,
            channel=state.channel.value,
            subject=state.subject,
            status=state.status.value,
            product=state.product,
        )
    out = TicketOut.model_validate(
        {
            **row.model_dump(),
            "messages": [MessageOut.model_validate(m.model_dump()) for m in messages],
            "pending_actions": _pending_out(pending),
        }
    )
    out.time_to_first_response_s = _ttfr(row)
    return out


async def messages_after(
    pool: asyncpg.Pool, temporal: Client, ticket_id: str, after_seq: int, limit: int
) -> list[MessageOut]:
    """The ticket's messages with seq > after_seq, in order (at most `limit`)."""
    async with pool.acquire() as conn:
        known = await tickets.get_ticket(conn, ticket_id) is not None
        messages = await tickets.get_messages_after(conn, ticket_id, after_seq, limit) if known else []
    if not known:
        await is_open(temporal, ticket_id)  # 404 unless its workflow exists (started, row not yet written)
    return [MessageOut.model_validate(m.model_dump()) for m in messages]


async def summaries(conn: tickets.Conn, rows: list[tickets.TicketRecord]) -> list[TicketSummary]:
    """List items, each with the actions waiting on a person (read in one query for all of them)."""
    pending = await actions.pending_actions(conn, [r.ticket_id for r in rows])
    return [
        TicketSummary.model_validate(
            {
                **r.model_dump(),
                "sla_due": r.sla_due,
                "time_to_first_response_s": _ttfr(r),
                "pending_actions": _pending_out(pending.get(r.ticket_id, [])),
            }
        )
        for r in rows
    ]


def _pending_out(pending: list[actions.PendingAction]) -> list[PendingActionOut]:
    return [
        PendingActionOut(
            action_request_id=a.request_id,
            kind=a.kind,
            amount_usd=float(a.amount_usd),
            summary=a.reason,
            reference=a.reference,
            requested_by=a.requested_by,
            requested_at=a.created_at,
            routed_to=a.routed_to,
        )  # fmt: skip
        for a in pending
    ]


def _ttfr(row: tickets.TicketRecord) -> float | None:
    if row.first_response_at is None:
        return None
    return round((row.first_response_at - row.created_at).total_seconds(), 3)
