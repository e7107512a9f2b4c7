"""The queue's views (Mine, Unassigned, Waiting for approval, Breaching, All) with their filters and
counts: read-only SQL over the ticket store, in the shapes db.tickets already defines (TicketRecord,
SLA_DUE, and the open/human-queue conditions GET /queue and GET /metrics use)."""

from __future__ import annotations

from dataclasses import dataclass

from db.live import OPEN
from db.tag_filter import is_rare_tag, rare_tag_condition
from db.tickets import SLA_DUE, Conn, TicketRecord

PENDING = (
    "EXISTS (SELECT 1 FROM agent_actions a WHERE a.ticket_id = tickets.ticket_id AND a.status = 'pending_approval')"
)
PRIORITY_RANK = "CASE priority WHEN 'critical' THEN 0 WHEN 'high' THEN 1 WHEN 'medium' THEN 2 ELSE 3 END"
# view -> (label, condition, order). "$8" is the signed-in agent.
VIEWS: dict[str, tuple[str, str, str]] = {
    "mine": ("Mine", f"{OPEN} AND assigned_human = $8", f"{PRIORITY_RANK}, {SLA_DUE} NULLS LAST, created_at"),
    "unassigned": (
        "Unassigned",
        f"escalated AND {OPEN} AND assigned_human IS NULL",  # GET /queue?unassigned=true
        f"{PRIORITY_RANK}, {SLA_DUE} NULLS LAST, created_at",
    ),
    "approval": ("Waiting for approval", f"{OPEN} AND {PENDING}", f"{PRIORITY_RANK}, created_at"),
    "breaching": ("Breaching", f"{OPEN} AND {SLA_DUE} IS NOT NULL", f"{SLA_DUE}, {PRIORITY_RANK}"),
    "all": ("All", "TRUE", "created_at DESC, ticket_id"),
}
FILTER_NAMES = ("status", "priority", "category", "channel", "product", "customer", "tag")
# $1 .. $7: what each filter asks of a ticket
FILTER_CONDITIONS = (
    "status = $1", "priority = $2", "category = $3", "channel = $4", "product = $5", "customer_id = $6",
    "tags @> ARRAY[$7::text]",  # V19's GIN index answers `tags @>`
)  # fmt: skip


@dataclass(frozen=True)
class Filters:
    status: str | None = None
    priority: str | None = None
    category: str | None = None
    channel: str | None = None
    product: str | None = None
    customer: str | None = None
    tag: str | None = None  # one of the ticket's tags

    def args(self) -> list[str | None]:
        return [self.status, self.priority, self.category, self.channel, self.product, self.customer, self.tag]

    def query(self) -> dict[str, str]:
        return {k: v for k, v in zip(FILTER_NAMES, self.args(), strict=True) if v}

    def where(self, rare_tag: bool = False) -> str:
        """The filters given as conditions an index can serve, whatever plan Postgres caches for the
        statement; the others as `$n IS NULL`, which it checks once, not per row (`($n IS NULL OR column =
        $n)` scanned every ticket once a generic plan was cached). A rare tag's tickets are read from the
        GIN index first (db.tag_filter.is_rare_tag)."""
        conditions = [
            condition if value else f"${n}::text IS NULL"
            for n, (condition, value) in enumerate(zip(FILTER_CONDITIONS, self.args(), strict=True), start=1)
        ]
        if rare_tag:
            conditions.append(rare_tag_condition(7))
        return " AND ".join(conditions)


async def view_rows(conn: Conn, view: str, f: Filters, me: str, limit: int = 200) -> list[TicketRecord]:
    _, where, order = VIEWS[view]
    filters = f.where(rare_tag=await is_rare_tag(conn, f.tag))
    rows = await conn.fetch(
        f"SELECT * FROM tickets WHERE {where} AND {filters} AND $8::text IS NOT NULL ORDER BY {order} LIMIT $9",
        *f.args(),
        me,
        limit,
    )
    return [TicketRecord.model_validate(dict(r)) for r in rows]


async def view_counts(conn: Conn, f: Filters, me: str) -> dict[str, int]:
    """Each view's count under the filters. Every view but All is of open tickets: those are counted from
    the open tickets' index (migration V20), a few hundred rows however large the store grows."""
    open_views = {name: where for name, (_, where, _) in VIEWS.items() if OPEN in where}
    counts = ", ".join(f"count(*) FILTER (WHERE {where}) AS {name}" for name, where in open_views.items())
    row = await conn.fetchrow(
        f"SELECT {counts} FROM tickets WHERE {OPEN} AND {f.where()} AND $8::text IS NOT NULL", *f.args(), me
    )
    out = {name: int(row[name]) if row else 0 for name in open_views}
    everything = await conn.fetchval(f"SELECT count(*) FROM tickets WHERE {f.where()}", *f.args())
    return {name: out.get(name, int(everything or 0)) for name in VIEWS}


# The distinct values of a column read as a skip scan of its index (one probe per value, migration V20's
# indexes), not a scan of every ticket.
DISTINCT = """
WITH RECURSIVE found AS (
    (SELECT {column} AS v FROM tickets WHERE {column} IS NOT NULL ORDER BY {column} LIMIT 1)
    UNION ALL
    SELECT (SELECT {column} FROM tickets WHERE {column} > found.v ORDER BY {column} LIMIT 1) FROM found
    WHERE found.v IS NOT NULL
)
SELECT v FROM found WHERE v IS NOT NULL
"""


async def choices(conn: Conn) -> dict[str, list[str]]:
    """The values the filters offer: what the store holds (categories, channels, products, tags)."""
    out: dict[str, list[str]] = {}
    for column in ("category", "channel", "product"):
        out[column] = [r["v"] for r in await conn.fetch(DISTINCT.format(column=column))]
    # the tags in use, counted by migration V24's trigger (no scan of the tickets); LIMIT: a menu, not a report
    rows = await conn.fetch("SELECT tag AS v FROM ticket_tag_counts ORDER BY tag LIMIT 500")
    out["tag"] = [r["v"] for r in rows]
    return out
