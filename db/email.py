"""The e-mail channel's state (V16, V22): thread Message-IDs, reply tokens, inbound outcomes, attachments,
how far the IMAP poller has read each mailbox, and who besides the customer is on a thread. Used by
`channels/email`. Addresses not mailed after a hard bounce: db/email_suppressions.py (V25)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from db.tickets import Conn


@dataclass(frozen=True)
class ThreadMessage:
    message_id: str
    ticket_id: str
    direction: str
    customer_email: str


@dataclass(frozen=True)
class Thread:
    ticket_id: str
    token: str
    customer_email: str
    subject: str


@dataclass(frozen=True)
class Inbound:
    message_id: str
    outcome: str
    reason: str | None
    ticket_id: str | None


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str
    size_bytes: int
    sha256: str
    stored_path: str | None


async def find_thread_message(conn: Conn, message_ids: list[str]) -> ThreadMessage | None:
    """The newest of these Message-IDs that belongs to a ticket's thread (ours or the customer's)."""
    if not message_ids:
        return None
    row = await conn.fetchrow(
        "SELECT message_id, ticket_id, direction, customer_email FROM email_messages WHERE message_id = ANY($1)"
        " ORDER BY created_at DESC LIMIT 1",
        message_ids,
    )
    return None if row is None else ThreadMessage(**dict(row))


async def thread_message_ids(conn: Conn, ticket_id: str, limit: int = 20) -> list[str]:
    """The thread's Message-IDs, oldest first (the first one and the latest `limit - 1`)."""
    rows = await conn.fetch(
        "SELECT message_id FROM email_messages WHERE ticket_id = $1 AND (direction = 'in' OR sent_at IS NOT NULL)"
        " ORDER BY created_at, message_id",
        ticket_id,
    )
    ids = [r["message_id"] for r in rows]
    return ids if len(ids) <= limit else [ids[0], *ids[-(limit - 1) :]]


async def last_inbound_id(conn: Conn, ticket_id: str) -> str | None:
    value: str | None = await conn.fetchval(
        "SELECT message_id FROM email_messages WHERE ticket_id = $1 AND direction = 'in'"
        " ORDER BY created_at DESC LIMIT 1",
        ticket_id,
    )
    return value


async def record_inbound_message(conn: Conn, message_id: str, ticket_id: str, customer_email: str) -> None:
    await conn.execute(
        "INSERT INTO email_messages (message_id, ticket_id, direction, customer_email) VALUES ($1, $2, 'in', $3)"
        " ON CONFLICT (message_id) DO NOTHING",
        message_id,
        ticket_id,
        customer_email,
    )


async def outbound_message_id(
    conn: Conn, ticket_id: str, seq: int, message_id: str, customer_email: str, automatic: bool
) -> tuple[str, datetime | None]:
    """Record our Message-ID for outbox message (ticket_id, seq) before it is sent; a retry gets the one
    recorded first, and when it was sent (None: not yet)."""
    await conn.execute(
        "INSERT INTO email_messages (message_id, ticket_id, direction, customer_email, seq, automatic)"
        " VALUES ($1, $2, 'out', $3, $4, $5) ON CONFLICT DO NOTHING",
        message_id,
        ticket_id,
        customer_email,
        seq,
        automatic,
    )
    row = await conn.fetchrow(
        "SELECT message_id, sent_at FROM email_messages WHERE ticket_id = $1 AND seq = $2 AND direction = 'out'",
        ticket_id,
        seq,
    )
    assert row is not None
    return row["message_id"], row["sent_at"]


async def sent_at(conn: Conn, ticket_id: str, seq: int) -> datetime | None:
    """When outbox message (ticket_id, seq) was sent by SMTP; None when it was not (or not recorded)."""
    value: datetime | None = await conn.fetchval(
        "SELECT sent_at FROM email_messages WHERE ticket_id = $1 AND seq = $2 AND direction = 'out'", ticket_id, seq
    )
    return value


async def mark_sent(conn: Conn, message_id: str) -> None:
    await conn.execute(
        "UPDATE email_messages SET sent_at = now() WHERE message_id = $1 AND sent_at IS NULL", message_id
    )


async def automatic_sent_since(conn: Conn, email: str, since: datetime) -> int:
    """Automatic answers sent to this address since `since` (the per-sender cap)."""
    n: int = await conn.fetchval(
        "SELECT count(*) FROM email_messages WHERE direction = 'out' AND automatic"
        " AND lower(customer_email) = lower($1) AND sent_at >= $2",
        email,
        since,
    )
    return n


async def ensure_thread(conn: Conn, ticket_id: str, token: str, customer_email: str, subject: str) -> Thread:
    """The ticket's thread row, made with `token` unless it exists."""
    await conn.execute(
        "INSERT INTO email_threads (ticket_id, token, customer_email, subject) VALUES ($1, $2, $3, $4)"
        " ON CONFLICT (ticket_id) DO NOTHING",
        ticket_id,
        token,
        customer_email,
        subject,
    )
    thread = await get_thread(conn, ticket_id)
    assert thread is not None
    return thread


async def get_thread(conn: Conn, ticket_id: str) -> Thread | None:
    row = await conn.fetchrow(
        "SELECT ticket_id, token, customer_email, subject FROM email_threads WHERE ticket_id = $1", ticket_id
    )
    return None if row is None else Thread(**dict(row))


async def thread_by_token(conn: Conn, token: str) -> Thread | None:
    row = await conn.fetchrow(
        "SELECT ticket_id, token, customer_email, subject FROM email_threads WHERE token = $1", token
    )
    return None if row is None else Thread(**dict(row))


async def get_inbound(conn: Conn, message_id: str) -> Inbound | None:
    row = await conn.fetchrow(
        "SELECT message_id, outcome, reason, ticket_id FROM email_inbound WHERE message_id = $1", message_id
    )
    return None if row is None else Inbound(**dict(row))


async def record_inbound(
    conn: Conn,
    message_id: str,
    *,
    source: str,
    sender: str | None,
    subject: str | None,
    outcome: str,
    reason: str | None,
    ticket_id: str | None,
    raw_path: str | None,
) -> Inbound:
    """Record the mail's outcome; the first record wins (a second delivery finds it)."""
    await conn.execute(
        "INSERT INTO email_inbound (message_id, source, sender, subject, outcome, reason, ticket_id, raw_path)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (message_id) DO NOTHING",
        message_id,
        source,
        sender,
        (subject or "")[:500],
        outcome,
        reason,
        ticket_id,
        raw_path,
    )
    found = await get_inbound(conn, message_id)
    assert found is not None
    return found


async def record_attachments(conn: Conn, message_id: str, attachments: list[Attachment]) -> None:
    await conn.executemany(
        "INSERT INTO email_attachments (message_id, idx, filename, content_type, size_bytes, sha256, stored_path)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING",
        [
            (message_id, i, a.filename, a.content_type, a.size_bytes, a.sha256, a.stored_path)
            for i, a in enumerate(attachments)
        ],
    )


async def attachments_of(conn: Conn, message_id: str) -> list[Attachment]:
    rows = await conn.fetch(
        "SELECT filename, content_type, size_bytes, sha256, stored_path FROM email_attachments"
        " WHERE message_id = $1 ORDER BY idx",
        message_id,
    )
    return [Attachment(**dict(r)) for r in rows]


async def imap_position(conn: Conn, mailbox: str, uidvalidity: int) -> int:
    """The last UID imported from `mailbox` under this UIDVALIDITY (0: none; a new UIDVALIDITY starts over,
    and the Message-ID record keeps the mails already taken from being taken twice)."""
    await conn.execute(
        "INSERT INTO email_imap_state (mailbox, uidvalidity) VALUES ($1, $2) ON CONFLICT (mailbox) DO NOTHING",
        mailbox,
        uidvalidity,
    )
    await conn.execute(
        "UPDATE email_imap_state SET uidvalidity = $2, last_uid = 0, updated_at = now()"
        " WHERE mailbox = $1 AND uidvalidity <> $2",
        mailbox,
        uidvalidity,
    )
    last: int = await conn.fetchval("SELECT last_uid FROM email_imap_state WHERE mailbox = $1", mailbox)
    return last


async def imap_advance(conn: Conn, mailbox: str, uidvalidity: int, uid: int) -> None:
    await conn.execute(
        "UPDATE email_imap_state SET last_uid = greatest(last_uid, $3), updated_at = now()"
        " WHERE mailbox = $1 AND uidvalidity = $2",
        mailbox,
        uidvalidity,
        uid,
    )


async def sent_message(conn: Conn, message_ids: list[str]) -> tuple[str, int, str] | None:
    """(ticket_id, seq, Message-ID) of the outbox message we sent under one of these Message-IDs (a bounce's)."""
    if not message_ids:
        return None
    row = await conn.fetchrow(
        "SELECT ticket_id, seq, message_id FROM email_messages WHERE message_id = ANY($1) AND direction = 'out'"
        " AND seq IS NOT NULL ORDER BY created_at DESC LIMIT 1",
        message_ids,
    )
    return None if row is None else (row["ticket_id"], row["seq"], row["message_id"])


async def add_participants(conn: Conn, ticket_id: str, addresses: list[str], added_by: str) -> list[str]:
    """Put these addresses on the ticket's thread; the ones that were not on it before."""
    rows = await conn.fetch(
        "INSERT INTO email_participants (ticket_id, address, added_by)"
        " SELECT $1, lower(a), $3 FROM unnest($2::text[]) a ON CONFLICT DO NOTHING RETURNING address",
        ticket_id,
        addresses,
        added_by,
    )
    return [r["address"] for r in rows]


async def participants(conn: Conn, ticket_id: str) -> list[str]:
    """Who is on the ticket's thread besides its customer, in the order they joined."""
    rows = await conn.fetch(
        "SELECT address FROM email_participants WHERE ticket_id = $1 ORDER BY added_at, address", ticket_id
    )
    return [r["address"] for r in rows]


async def is_participant(conn: Conn, ticket_id: str, address: str) -> bool:
    found: bool = await conn.fetchval(
        "SELECT EXISTS (SELECT 1 FROM email_participants WHERE ticket_id = $1 AND address = lower($2))",
        ticket_id,
        address,
    )
    return found
