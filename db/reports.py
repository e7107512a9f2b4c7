"""Counts behind the success-metrics report (`GET /reports/summary`, `supportctl report`).

One read-only query over the tickets opened in a window; `domain.success` turns the counts into the
brief's metrics. What "reached a person" means is defined there; the event kinds below are the ones
the ticket workflow writes for it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from db.agent_report import agent_figures
from db.report_conn import report_connection
from db.tickets import Conn
from domain.success import Group, SupportCounts, SupportReport, group, report

# Audit events that mean a person took part (the kinds migration V20's trigger sets `report_person_event`
# for: keep the two lists the same; tests/test_reports.py checks they are): the agents handed the ticket
# over (or sent an action for approval: `escalated`), or a person decided something on it. An SLA
# breach (`sla_breach:<clock>`) hands the ticket over too; a person resolving it leaves it owned by them
# (`owner = 'human'`). A priority change is a person's unless the workflow made it (`system`: a later
# message asked for more speed).
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

# One pass over the window's tickets, counted for the whole window and, with GROUPING SETS, for each value
# of the breakdowns asked for ({sets}). `period` is the bucket of the chart: date_bin($6, created_at, since),
# so buckets start at `since`. What a ticket's events and messages say (a person took part, it ended
# without a resolution, who resolved it last, the customer's last sentiment) is kept on its row by the
# triggers of migration V20 (`report_*` columns), so a month of tickets is read without their events.
COUNTS = """
WITH window_tickets AS (
    SELECT t.ticket_id, t.created_at, t.resolved_at, t.sla_breached, t.csat_score, t.cost_usd,
        t.channel, t.category, t.priority, t.product, date_bin($6::interval, t.created_at, $1) AS period,
        t.report_ended AS ended,
        (t.owner = 'human' OR t.assigned_human IS NOT NULL OR t.escalated OR t.report_person_event
            OR t.report_human_message) AS reached_person,
        t.report_by_silence AS by_silence,
        CASE WHEN t.report_by_silence THEN (
            SELECT max(m.created_at) FROM messages m
            WHERE m.ticket_id = t.ticket_id AND m.sender IN ('agent', 'human') AND m.created_at <= t.resolved_at
        ) END AS last_answer_at,
        t.report_reopened OR follow_up.found IS NOT NULL AS came_back,
        t.report_last_sentiment AS last_sentiment
    FROM tickets t
    LEFT JOIN LATERAL (  -- a probe of the follow-ups' index per ticket, never a hash of every ticket
        SELECT true AS found FROM tickets f WHERE f.linked_ticket_id = t.ticket_id LIMIT 1
    ) follow_up ON true
    WHERE t.created_at >= $1 AND t.created_at < $2
      AND ($3::text IS NULL OR t.channel = $3)
      AND ($4::text IS NULL OR t.product = $4)
), flagged AS (
    SELECT *, resolved_at IS NOT NULL AND NOT ended AS resolved FROM window_tickets
), measured AS (
    SELECT *, CASE WHEN resolved THEN extract(epoch FROM
        CASE WHEN by_silence AND last_answer_at IS NOT NULL THEN last_answer_at ELSE resolved_at END - created_at
    ) / 3600.0 END AS hours
    FROM flagged
)
SELECT
    {keys}
    count(*) AS tickets,
    count(*) FILTER (WHERE resolved) AS resolved,
    count(*) FILTER (WHERE resolved AND NOT reached_person) AS resolved_without_person,
    count(*) FILTER (WHERE resolved AND by_silence) AS resolved_by_silence,
    count(*) FILTER (WHERE resolved AND came_back) AS came_back,
    count(*) FILTER (WHERE reached_person) AS reached_person,
    count(*) FILTER (WHERE resolved OR reached_person OR ended) AS settled,
    count(*) FILTER (WHERE sla_breached) AS sla_breached,
    avg(hours)::float8 AS resolution_hours_mean,
    percentile_cont(0.5) WITHIN GROUP (ORDER BY hours)::float8 AS resolution_hours_median,
    percentile_cont(0.9) WITHIN GROUP (ORDER BY hours)::float8 AS resolution_hours_p90,
    count(csat_score) AS csat_responses,
    avg(csat_score)::float8 AS csat_mean,
    count(*) FILTER (WHERE csat_score = 1) AS csat_1,
    count(*) FILTER (WHERE csat_score = 2) AS csat_2,
    count(*) FILTER (WHERE csat_score = 3) AS csat_3,
    count(*) FILTER (WHERE csat_score = 4) AS csat_4,
    count(*) FILTER (WHERE csat_score = 5) AS csat_5,
    coalesce(sum(cost_usd), 0)::float8 AS cost_usd,
    count(last_sentiment) AS with_customer_sentiment,
    count(*) FILTER (WHERE last_sentiment = ANY($5::text[])) AS calm_end
FROM measured
GROUP BY GROUPING SETS ({sets})
"""
# What a breakdown may group by: a column of the window's tickets (never text from a request).
DIMENSIONS = ("channel", "category", "priority", "product", "period")
DAY = timedelta(days=1)
TOTAL = ""  # the key of the whole window's counts


@dataclass(frozen=True)
class Grouped:
    """Counts of the whole window (`total`) and of each value of each breakdown asked for."""

    total: SupportCounts
    groups: dict[str, dict[str | datetime | None, SupportCounts]]


async def grouped_counts(
    conn: Conn, since: datetime, until: datetime, *, channel: str | None = None, product: str | None = None,
    by: Sequence[str] = (), step: timedelta = DAY,
) -> Grouped:  # fmt: skip
    """Counts over the tickets opened in [since, until), optionally of one channel or product, for the whole
    window and by each dimension of `by` (DIMENSIONS; `period` buckets of `step` from `since`)."""
    dims = [d for d in DIMENSIONS if d in by]
    unknown = set(by) - set(DIMENSIONS)
    if unknown:
        raise ValueError(f"cannot break down by {', '.join(sorted(unknown))}")
    keys = "".join(f"{d} AS key_{d}, GROUPING({d}) AS g_{d}, " for d in dims)
    sets = ", ".join(["()", *(f"({d})" for d in dims)])
    sql = COUNTS.format(keys=keys, sets=sets)
    args = (since, until, channel, product, CALM, step)
    total: SupportCounts | None = None
    groups: dict[str, dict[str | datetime | None, SupportCounts]] = {d: {} for d in dims}
    async with report_connection(conn) as c:
        fetched = await c.fetch(sql, *args)
    for row in fetched:
        values = dict(row)
        grouped_by = [d for d in dims if values.pop(f"g_{d}") == 0]  # GROUPING(d) = 0: this row's set is (d)
        dim = grouped_by[0] if grouped_by else TOTAL
        key = values.get(f"key_{dim}")
        counts = SupportCounts(**{k: v for k, v in values.items() if not k.startswith("key_")})
        if dim == TOTAL:
            total = counts
        else:
            groups[dim][key] = counts
    assert total is not None  # the empty grouping set always returns one row
    return Grouped(total, groups)


async def support_counts(
    conn: Conn, since: datetime, until: datetime, *, channel: str | None = None, product: str | None = None
) -> SupportCounts:
    """Counts over the tickets opened in [since, until), optionally of one channel or product."""
    return (await grouped_counts(conn, since, until, channel=channel, product=product)).total


async def support_report(
    conn: Conn, since: datetime, until: datetime, *, channel: str | None = None, product: str | None = None,
    by: Sequence[str] = (), step: timedelta = DAY,
) -> SupportReport:  # fmt: skip
    """The brief's success metrics over the tickets opened in [since, until); with `by`, broken down by
    channel, category, priority, product or `period` (buckets of `step` from `since`, in time order), and
    each person's figures (`agent`). GET /reports/summary and the console's dashboard both call this."""
    dims = [d for d in by if d != "agent"]
    counts = await grouped_counts(conn, since, until, channel=channel, product=product, by=dims, step=step)
    out = report(counts.total, since, until, channel, product)
    out.breakdowns = {d: groups_of(d, counts.groups[d]) for d in DIMENSIONS if d in dims}
    if "agent" in by:
        out.agents = await agent_figures(conn, since, until, channel=channel, product=product)
    return out


def groups_of(dim: str, groups: dict[str | datetime | None, SupportCounts]) -> list[Group]:
    """One breakdown's groups: periods in time order, other values most tickets first (then by value)."""
    if dim == "period":
        timed = sorted(groups.items(), key=_when)
        return [group(k.isoformat() if isinstance(k, datetime) else None, c) for k, c in timed]
    ordered = sorted(groups.items(), key=lambda kv: (-kv[1].tickets, str(kv[0] or "")))
    return [group(None if k is None else str(k), c) for k, c in ordered]


def _when(kv: tuple[str | datetime | None, SupportCounts]) -> str:
    return kv[0].isoformat() if isinstance(kv[0], datetime) else ""
