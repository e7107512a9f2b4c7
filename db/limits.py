"""How much new work one customer sent lately: what the API's per-customer limits count.

Counted in Postgres, not in a process, so every API replica sees the same figures.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from db.tickets import Conn


@dataclass(frozen=True)
class Recent:
    count: int
    retry_after_s: float  # until the oldest counted item leaves the window; 0 when nothing is counted


TICKETS_OPENED = """
SELECT count(*) AS n,
       coalesce(extract(epoch FROM min(created_at) + $2::interval - now()), 0)::float8 AS wait
FROM tickets
WHERE customer_id = $1 AND created_at > now() - $2::interval
"""
# The customer's tickets by tickets_customer_idx, then each one's messages by the primary key
# (ticket_id, seq): never a scan of the messages table.
MESSAGES_SENT = """
SELECT count(*) AS n,
       coalesce(extract(epoch FROM min(m.created_at) + $2::interval - now()), 0)::float8 AS wait
FROM messages m JOIN tickets t ON t.ticket_id = m.ticket_id
WHERE t.customer_id = $1 AND m.sender = 'customer' AND m.created_at > now() - $2::interval
"""


async def tickets_opened(conn: Conn, customer_id: str, window: timedelta) -> Recent:
    row = await conn.fetchrow(TICKETS_OPENED, customer_id, window)
    assert row is not None  # an aggregate always returns a row
    return Recent(row["n"], row["wait"])


async def messages_sent(conn: Conn, customer_id: str, window: timedelta) -> Recent:
    row = await conn.fetchrow(MESSAGES_SENT, customer_id, window)
    assert row is not None
    return Recent(row["n"], row["wait"])
