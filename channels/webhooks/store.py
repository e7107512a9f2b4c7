"""The webhook tables (migration V15): the event feed's cursors and the delivery log.

The log is also the queue of the `event` stream and of replays: rows in state `pending` are claimed by the
dispatcher (`channels/webhooks/dispatcher.py`) oldest first per endpoint, `FOR UPDATE SKIP LOCKED`, and
only the oldest pending row of an endpoint, so an endpoint receives its webhooks in order.
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import datetime
from typing import Any

from pydantic import BaseModel

from db.tickets import Conn

# The public event types, from the ticket_events kinds the workflow (and the e-mail channel: bounces,
# mail not sent to a bounced address) writes. Other kinds (triaged, status:*, reassigned, …) move the
# cursor without being sent.
EVENT_TYPES: dict[str, str] = {
    "created": "ticket.opened",
    "agent_replied": "ticket.replied",
    "human_replied": "ticket.replied",
    "escalated": "ticket.handed_over",
    "sla_warning": "ticket.sla_warning",
    "sla_breach": "ticket.sla_breached",
    "resolved": "ticket.resolved",
    "reopened": "ticket.reopened",
    "closed": "ticket.csat",
    "email_bounced": "email.bounced",
    "email_suppressed": "email.suppressed",
}
_ADDRESS = re.compile(r"<?[^\s<>()\[\];:,\"']+@[^\s<>()\[\];:,\"']+>?")  # with its angle brackets


def address_hash(address: str) -> str:
    """How an e-mail address appears in an event webhook: hex SHA-256 of its lower-cased form. Event
    payloads name people by id (customer_id), never by address; a receiver that knows an address can hash
    it to match."""
    return hashlib.sha256(address.strip().lower().encode()).hexdigest()


def public_data(kind: str, ticket_id: str, data: dict[str, Any]) -> dict[str, Any]:
    """The event's own fields as an event webhook carries them: the e-mail events' addresses hashed and
    taken out of the remote server's words; every other event's fields as recorded."""
    name = kind.split(":", 1)[0]
    if name == "email_bounced":
        return {
            "seq": data.get("seq"), "outbox_key": f"{ticket_id}:{data.get('seq')}",
            "message_id": data.get("message_id"), "status": data.get("status"),
            "hard": data.get("hard", not str(data.get("status", "")).startswith("4")),  # events before V25: by status
            "reason": _ADDRESS.sub("<address>", str(data.get("diagnostic") or "")) or f"status {data.get('status')}",
            "recipients_sha256": [address_hash(a) for a in data.get("recipients", [])],
            "suppressed_sha256": [address_hash(a) for a in data.get("suppressed", [])],
        }  # fmt: skip
    if name == "email_suppressed":
        bounced = data.get("bounced") or {}
        return {
            "seq": data.get("seq"), "outbox_key": f"{ticket_id}:{data.get('seq')}", "status": data.get("status"),
            "address_sha256": address_hash(str(data.get("address", ""))),
            "bounced_outbox_key": f"{bounced.get('ticket_id')}:{bounced.get('seq')}",
            "suppressed_since": data.get("suppressed_since"),
        }  # fmt: skip
    return data


def event_type(kind: str, data: dict[str, Any]) -> str | None:
    """The public type of a ticket event, or None when it is not sent. A ticket closes with the
    customer's CSAT score or "no answer": `ticket.csat` only for a score."""
    t = EVENT_TYPES.get(kind.split(":", 1)[0])
    if t == "ticket.csat" and not isinstance(data.get("csat"), int):
        return None
    return t


XMIN = "pg_snapshot_xmin(pg_current_snapshot())::text::bigint"
INIT_CURSOR = f"""
INSERT INTO webhook_cursors (endpoint, txid, event_id)
SELECT $1, coalesce(max(txid), 0), coalesce(max(event_id), 0) FROM ticket_event_feed WHERE txid < {XMIN}
ON CONFLICT (endpoint) DO NOTHING
"""
LOCK_CURSOR = "SELECT txid, event_id FROM webhook_cursors WHERE endpoint = $1 FOR UPDATE"
# Only events of transactions older than every running one: that set never grows below the cursor.
READ_FEED = f"""
SELECT f.event_id, f.txid, e.ticket_id, e.event_key, e.kind, e.data, e.created_at, e.actor, t.channel,
       t.customer_id
FROM ticket_event_feed f
JOIN ticket_events e ON e.ticket_id = f.ticket_id AND e.event_key = f.event_key
JOIN tickets t ON t.ticket_id = f.ticket_id
WHERE (f.txid, f.event_id) > ($1::bigint, $2::bigint) AND f.txid < {XMIN}
ORDER BY f.txid, f.event_id
LIMIT $3
"""
MOVE_CURSOR = "UPDATE webhook_cursors SET txid = $2, event_id = $3, updated_at = now() WHERE endpoint = $1"
QUEUE = """
INSERT INTO webhook_deliveries (webhook_id, stream, endpoint, event_type, ticket_id, payload, state)
VALUES ($1, 'event', $2, $3, $4, $5, 'pending')
ON CONFLICT (endpoint, webhook_id) DO NOTHING
"""
CLAIM = """
SELECT d.delivery_id, d.webhook_id, d.stream, d.endpoint, d.event_type, d.payload, d.attempts
FROM webhook_deliveries d
WHERE d.state = 'pending' AND d.next_attempt_at <= now()
  AND NOT EXISTS (
      SELECT 1 FROM webhook_deliveries p
      WHERE p.endpoint = d.endpoint AND p.state = 'pending' AND p.delivery_id < d.delivery_id
  )
ORDER BY d.delivery_id
LIMIT $1
FOR UPDATE SKIP LOCKED
"""
MARK = """
UPDATE webhook_deliveries SET state = $2, attempts = attempts + 1, last_status = $3, last_error = $4,
    delivered_at = CASE WHEN $2 = 'delivered' THEN now() ELSE delivered_at END,
    next_attempt_at = now() + make_interval(secs => $5)
WHERE delivery_id = $1
"""
# A notification or customer message after one try by its own outbox.
RECORD = """
INSERT INTO webhook_deliveries AS d (webhook_id, stream, endpoint, event_type, ticket_id, payload, state,
    attempts, last_status, last_error, delivered_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, 1, $8, $9, CASE WHEN $7 = 'delivered' THEN now() END)
ON CONFLICT (endpoint, webhook_id) DO UPDATE SET
    state = CASE WHEN d.state = 'delivered' THEN 'delivered' ELSE EXCLUDED.state END,
    attempts = d.attempts + 1, last_status = EXCLUDED.last_status, last_error = EXCLUDED.last_error,
    payload = EXCLUDED.payload, delivered_at = coalesce(d.delivered_at, EXCLUDED.delivered_at)
"""
REPLAY = """
UPDATE webhook_deliveries SET state = 'pending', next_attempt_at = now(), replayed_at = now()
WHERE delivery_id = $1
RETURNING delivery_id
"""
COLUMNS = """delivery_id, webhook_id, stream, endpoint, event_type, ticket_id, payload, state, attempts,
    last_status, last_error, created_at, delivered_at, replayed_at"""
LIST = f"""
SELECT {COLUMNS} FROM webhook_deliveries
WHERE ($1::text IS NULL OR stream = $1) AND ($2::text IS NULL OR state = $2)
  AND ($3::text IS NULL OR ticket_id = $3) AND ($4::bigint IS NULL OR delivery_id < $4)
ORDER BY delivery_id DESC
LIMIT $5
"""
GET = f"SELECT {COLUMNS} FROM webhook_deliveries WHERE delivery_id = $1"


class FeedEvent(BaseModel):
    event_id: int
    txid: int
    ticket_id: str
    event_key: str
    kind: str
    data: dict[str, Any]
    created_at: datetime
    actor: str | None
    channel: str
    customer_id: str

    @property
    def webhook_id(self) -> str:
        return f"evt_{self.event_id}"

    def payload(self, type_: str) -> dict[str, Any]:
        """The Standard Webhooks payload shape: type, timestamp, data."""
        return {
            "type": type_,
            "timestamp": self.created_at.isoformat(),
            "data": {
                "ticket_id": self.ticket_id,
                "customer_id": self.customer_id,
                "channel": self.channel,
                "event": self.kind,
                "event_key": self.event_key,
                "actor": self.actor,
                **public_data(self.kind, self.ticket_id, self.data),
            },
        }


class Claimed(BaseModel):
    delivery_id: int
    webhook_id: str
    stream: str
    endpoint: str
    event_type: str
    payload: Any
    attempts: int


class Delivery(BaseModel):
    delivery_id: int
    webhook_id: str
    stream: str
    endpoint: str
    event_type: str
    ticket_id: str | None
    payload: Any
    state: str
    attempts: int
    last_status: int | None
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None
    replayed_at: datetime | None


def _row(r: Any) -> dict[str, Any]:
    d = dict(r)
    if isinstance(d.get("payload"), str):  # jsonb without a codec on this connection
        d["payload"] = json.loads(d["payload"])
    return d


async def fan_out(conn: Conn, endpoint: str, limit: int) -> tuple[int, int]:
    """Queue the next events of the feed for `endpoint` and move its cursor past them; call inside a
    transaction. (events read, deliveries queued)."""
    await conn.execute(INIT_CURSOR, endpoint)
    cur = await conn.fetchrow(LOCK_CURSOR, endpoint)
    assert cur is not None
    rows = [FeedEvent.model_validate(_row(r)) for r in await conn.fetch(READ_FEED, cur["txid"], cur["event_id"], limit)]
    queued = 0
    for e in rows:
        t = event_type(e.kind, e.data)
        if t is not None:
            await conn.execute(QUEUE, e.webhook_id, endpoint, t, e.ticket_id, e.payload(t))
            queued += 1
    if rows:
        await conn.execute(MOVE_CURSOR, endpoint, rows[-1].txid, rows[-1].event_id)
    return len(rows), queued


async def claim(conn: Conn, limit: int) -> list[Claimed]:
    return [Claimed.model_validate(_row(r)) for r in await conn.fetch(CLAIM, limit)]


async def mark(
    conn: Conn, delivery_id: int, state: str, status: int | None, error: str | None, retry_in_s: float = 0.0
) -> None:
    await conn.execute(MARK, delivery_id, state, status, error[:1000] if error else None, retry_in_s)


async def record(
    conn: Conn, *, webhook_id: str, stream: str, endpoint: str, event_type: str, ticket_id: str | None,
    payload: Any, state: str, status: int | None, error: str | None,
) -> None:  # fmt: skip
    await conn.execute(
        RECORD, webhook_id, stream, endpoint, event_type, ticket_id, payload, state, status,
        error[:1000] if error else None,
    )  # fmt: skip


async def replay(conn: Conn, delivery_id: int) -> bool:
    return await conn.fetchval(REPLAY, delivery_id) is not None


async def list_deliveries(
    conn: Conn, *, stream: str | None = None, state: str | None = None, ticket_id: str | None = None,
    before: int | None = None, limit: int = 50,
) -> list[Delivery]:  # fmt: skip
    rows = await conn.fetch(LIST, stream, state, ticket_id, before, limit)
    return [Delivery.model_validate(_row(r)) for r in rows]


async def get_delivery(conn: Conn, delivery_id: int) -> Delivery | None:
    r = await conn.fetchrow(GET, delivery_id)
    return None if r is None else Delivery.model_validate(_row(r))
