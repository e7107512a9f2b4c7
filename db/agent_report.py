"""Each person's part in the tickets opened in a window (the dashboard's "by human agent" table and
`GET /reports/summary?by=agent`): tickets handled, replies, resolutions, first response and CSAT.

A person is whoever the store shows acting as a human: the author of a human reply (`messages.sender =
'human'`), or the actor of a person's decision (reassign, hand back, approve / reject, a priority change
that is not the workflow's own, a resolution by the person holding the ticket). Their first response on a
ticket runs from when it reached a person (its first hand-over event: escalated, or an SLA breach, kept
on the ticket row as `report_handover_at` by migration V20; the ticket's opening when it has none) to
their first reply on it.
"""

from __future__ import annotations

from datetime import datetime

from db.report_conn import report_connection
from db.tickets import Conn
from domain.success import AgentFigures

DECISION_EVENTS = ["human_replied", "reassigned", "handed_back", "action_approved", "action_rejected"]

AGENTS = """
WITH window_tickets AS (  -- a person acts only on a ticket that reached a person (db/reports.py)
    SELECT t.ticket_id, coalesce(t.report_handover_at, t.created_at) AS reached_at, t.csat_score, t.assigned_human
    FROM tickets t
    WHERE t.created_at >= $1 AND t.created_at < $2
      AND ($3::text IS NULL OR t.channel = $3)
      AND ($4::text IS NULL OR t.product = $4)
      AND (t.owner = 'human' OR t.assigned_human IS NOT NULL OR t.escalated OR t.report_person_event
           OR t.report_human_message)
), handled AS (  -- per ticket and person: replies, the first one, whether they resolved it
    SELECT w.ticket_id, w.reached_at, w.csat_score, a.agent, a.replies, a.first_at, a.resolved
    FROM window_tickets w
    CROSS JOIN LATERAL (
        SELECT x.who AS agent, sum(x.reply)::int AS replies, min(x.at) FILTER (WHERE x.reply = 1) AS first_at,
            bool_or(x.resolves) AS resolved
        FROM (
            SELECT m.author AS who, 1 AS reply, m.created_at AS at, false AS resolves
            FROM messages m WHERE m.ticket_id = w.ticket_id AND m.sender = 'human'
            UNION ALL
            SELECT e.actor, 0, e.created_at, e.kind = 'resolved'
            FROM ticket_events e
            WHERE e.ticket_id = w.ticket_id AND e.actor IS NOT NULL AND e.actor <> $6 AND (
                e.kind = ANY($5::text[]) OR e.kind = 'priority_changed'
                OR e.kind = 'resolved' AND e.actor = w.assigned_human
            )
        ) x
        GROUP BY x.who
    ) a
), timed AS MATERIALIZED (
    SELECT h.*, CASE WHEN h.first_at IS NOT NULL
        THEN greatest(extract(epoch FROM h.first_at - h.reached_at) / 3600.0, 0) END AS first_hours
    FROM handled h
)
SELECT agent,
    count(*) AS tickets_handled,
    sum(replies)::int AS replies,
    count(*) FILTER (WHERE resolved) AS resolved,
    avg(first_hours)::float8 AS first_response_hours_mean,
    percentile_cont(0.5) WITHIN GROUP (ORDER BY first_hours)::float8 AS first_response_hours_median,
    avg(csat_score)::float8 AS csat_mean,
    count(csat_score) AS csat_responses
FROM timed
GROUP BY agent
ORDER BY tickets_handled DESC, agent
"""
SYSTEM_ACTOR = "system"


async def agent_figures(
    conn: Conn, since: datetime, until: datetime, *, channel: str | None = None, product: str | None = None
) -> list[AgentFigures]:
    """Each person who acted on a ticket opened in [since, until), most tickets handled first."""
    async with report_connection(conn) as c:
        rows = await c.fetch(AGENTS, since, until, channel, product, DECISION_EVENTS, SYSTEM_ACTOR)
    out = []
    for r in rows:
        values = dict(r)
        for k in ("first_response_hours_mean", "first_response_hours_median", "csat_mean"):
            values[k] = round(values[k], 3) if values[k] is not None else None
        out.append(AgentFigures(**values))
    return out
