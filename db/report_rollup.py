"""The report's rollup (migrations V23, V26): sums per hour of opening, per day and breakdown value, per day
and person, each for the whole store and for each channel and each product (a row's scope), so a quarter is
read as a few thousand rows instead of its tickets and their conversations, with or without a filter.

A window's figures are the rollup rows of the whole hours (or days) inside it that are not stale, plus
the same sums counted from the tickets for the rest: the window's ragged ends, the hours a chart period
starts in (periods start at `since`, not on the hour), and the days written to since their last refresh.
Stale days are read in the same snapshot as the rows, so the figures are exact at every moment.

`refresh` recomputes stale days (newest first, a bounded number per call) under an advisory lock, so
two refreshes never race; the report calls it before reading, the worker in the background
(activities/report_refresh.py), and `rebuild` (`supportctl reports rebuild`, the benchmark's bulk load)
recomputes every day.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
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
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class Scope:
    """Whose tickets a rollup row sums: every ticket (`kind` ''), one channel's or one product's."""

    kind: str = ""  # "" | "channel" | "product": a column of the report's views (never text from a request)
    value: str = ""


WHOLE = Scope()
KINDS = ("", "channel", "product")


def scope_of(channel: str | None, product: str | None) -> Scope | None:
    """The rollup scope of a report's filter; None for a channel and a product together (no such rows)."""
    if channel is not None and product is not None:
        return None
    if channel is not None:
        return Scope("channel", channel)
    if product is not None:
        return Scope("product", product)
    return WHOLE


# The breakdowns the rollup keeps per day, as (name, column) pairs of report_ticket_counts.
DIMS_OF = "(VALUES ('channel', c.channel), ('category', c.category), ('priority', c.priority), ('product', c.product))"
# The scopes a row of a view (alias {a}) is summed into; a ticket without a product has no product scope.
SCOPES_OF = "(VALUES ('', ''), ('channel', {a}.channel), ('product', {a}.product)) s(scope, value)"
# The rows of a view opened on the days $1, a lateral probe of the tickets' time index per day (as IN_RANGES).
IN_DAYS = (
    "unnest($1::timestamptz[]) d(day) CROSS JOIN LATERAL (SELECT * FROM {table} "
    "WHERE created_at >= d.day AND created_at < d.day + interval '24 hours' OFFSET 0) {short}"
)
# Rows of a table or view opened in any of the ranges $lo/$hi (arrays), each range read through the
# index on its time column (a lateral probe per range, never a scan of the whole table: OFFSET 0 keeps
# the planner from flattening the probe into a join it may plan as one); {cond} keeps one scope's rows.
IN_RANGES = (
    "unnest(${lo}::timestamptz[], ${hi}::timestamptz[]) {alias}(lo, hi) CROSS JOIN LATERAL "
    "(SELECT * FROM {table} WHERE {cond}{col} >= {alias}.lo AND {col} < {alias}.hi OFFSET 0) {short}"
)
COLS = ", ".join(COUNT_COLUMNS)
ACOLS = ", ".join(AGENT_COLUMNS)

REFRESH = [
    "DELETE FROM report_hours h USING unnest($1::timestamptz[]) d(day) "
    "WHERE h.hour >= d.day AND h.hour < d.day + interval '24 hours'",
    f"""INSERT INTO report_hours (scope, scope_value, hour, {COLS}, hours)
        SELECT s.scope, s.value, date_trunc('hour', c.created_at, 'UTC'), {SUMS},
            coalesce(array_agg(c.hours ORDER BY c.hours) FILTER (WHERE c.hours IS NOT NULL), '{{}}')
        FROM {IN_DAYS.format(table="report_ticket_counts", short="c")} CROSS JOIN LATERAL {SCOPES_OF.format(a="c")}
        WHERE s.value IS NOT NULL
        GROUP BY 1, 2, 3""",
    "DELETE FROM report_days r WHERE r.day = ANY($1::timestamptz[])",
    f"""INSERT INTO report_days (scope, scope_value, day, dim, value, {COLS})
        SELECT s.scope, s.value, d.day, x.dim, x.value, {SUMS}
        FROM {IN_DAYS.format(table="report_ticket_counts", short="c")} CROSS JOIN LATERAL {SCOPES_OF.format(a="c")}
            CROSS JOIN LATERAL {DIMS_OF} x(dim, value)
        WHERE s.value IS NOT NULL
        GROUP BY 1, 2, 3, 4, 5""",
    "DELETE FROM report_agent_days r WHERE r.day = ANY($1::timestamptz[])",
    f"""INSERT INTO report_agent_days (scope, scope_value, day, agent, {ACOLS}, first_hours)
        SELECT s.scope, s.value, d.day, a.agent, {AGENT_SUMS},
            coalesce(array_agg(a.first_hours ORDER BY a.first_hours) FILTER (WHERE a.first_hours IS NOT NULL), '{{}}')
        FROM {IN_DAYS.format(table="report_agent_facts", short="a")} CROSS JOIN LATERAL {SCOPES_OF.format(a="a")}
        WHERE s.value IS NOT NULL
        GROUP BY 1, 2, 3, 4""",
]
STALE = "SELECT DISTINCT day FROM report_stale_days WHERE day >= $1 AND day < $2"
# Every day with tickets or rollup rows (a bulk delete that skipped the triggers leaves rows of empty days).
ALL_DAYS = """
INSERT INTO report_stale_days
SELECT report_day_of(created_at) FROM tickets
UNION SELECT report_day_of(hour) FROM report_hours
UNION SELECT day FROM report_days
UNION SELECT day FROM report_agent_days
"""


async def refresh(conn: Conn, max_days: int | None = REFRESH_DAYS, *, wait: bool = False) -> int:
    """Recompute the rollup of the stale days (the newest `max_days` of them); how many were recomputed.
    Returns 0 at once when another refresh holds the lock (readers count stale days from the tickets),
    unless `wait`: then it waits for that refresh to end."""
    if isinstance(conn, asyncpg.Pool):
        async with conn.acquire() as c:
            return await refresh(c, max_days, wait=wait)
    async with conn.transaction():  # read committed: each statement sees what committed before it
        if wait:
            await conn.execute("SELECT pg_advisory_xact_lock($1)", REFRESH_LOCK)
        elif not await conn.fetchval("SELECT pg_try_advisory_xact_lock($1)", REFRESH_LOCK):
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


async def stale_count(conn: Conn) -> int:
    """How many days wait for a refresh."""
    n: int = await conn.fetchval("SELECT count(DISTINCT day) FROM report_stale_days")
    return n


async def rolled_hours(conn: Conn) -> int:
    """How many hours of opening the rollup holds (of the whole store's scope)."""
    n: int = await conn.fetchval("SELECT count(*) FROM report_hours WHERE scope = ''")
    return n


async def rebuild(conn: Conn, batch_days: int = 31, progress: Progress | None = None) -> int:
    """Mark every day of the store stale and recompute them all, `batch_days` per transaction (readers count
    the days not yet done from the tickets meanwhile); `progress(done, total)` after each batch. For a bulk
    load that skipped the triggers, or a rollup an operator distrusts. Returns the days recomputed."""
    await conn.execute(ALL_DAYS)
    return await catch_up(conn, batch_days, progress)


async def catch_up(conn: Conn, batch_days: int = 31, progress: Progress | None = None) -> int:
    """Recompute every stale day, `batch_days` per transaction, waiting for a refresh running elsewhere."""
    total = await stale_count(conn)
    done = 0
    while n := await refresh(conn, batch_days, wait=True):
        done += n
        total = max(total, done)  # days written to meanwhile are stale again: done may pass the first count
        if progress is not None:
            progress(done, total)
    return done


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


def _in(lo: int, alias: str, table: str, short: str, col: str, cond: str = "") -> str:
    return IN_RANGES.format(lo=lo, hi=lo + 1, alias=alias, table=table, short=short, col=col, cond=cond)


def _rows_of(scope_at: int) -> str:
    """The condition on a rollup table's rows: its scope is ${scope_at}, its value the next parameter."""
    return f"scope = ${scope_at} AND scope_value = ${scope_at + 1} AND "


def _tickets_of(kind: str, value_at: int) -> str:
    """The condition on a view's rows of one scope kind (the whole store: none)."""
    return f"{kind} = ${value_at} AND " if kind else ""


# The total and the chart's periods: hours of the rollup plus tickets of the rest, one statement.
# $1 since, $2 the period's length, $3/$4 rolled hours, $5/$6 fresh ranges, $7/$8 the scope.
def _periods(kind: str) -> str:
    return f"""
WITH rolled AS (
    SELECT date_bin($2::interval, h.hour, $1) AS period, h.*
    FROM {_in(3, "r", "report_hours", "h", "hour", _rows_of(7))}
), fresh AS (
    SELECT date_bin($2::interval, c.created_at, $1) AS period, c.*
    FROM {_in(5, "f", "report_ticket_counts", "c", "created_at", _tickets_of(kind, 8))}
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
# days, $4/$5 fresh ranges, $6/$7 the scope. Groups show no percentiles (domain.success.Group).
def _dims(kind: str) -> str:
    return f"""
WITH parts AS (
    SELECT d.dim, d.value, {SUMS}
    FROM {_in(2, "r", "report_days", "d", "day", _rows_of(6))} WHERE d.dim = ANY($1::text[]) GROUP BY 1, 2
    UNION ALL
    SELECT x.dim, x.value, {SUMS}
    FROM {_in(4, "f", "report_ticket_counts", "c", "created_at", _tickets_of(kind, 7))}
        CROSS JOIN LATERAL {DIMS_OF} x(dim, value)
    WHERE x.dim = ANY($1::text[]) GROUP BY 1, 2
), s AS (
    SELECT dim, value, {SUMS} FROM parts GROUP BY dim, value
)
SELECT s.dim, s.value, {FINAL}, NULL::float8 AS resolution_hours_median, NULL::float8 AS resolution_hours_p90
FROM s
"""


# Each person: days of the rollup plus ticket-and-person facts of the rest. $1/$2 rolled, $3/$4 fresh,
# $5/$6 the scope.
def _agents(kind: str) -> str:
    return f"""
WITH rolled AS (
    SELECT a.* FROM {_in(1, "r", "report_agent_days", "a", "day", _rows_of(5))}
), fresh AS (
    SELECT a.* FROM {_in(3, "f", "report_agent_facts", "a", "created_at", _tickets_of(kind, 6))}
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


# One statement text per scope kind: only the filter given becomes a condition (a generic plan of
# `($n IS NULL OR column = $n)` serves no index).
PERIODS = {k: _periods(k) for k in KINDS}
DIMS = {k: _dims(k) for k in KINDS}
AGENTS = {k: _agents(k) for k in KINDS}


async def period_rows(
    c: Connection, since: datetime, until: datetime, step: timedelta, stale: set[datetime], scope: Scope = WHOLE
) -> list[Any]:
    p = plan(since, until, HOUR, stale, step)
    args = (since, step, *_arrays(p.rolled), *_arrays(p.fresh), scope.kind, scope.value)
    return list(await c.fetch(PERIODS[scope.kind], *args))


async def dim_rows(
    c: Connection, since: datetime, until: datetime, dims: Sequence[str], stale: set[datetime], scope: Scope = WHOLE
) -> list[Any]:
    p = plan(since, until, DAY, stale)
    args = (list(dims), *_arrays(p.rolled), *_arrays(p.fresh), scope.kind, scope.value)
    return list(await c.fetch(DIMS[scope.kind], *args))


async def agent_rows(
    c: Connection, since: datetime, until: datetime, stale: set[datetime], scope: Scope = WHOLE
) -> list[Any]:
    p = plan(since, until, DAY, stale)
    return list(await c.fetch(AGENTS[scope.kind], *_arrays(p.rolled), *_arrays(p.fresh), scope.kind, scope.value))
