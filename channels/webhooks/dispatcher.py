"""Delivers ticket events to `EVENT_WEBHOOK_URL`, and any delivery an operator replays.

Runs in the worker process beside the customer outbox dispatcher. Each round, in one transaction per
step:

1. fan-out: the feed (`ticket_event_feed`) is read after the endpoint's cursor, each event of a public
   type is queued in `webhook_deliveries` (keyed by endpoint and `webhook-id` = `evt_<event_id>`, so a
   repeated round queues nothing twice) and the cursor moves past what was read;
2. delivery: the oldest pending row of each endpoint is claimed `FOR UPDATE SKIP LOCKED`, POSTed signed
   (Standard Webhooks), and marked delivered, retried after 1, 2, 4 … s (at most `max_backoff_s`), or
   set aside as refused on a permanent 4xx. The claim is held during the POST: a crash rolls it back
   and the row is sent again under the same webhook-id (at least once; receivers deduplicate).

Only one row per endpoint is in flight at a time, so an endpoint sees its events in feed order.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
import httpx

from channels.webhooks import store
from channels.webhooks.sender import POST_TIMEOUT_S, backoff_s, in_background, post_signed, run_until_stopped
from channels.webhooks.signing import Signer

log = logging.getLogger("webhooks")


class WebhookDispatcher:
    def __init__(
        self,
        pool: asyncpg.Pool,
        http: httpx.AsyncClient,
        signer: Signer,
        *,
        event_url: str | None,
        batch_size: int = 50,
        poll_interval_s: float = 1.0,
        max_backoff_s: float = 300.0,
    ) -> None:
        self._pool, self._http, self._signer, self._event_url = pool, http, signer, event_url
        self._batch, self._poll, self._cap = batch_size, poll_interval_s, max_backoff_s

    async def fan_out_once(self) -> int:
        if not self._event_url:
            return 0
        async with self._pool.acquire() as conn, conn.transaction():
            read, _ = await store.fan_out(conn, self._event_url, self._batch)
        return read

    async def deliver_once(self) -> int:
        async with self._pool.acquire() as conn, conn.transaction():
            claimed = await store.claim(conn, self._batch)
            if not claimed:
                return 0
            # Distinct endpoints (one head per endpoint), so sending them side by side keeps each order.
            outcomes = await asyncio.gather(
                *(post_signed(self._http, d.endpoint, self._signer, d.webhook_id, d.payload) for d in claimed)
            )
            for d, o in zip(claimed, outcomes, strict=True):
                if o.delivered:
                    await store.mark(conn, d.delivery_id, "delivered", o.status, None)
                elif o.final:
                    log.error("webhook %s refused by %s, set aside: %s", d.webhook_id, d.endpoint, o.error)
                    await store.mark(conn, d.delivery_id, "refused", o.status, o.error)
                else:
                    wait = backoff_s(d.attempts + 1, self._cap)
                    log.warning("webhook %s not delivered (attempt %d, next in %.0fs): %s", d.webhook_id,
                                d.attempts + 1, wait, o.error)  # fmt: skip
                    await store.mark(conn, d.delivery_id, "pending", o.status, o.error, wait)
        return len(claimed)

    async def dispatch_once(self) -> int:
        """One round: queue new events, send what is due; how much was done (0 = idle)."""
        return await self.fan_out_once() + await self.deliver_once()

    async def run(self, stop: asyncio.Event) -> None:
        # A database hiccup is logged with its traceback like any other error (no `transient` here).
        await run_until_stopped(stop, self.dispatch_once, self._poll, log, "webhooks", "dispatch failed")


@asynccontextmanager
async def running_webhook_dispatcher(
    pool: asyncpg.Pool,
    signer: Signer,
    event_url: str | None,
    *,
    poll_interval_s: float = 1.0,
    max_backoff_s: float = 300.0,
    http: httpx.AsyncClient | None = None,
) -> AsyncIterator[WebhookDispatcher]:
    """Run the dispatcher in the background for the duration of the block. It runs even without an
    event endpoint: replays of notifications and customer messages go through it."""
    client = http or httpx.AsyncClient()
    dispatcher = WebhookDispatcher(
        pool, client, signer, event_url=event_url, poll_interval_s=poll_interval_s, max_backoff_s=max_backoff_s
    )
    try:
        async with in_background(dispatcher.run, "webhooks", POST_TIMEOUT_S + 1):
            yield dispatcher
    finally:
        if http is None:
            await client.aclose()
