"""What the support floor looks like right now, for `GET /metrics` (Prometheus).

Gauges are read from the ticket store at each scrape (open tickets, the human queue, what is overdue);
the `_total` series are counts of audit events and ticket rows that only ever grow, so Prometheus'
`rate()` turns them into tickets, resolutions and escalations per second.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from db import outbox
from db.tickets import Conn

OPEN = "status NOT IN ('resolved', 'closed')"

BY_STATUS = f"""
SELECT status, coalesce(priority, 'untriaged') AS priority, count(*) AS n
FROM tickets WHERE {OPEN} GROUP BY 1, 2
"""
# The human queue as GET /queue shows it: escalated and not yet closed.
HUMAN_QUEUE = f"""
SELECT coalesce(priority, 'untriaged') AS priority, count(*) AS n
FROM tickets WHERE escalated AND {OPEN} GROUP BY 1
"""
NOW_STATE = f"""
SELECT
    count(*) FILTER (WHERE sla_breached) AS breached,
    count(*) FILTER (WHERE first_response_at IS NULL AND first_response_due < $1) AS first_response_overdue,
    count(*) FILTER (WHERE next_reply_due < $1) AS next_reply_overdue,
    extract(epoch FROM $1 - min(created_at) FILTER (WHERE first_response_at IS NULL))::float8 AS oldest_unanswered_s
FROM tickets WHERE {OPEN}
"""
BY_CHANNEL = "SELECT channel, count(*) AS n, coalesce(sum(cost_usd), 0)::float8 AS cost FROM tickets GROUP BY 1"
EVENTS = "SELECT kind, count(*) AS n FROM ticket_events WHERE kind = ANY($1::text[]) GROUP BY 1"
CSAT = "SELECT csat_score AS score, count(*) AS n FROM tickets WHERE csat_score IS NOT NULL GROUP BY 1"
BUGS = "SELECT severity, count(*) AS n FROM bug_reports GROUP BY 1"
SEVERITIES = ["low", "medium", "high", "critical"]
COUNTED_EVENTS = ["resolved", "escalated", "reopened", "human_replied"]


@dataclass
class Sample:
    name: str
    labels: dict[str, str]
    value: float


async def live_samples(conn: Conn, now: datetime) -> list[Sample]:
    """Every series `GET /metrics` exposes, read in one pass over the store."""
    return await floor_samples(conn, now, totals=True)


async def floor_samples(conn: Conn, now: datetime, *, totals: bool = False) -> list[Sample]:
    """The floor right now (open tickets, the human queue, what is overdue, the outbox): the console's live
    floor reads these alone; with `totals`, the ever-growing counts too (what `GET /metrics` adds)."""
    out: list[Sample] = []
    for r in await conn.fetch(BY_STATUS):
        out.append(Sample("support_open_tickets", {"status": r["status"], "priority": r["priority"]}, r["n"]))
    for r in await conn.fetch(HUMAN_QUEUE):
        out.append(Sample("support_human_queue_tickets", {"priority": r["priority"]}, r["n"]))
    s = await conn.fetchrow(NOW_STATE, now)
    assert s is not None  # an aggregate without GROUP BY always returns one row
    out.append(Sample("support_open_sla_breached_tickets", {}, s["breached"]))
    out.append(Sample("support_overdue_tickets", {"clock": "first_response"}, s["first_response_overdue"]))
    out.append(Sample("support_overdue_tickets", {"clock": "next_reply"}, s["next_reply_overdue"]))
    out.append(Sample("support_oldest_unanswered_seconds", {}, s["oldest_unanswered_s"] or 0.0))
    if not totals:
        pending, refused, oldest_s = await outbox.state(conn, now)
        out.append(Sample("support_customer_outbox_messages", {"state": "pending"}, pending))
        out.append(Sample("support_customer_outbox_messages", {"state": "refused"}, refused))
        return out
    for r in await conn.fetch(BY_CHANNEL):
        out.append(Sample("support_tickets_total", {"channel": r["channel"]}, r["n"]))
        out.append(Sample("support_model_cost_usd_total", {"channel": r["channel"]}, r["cost"]))
    events = {r["kind"]: r["n"] for r in await conn.fetch(EVENTS, COUNTED_EVENTS)}
    for kind in COUNTED_EVENTS:  # every series present from the first scrape, at 0, so rate() has a start
        out.append(Sample("support_ticket_events_total", {"kind": kind}, events.get(kind, 0)))
    pending, refused, oldest_s = await outbox.state(conn, now)
    out.append(Sample("support_customer_outbox_messages", {"state": "pending"}, pending))
    out.append(Sample("support_customer_outbox_messages", {"state": "refused"}, refused))
    out.append(Sample("support_customer_outbox_oldest_pending_seconds", {}, oldest_s))
    scores = {r["score"]: r["n"] for r in await conn.fetch(CSAT)}
    for score in range(1, 6):
        out.append(Sample("support_csat_responses_total", {"score": str(score)}, scores.get(score, 0)))
    bugs = {r["severity"]: r["n"] for r in await conn.fetch(BUGS)}
    for severity in SEVERITIES:
        out.append(Sample("support_bug_reports_total", {"severity": severity}, bugs.get(severity, 0)))
    return out
