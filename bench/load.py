"""Driving tickets through the API the way customers do, and seeing their replies arrive.

Replies are observed in Postgres (the ticket store the API reads), by one query every `interval`
for all tickets still awaited, so a measured latency is "request sent" to "reply visible to the
customer", give or take half the poll interval (25 ms by default).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import asyncpg
import httpx

from bench.common import BenchError
from supportctl.demo import DemoTicket, load_samples

RETRYABLE_STATUS = {502, 503, 504}
SETTLED = ("waiting_customer", "escalated", "resolved", "closed")


@lru_cache(maxsize=1)
def samples() -> list[DemoTicket]:
    """The 30 demo tickets (every category, channel and mood); benchmarks cycle through them."""
    return load_samples()


def unique_body(sample: DemoTicket, key: str) -> str:
    """The sample's text with the request's own reference: every ticket's words differ, as real
    tickets' do, so no cache (KB query embeddings, for one) makes a benchmark look faster than life."""
    return f"{sample.body}\n\nOur reference: {key}."


def ticket_payload(sample: DemoTicket, key: str) -> dict[str, str]:
    return {
        "customer_id": sample.customer_id,
        "channel": sample.channel,
        "subject": sample.subject,
        "body": unique_body(sample, key),
        "idempotency_key": key,
    }


class ApiGaveUp(RuntimeError):
    """The API kept failing past the retry budget."""


async def post_retrying(
    http: httpx.AsyncClient, url: str, payload: dict[str, Any], *, budget_s: float = 120.0
) -> tuple[httpx.Response, int]:
    """POST, retrying refused connections and 5xx with the same body (same idempotency key or message
    id, so a retry can never open a second ticket or send a message twice). Returns the response
    and how many retries it took."""
    deadline = time.monotonic() + budget_s
    retries = 0
    while True:
        try:
            r = await http.post(url, json=payload)
            if r.status_code not in RETRYABLE_STATUS and r.status_code < 500:
                return r, retries
            err = f"HTTP {r.status_code}: {r.text[:200]}"
        except httpx.TransportError as e:
            err = f"{type(e).__name__}: {e}"
        if time.monotonic() > deadline:
            raise ApiGaveUp(f"POST {url} failed for {budget_s:.0f}s; last: {err}")
        retries += 1
        await asyncio.sleep(min(0.2 * retries, 2.0))


@dataclass
class TicketView:
    ticket_id: str
    status: str
    agent_replies: int
    messages: int


Predicate = Callable[[TicketView], bool]


def agent_replied(times: int = 1) -> Predicate:
    return lambda t: t.agent_replies >= times


def settled_after(replies: int) -> Predicate:
    """The agents replied `replies` times and the ticket is waiting again, or a human owns it."""
    return lambda t: (t.agent_replies >= replies and t.status in SETTLED) or t.status == "escalated"


_WATCH = """
SELECT t.ticket_id, t.status,
       count(m.seq) FILTER (WHERE m.sender = 'agent') AS agent_replies,
       count(m.seq) AS messages
FROM tickets t LEFT JOIN messages m ON m.ticket_id = t.ticket_id
WHERE t.ticket_id = ANY($1::text[])
GROUP BY t.ticket_id, t.status
"""


@dataclass
class _Waiter:
    ticket_id: str
    ok: Predicate
    future: asyncio.Future[float]


@dataclass
class ReplyWatcher:
    """Resolves `wait(ticket, predicate)` futures with the monotonic time the predicate first held."""

    pool: asyncpg.Pool
    interval: float = 0.05
    _waiters: list[_Waiter] = field(default_factory=list)
    _task: asyncio.Task[None] | None = None
    errors: int = 0  # polls that failed (Postgres restarting): retried at the next interval

    def wait(self, ticket_id: str, ok: Predicate) -> asyncio.Future[float]:
        fut: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        self._waiters.append(_Waiter(ticket_id, ok, fut))
        return fut

    async def until(self, ticket_id: str, ok: Predicate, within: float, what: str = "an agent reply") -> float:
        """`wait`, but a ticket that gets nowhere in `within` seconds stops the run with a clear error."""
        try:
            return await asyncio.wait_for(self.wait(ticket_id, ok), within)
        except TimeoutError:
            raise BenchError(f"ticket {ticket_id}: no {what} within {within:.0f}s (see the worker log)") from None

    def pending(self) -> int:
        return len(self._waiters)

    async def __aenter__(self) -> ReplyWatcher:
        self._task = asyncio.create_task(self._run())
        return self

    async def __aexit__(self, *_exc: object) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
        for w in self._waiters:
            if not w.future.done():
                w.future.cancel()

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            self._waiters = [w for w in self._waiters if not w.future.done()]
            if not self._waiters:
                continue
            ids = list({w.ticket_id for w in self._waiters})
            try:
                rows = await self.pool.fetch(_WATCH, ids)
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
                self.errors += 1
                continue
            seen = time.monotonic()
            views = {
                r["ticket_id"]: TicketView(r["ticket_id"], r["status"], r["agent_replies"], r["messages"]) for r in rows
            }
            for w in self._waiters:
                view = views.get(w.ticket_id)
                if view is not None and w.ok(view):
                    w.future.set_result(seen)
