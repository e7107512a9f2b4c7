"""Live updates: Postgres LISTEN/NOTIFY (`ticket_changed`, db/migrations/V18; `ticket_viewers`,
db/viewers.py) fanned out to the console's server-sent-event streams.

One listening connection per API process, opened when the first browser subscribes and closed when the
last one leaves; each stream gets the ids of the tickets that changed, and `viewers:<id>` for a ticket
whose viewers changed. Nothing polls Temporal or the
store.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

import asyncpg

CHANNEL = "ticket_changed"
VIEWERS_CHANNEL = "ticket_viewers"  # db.viewers.CHANNEL
VIEWERS = "viewers:"  # what a viewers notification looks like in a subscriber's queue
log = logging.getLogger("api")


class Hub:
    def __init__(self, dsn: str) -> None:
        self._dsn = dsn
        self._subscribers: set[asyncio.Queue[str]] = set()
        self._conn: asyncpg.Connection | None = None
        self._lock = asyncio.Lock()

    async def subscribe(self) -> asyncio.Queue[str]:
        queue: asyncio.Queue[str] = asyncio.Queue(maxsize=1000)
        async with self._lock:
            if self._conn is None or self._conn.is_closed():
                self._conn = await asyncpg.connect(self._dsn)
                await self._conn.add_listener(CHANNEL, self._notified)
                await self._conn.add_listener(VIEWERS_CHANNEL, self._notified)
            self._subscribers.add(queue)
        return queue

    async def unsubscribe(self, queue: asyncio.Queue[str]) -> None:
        async with self._lock:
            self._subscribers.discard(queue)
            if not self._subscribers and self._conn is not None:
                conn, self._conn = self._conn, None
                with contextlib.suppress(Exception):
                    await conn.close(timeout=2)

    @property
    def listening(self) -> bool:
        return self._conn is not None and not self._conn.is_closed()

    def _notified(self, _conn: object, _pid: int, channel: str, payload: object) -> None:
        item = f"{VIEWERS}{payload}" if channel == VIEWERS_CHANNEL else str(payload)
        for queue in list(self._subscribers):
            with contextlib.suppress(
                asyncio.QueueFull
            ):  # a stalled browser misses nothing it needs: any event refreshes
                queue.put_nowait(item)
