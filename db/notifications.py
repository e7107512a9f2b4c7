"""The notifications log: one row per notification to people (escalations, breaches), marked once delivered,
so a retried notify activity never sends twice.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from db.tickets import Conn

INSERT_NOTIFICATION = """
INSERT INTO notifications (notification_key, ticket_id, kind, payload, created_at)
VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (notification_key) DO NOTHING
"""
MARK_NOTIFICATION = """
UPDATE notifications SET attempts = attempts + 1, delivered_at = CASE WHEN $2 THEN now() END
WHERE notification_key = $1 AND delivered_at IS NULL
"""


async def insert_notification(
    conn: Conn, key: str, ticket_id: str, kind: str, payload: dict[str, Any], created_at: datetime
) -> bool:
    status = await conn.execute(INSERT_NOTIFICATION, key, ticket_id, kind, payload, created_at)
    return status.endswith(" 1")


async def mark_notification(conn: Conn, key: str, delivered: bool) -> None:
    await conn.execute(MARK_NOTIFICATION, key, delivered)


async def notification_delivered(conn: Conn, key: str) -> bool:
    return bool(
        await conn.fetchval("SELECT delivered_at IS NOT NULL FROM notifications WHERE notification_key = $1", key)
    )
