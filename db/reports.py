"""Counts behind the success-metrics report (`GET /reports/summary`, `supportctl report`).

One read-only query over the tickets opened in a window; `domain.success` turns the counts into the
brief's metrics. What "reached a person" means is defined there; the event kinds below are the ones
the ticket workflow writes for it.
"""

from __future__ import annotations

from datetime import datetime

from db.tickets import Conn
from domain.success import SupportCounts, SupportReport, report

# Audit events that mean a person took part: the agents handed the ticket over (or sent an action for
# approval: `escalated`), or a person decided something on it. An SLA breach (`sla_breach:<clock>`)
# hands the ticket over too; a person resolving it leaves it owned by them (`owner = 'human'`). A priority
# change is a person's unless the workflow made it (`system`: a later message asked for more speed).
# Tickets of the v1 workflow (before the lifecycle: no owner, no decisions) record a hand-over only as
# `status:escalated` and the sticky `escalated` column, which `tickets reconcile` clears when it closes them.
PERSON_EVENTS = [
    "escalated",
    "status:escalated",
    "human_replied",
    "reassigned",
    "handed_back",
    "action_approved",
    "action_rejected",
]
# Closed by `supportctl tickets reconcile` because its workflow ended: nobody resolved it, so it counts
# against automation (its outcome is known, and it is not a resolution). Unless it was already resolved
# (its survey still out when the workflow was terminated): that resolution, and its time, stand.
ENDED_WITHOUT_RESOLUTION = "workflow_ended"
CALM = ["neutral", "positive"]
# What the workflow does on its own is recorded as "system". It resolves a ticket as "system" only when
# the customer stopped answering (auto-resolve after AUTO_RESOLVE_HOURS of silence; the agents resolve as
# themselves, a person under their agent id): such a ticket's resolution time runs to our last answer,
# since the silence after it measures the auto-resolve setting, not the team (72 h of it would put every
# such ticket far past the 14 h target). It raises the priority as "system" when a later message asks
# for more speed: not a person's decision.
SYSTEM_ACTOR = "system"

SUMMARY = """
WITH window_tickets AS (
    SELECT t.ticket_id, t.created_at, t.resolved_at, t.sla_breached, t.csat_score, t.cost_usd,
        EXISTS (
            SELECT 1 FROM ticket_events e WHERE e.ticket_id = t.ticket_id AND e.kind = $6
              AND e.data->>'previous_status' IS DISTINCT FROM 'resolved'
        ) AS ended,
        (t.owner = 'human' OR t.assigned_human IS NOT NULL OR t.escalated OR EXISTS (
            SELECT 1 FROM ticket_events e
            WHERE e.ticket_id = t.ticket_id AND (e.kind = ANY($5::text[]) OR e.kind LIKE 'sla\\_breach:%'
                OR e.kind = 'priority_changed' AND e.actor IS DISTINCT FROM $8)
        ) OR EXISTS (
            SELECT 1 FROM messages m WHERE m.ticket_id = t.ticket_id AND m.sender = 'human'
        )) AS reached_person,
        coalesce((
            SELECT e.actor = $8 FROM ticket_events e WHERE e.ticket_id = t.ticket_id AND e.kind = 'resolved'
            ORDER BY e.created_at DESC, e.event_key DESC LIMIT 1
        ), false) AS by_silence,
        (SELECT max(m.created_at) FROM messages m
         WHERE m.ticket_id = t.ticket_id AND m.sender IN ('agent', 'human') AND m.created_at <= t.resolved_at
        ) AS last_answer_at,
        (EXISTS (SELECT 1 FROM ticket_events e WHERE e.ticket_id = t.ticket_id AND e.kind = 'reopened')
         OR EXISTS (SELECT 1 FROM tickets f WHERE f.linked_ticket_id = t.ticket_id)) AS came_back,
        (SELECT m.sentiment FROM messages m
         WHERE m.ticket_id = t.ticket_id AND m.sender = 'customer' AND m.sentiment IS NOT NULL
         ORDER BY m.seq DESC LIMIT 1) AS last_sentiment
    FROM tickets t
    WHERE t.created_at >= $1 AND t.created_at < $2
      AND ($3::text IS NULL OR t.channel = $3)
      AND ($4::text IS NULL OR t.product = $4)
), flagged AS (
    SELECT *, resolved_at IS NOT NULL AND NOT ended AS resolved FROM window_tickets
), resolved AS (
    SELECT extract(epoch FROM
        CASE WHEN by_silence AND last_answer_at IS NOT NULL THEN last_answer_at ELSE resolved_at END - created_at
    ) / 3600.0 AS hours
    FROM flagged WHERE resolved
)
SELECT
    count(*) AS tickets,
    count(*) FILTER (WHERE resolved) AS resolved,
    count(*) FILTER (WHERE resolved AND NOT reached_person) AS resolved_without_person,
    count(*) FILTER (WHERE resolved AND by_silence) AS resolved_by_silence,
    count(*) FILTER (WHERE resolved AND came_back) AS came_back,
    count(*) FILTER (WHERE reached_person) AS reached_person,
    count(*) FILTER (WHERE resolved OR reached_person OR ended) AS settled,
    count(*) FILTER (WHERE sla_breached) AS sla_breached,
    (SELECT avg(hours) FROM resolved)::float8 AS resolution_hours_mean,
    (SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY hours) FROM resolved)::float8 AS resolution_hours_median,
    (SELECT percentile_cont(0.9) WITHIN GROUP (ORDER BY hours) FROM resolved)::float8 AS resolution_hours_p90,
    count(csat_score) AS csat_responses,
    avg(csat_score)::float8 AS csat_mean,
    coalesce(sum(cost_usd), 0)::float8 AS cost_usd,
    count(last_sentiment) AS with_customer_sentiment,
    count(*) FILTER (WHERE last_sentiment = ANY($7::text[])) AS calm_end
FROM flagged
"""


async def support_counts(
    conn: Conn, since: datetime, until: datetime, *, channel: str | None = None, product: str | None = None
) -> SupportCounts:
    """Counts over the tickets opened in [since, until), optionally of one channel or product."""
    row = await conn.fetchrow(
        SUMMARY, since, until, channel, product, PERSON_EVENTS, ENDED_WITHOUT_RESOLUTION, CALM, SYSTEM_ACTOR
    )
    assert row is not None  # an aggregate without GROUP BY always returns one row
    return SupportCounts(**dict(row))


async def support_report(
    conn: Conn, since: datetime, until: datetime, *, channel: str | None = None, product: str | None = None
) -> SupportReport:
    """The brief's success metrics over the tickets opened in [since, until)."""
    counts = await support_counts(conn, since, until, channel=channel, product=product)
    return report(counts, since, until, channel, product)
