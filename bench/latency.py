"""`bench latency`: time from `POST /tickets` to the first agent reply under a steady load.

Open loop, like real customers: ticket i is sent at start + i / rate whether or not earlier tickets
have been answered, so a slow system shows up as growing latency rather than as a slower sender.
Latency is measured by the client, from just before the request to the moment the reply is visible
in the ticket store (polled every 50 ms), so it includes the API, the workflow start, every activity
before the reply and the queueing between them.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import httpx

from api.service.ids import workflow_id_for
from bench.common import CpuMeter, machine_state, note, percentiles
from bench.history import time_breakdown
from bench.load import ReplyWatcher, agent_replied, post_retrying, samples, ticket_payload
from bench.stack import BenchStack, bench_stack
from settings import Settings

REPLY_TIMEOUT_S = 300.0
BREAKDOWN_SAMPLE = 50


async def latency(
    base: Settings,
    *,
    n: int = 200,
    rate: float = 1.0,
    warmup: int = 10,
    keep: bool = False,
    extra_env: dict[str, str] | None = None,
    server_flags: list[str] | None = None,
    stack: BenchStack | None = None,
) -> dict[str, Any]:
    async with bench_stack(base, "latency", stack, keep=keep, extra_env=extra_env, server_flags=server_flags) as stack:
        client = await stack.client()
        pool = await stack.pool()
        run = uuid.uuid4().hex[:6]
        tickets = samples()
        post_s: list[float] = []
        reply_s: list[float] = []
        lag_s: list[float] = []  # how late the driver sent a request (should stay ~0)
        ids: list[str] = []
        try:
            async with (
                httpx.AsyncClient(base_url=stack.api_url, timeout=60) as http,
                ReplyWatcher(pool) as watcher,
            ):

                async def one(i: int, due: float, tag: str, record: bool) -> None:
                    await asyncio.sleep(max(0.0, due - time.monotonic()))
                    sent = time.monotonic()
                    payload = ticket_payload(tickets[i % len(tickets)], f"lat-{run}-{tag}-{i}")
                    r, _ = await post_retrying(http, "/tickets", payload)
                    posted = time.monotonic()
                    r.raise_for_status()
                    tid = r.json()["ticket_id"]
                    seen = await watcher.until(tid, agent_replied(1), REPLY_TIMEOUT_S)
                    if record:
                        lag_s.append(sent - due)
                        post_s.append(posted - sent)
                        reply_s.append(seen - sent)
                        ids.append(tid)

                note(f"==> warm-up: {warmup} tickets at {rate}/s")
                t0 = time.monotonic()
                await asyncio.gather(*(one(i, t0 + i / rate, "warm", False) for i in range(warmup)))

                note(f"==> {n} tickets at {rate}/s ({n / rate:.0f}s of load)")
                meter = CpuMeter()
                meter.start(stack.pids())
                t0 = time.monotonic() + 0.5
                await asyncio.gather(*(one(i, t0 + i / rate, "run", True) for i in range(n)))
                cpu = meter.stop()
                breakdown = await time_breakdown(client, [workflow_id_for(t) for t in ids[:BREAKDOWN_SAMPLE]])
        finally:
            await pool.close()
    reply = percentiles(reply_s)
    note(f"    first reply p50 {reply['p50']}s  p95 {reply['p95']}s  p99 {reply['p99']}s")
    return {
        "bench": "latency",
        "n": n,
        "rate_per_s": rate,
        "first_reply_s": reply,
        "post_s": percentiles(post_s),
        "driver_lag_s": percentiles(lag_s),
        "target_p95_s": 2.0,
        "cpu": cpu,
        "ticket_time_breakdown": breakdown,
        "server": "temporal CLI dev server, file database",
        "model": base.MODEL_PROVIDER,
        "machine": machine_state(),
    }
