"""Human decisions' request ids: which decision each `request_id` of a ticket was sent for.

The workflow answers a repeated `request_id` from its record without looking at what was sent, so the
API claims the id for the decision's fingerprint first and refuses a different decision under it.
"""

from __future__ import annotations

from dataclasses import dataclass

from db.tickets import Conn

CLAIM = """
INSERT INTO decision_requests (ticket_id, request_id, fingerprint, kind, agent_id)
VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (ticket_id, request_id) DO NOTHING
"""
GET = "SELECT fingerprint, kind, agent_id FROM decision_requests WHERE ticket_id = $1 AND request_id = $2"
RELEASE = "DELETE FROM decision_requests WHERE ticket_id = $1 AND request_id = $2 AND fingerprint = $3"


@dataclass(frozen=True)
class DecisionClaim:
    fingerprint: str
    kind: str
    agent_id: str


async def claim(
    conn: Conn, ticket_id: str, request_id: str, fingerprint: str, kind: str, agent_id: str
) -> DecisionClaim | None:
    """Claim `request_id` on this ticket for this decision. None when it is this decision's (new, or
    sent again); else the claim of the other decision that holds it."""
    await conn.execute(CLAIM, ticket_id, request_id, fingerprint, kind, agent_id)
    row = await conn.fetchrow(GET, ticket_id, request_id)
    if row is None or row["fingerprint"] == fingerprint:
        return None  # ours (or released meanwhile by a refused attempt: nothing holds it)
    return DecisionClaim(row["fingerprint"], row["kind"], row["agent_id"])


async def release(conn: Conn, ticket_id: str, request_id: str, fingerprint: str) -> None:
    """Free the id of a decision the ticket refused: it never applied, so the id may carry another."""
    await conn.execute(RELEASE, ticket_id, request_id, fingerprint)
