"""Keeps the report's rollup (db/report_rollup.py) fresh while nobody opens a report.

Runs as a background task in the worker process, like the outbox dispatcher: every write to a ticket, its
messages or its events appends its day to `report_stale_days`, and a report refreshes at most a few of
those days before it reads; without readers (a weekend, a bulk import) the log and the days counted from
tickets would grow. Each pass recomputes up to `batch_days` stale days in one transaction, straight on
while there are more, then looks again every `interval_s`. The refresh's advisory lock lets any number of
workers (and reports) share the work without racing: a pass that finds the lock held does nothing.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg

from channels.webhooks.sender import in_background, run_until_stopped
from db import report_rollup

log = logging.getLogger("report-refresh")

BATCH_DAYS = 8  # days per transaction: a busy day's refresh holds its rows' locks briefly
GRACE_S = 30.0  # a pass in progress gets this long to commit at shutdown (else it rolls back: no harm)


@asynccontextmanager
async def running_report_refresher(
    pool: asyncpg.Pool, interval_s: float, *, batch_days: int = BATCH_DAYS
) -> AsyncIterator[None]:
    """Refresh the rollup in the background for the duration of the block."""

    async def once() -> int:
        return await report_rollup.refresh(pool, batch_days)

    async def run(stop: asyncio.Event) -> None:
        await run_until_stopped(
            stop, once, interval_s, log, "report rollup", "refresh failed",
            transient=(OSError, asyncpg.PostgresError),  # the database is restarting: try again later
        )  # fmt: skip

    async with in_background(run, "report-refresh", GRACE_S):
        yield
