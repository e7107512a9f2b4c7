"""The tag filter of the ticket list and the queue, and when to read a rare tag's tickets through the index.

Apart from the ticket store (db/tickets.py) because console/queries.py builds the queue's query with it too.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from db.tickets import Conn

# The category ($7) and tag ($8) filters of the ticket list and the queue; `tags @>` uses V19's GIN index.
CATEGORY_TAG = "($7::text IS NULL OR category = $7) AND ($8::text IS NULL OR tags @> ARRAY[$8::text])"
# A tag on few tickets (migration V24 counts them): its tickets' ids are read from the GIN index first (an
# InitPlan), then those rows. PostgreSQL estimates a tag missing from its statistics at 0.5 % of the rows,
# and for the newest 50 may walk `created_at` backwards through the whole table looking for a tag that a
# handful of tickets carry (docs/console.md, measured).
RARE_TAG = 1_000
TAG_COUNT = "SELECT tickets FROM ticket_tag_counts WHERE tag = $1"


def rare_tag_condition(n: int) -> str:
    """Tickets carrying the tag ${n}, found through the GIN index whatever the planner expects."""
    return f"ticket_id = ANY(ARRAY(SELECT r.ticket_id FROM tickets r WHERE r.tags @> ARRAY[${n}::text]))"


async def is_rare_tag(conn: Conn, tag: str | None) -> bool:
    """Whether a tag filter should read the tag's tickets first (at most RARE_TAG carry it; none: unknown)."""
    return tag is not None and (await conn.fetchval(TAG_COUNT, tag) or 0) <= RARE_TAG
