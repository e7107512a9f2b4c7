"""`GET /customers/{id}/export`: everything the service holds on one person (the right of access).

Read in one repeatable-read transaction, so the parts agree with each other. Each table is read whole
(`to_jsonb` of its rows): a column added later is exported without a change here.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import asyncpg

from api.errors import ApiError
from api.schemas import CustomerExport, CustomerOut
from db import customers
from db.customers import Conn

_OF_TICKETS = "ticket_id IN (SELECT ticket_id FROM tickets WHERE customer_id = $1)"
# mails taken into their tickets, and those of theirs that opened none (an out-of-office, say)
_THEIR_MAIL = f"({_OF_TICKETS} OR lower(sender) = (SELECT lower(email) FROM customers WHERE customer_id = $1))"
# part -> (table, which rows, order)
_PARTS = {
    "tickets": ("tickets", "customer_id = $1", "created_at, ticket_id"),
    "messages": ("messages", _OF_TICKETS, "ticket_id, seq"),
    "events": ("ticket_events", _OF_TICKETS, "ticket_id, created_at, event_key"),
    "ledger": ("agent_actions", _OF_TICKETS, "created_at, request_id"),
    "bug_reports": ("bug_reports", _OF_TICKETS, "created_at, report_id"),
    "outbox": ("customer_outbox", "customer_id = $1", "ticket_id, seq"),
    "notifications": ("notifications", _OF_TICKETS, "created_at, notification_key"),
    "erasures": ("customer_erasures", "customer_id = $1", "erased_at"),
    "invoices": ("invoices", "customer_id = $1", "charged_at, invoice_id"),
    "email_threads": ("email_threads", _OF_TICKETS, "ticket_id"),
    "email_messages": ("email_messages", _OF_TICKETS, "ticket_id, created_at, message_id"),
    "email_inbound": ("email_inbound", _THEIR_MAIL, "received_at, message_id"),
    "email_attachments": (
        "email_attachments",
        f"message_id IN (SELECT message_id FROM email_inbound WHERE {_THEIR_MAIL})",
        "message_id, idx",
    ),
    "email_participants": ("email_participants", _OF_TICKETS, "ticket_id, address"),
    "email_suppressions": (
        "email_suppressions",
        "address = (SELECT lower(email) FROM customers WHERE customer_id = $1)",
        "address",
    ),
    "webhook_deliveries": ("webhook_deliveries", _OF_TICKETS, "delivery_id"),
}


async def _rows(conn: Conn, table: str, where: str, order: str, customer_id: str) -> list[Any]:
    sql = f"SELECT coalesce(jsonb_agg(to_jsonb(t) ORDER BY {order}), '[]')::text FROM {table} t WHERE {where}"
    rows: list[Any] = json.loads(await conn.fetchval(sql, customer_id))
    return rows


async def export_customer(pool: asyncpg.Pool, customer_id: str) -> CustomerExport:
    async with pool.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
        found = await customers.get_customer(conn, customer_id, stats=True)
        if found is None:
            raise ApiError(404, "customer_not_found", f"no customer {customer_id!r}")
        parts = {name: await _rows(conn, *spec, customer_id) for name, spec in _PARTS.items()}
    return CustomerExport(
        customer=CustomerOut.model_validate(found.model_dump()), exported_at=datetime.now(UTC), **parts
    )
