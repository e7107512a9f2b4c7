"""`bench chaos`: tickets with follow-ups while the worker is killed with SIGKILL again and again.

During the run:
- `tickets` tickets go through the API, `concurrency` at a time and spread over the kills (ticket i
  opens once i * kills / tickets kills are done, so every kill finds tickets in progress): open (the
  request is sent twice, as a client retrying a timeout would: same idempotency key), wait for the
  first reply, send the sample's follow-up (also twice: same message id), wait until it is
  answered or a human owns it;
- the worker is killed with SIGKILL after a random 1–6 s of work and restarted, `kills` times;
- halfway, the Temporal dev server is killed with SIGKILL, left down `server_down_s` seconds (the API
  answers 503 meanwhile) and restarted on its file database (`server_restarts`);
- optionally PostgreSQL crashes (`postgres_restarts`): the run then keeps its CRM and ticket store on
  a PostgreSQL server of its own (`bench/private_postgres.py`), which is killed with SIGKILL, left
  down `postgres_down_s` seconds and started again (crash recovery); activities fail and are retried
  meanwhile. The machine's PostgreSQL is never touched.
The API answers 503 while Temporal is away; the driver retries with the same request, as a client
would. Afterwards the worker stays up until every ticket settles, and `bench/verify.py` checks
every ticket from Temporal and from Postgres: `lost` and `duplicates` must both be zero.
"""

from __future__ import annotations

import asyncio
import random
import shutil
import signal
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from bench.common import BenchError, machine_state, note, percentiles
from bench.load import ReplyWatcher, agent_replied, post_retrying, samples, settled_after, ticket_payload
from bench.private_postgres import PrivatePostgres
from bench.stack import BenchStack, bench_stack
from bench.verify import Expected, verify, wait_settled
from settings import Settings

STEP_TIMEOUT_S = 900.0  # a ticket step that takes longer is stuck, not slow
SETTLE_TIMEOUT_S = 600.0


@dataclass
class _Run:
    """One chaos run's driver (the customers) and monkey (the failures), sharing what they saw."""

    stack: BenchStack
    http: httpx.AsyncClient
    watcher: ReplyWatcher
    rng: random.Random
    postgres: PrivatePostgres | None
    server_down_s: float = 5.0
    postgres_down_s: float = 3.0
    kills_in_flight: int = 0  # kills that landed while customers' tickets were still in progress
    # Customers arrive spread over the kills (ticket i opens once i * kills / tickets kills are done),
    # so the kills land on tickets in progress however fast this machine works through them.
    pace: float = 0.0
    kills_done: int = 0
    _progress: asyncio.Condition = field(default_factory=asyncio.Condition)
    tag: str = field(default_factory=lambda: uuid.uuid4().hex[:6])
    expected: list[Expected] = field(default_factory=list)
    retries: Counter[str] = field(default_factory=Counter)
    restarts: Counter[str] = field(default_factory=Counter)
    duplicate_creates: int = 0
    events: list[str] = field(default_factory=list)
    worker_restart_s: list[float] = field(default_factory=list)
    t0: float = field(default_factory=time.monotonic)

    def event(self, what: str, loud: bool = False) -> None:
        self.events.append(f"{time.monotonic() - self.t0:.0f}s {what}")
        if loud:
            note(f"    {self.events[-1]}")

    async def _post(self, url: str, body: dict[str, Any], kind: str) -> httpx.Response:
        r, retried = await post_retrying(self.http, url, body, budget_s=STEP_TIMEOUT_S)
        self.retries[kind] += retried
        return r

    async def ticket(self, i: int, sem: asyncio.Semaphore) -> None:
        """One customer: open (sent twice), wait for the reply, follow up (sent twice), wait again."""
        sample = samples()[i % len(samples())]
        payload = ticket_payload(sample, f"chaos-{self.tag}-{i}")
        async with self._progress:
            await self._progress.wait_for(lambda: self.kills_done >= int(i * self.pace))
        async with sem:
            r = await self._post("/tickets", payload, "open")
            if r.status_code not in (200, 201):  # 200: a retry after a lost response found the ticket
                raise BenchError(f"POST /tickets: HTTP {r.status_code} {r.text[:200]}")
            tid = r.json()["ticket_id"]
            exp = Expected(tid, [payload["body"]])
            self.expected.append(exp)
            again = await self._post("/tickets", payload, "open")
            if again.status_code != 200 or again.json().get("ticket_id") != tid:
                self.duplicate_creates += 1
            await self.watcher.until(tid, agent_replied(1), STEP_TIMEOUT_S, "first reply")
            if not sample.follow_up:
                return
            msg = {"body": f"{sample.follow_up}\n\nOur reference: chaos-{self.tag}-{i}-f1.", "message_id": f"f-{i}"}
            for _ in range(2):  # delivered twice, as a retrying client would
                m = await self._post(f"/tickets/{tid}/messages", msg, "follow_up")
                if m.status_code != 202:
                    raise BenchError(f"follow-up to {tid}: HTTP {m.status_code} {m.text[:200]}")
            exp.bodies.append(msg["body"])
            await self.watcher.until(tid, settled_after(2), STEP_TIMEOUT_S, "answer to the follow-up")

    async def monkey(
        self,
        kills: int,
        server_restarts: int,
        postgres_restarts: int,
        up_s: tuple[float, float],
        driver: asyncio.Future[Any],
    ) -> None:
        steps = max(kills, 1)  # with no kills, still one step for the server / Postgres restarts

        def spread(count: int) -> set[int]:
            return {min(steps, max(1, steps * (j + 1) // (count + 1))) for j in range(count)}

        server_at, pg_at = spread(server_restarts), spread(postgres_restarts)
        for k in range(1, steps + 1):
            await asyncio.sleep(self.rng.uniform(*up_s))
            if driver.done() and driver.exception() is not None:
                return  # a customer step failed: stop here and let the driver's error explain why
            if k <= kills:
                self.kills_in_flight += not driver.done()
                secs = await asyncio.to_thread(self.stack.restart_worker, signal.SIGKILL)
                async with self._progress:
                    self.kills_done = k
                    self._progress.notify_all()
                self.worker_restart_s.append(secs)
                self.event(f"kill -9 worker #{k} ({secs:.1f}s to poll)")
            if k in server_at:
                away = await asyncio.to_thread(self.stack.restart_temporal, signal.SIGKILL, self.server_down_s)
                self.restarts["server"] += 1
                self.event(f"kill -9 dev server, back in {away:.1f}s", loud=True)
            if k in pg_at and self.postgres is not None:
                away = await asyncio.to_thread(self.postgres.crash_and_restart, self.postgres_down_s)
                self.restarts["postgres"] += 1
                self.event(f"kill -9 PostgreSQL, back in {away:.1f}s", loud=True)
            if k % 10 == 0:
                note(f"    {k}/{kills} kills; {len(self.expected)} tickets opened")


async def chaos(
    base: Settings,
    *,
    tickets: int = 200,
    kills: int = 50,
    concurrency: int = 8,
    server_restarts: int = 1,
    postgres_restarts: int = 0,
    min_up_s: float = 1.0,
    max_up_s: float = 6.0,
    server_down_s: float = 5.0,
    postgres_down_s: float = 3.0,
    seed: int | None = None,
    keep: bool = False,
    extra_env: dict[str, str] | None = None,
    server_flags: list[str] | None = None,
    stack: BenchStack | None = None,
) -> dict[str, Any]:
    postgres: PrivatePostgres | None = None
    if postgres_restarts:
        if stack is not None:
            raise BenchError("Postgres crashes need the run's own stack (its own PostgreSQL server)")
        postgres = PrivatePostgres(base.DATA_DIR.resolve() / "bench" / f"postgres-{uuid.uuid4().hex[:6]}")
        note(f"==> PostgreSQL of this run's own (it will be crashed): {postgres.pgdata}")
        base = base.model_copy(update={"DATABASE_URL": await asyncio.to_thread(postgres.start)})
    try:
        return await _chaos(
            base, postgres, tickets=tickets, kills=kills, concurrency=concurrency, server_restarts=server_restarts,
            postgres_restarts=postgres_restarts, min_up_s=min_up_s, max_up_s=max_up_s, server_down_s=server_down_s,
            postgres_down_s=postgres_down_s, seed=seed, keep=keep, extra_env=extra_env, server_flags=server_flags,
            stack=stack,
        )  # fmt: skip
    finally:
        if postgres is not None:
            await asyncio.to_thread(postgres.stop)
            if not keep:
                shutil.rmtree(postgres.pgdata, ignore_errors=True)


async def _chaos(
    base: Settings,
    postgres: PrivatePostgres | None,
    *,
    tickets: int,
    kills: int,
    concurrency: int,
    server_restarts: int,
    postgres_restarts: int,
    min_up_s: float,
    max_up_s: float,
    server_down_s: float,
    postgres_down_s: float,
    seed: int | None,
    keep: bool,
    extra_env: dict[str, str] | None,
    server_flags: list[str] | None,
    stack: BenchStack | None,
) -> dict[str, Any]:
    async with bench_stack(base, "chaos", stack, keep=keep, extra_env=extra_env, server_flags=server_flags) as stack:
        client = await stack.client()
        pool = await stack.pool()
        since = datetime.now(UTC) - timedelta(seconds=1)
        try:
            async with (
                httpx.AsyncClient(base_url=stack.api_url, timeout=30) as http,
                ReplyWatcher(pool, interval=0.2) as watcher,
            ):
                run = _Run(stack, http, watcher, random.Random(seed), postgres, server_down_s, postgres_down_s)
                sem = asyncio.Semaphore(concurrency)
                note(f"==> {tickets} tickets with follow-ups, {concurrency} at a time; {kills} kill -9 of the worker")
                run.pace = kills / tickets if tickets else 0.0
                driver = asyncio.gather(*(run.ticket(i, sem) for i in range(tickets)))
                await run.monkey(kills, server_restarts, postgres_restarts, (min_up_s, max_up_s), driver)
                during_load = not driver.done()
                note(f"==> chaos over after {time.monotonic() - run.t0:.0f}s; waiting for the tickets to finish")
                await driver
                drive_s = time.monotonic() - run.t0
            note("==> waiting for every ticket to settle, then verifying from Temporal and Postgres")
            settle_s = await wait_settled(client, [e.ticket_id for e in run.expected], SETTLE_TIMEOUT_S)
            report = await verify(client, pool, run.expected, since=since)
        finally:
            await pool.close()
    figures = report.as_dict()
    duplicates = figures.pop("duplicates") + run.duplicate_creates
    lost = figures.pop("lost")
    note(f"    lost {lost}, duplicates {duplicates}, not settled {figures['not_settled']}")
    return {
        "bench": "chaos",
        "ok": lost == 0 and duplicates == 0 and figures["not_settled"] == 0,
        "tickets": figures.pop("tickets"),
        "kills": len(run.worker_restart_s),
        "lost": lost,
        "duplicates": duplicates,
        **figures,
        "duplicate_creates": run.duplicate_creates,
        "kills_while_tickets_in_flight": run.kills_in_flight,
        "kills_finished_while_tickets_in_flight": during_load,
        "server_restarts": run.restarts["server"],
        "server_down_s": server_down_s,
        "postgres_restarts": run.restarts["postgres"],
        "postgres_down_s": postgres_down_s if postgres_restarts else None,
        "worker_restart_s": percentiles(run.worker_restart_s, 2),
        "api_retries": dict(run.retries),
        "store_polls_failed": run.watcher.errors,  # the driver's reads of Postgres that hit an outage
        "run_s": round(drive_s, 1),
        "settle_s": round(settle_s, 1),
        "events": run.events[:5] + [e for e in run.events[5:] if "server" in e or "PostgreSQL" in e],
        "model": base.MODEL_PROVIDER,
        "machine": machine_state(),
    }
