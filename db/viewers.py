"""Who is viewing a ticket in the console (migration V21, `ticket_viewers`): each open ticket page beats
every HEARTBEAT_S seconds; a beat older than EXPIRES_S is nobody. An arrival (a new row, or one that had
expired) and a departure are announced with NOTIFY `ticket_viewers` (payload: the ticket id), so the other
pages showing the ticket update at once; a page closed without saying goodbye drops out of the others'
lists at their next beat."""

from __future__ import annotations

from db.tickets import Conn

CHANNEL = "ticket_viewers"
HEARTBEAT_S = 10
EXPIRES_S = 30

# `arrived`: the row is new, or its previous beat had expired (the viewer had gone).
_BEAT = f"""
WITH before AS (
    SELECT seen_at FROM ticket_viewers WHERE ticket_id = $1 AND agent_id = $2
), upsert AS (
    INSERT INTO ticket_viewers (ticket_id, agent_id, seen_at) VALUES ($1, $2, now())
    ON CONFLICT (ticket_id, agent_id) DO UPDATE SET seen_at = now()
)
SELECT NOT EXISTS (SELECT 1 FROM before WHERE seen_at > now() - interval '{EXPIRES_S} seconds') AS arrived
"""
_VIEWERS = f"""
SELECT agent_id FROM ticket_viewers
WHERE ticket_id = $1 AND seen_at > now() - interval '{EXPIRES_S} seconds' ORDER BY agent_id
"""


async def beat(conn: Conn, ticket_id: str, agent_id: str) -> list[str]:
    """Record that `agent_id` has the ticket open now; everyone viewing it (them included)."""
    arrived = await conn.fetchval(_BEAT, ticket_id, agent_id)
    if arrived:
        await conn.execute("SELECT pg_notify($1, $2)", CHANNEL, ticket_id)
        # Beats this old are nobody now; a table of viewers stays as small as the floor.
        await conn.execute(f"DELETE FROM ticket_viewers WHERE seen_at < now() - interval '{EXPIRES_S * 10} seconds'")
    return await viewers(conn, ticket_id)


async def leave(conn: Conn, ticket_id: str, agent_id: str) -> None:
    gone = await conn.fetchval(
        "DELETE FROM ticket_viewers WHERE ticket_id = $1 AND agent_id = $2 RETURNING true", ticket_id, agent_id
    )
    if gone:
        await conn.execute("SELECT pg_notify($1, $2)", CHANNEL, ticket_id)


async def viewers(conn: Conn, ticket_id: str) -> list[str]:
    return [r["agent_id"] for r in await conn.fetch(_VIEWERS, ticket_id)]
