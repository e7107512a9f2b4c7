"""Addresses we no longer mail after a hard bounce (V25), and lifting that.

A suppression is per address, not per ticket: a mailbox that does not exist is gone for every ticket.
It is lifted when mail from that address is taken into a ticket (the customer wrote again: the mailbox
works) or when an admin clears it. Every function is idempotent: the same report twice suppresses once,
a second lift finds nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from pydantic import BaseModel

from db.tickets import Conn, insert_event

SUPPRESS = """
INSERT INTO email_suppressions (address, status, reason, ticket_id, seq)
SELECT lower(a), $2, $3, $4, $5 FROM unnest($1::text[]) a
ON CONFLICT (address) DO NOTHING
RETURNING address
"""
COLUMNS = "address, status, reason, ticket_id, seq, suppressed_at"
ACTIVE = f"SELECT {COLUMNS} FROM email_suppressions WHERE address = ANY($1::text[])"
LIFT = f"DELETE FROM email_suppressions WHERE address = lower($1) RETURNING {COLUMNS}"
LIST = f"SELECT {COLUMNS} FROM email_suppressions ORDER BY suppressed_at DESC, address LIMIT $1"


class Suppression(BaseModel):
    address: str
    status: str
    reason: str
    ticket_id: str
    seq: int
    suppressed_at: datetime


async def suppress(conn: Conn, addresses: Sequence[str], *, status: str, reason: str, ticket_id: str,
                   seq: int) -> list[str]:  # fmt: skip
    """Stop mailing these addresses; the ones that were not suppressed before (the first report wins)."""
    rows = await conn.fetch(SUPPRESS, list(addresses), status, reason[:1000], ticket_id, seq)
    return [r["address"] for r in rows]


async def active(conn: Conn, addresses: Sequence[str]) -> dict[str, Suppression]:
    """The suppressions among these addresses, by lower-cased address."""
    wanted = [a.lower() for a in addresses if a]
    if not wanted:
        return {}
    return {r["address"]: Suppression.model_validate(dict(r)) for r in await conn.fetch(ACTIVE, wanted)}


async def lift(conn: Conn, address: str) -> Suppression | None:
    """Mail this address again; the suppression that was lifted, or None when there was none."""
    row = await conn.fetchrow(LIFT, address)
    return None if row is None else Suppression.model_validate(dict(row))


async def listed(conn: Conn, limit: int = 100) -> list[Suppression]:
    return [Suppression.model_validate(dict(r)) for r in await conn.fetch(LIST, limit)]


async def record_lifted(
    conn: Conn, ticket_id: str, event_key: str, lifted: Suppression, by: str, who: str | None = None
) -> None:
    """The ticket's `email_unsuppressed` event: who lifted it (`sender`: they wrote again; `admin`, and
    which person's key when the API was called with one)."""
    data = {"address": lifted.address, "by": by, "suppressed_since": lifted.suppressed_at.isoformat(),
            "bounced": {"ticket_id": lifted.ticket_id, "seq": lifted.seq, "status": lifted.status},
            **({"who": who} if who else {})}  # fmt: skip
    await insert_event(conn, ticket_id, event_key=event_key, kind="email_unsuppressed", data=data,
                       created_at=datetime.now(UTC))  # fmt: skip
