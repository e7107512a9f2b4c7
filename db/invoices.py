"""CRM queries: invoices (charges), read with what has been refunded on them.

`refunded_usd` of a `Charge` read here is what billing refunded outside the agents plus the agents'
refunds on the invoice that were executed or wait for a manager (agent_actions.reference is the
invoice id): what is left to refund is the charge minus that, whichever way it was refunded.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from domain.refunds import Charge

Conn = asyncpg.Pool | asyncpg.Connection | PoolConnectionProxy

_SELECT = """
SELECT i.invoice_id, i.customer_id, i.amount_usd, i.charged_at, i.status, i.description,
       i.refunded_usd + coalesce((
           SELECT sum(a.amount_usd) FROM agent_actions a
           WHERE a.reference = i.invoice_id AND a.kind = 'refund' AND a.status IN ('executed', 'pending_approval')
             AND a.request_id IS DISTINCT FROM $2
       ), 0) AS refunded_usd
FROM invoices i
"""
GET_INVOICE = _SELECT + "WHERE i.invoice_id = upper($1)"
LIST_INVOICES = _SELECT + "WHERE i.customer_id = $1 ORDER BY i.charged_at DESC, i.invoice_id LIMIT $3"
UPSERT_INVOICE = """
INSERT INTO invoices (invoice_id, customer_id, amount_usd, description, status, charged_at, refunded_usd)
VALUES ($1, $2, $3, $4, $5, $6, $7)
ON CONFLICT (invoice_id) DO UPDATE SET
    customer_id = EXCLUDED.customer_id, amount_usd = EXCLUDED.amount_usd, description = EXCLUDED.description,
    status = EXCLUDED.status, charged_at = EXCLUDED.charged_at, refunded_usd = EXCLUDED.refunded_usd
"""


def _charge(row: asyncpg.Record) -> Charge:
    return Charge(
        invoice_id=row["invoice_id"],
        customer_id=row["customer_id"],
        amount_usd=Decimal(row["amount_usd"]),
        charged_at=row["charged_at"],
        status=row["status"],
        description=row["description"],
        refunded_usd=Decimal(row["refunded_usd"]),
    )


async def get_charge(conn: Conn, invoice_id: str, *, excluding: str | None = None) -> Charge | None:
    """The invoice, whoever's it is (the caller checks the owner), with everything refunded on it but the
    agents' request `excluding` (a retried turn's own refund must not count against itself)."""
    row = await conn.fetchrow(GET_INVOICE, invoice_id.strip(), excluding)
    return None if row is None else _charge(row)


async def list_charges(conn: Conn, customer_id: str, *, limit: int = 24) -> list[Charge]:
    """The customer's latest invoices, newest first, with everything refunded on each."""
    return [_charge(r) for r in await conn.fetch(LIST_INVOICES, customer_id, None, limit)]


async def upsert_invoices(conn: Conn, invoices: Iterable[Charge]) -> int:
    """Insert or refresh invoices by id (the demo seed re-dates its invoices on every run). A charge's
    `refunded_usd` is stored as what billing refunded outside the agents."""
    rows = [
        (i.invoice_id, i.customer_id, i.amount_usd, i.description, i.status, i.charged_at, i.refunded_usd)
        for i in invoices
    ]
    await conn.executemany(UPSERT_INVOICE, rows)
    return len(rows)
