"""Counts behind the success-metrics report (`GET /reports/summary`, `supportctl report`).

One read-only query over the tickets opened in a window; `domain.success` turns the counts into the
brief's metrics. What "reached a person" means is defined there; the event kinds below are the ones
the ticket workflow writes for it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from db import report_rollup
from db.agent_report import agent_figures
from db.report_conn import report_connection
from db.report_sums import FINAL, PERCENTILES, SUMS, counts_fields
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
CALM = ["neutral", "positive"]  # a calm ending; the view `report_ticket_counts` (V23) lists them (a test checks)
# What the workflow does on its own is recorded as "system". It resolves a ticket as "system" only when
# the customer stopped answering (auto-resolve after AUTO_RESOLVE_HOURS of silence; the agents resolve as
# themselves, a person under their agent id): such a ticket's resolution time runs to our last answer,
# since the silence after it measures the auto-resolve setting, not the team (72 h of it would put every
# such ticket far past the 14 h target). It raises the priority as "system" when a later message asks
# for more speed: not a person's decision.
SYSTEM_ACTOR = "system"

# One pass over the window's tickets, counted for the whole window and, with GROUPING SETS, for each value
# of the breakdowns asked for ({sets}). `period` is the bucket of the chart: date_bin($5, created_at, since),
# so buckets start at `since`. What each ticket adds to each count is the view `report_ticket_counts`
# (migration V23, over the `report_*` facts V20's triggers keep on the ticket row); the rollup sums the
# same view (db/report_rollup.py). A report of one channel and one product together reads its tickets this
# way (the rollup keeps each channel and each product, not their cross).
COUNTS = f"""
WITH s AS (
    SELECT {{keys}} {SUMS}, {PERCENTILES.format(x="hours")}
    FROM (SELECT *, date_bin($5::interval, created_at, $1) AS period FROM report_ticket_counts
          WHERE created_at >= $1 AND created_at < $2
            AND ($3::text IS NULL OR channel = $3)
            AND ($4::text IS NULL OR product = $4)) c
    GROUP BY GROUPING SETS ({{sets}})
)
SELECT {{outer}} {FINAL}, s.resolution_hours_median, s.resolution_hours_p90 FROM s
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
    by: Sequence[str] = (), step: timedelta = DAY, rollup: bool | None = None,
) -> Grouped:  # fmt: skip
    """Counts over the tickets opened in [since, until), optionally of one channel or product, for the whole
    window and by each dimension of `by` (DIMENSIONS; `period` buckets of `step` from `since`). Read from
    the rollup (the whole store's rows, or one channel's or one product's) unless both a channel and a
    product are chosen (the rollup keeps no cross of them) or `rollup` is False; both give the same figures."""
    dims = [d for d in DIMENSIONS if d in by]
    unknown = set(by) - set(DIMENSIONS)
    if unknown:
        raise ValueError(f"cannot break down by {', '.join(sorted(unknown))}")
    scope = report_rollup.scope_of(channel, product)
    if rollup is None:
        rollup = scope is not None
    if rollup:
        if scope is None:
            raise ValueError("the rollup has no cross of a channel and a product")
        return await _rolled_up(conn, since, until, dims, step, scope)
    keys = "".join(f"{d} AS key_{d}, GROUPING({d}) AS g_{d}, " for d in dims)
    outer = "".join(f"s.key_{d}, s.g_{d}, " for d in dims)
    sets = ", ".join(["()", *(f"({d})" for d in dims)])
    sql = COUNTS.format(keys=keys, outer=outer, sets=sets)
    total: SupportCounts | None = None
    groups: dict[str, dict[str | datetime | None, SupportCounts]] = {d: {} for d in dims}
    async with report_connection(conn) as c:
        fetched = await c.fetch(sql, since, until, channel, product, step)
    for row in fetched:
        grouped_by = [d for d in dims if row[f"g_{d}"] == 0]  # GROUPING(d) = 0: this row's set is (d)
        dim = grouped_by[0] if grouped_by else TOTAL
        counts = SupportCounts(**counts_fields(row))
        if dim == TOTAL:
            total = counts
        else:  # a group shows no percentiles (domain.success.Group), as the rollup keeps none per group
            groups[dim][row[f"key_{dim}"]] = replace(counts, resolution_hours_median=None, resolution_hours_p90=None)
    assert total is not None  # the empty grouping set always returns one row
    return Grouped(total, groups)


async def _rolled_up(
    conn: Conn, since: datetime, until: datetime, dims: list[str], step: timedelta, scope: report_rollup.Scope
) -> Grouped:
    """grouped_counts from the rollup: its rows and the list of stale days read in one snapshot, the stale
    days counted from the tickets (db/report_rollup.py)."""
    others = [d for d in dims if d != "period"]
    # without a chart, one period spans the window: no hour is cut by a period's start
    span = step if "period" in dims else until - since
    async with report_connection(conn) as c:
        stale = await report_rollup.stale_days(c, since, until)
        periods = await report_rollup.period_rows(c, since, until, span, stale, scope)
        valued = await report_rollup.dim_rows(c, since, until, others, stale, scope) if others else []
    total: SupportCounts | None = None
    groups: dict[str, dict[str | datetime | None, SupportCounts]] = {d: {} for d in dims}
    for row in periods:
        if row["g"] == 1:  # the empty grouping set: the whole window
            total = SupportCounts(**counts_fields(row))
        elif "period" in dims:
            groups["period"][row["period"]] = SupportCounts(**counts_fields(row))
    for row in valued:
        groups[row["dim"]][row["value"]] = SupportCounts(**counts_fields(row))
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
    if report_rollup.scope_of(channel, product) is not None:  # read from the rollup: bring it up to date (bounded)
        await report_rollup.refresh(conn)
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
