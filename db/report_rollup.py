"""The report's rollup (migration V23): sums per hour of opening, per day and breakdown value, per day and
person, so a quarter is read as a few thousand rows instead of its tickets and their conversations.

A window's figures are the rollup rows of the whole hours (or days) inside it that are not stale, plus
the same sums counted from the tickets for the rest: the window's ragged ends, the hours a chart period
starts in (periods start at `since`, not on the hour), and the days written to since their last refresh.
Stale days are read in the same snapshot as the rows, so the figures are exact at every moment.

`refresh` recomputes stale days (newest first, a bounded number per call) under an advisory lock, so
two refreshes never race; the report calls it before reading, and the benchmark's bulk load calls
`rebuild`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from db.report_sums import AGENT_COLUMNS, AGENT_FINAL, AGENT_SUMS, COUNT_COLUMNS, FINAL, MEDIAN_FIRST, PERCENTILES, SUMS
from db.tickets import Conn

HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
REFRESH_LOCK = 0x5_0C_7_23  # advisory lock of the refresh (any constant of ours)
REFRESH_DAYS = 8  # days recomputed per report at most: a bounded cost (stale days are counted from tickets anyway)
Ranges = list[tuple[datetime, datetime]]
Connection = asyncpg.Connection | PoolConnectionProxy

# The breakdowns the rollup keeps per day, as (name, column) pairs of report_ticket_counts.
DIMS_OF = "(VALUES ('channel', c.channel), ('category', c.category), ('priority', c.priority), ('product', c.product))"
# The rows of a view opened on the days $1, a lateral probe of the tickets' time index per day (as IN_RANGES).
IN_DAYS = (
    "unnest($1::timestamptz[]) d(day) CROSS JOIN LATERAL (SELECT * FROM {table} "
    "WHERE created_at >= d.day AND created_at < d.day + interval '24 hours' OFFSET 0) {short}"
)
# Rows of a table or view opened in any of the ranges $lo/$hi (arrays), each range read through the
# index on its time column (a lateral probe per range, never a scan of the whole table: OFFSET 0 keeps
# the planner from flattening the probe into a join it may plan as one).
IN_RANGES = (
    "unnest(${lo}::timestamptz[], ${hi}::timestamptz[]) {alias}(lo, hi) CROSS JOIN LATERAL "
    "(SELECT * FROM {table} WHERE {col} >= {alias}.lo AND {col} < {alias}.hi OFFSET 0) {short}"
)
COLS = ", ".join(COUNT_COLUMNS)
ACOLS = ", ".join(AGENT_COLUMNS)

REFRESH = [
    "DELETE FROM report_hours h USING unnest($1::timestamptz[]) d(day) "
    "WHERE h.hour >= d.day AND h.hour < d.day + interval '24 hours'",
    f"""INSERT INTO report_hours (hour, {COLS}, hours)
        SELECT date_trunc('hour', c.created_at, 'UTC'), {SUMS},
            coalesce(array_agg(c.hours ORDER BY c.hours) FILTER (WHERE c.hours IS NOT NULL), '{{}}')
        FROM {IN_DAYS.format(table="report_ticket_counts", short="c")}
        GROUP BY 1""",
    "DELETE FROM report_days r WHERE r.day = ANY($1::timestamptz[])",
    f"""INSERT INTO report_days (day, dim, value, {COLS})
        SELECT d.day, x.dim, x.value, {SUMS}
        FROM {IN_DAYS.format(table="report_ticket_counts", short="c")} CROSS JOIN LATERAL {DIMS_OF} x(dim, value)
        GROUP BY 1, 2, 3""",
    "DELETE FROM report_agent_days r WHERE r.day = ANY($1::timestamptz[])",
    f"""INSERT INTO report_agent_days (day, agent, {ACOLS}, first_hours)
        SELECT d.day, a.agent, {AGENT_SUMS},
            coalesce(array_agg(a.first_hours ORDER BY a.first_hours) FILTER (WHERE a.first_hours IS NOT NULL), '{{}}')
        FROM {IN_DAYS.format(table="report_agent_facts", short="a")}
        GROUP BY 1, 2""",
]
STALE = "SELECT DISTINCT day FROM report_stale_days WHERE day >= $1 AND day < $2"


async def refresh(conn: Conn, max_days: int | None = REFRESH_DAYS) -> int:
    """Recompute the rollup of the stale days (the newest `max_days` of them); how many were recomputed.
    Returns 0 at once when another refresh holds the lock (readers count stale days from the tickets)."""
    if isinstance(conn, asyncpg.Pool):
        async with conn.acquire() as c:
            return await refresh(c, max_days)
    async with conn.transaction():  # read committed: each statement sees what committed before it
        if not await conn.fetchval("SELECT pg_try_advisory_xact_lock($1)", REFRESH_LOCK):
            return 0
        rows = await conn.fetch(
            "SELECT DISTINCT day FROM report_stale_days ORDER BY day DESC LIMIT $1", max_days
        )  # fmt: skip
        days = [r["day"] for r in rows]
        if not days:
            return 0
        # An entry deleted here was committed before this statement, so its write is in what the next
        # statements read; one written meanwhile stays, and its day stays stale.
        await conn.execute("DELETE FROM report_stale_days WHERE day = ANY($1::timestamptz[])", days)
        for sql in REFRESH:
            await conn.execute(sql, days)
    return len(days)


async def rebuild(conn: Conn) -> int:
    """Mark every day of the store stale and recompute them all (after a bulk load that skipped triggers)."""
    await conn.execute(
        "INSERT INTO report_stale_days SELECT DISTINCT report_day_of(created_at) FROM tickets"
    )  # fmt: skip
    return await refresh(conn, None)


def floor_to(t: datetime, unit: timedelta) -> datetime:
    t = t.astimezone(UTC)
    base = t.replace(minute=0, second=0, microsecond=0)
    return base if unit == HOUR else base.replace(hour=0)


@dataclass(frozen=True)
class Plan:
    """Which parts of [since, until) the rollup answers (`rolled`: runs of whole units) and which are
    counted from the tickets (`fresh`)."""

    rolled: Ranges
    fresh: Ranges


def plan(
    since: datetime, until: datetime, unit: timedelta, stale: set[datetime], step: timedelta | None = None
) -> Plan:
    """Whole hours or days inside [since, until) on days not stale (and, with `step`, inside one period of
    `step` from `since`), merged into runs; the rest of the window as ranges to count from tickets. Worked
    out from the holes (stale days, the unit each period starts inside), not unit by unit: a year of hours
    costs microseconds."""
    start = floor_to(since, unit)
    if start < since:
        start += unit
    end = floor_to(until, unit)
    holes = [(day, day + DAY) for day in stale]
    if step is not None:
        cut = since + step
        while cut < until:
            lo = floor_to(cut, unit)
            if lo != cut:  # a period starts inside this unit: its tickets are counted by period
                holes.append((lo, lo + unit))
            cut += step
    rolled: Ranges = []
    at = start
    for lo, hi in sorted(holes):
        if lo >= end:
            break
        if lo > at:
            rolled.append((at, lo))
        at = max(at, hi)
    if at < end:
        rolled.append((at, end))
    fresh: Ranges = []
    at = since
    for lo, hi in rolled:
        if at < lo:
            fresh.append((at, lo))
        at = hi
    if at < until:
        fresh.append((at, until))
    return Plan(rolled, fresh)


async def stale_days(c: Connection, since: datetime, until: datetime) -> set[datetime]:
    return {r["day"] for r in await c.fetch(STALE, floor_to(since, DAY), until)}


def _arrays(ranges: Ranges) -> tuple[list[datetime], list[datetime]]:
    return [lo for lo, _ in ranges], [hi for _, hi in ranges]


def _in(lo: int, alias: str, table: str, short: str, col: str) -> str:
    return IN_RANGES.format(lo=lo, hi=lo + 1, alias=alias, table=table, short=short, col=col)


# The total and the chart's periods: hours of the rollup plus tickets of the rest, one statement.
# $1 since, $2 the period's length, $3/$4 rolled hours, $5/$6 fresh ranges.
PERIODS = f"""
WITH rolled AS (
    SELECT date_bin($2::interval, h.hour, $1) AS period, h.* FROM {_in(3, "r", "report_hours", "h", "hour")}
), fresh AS (
    SELECT date_bin($2::interval, c.created_at, $1) AS period, c.*
    FROM {_in(5, "f", "report_ticket_counts", "c", "created_at")}
), parts AS (
    SELECT period, {SUMS} FROM rolled GROUP BY 1
    UNION ALL
    SELECT period, {SUMS} FROM fresh GROUP BY 1
), pct AS (
    SELECT {PERCENTILES.format(x="v.x")}
    FROM (SELECT unnest(hours) AS x FROM rolled UNION ALL SELECT hours FROM fresh WHERE hours IS NOT NULL) v
), s AS (
    SELECT period, GROUPING(period) AS g, {SUMS} FROM parts GROUP BY GROUPING SETS ((), (period))
)
SELECT s.period, s.g, {FINAL},  -- percentiles of the whole window only (domain.success.Group has none)
    CASE WHEN s.g = 1 THEN pct.resolution_hours_median END AS resolution_hours_median,
    CASE WHEN s.g = 1 THEN pct.resolution_hours_p90 END AS resolution_hours_p90
FROM s CROSS JOIN pct
"""
# Each breakdown's values: days of the rollup plus tickets of the rest. $1 the breakdowns, $2/$3 rolled
# days, $4/$5 fresh ranges. Groups show no percentiles (domain.success.Group).
DIMS = f"""
WITH parts AS (
    SELECT d.dim, d.value, {SUMS}
    FROM {_in(2, "r", "report_days", "d", "day")} WHERE d.dim = ANY($1::text[]) GROUP BY 1, 2
    UNION ALL
    SELECT x.dim, x.value, {SUMS}
    FROM {_in(4, "f", "report_ticket_counts", "c", "created_at")} CROSS JOIN LATERAL {DIMS_OF} x(dim, value)
    WHERE x.dim = ANY($1::text[]) GROUP BY 1, 2
), s AS (
    SELECT dim, value, {SUMS} FROM parts GROUP BY dim, value
)
SELECT s.dim, s.value, {FINAL}, NULL::float8 AS resolution_hours_median, NULL::float8 AS resolution_hours_p90
FROM s
"""
# Each person: days of the rollup plus ticket-and-person facts of the rest. $1/$2 rolled, $3/$4 fresh.
AGENTS = f"""
WITH rolled AS (
    SELECT a.* FROM {_in(1, "r", "report_agent_days", "a", "day")}
), fresh AS (
    SELECT a.* FROM {_in(3, "f", "report_agent_facts", "a", "created_at")}
), parts AS (
    SELECT agent, {AGENT_SUMS} FROM rolled GROUP BY 1
    UNION ALL
    SELECT agent, {AGENT_SUMS} FROM fresh GROUP BY 1
), medians AS (
    SELECT v.agent, {MEDIAN_FIRST.format(x="v.x")}
    FROM (SELECT agent, unnest(first_hours) AS x FROM rolled
          UNION ALL SELECT agent, first_hours FROM fresh WHERE first_hours IS NOT NULL) v
    GROUP BY v.agent
), s AS (
    SELECT agent, {AGENT_SUMS} FROM parts GROUP BY agent
)
SELECT {AGENT_FINAL}, m.first_response_hours_median
FROM s LEFT JOIN medians m USING (agent)
ORDER BY s.tickets_handled DESC, s.agent
"""


async def period_rows(
    c: Connection, since: datetime, until: datetime, step: timedelta, stale: set[datetime]
) -> list[Any]:
    p = plan(since, until, HOUR, stale, step)
    return list(await c.fetch(PERIODS, since, step, *_arrays(p.rolled), *_arrays(p.fresh)))


async def dim_rows(
    c: Connection, since: datetime, until: datetime, dims: Sequence[str], stale: set[datetime]
) -> list[Any]:
    p = plan(since, until, DAY, stale)
    return list(await c.fetch(DIMS, list(dims), *_arrays(p.rolled), *_arrays(p.fresh)))


async def agent_rows(c: Connection, since: datetime, until: datetime, stale: set[datetime]) -> list[Any]:
    p = plan(since, until, DAY, stale)
    return list(await c.fetch(AGENTS, *_arrays(p.rolled), *_arrays(p.fresh)))
