"""The report's rollup (migrations V23, V26, db/report_rollup.py) gives the figures a count over the tickets gives.

Every comparison reads the same window twice: from the rollup (its hours, days and people, plus the
window's ragged ends and stale days counted from tickets) and from the tickets alone, for the whole store
and for one channel or one product (the rollup's scopes). They must be equal
to the last bit (means, medians, p90), after inserts, updates, status changes, a follow-up and an
erasure, both before the refresh (the written days are stale) and after it (the rollup answers).
"""

from __future__ import annotations

import random
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import pytest

from db import report_rollup
from db.agent_report import DECISION_EVENTS, agent_figures
from db.customers import upsert_customers
from db.erasure import ERASE, ERASED
from db.migrate import discover, migrate
from db.pool import create_pool
from db.report_sums import COUNT_COLUMNS
from db.reports import CALM, grouped_counts
from domain.models import Customer, Plan
from tests.store_rows import add_ticket, open_store

NOW = datetime(2026, 11, 20, 15, 37, 11, tzinfo=UTC)  # not on the hour: the windows' ends are ragged
BY = ["channel", "category", "priority", "product", "period"]
WINDOWS = [  # (since, until, chart step)
    (NOW - timedelta(days=7), NOW, timedelta(days=1)),
    (NOW - timedelta(days=12, minutes=41), NOW - timedelta(hours=5), timedelta(days=7)),
    (datetime(2026, 11, 8, tzinfo=UTC), datetime(2026, 11, 20, tzinfo=UTC), timedelta(days=1)),  # whole days
]


@pytest.fixture
async def store(own_database: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await open_store(own_database)
    yield pool
    await pool.close()


# (channel, product): the whole store, each channel and product of the seed, a channel that gets its first
# ticket later, a product nobody has (migration V26's scopes)
FILTERS = [(None, None), ("chat", None), ("api", None), ("email", None), ("phone", None), (None, "Analytics"),
           (None, "Dashboards"), (None, "Nothing")]  # fmt: skip


async def assert_rollup_is_exact(pool: asyncpg.Pool) -> None:
    for since, until, step in WINDOWS:
        for channel, product in FILTERS:
            scope = {"channel": channel, "product": product}
            rolled = await grouped_counts(pool, since, until, **scope, by=BY, step=step, rollup=True)
            counted = await grouped_counts(pool, since, until, **scope, by=BY, step=step, rollup=False)
            assert rolled == counted, (since, until, channel, product)
            people = await agent_figures(pool, since, until, **scope, rollup=True)
            assert people == await agent_figures(pool, since, until, **scope, rollup=False), (since, until, scope)


async def seed(pool: asyncpg.Pool) -> list[str]:
    """Tickets over twelve days at odd minutes: resolved by the agents, by a person, by silence, open,
    ended by reconcile; several channels, categories, priorities, products, people and CSAT scores."""
    ids = []
    for i in range(36):
        opened = NOW - timedelta(days=i % 12, hours=(i * 7) % 24, minutes=(i * 13) % 60)
        kind = i % 4
        if kind == 0:  # the agents resolved it; a happy customer
            tid = await add_ticket(
                pool, opened=opened, status="closed", events=("opened", "agent_replied", "resolved", "closed"),
                senders=(("customer", "negative"), ("agent", None), ("customer", "positive")),
                resolved_after_h=1 + i / 7, csat_score=1 + i % 5, cost_usd=0.01 * i, category="billing",
                priority="high", product="Analytics",
            )  # fmt: skip
        elif kind == 1:  # a person replied and resolved it
            person = ("ana", "bo", "cy")[i % 3]
            tid = await add_ticket(
                pool, opened=opened, status="closed", channel="chat",
                events=("opened", "escalated", "human_replied", "resolved", "closed"),
                actors={"human_replied": person, "resolved": person},
                senders=(("customer", "very_negative"), ("agent", None), ("human", None)), authors={3: person},
                message_minutes={3: 20 + i}, resolved_after_h=3 + i / 5, csat_score=1 + (i * 3) % 5,
                owner="human", assigned_human=person, category="technical", priority="critical",
            )  # fmt: skip
        elif kind == 2:  # auto-resolved after the customer went quiet: its time runs to our last answer
            tid = await add_ticket(
                pool, opened=opened, status="resolved", events=("opened", "agent_replied", "resolved"),
                actors={"resolved": "system"}, resolved_after_h=72 + i, message_minutes={2: 30 + i},
                report_by_silence=True, product="Dashboards", sla_breached=i % 3 == 0,
            )  # fmt: skip
        else:  # still open with the agents, or closed by reconcile without a resolution
            tid = await add_ticket(
                pool, opened=opened, status="waiting_customer" if i % 8 == 3 else "closed",
                events=("opened", "agent_replied") if i % 8 == 3 else ("opened", "workflow_ended"),
                resolved_after_h=None if i % 8 == 3 else 9.5, channel="api", priority="low",
            )  # fmt: skip
        ids.append(tid)
    return ids


async def test_the_rollup_equals_the_count_over_tickets_through_every_kind_of_write(store: asyncpg.Pool) -> None:
    ids = await seed(store)
    await assert_rollup_is_exact(store)  # every day stale: all counted from the tickets
    assert await report_rollup.refresh(store, None) > 0
    assert await store.fetchval("SELECT count(*) FROM report_stale_days") == 0
    await assert_rollup_is_exact(store)  # now the rollup answers the whole days

    # a new ticket, an update of a snapshot column, a resolution with a survey, a person's late reply
    await add_ticket(store, opened=NOW - timedelta(days=3, minutes=5), status="new", channel="phone")
    await store.execute("UPDATE tickets SET priority = 'medium', cost_usd = 0.5 WHERE ticket_id = $1", ids[4])
    await store.execute(
        "UPDATE tickets SET status = 'resolved', resolved_at = created_at + interval '5 hours', csat_score = 2 "
        "WHERE ticket_id = $1",
        ids[3],
    )  # fmt: skip
    await store.execute(
        "INSERT INTO messages (ticket_id, seq, sender, author, body, created_at) "
        "SELECT $1, 10, 'human', 'dee', '…', created_at + interval '2 hours' FROM tickets WHERE ticket_id = $1",
        ids[5],
    )  # fmt: skip
    # a follow-up: the ticket it follows came back
    await add_ticket(store, opened=NOW - timedelta(hours=2), status="new", linked_ticket_id=ids[8])
    await assert_rollup_is_exact(store)  # the written days are stale: counted from the tickets
    await report_rollup.refresh(store, None)
    await assert_rollup_is_exact(store)

    # a reopened ticket and an erasure of the customer's text change no figure, and neither does the rollup
    await store.execute(
        "INSERT INTO ticket_events (ticket_id, event_key, kind, created_at) VALUES ($1, '9999:reopened', "
        "'reopened', now())",
        ids[12],
    )  # fmt: skip
    for sql in ERASE:
        await store.execute(sql, ids, ERASED)
    await assert_rollup_is_exact(store)
    await report_rollup.refresh(store, None)
    await assert_rollup_is_exact(store)

    # a deleted ticket leaves its day
    await store.execute("DELETE FROM tickets WHERE ticket_id = $1", ids[1])
    await assert_rollup_is_exact(store)
    await report_rollup.refresh(store, None)
    await assert_rollup_is_exact(store)


async def test_the_report_reads_the_rollup_and_a_write_makes_its_day_count_from_tickets_again(
    store: asyncpg.Pool,
) -> None:
    ids = await seed(store)
    await report_rollup.refresh(store, None)
    since, until, step = WINDOWS[0]
    truth = (await grouped_counts(store, since, until, rollup=False)).total.tickets
    # a rollup row put wrong on purpose shows: the report reads it, not the tickets
    await store.execute(
        "UPDATE report_hours SET tickets = tickets + 1000 "
        "WHERE hour = (SELECT date_trunc('hour', created_at, 'UTC') FROM tickets WHERE ticket_id = $1)",
        ids[2],
    )  # fmt: skip
    assert (await grouped_counts(store, since, until, rollup=True)).total.tickets == truth + 1000
    # any write to a ticket of that day makes the day stale: counted from the tickets until the refresh
    await store.execute("UPDATE tickets SET cost_usd = cost_usd + 0.001 WHERE ticket_id = $1", ids[2])
    assert (await grouped_counts(store, since, until, rollup=True)).total.tickets == truth
    await report_rollup.refresh(store, None)
    assert (await grouped_counts(store, since, until, rollup=True)).total.tickets == truth

    # a report of one channel reads that channel's rows (V26), not the whole store's nor the tickets
    chat = (await grouped_counts(store, since, until, channel="chat", rollup=False)).total.tickets
    assert chat > 0
    await store.execute(
        "UPDATE report_hours SET tickets = tickets + 100 WHERE scope = 'channel' AND scope_value = 'chat' "
        "AND hour = (SELECT date_trunc('hour', created_at, 'UTC') FROM tickets WHERE ticket_id = $1)",
        ids[1],
    )  # fmt: skip
    assert (await grouped_counts(store, since, until, channel="chat")).total.tickets == chat + 100
    assert (await grouped_counts(store, since, until)).total.tickets == truth
    assert (await grouped_counts(store, since, until, channel="api")).total.tickets == (
        await grouped_counts(store, since, until, channel="api", rollup=False)
    ).total.tickets


async def test_a_channel_and_a_product_together_are_counted_from_the_tickets(store: asyncpg.Pool) -> None:
    await seed(store)
    await report_rollup.refresh(store, None)
    since, until, step = WINDOWS[0]
    counted = await grouped_counts(store, since, until, channel="email", product="Analytics", by=BY, step=step,
                                   rollup=False)  # fmt: skip
    assert counted.total.tickets > 0
    assert await grouped_counts(store, since, until, channel="email", product="Analytics", by=BY, step=step) == counted
    with pytest.raises(ValueError, match="no cross"):
        await grouped_counts(store, since, until, channel="email", product="Analytics", rollup=True)


def test_the_plan_rolls_up_whole_hours_inside_one_period_and_counts_the_rest() -> None:
    since, until = datetime(2026, 11, 1, 10, 30, tzinfo=UTC), datetime(2026, 11, 3, 9, 15, tzinfo=UTC)
    plan = report_rollup.plan(since, until, report_rollup.HOUR, set(), timedelta(days=1))
    hour = timedelta(hours=1)
    # each day's period starts at 10:30, so the hour 10:00-11:00 of 2 November is split and counted
    assert plan.rolled == [(since + hour / 2, since + 23 * hour + hour / 2), (since + 24.5 * hour, until - hour / 4)]
    assert plan.fresh == [
        (since, since + hour / 2),
        (since + 23.5 * hour, since + 24.5 * hour),
        (until - hour / 4, until),
    ]
    stale = {datetime(2026, 11, 2, tzinfo=UTC)}
    by_day = report_rollup.plan(since, until, report_rollup.DAY, stale)
    assert by_day.rolled == [] and by_day.fresh == [(since, until)]  # no whole day outside the stale one


async def test_the_views_know_the_same_kinds_as_the_code(store: asyncpg.Pool) -> None:
    """The views of migration V23 list the calm sentiments and a person's decisions in SQL."""
    counts = await store.fetchval("SELECT pg_get_viewdef('report_ticket_counts')")
    calm = re.search(r"last_sentiment = ANY \(ARRAY\[([^\]]*)\]", counts)
    assert calm and sorted(re.findall(r"'([^']+)'", calm[1])) == sorted(CALM)
    people = await store.fetchval("SELECT pg_get_viewdef('report_agent_facts')")
    kinds = re.search(r"kind = ANY \(ARRAY\[([^\]]*)\]", people)
    assert kinds and sorted(re.findall(r"'([^']+)'", kinds[1])) == sorted(DECISION_EVENTS)


def _plan_unit_by_unit(
    since: datetime, until: datetime, unit: timedelta, stale: set[datetime], step: timedelta | None
) -> list[tuple[datetime, datetime]]:
    """The rolled runs worked out the slow, obvious way: every whole unit of the window, one at a time."""
    rolled: list[tuple[datetime, datetime]] = []
    t = report_rollup.floor_to(since, unit)
    t = t + unit if t < since else t
    while t + unit <= until:
        ok = report_rollup.floor_to(t, report_rollup.DAY) not in stale
        if ok and step is not None:  # one period from its first instant to its last
            ok = (t - since) // step == (t + unit - since - timedelta(microseconds=1)) // step
        if ok and rolled and rolled[-1][1] == t:
            rolled[-1] = (rolled[-1][0], t + unit)
        elif ok:
            rolled.append((t, t + unit))
        t += unit
    return rolled


def test_the_plan_equals_one_unit_at_a_time_on_random_windows() -> None:
    rng = random.Random(21)
    base = datetime(2026, 3, 1, tzinfo=UTC)
    for _ in range(300):
        since = base + timedelta(minutes=rng.randrange(0, 60 * 24 * 40))
        until = since + timedelta(minutes=rng.randrange(1, 60 * 24 * 50))
        stale = {report_rollup.floor_to(since + timedelta(days=rng.randrange(-1, 50)), report_rollup.DAY)
                 for _ in range(rng.randrange(0, 4))}  # fmt: skip
        step = rng.choice([None, timedelta(days=1), timedelta(days=7), timedelta(hours=rng.randrange(1, 72))])
        for unit in (report_rollup.HOUR, report_rollup.DAY):
            cut = step if unit == report_rollup.HOUR else None
            plan = report_rollup.plan(since, until, unit, stale, cut)
            assert plan.rolled == _plan_unit_by_unit(since, until, unit, stale, cut)
            covered = sorted(plan.rolled + plan.fresh)  # the two together tile the window exactly
            assert covered[0][0] == since and covered[-1][1] == until
            assert all(a[1] == b[0] for a, b in zip(covered, covered[1:], strict=False))


async def test_a_store_rolled_up_before_v26_gets_every_scope_exact(own_database: str, tmp_path: Path) -> None:
    """Migrating a store whose rollup V23 wrote: its rows become the whole store's scope, every day turns
    stale (figures counted from the tickets meanwhile), and the refresh writes each channel's and product's."""
    for sql in discover():
        if sql.version < 26:
            (tmp_path / sql.path.name).symlink_to(sql.path)
    conn = await asyncpg.connect(own_database)
    try:
        await migrate(conn, tmp_path)
    finally:
        await conn.close()
    pool = await create_pool(own_database, apply_migrations=False)
    try:
        await upsert_customers(pool, [Customer(customer_id="cus_1", email="a@example.com", name="Ada", plan=Plan.PRO)])
        await seed(pool)
        await pool.execute("DELETE FROM report_stale_days")  # as if V23's refresh had run ...
        await pool.execute(  # ... and left a row of its own (wrong on purpose: V26 must not trust it)
            f"INSERT INTO report_hours (hour, {', '.join(COUNT_COLUMNS)}, hours) "
            f"SELECT date_trunc('hour', $1::timestamptz, 'UTC'), {', '.join('0' for _ in COUNT_COLUMNS)}, '{{}}'",
            NOW - timedelta(days=2),
        )  # fmt: skip
    finally:
        await pool.close()
    pool = await create_pool(own_database)  # applies V26
    try:
        assert await pool.fetchval("SELECT count(*) FROM report_hours WHERE scope = '' AND scope_value = ''") == 1
        days = await pool.fetchval("SELECT count(DISTINCT report_day_of(created_at)) FROM tickets")
        assert days > 10 and await report_rollup.stale_count(pool) == days  # every day of the seed's tickets
        await assert_rollup_is_exact(pool)
        assert await report_rollup.refresh(pool, None) == days
        assert await pool.fetchval("SELECT count(DISTINCT scope_value) FROM report_hours WHERE scope = 'channel'") == 3
        await assert_rollup_is_exact(pool)
    finally:
        await pool.close()
