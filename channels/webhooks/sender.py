"""One signed POST and what its answer means: delivered, retry later, or refused for good; and the
polling loop every background sender (webhooks, the customer outbox, SMTP, the IMAP poller) runs."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx

from channels.webhooks.signing import Signer, encode_body

# 4xx answers that mean "not now" rather than "never": retried like a 5xx.
RETRYABLE_4XX = {408, 425, 429}
POST_TIMEOUT_S = 10.0
BASE_BACKOFF_S = 1.0


def backoff_s(attempts: int, cap_s: float) -> float:
    """The wait before the next try after `attempts` failed tries: 1, 2, 4 … seconds, at most `cap_s`."""
    return float(min(cap_s, BASE_BACKOFF_S * 2 ** min(max(attempts - 1, 0), 30)))


@dataclass(frozen=True)
class Outcome:
    status: int | None  # the HTTP status, None when no answer came
    error: str | None  # None when delivered (2xx)
    final: bool = False  # a permanent refusal (a 4xx other than RETRYABLE_4XX)

    @property
    def delivered(self) -> bool:
        return self.error is None

    @property
    def state(self) -> str:
        return "delivered" if self.delivered else "refused" if self.final else "failed"


async def post_signed(
    http: httpx.AsyncClient,
    url: str,
    signer: Signer,
    webhook_id: str,
    payload: object,
    extra_headers: dict[str, str] | None = None,
    timeout_s: float = POST_TIMEOUT_S,
) -> Outcome:
    """POST `payload` as JSON to `url`, signed now; the same bytes that were signed are sent."""
    body = encode_body(payload)
    headers = {**(extra_headers or {}), **signer.headers(webhook_id, body)}
    try:
        r = await http.post(url, content=body, headers=headers, timeout=timeout_s)
    except httpx.HTTPError as e:
        return Outcome(None, f"{type(e).__name__}: {e}")
    if 200 <= r.status_code < 300:
        return Outcome(r.status_code, None)
    final = 400 <= r.status_code < 500 and r.status_code not in RETRYABLE_4XX
    return Outcome(r.status_code, f"HTTP {r.status_code}: {r.text[:200]}", final)


async def run_until_stopped(
    stop: asyncio.Event,
    once: Callable[[], Awaitable[int]],
    poll_s: float,
    log: logging.Logger,
    what: str,
    failed: str,
    transient: tuple[type[Exception], ...] = (),
) -> None:
    """Call `once` until `stop` is set: straight on while it did work (> 0), else every `poll_s`.

    A `transient` error (the database restarting) is logged as a warning; any other error is logged with
    its traceback (`what: failed`): a bug must not stop delivery for good, nor take the worker down."""
    while not stop.is_set():
        try:
            busy = await once() > 0
        except transient as e:
            log.warning("%s: %s", what, e)
            busy = False
        except Exception:
            log.exception("%s: %s", what, failed)
            busy = False
        if not busy:
            try:
                await asyncio.wait_for(stop.wait(), poll_s)
            except TimeoutError:
                pass


@asynccontextmanager
async def in_background(
    run: Callable[[asyncio.Event], Coroutine[Any, Any, None]], name: str, grace_s: float
) -> AsyncIterator[None]:
    """Run `run(stop)` as a task for the block's duration; on exit set `stop` and give the task
    `grace_s` to finish before it is cancelled."""
    stop = asyncio.Event()
    task = asyncio.create_task(run(stop), name=name)
    try:
        yield
    finally:
        stop.set()
        try:
            await asyncio.wait_for(task, grace_s)
        except TimeoutError:
            pass  # wait_for cancelled it
