"""The customer outbox: messages to customers (agent, human, system) waiting for their channel.

A row is written with its message, in the same transaction, keyed by (ticket_id, seq). The dispatcher
(`activities/outbox.py`) claims rows with `FOR UPDATE SKIP LOCKED`, so workers never send one row at the
same time, and only the oldest undelivered row of each ticket, so a ticket's messages arrive in order.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime

from pydantic import BaseModel

from db.tickets import Conn

# Copied from the stored message (not from the activity's input): a retry that finds the message
# already stored still writes the outbox row if it is missing, and both always agree.
ENQUEUE = """
INSERT INTO customer_outbox (ticket_id, seq, channel, customer_id, customer_email, sender, author, body, created_at)
SELECT m.ticket_id, m.seq, t.channel, t.customer_id, c.email, m.sender, m.author, m.body, m.created_at
FROM messages m
JOIN tickets t ON t.ticket_id = m.ticket_id
LEFT JOIN customers c ON c.customer_id = t.customer_id
WHERE m.ticket_id = $1 AND m.seq = $2 AND m.sender <> 'customer'
ON CONFLICT (ticket_id, seq) DO NOTHING
"""
# The head of each ticket's queue, when due. A row whose predecessor is still undelivered (failing, or
# being sent by another worker right now) waits: never seq N+1 before N.
CLAIM = """
SELECT o.ticket_id, o.seq, o.channel, o.customer_id, o.customer_email, o.sender, o.author, o.body,
       o.created_at, o.attempts
FROM customer_outbox o
WHERE o.delivered_at IS NULL AND o.refused_at IS NULL AND o.next_attempt_at <= now()
  AND (cardinality($2::text[]) = 0 OR o.channel = ANY($2::text[])) AND NOT (o.channel = ANY($3::text[]))
  AND NOT EXISTS (
      SELECT 1 FROM customer_outbox p
      WHERE p.ticket_id = o.ticket_id AND p.seq < o.seq AND p.delivered_at IS NULL AND p.refused_at IS NULL
  )
ORDER BY o.next_attempt_at, o.ticket_id, o.seq
LIMIT $1
FOR UPDATE SKIP LOCKED
"""
MARK_DELIVERED = """
UPDATE customer_outbox SET delivered_at = now(), attempts = attempts + 1, last_error = NULL
WHERE ticket_id = $1 AND seq = $2 AND delivered_at IS NULL
"""
# Refused for good (a permanent 4xx): set aside, so the ticket's later messages are not held back by it.
MARK_REFUSED = """
UPDATE customer_outbox SET refused_at = now(), attempts = attempts + 1, last_error = $3
WHERE ticket_id = $1 AND seq = $2 AND delivered_at IS NULL
"""
RETRY_REFUSED = """
UPDATE customer_outbox SET refused_at = NULL, suppressed_at = NULL, suppress_reason = NULL, next_attempt_at = now(),
    attempts = 0
WHERE refused_at IS NOT NULL AND delivered_at IS NULL AND ($1::text IS NULL OR ticket_id = $1)
"""
STATE = """
SELECT
    count(*) FILTER (WHERE refused_at IS NULL) AS pending,
    count(*) FILTER (WHERE refused_at IS NOT NULL) AS refused,
    extract(epoch FROM $1 - min(created_at) FILTER (WHERE refused_at IS NULL))::float8 AS oldest_pending_s
FROM customer_outbox WHERE delivered_at IS NULL
"""
LIST_REFUSED = """
SELECT ticket_id, seq, channel, customer_email, attempts, last_error, refused_at
FROM customer_outbox WHERE refused_at IS NOT NULL AND delivered_at IS NULL ORDER BY refused_at, ticket_id, seq
LIMIT $1
"""
# A delivery status notification came back for a message SMTP had accepted: the recipient's server gave up.
MARK_BOUNCED = """
UPDATE customer_outbox SET bounced_at = now(), bounce_reason = $3
WHERE ticket_id = $1 AND seq = $2 AND bounced_at IS NULL
"""
BOUNCED = """
SELECT count(*) OVER () AS total, ticket_id, seq, channel, customer_email, bounced_at, bounce_reason
FROM customer_outbox WHERE bounced_at >= $1 ORDER BY bounced_at DESC, ticket_id, seq LIMIT $2
"""
# Not sent because the address hard-bounced before (db/email_suppressions.py): set aside like a refusal,
# so the ticket's later messages are not held back, with the reason kept apart from a transport error.
MARK_SUPPRESSED = """
UPDATE customer_outbox SET refused_at = now(), suppressed_at = now(), suppress_reason = $3, last_error = $3
WHERE ticket_id = $1 AND seq = $2 AND delivered_at IS NULL
"""
MARK_FAILED = """
UPDATE customer_outbox SET attempts = attempts + 1, last_error = $3,
    next_attempt_at = now() + make_interval(secs => $4)
WHERE ticket_id = $1 AND seq = $2 AND delivered_at IS NULL
"""


class OutboxMessage(BaseModel):
    ticket_id: str
    seq: int
    channel: str
    customer_id: str
    customer_email: str | None
    sender: str
    author: str
    body: str
    created_at: datetime
    attempts: int = 0

    @property
    def key(self) -> str:
        """The idempotency key a receiver deduplicates on: the same for every attempt at this message."""
        return f"{self.ticket_id}:{self.seq}"

    def payload(self) -> dict[str, object]:
        return {
            "ticket_id": self.ticket_id,
            "seq": self.seq,
            "channel": self.channel,
            "customer_id": self.customer_id,
            "customer_email": self.customer_email,
            "sender": self.sender,
            "author": self.author,
            "body": self.body,
            "created_at": self.created_at.isoformat(),
            "key": self.key,
        }


async def enqueue(conn: Conn, ticket_id: str, seq: int) -> bool:
    """Put the stored message (ticket_id, seq) in the outbox unless it is the customer's or already there."""
    status = await conn.execute(ENQUEUE, ticket_id, seq)
    return status.endswith(" 1")


async def claim(
    conn: Conn, limit: int, *, channels: Sequence[str] = (), exclude: Sequence[str] = ()
) -> list[OutboxMessage]:
    """Lock up to `limit` due rows, each the oldest undelivered of its ticket; call inside a transaction.
    `channels`: only these channels' rows (empty: all); `exclude`: never these (another sender's)."""
    rows = await conn.fetch(CLAIM, limit, list(channels), list(exclude))
    return [OutboxMessage.model_validate(dict(r)) for r in rows]


async def mark_delivered(conn: Conn, ticket_id: str, seq: int) -> None:
    await conn.execute(MARK_DELIVERED, ticket_id, seq)


async def mark_failed(conn: Conn, ticket_id: str, seq: int, error: str, retry_in_s: float) -> None:
    await conn.execute(MARK_FAILED, ticket_id, seq, error[:1000], retry_in_s)


async def mark_refused(conn: Conn, ticket_id: str, seq: int, error: str) -> None:
    await conn.execute(MARK_REFUSED, ticket_id, seq, error[:1000])


async def record_attempt(
    conn: Conn,
    m: OutboxMessage,
    error: str | None,
    final: bool,
    retry_in_s: float,
    log: logging.Logger,
    *,
    refused: str,
    failed: str,
) -> None:
    """Record how one send of `m` went: delivered (`error` None), refused for good (`final`: set aside,
    logged as `refused` % (key, error)) or to be retried in `retry_in_s` (logged as
    `failed` % (key, attempt, retry_in_s, error)). Both senders of the outbox, webhook and SMTP, use it."""
    if error is None:
        await mark_delivered(conn, m.ticket_id, m.seq)
    elif final:
        log.error(refused, m.key, error)
        await mark_refused(conn, m.ticket_id, m.seq, error)
    else:
        log.warning(failed, m.key, m.attempts + 1, retry_in_s, error)
        await mark_failed(conn, m.ticket_id, m.seq, error, retry_in_s)


async def mark_suppressed(conn: Conn, ticket_id: str, seq: int, reason: str) -> None:
    await conn.execute(MARK_SUPPRESSED, ticket_id, seq, reason[:1000])


async def retry_refused(conn: Conn, ticket_id: str | None = None) -> int:
    """Put refused messages (of one ticket, or all) back in the queue; how many."""
    status = await conn.execute(RETRY_REFUSED, ticket_id)
    return int(status.split()[-1])


async def state(conn: Conn, now: datetime) -> tuple[int, int, float]:
    """Undelivered messages waiting (pending), set aside (refused), and the oldest waiting one's age (s)."""
    row = await conn.fetchrow(STATE, now)
    assert row is not None  # an aggregate without GROUP BY always returns one row
    return row["pending"], row["refused"], row["oldest_pending_s"] or 0.0


async def refused(conn: Conn, limit: int = 100) -> list[dict[str, object]]:
    return [dict(r) for r in await conn.fetch(LIST_REFUSED, limit)]


async def mark_bounced(conn: Conn, ticket_id: str, seq: int, reason: str) -> bool:
    """Record that message (ticket_id, seq) bounced; False when it was recorded before (the same report
    again, or a second one for another recipient)."""
    status = await conn.execute(MARK_BOUNCED, ticket_id, seq, reason[:1000])
    return status.endswith(" 1")


async def bounced(conn: Conn, since: datetime, limit: int = 100) -> tuple[int, list[dict[str, object]]]:
    """How many messages bounced since `since`, and the newest `limit` of them."""
    rows = [dict(r) for r in await conn.fetch(BOUNCED, since, limit)]
    total = int(rows[0].pop("total")) if rows else 0
    for r in rows[1:]:
        r.pop("total")
    return total, rows
