"""One read-only snapshot for a report's queries, with PostgreSQL's JIT off.

The report's queries read a few thousand rows through index probes, but their cost estimates pass
`jit_above_cost`: on the benchmark's 100,000-ticket store the JIT compiled for 3 s a query that runs in
tens of milliseconds (bench/RESULTS.md, console). `SET LOCAL` keeps the setting to this transaction.
Repeatable read: the report's statements (the rollup's stale days, then its rows) see one moment.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from db.tickets import Conn


@asynccontextmanager
async def report_connection(conn: Conn) -> AsyncIterator[asyncpg.Connection | PoolConnectionProxy]:
    if isinstance(conn, asyncpg.Pool):
        async with conn.acquire() as acquired, acquired.transaction(isolation="repeatable_read", readonly=True):
            await acquired.execute("SET LOCAL jit = off")
            yield acquired
        return
    # one snapshot for every statement (the rollup's stale days and its rows); a caller's own transaction
    # keeps its isolation (a savepoint cannot change it)
    nested = conn.is_in_transaction()
    async with conn.transaction() if nested else conn.transaction(isolation="repeatable_read", readonly=True):
        await conn.execute("SET LOCAL jit = off")
        yield conn
