"""The report's rollup kept fresh without readers: the worker's background refresh
(activities/report_refresh.py) and the operators' `supportctl reports status|rebuild`."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from activities.report_refresh import running_report_refresher
from db.reports import grouped_counts
from supportctl.main import main as supportctl_main
from tests.store_rows import add_ticket, open_store

NOW = datetime(2026, 10, 20, 11, 13, tzinfo=UTC)
SINCE, UNTIL = NOW - timedelta(days=20), NOW + timedelta(hours=1)


async def seed(pool: asyncpg.Pool, days: int) -> None:
    for i in range(days):
        await add_ticket(
            pool, opened=NOW - timedelta(days=i, hours=i % 5), status="closed",
            events=("opened", "agent_replied", "resolved", "closed"), resolved_after_h=1 + i,
            channel=("chat", "email")[i % 2], product=("Analytics", None)[i % 3 == 0],
        )  # fmt: skip


async def stale(pool: asyncpg.Pool) -> int:
    n: int = await pool.fetchval("SELECT count(DISTINCT day) FROM report_stale_days")
    return n


async def assert_exact(pool: asyncpg.Pool) -> None:
    for channel, product in ((None, None), ("chat", None), (None, "Analytics")):
        by = ["channel", "period"]
        rolled = await grouped_counts(pool, SINCE, UNTIL, channel=channel, product=product, by=by, rollup=True)
        assert rolled == await grouped_counts(pool, SINCE, UNTIL, channel=channel, product=product, by=by, rollup=False)


@pytest.fixture
async def store(own_database: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await open_store(own_database)
    yield pool
    await pool.close()


async def test_the_background_refresh_empties_the_stale_log_while_nobody_reads(store: asyncpg.Pool) -> None:
    await seed(store, 12)
    assert await stale(store) == 12
    async with running_report_refresher(store, 0.05, batch_days=5):
        for _ in range(200):  # three passes straight on, then every 50 ms
            if await stale(store) == 0:
                break
            await asyncio.sleep(0.05)
        assert await stale(store) == 0
        # a later write is picked up on the next pass, without a report
        await add_ticket(store, opened=NOW - timedelta(days=30), status="new", channel="chat")
        for _ in range(200):
            if await stale(store) == 0:
                break
            await asyncio.sleep(0.05)
        assert await stale(store) == 0
    assert await store.fetchval("SELECT count(*) FROM report_hours WHERE hour < $1", NOW - timedelta(days=29)) > 0
    await assert_exact(store)


@pytest.fixture
async def cli_store(cli_database: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await open_store(cli_database)
    yield pool
    await pool.close()


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, list[str], str]:
    code = supportctl_main(["reports", *argv])
    captured = capsys.readouterr()
    return code, captured.out.strip().splitlines(), captured.err


async def test_rebuild_recomputes_every_day_with_progress_and_status_counts_the_days_waiting(
    cli_store: asyncpg.Pool, capsys: pytest.CaptureFixture[str]
) -> None:
    await seed(cli_store, 9)
    code, out, _ = await asyncio.to_thread(_run, capsys, "status")
    assert code == 0 and json.loads(out[-1]) == {"stale_days": 9, "hours": 0}

    code, out, _ = await asyncio.to_thread(_run, capsys, "rebuild", "--stale-only", "--batch-days", "4")
    assert code == 0 and json.loads(out[-1])["days"] == 9
    code, out, _ = await asyncio.to_thread(_run, capsys, "status")
    assert json.loads(out[-1]) == {"stale_days": 0, "hours": 9}

    # a rollup row gone wrong (as after a bulk change that skipped the triggers): a rebuild puts it right
    await cli_store.execute("UPDATE report_hours SET tickets = tickets + 50")
    await cli_store.execute("DELETE FROM report_stale_days")
    wrong = await grouped_counts(cli_store, SINCE, UNTIL, rollup=True)
    assert wrong.total.tickets > 50
    code, out, err = await asyncio.to_thread(_run, capsys, "rebuild", "--batch-days", "4")
    assert code == 0 and json.loads(out[-1])["days"] == 9
    assert "days recomputed [" in err and "9/9" in err  # the progress bar, on stderr
    assert out[0].startswith("9 day(s) of the report's rollup recomputed in ")
    assert (await grouped_counts(cli_store, SINCE, UNTIL, rollup=True)).total.tickets == 9
    await assert_exact(cli_store)


def test_rebuild_refuses_a_batch_of_no_days(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        supportctl_main(["reports", "rebuild", "--batch-days", "0"])
    assert exited.value.code == 2
    assert "a whole number of days, at least 1" in capsys.readouterr().err
