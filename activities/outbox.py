"""Delivers the customer outbox to the channel gateway (`CUSTOMER_WEBHOOK_URL`).

Runs as a background task in the worker process, not as a Temporal activity: the outbox row is the
durable record, so nothing about delivery needs to live in a ticket's history (and the workflow code
stays as it is). Guarantees:

* at least once: a row is marked delivered only after a 2xx, in the transaction that claimed it; a crash
  or a cancellation mid-POST rolls the claim back and the row is sent again, under the same
  `Idempotency-Key: <ticket_id>:<seq>`, which the receiver deduplicates on;
* in order per ticket: only the oldest undelivered row of a ticket is claimed, so seq N+1 waits until N
  is delivered (a failing message holds its ticket's later ones back, never other tickets');
* once at a time: rows are claimed `FOR UPDATE SKIP LOCKED`, so several workers share the outbox
  without sending the same row concurrently.

A failed POST (5xx, 408, 425, 429, timeout, refused connection) is retried after 1, 2, 4 … seconds,
capped at `max_backoff_s`; `attempts` and `last_error` on the row say why it waits. Any other 4xx is the
gateway refusing this message for good (an address it cannot deliver to, a payload it rejects): the row
is set aside (`refused_at`) so the ticket's later messages go on, counted in `GET /metrics`, and put back
by `supportctl outbox retry` once the cause is fixed.

Every POST is signed per the Standard Webhooks specification (`channels/webhooks/signing.py`; its
`webhook-id` is the Idempotency-Key) and each try is recorded in the webhook delivery log
(`GET /webhooks/deliveries`), where an operator can replay it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
import httpx

from channels.webhooks import store as delivery_log
from channels.webhooks.sender import RETRYABLE_4XX, Outcome, backoff_s, in_background, post_signed, run_until_stopped
from channels.webhooks.signing import Signer
from db import outbox
from db.outbox import OutboxMessage

log = logging.getLogger("outbox")

__all__ = ["RETRYABLE_4XX", "CustomerOutboxDispatcher", "backoff_s", "running_dispatcher"]
POST_TIMEOUT_S = 10.0  # per message; the claim (a row lock) is held this long at most


class CustomerOutboxDispatcher:
    def __init__(
        self,
        pool: asyncpg.Pool,
        webhook_url: str,
        http: httpx.AsyncClient,
        *,
        batch_size: int = 20,
        poll_interval_s: float = 1.0,
        max_backoff_s: float = 300.0,
        exclude_channels: tuple[str, ...] = (),
        signer: Signer | None = None,
    ) -> None:
        self._pool, self._url, self._http = pool, webhook_url, http
        self._batch, self._poll, self._cap = batch_size, poll_interval_s, max_backoff_s
        self._exclude = exclude_channels  # channels another sender delivers (e-mail by SMTP)
        self._signer = signer or Signer()

    async def dispatch_once(self) -> int:
        """Claim a batch (at most one row per ticket), POST each, record the outcomes; rows claimed."""
        async with self._pool.acquire() as conn, conn.transaction():
            claimed = await outbox.claim(conn, self._batch, exclude=self._exclude)
            if not claimed:
                return 0
            # Distinct tickets, so sending them side by side keeps each ticket's order.
            outcomes = await asyncio.gather(*(self._post(m) for m in claimed))
            for m, o in zip(claimed, outcomes, strict=True):
                error, final = o.error, o.final
                await delivery_log.record(
                    conn, webhook_id=m.key, stream="customer", endpoint=self._url, event_type="customer.message",
                    ticket_id=m.ticket_id, payload=m.payload(), state=o.state, status=o.status, error=error,
                )  # fmt: skip
                await outbox.record_attempt(
                    conn, m, error, final, backoff_s(m.attempts + 1, self._cap), log,
                    refused="message %s refused by the gateway, set aside: %s",
                    failed="message %s not delivered (attempt %d, next in %.0fs): %s",
                )  # fmt: skip
        return len(claimed)

    async def _post(self, m: OutboxMessage) -> Outcome:
        """Delivered (2xx), or why not and whether that is final (a 4xx refusal)."""
        return await post_signed(
            self._http, self._url, self._signer, m.key, m.payload(), {"Idempotency-Key": m.key}, POST_TIMEOUT_S
        )

    async def run(self, stop: asyncio.Event) -> None:
        """Deliver until `stop` is set: straight on while there is work, else every poll interval."""
        await run_until_stopped(
            stop, self.dispatch_once, self._poll, log, "customer outbox", "dispatch failed",
            transient=(OSError, asyncpg.PostgresError),  # the database is restarting: try again later
        )  # fmt: skip


@asynccontextmanager
async def running_dispatcher(
    pool: asyncpg.Pool,
    webhook_url: str | None,
    *,
    poll_interval_s: float = 1.0,
    max_backoff_s: float = 300.0,
    http: httpx.AsyncClient | None = None,
    exclude_channels: tuple[str, ...] = (),
    signer: Signer | None = None,
) -> AsyncIterator[CustomerOutboxDispatcher | None]:
    """Run the dispatcher in the background for the duration of the block (nothing when no webhook).

    On exit the current batch gets `POST_TIMEOUT_S` to finish, then is cancelled: its rows stay
    undelivered (the claim rolls back) and are sent again by the next worker."""
    if not webhook_url:
        yield None
        return
    client = http or httpx.AsyncClient()
    dispatcher = CustomerOutboxDispatcher(
        pool, webhook_url, client, poll_interval_s=poll_interval_s, max_backoff_s=max_backoff_s,
        exclude_channels=exclude_channels, signer=signer,
    )  # fmt: skip
    try:
        async with in_background(dispatcher.run, "customer-outbox", POST_TIMEOUT_S + 1):
            yield dispatcher
    finally:
        if http is None:
            await client.aclose()
