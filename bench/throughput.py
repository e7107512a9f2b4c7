"""`bench throughput`: tickets per second to the first agent reply, against bare Temporal on the same server.

One run, one local stack (CLI dev server with a file database, one worker, the API):
1. warm-up: a few tickets and bare workflows (imports, caches, connections);
2. bare: N `BenchBareWorkflow`s, each running as many no-op activities, one after another, as a
   ticket runs before its first reply, on their own one-process worker;
3. tickets: N tickets POSTed to the API (at most `concurrency` requests in flight), timed from the
   first request to the last first reply visible in Postgres.
Bare and ticket phases alternate over `rounds` (bare, tickets, tickets, bare, ...) so that what else
runs on a shared machine weighs on both alike. `ratio` = tickets_per_s / bare_per_s: how much of the
engine's speed the product keeps; `cpu_ratio` is the same comparison in CPU seconds per workflow,
which other people's work on the machine disturbs much less.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx
from temporalio.client import Client

from api.service.ids import workflow_id_for
from bench.bare import BARE_QUEUE, BareWorkflow
from bench.common import CpuMeter, machine_state, note, percentiles
from bench.history import activities_to_first_reply, time_breakdown
from bench.load import ReplyWatcher, agent_replied, post_retrying, samples, ticket_payload
from bench.profiling import Profiler
from bench.profiling import available as profiler_available
from bench.stack import BenchStack, bench_stack
from settings import Settings

BREAKDOWN_SAMPLE = 50  # tickets whose histories are read for the time breakdown
REPLY_TIMEOUT_S = 300.0  # a ticket without a reply by then means something is broken, not slow


async def run_bare(client: Client, n: int, activities: int, concurrency: int, tag: str) -> float:
    """Seconds from the first start to the last completion of `n` bare workflows."""
    sem = asyncio.Semaphore(concurrency)

    async def one(i: int) -> None:
        async with sem:
            handle = await client.start_workflow(
                BareWorkflow.run, activities, id=f"bare-{tag}-{i}", task_queue=BARE_QUEUE
            )
        await handle.result()

    t0 = time.monotonic()
    await asyncio.gather(*(one(i) for i in range(n)))
    return time.monotonic() - t0


async def run_tickets(
    http: httpx.AsyncClient, watcher: ReplyWatcher, n: int, concurrency: int, tag: str
) -> tuple[float, list[float], list[str]]:
    """POST `n` tickets; seconds from the first request to the last first reply, per-ticket latencies, ids."""
    pool = samples()
    sem = asyncio.Semaphore(concurrency)
    ids: list[str] = []

    async def one(i: int) -> float:
        sample = pool[i % len(pool)]
        async with sem:
            sent = time.monotonic()
            r, _ = await post_retrying(http, "/tickets", ticket_payload(sample, f"bench-{tag}-{i}"))
        r.raise_for_status()
        tid = r.json()["ticket_id"]
        ids.append(tid)
        seen = await watcher.until(tid, agent_replied(1), REPLY_TIMEOUT_S)
        return seen - sent

    t0 = time.monotonic()
    latencies = await asyncio.gather(*(one(i) for i in range(n)))
    return time.monotonic() - t0, list(latencies), ids


async def throughput(
    base: Settings,
    *,
    n: int = 300,
    warmup: int = 10,
    concurrency: int = 20,
    keep: bool = False,
    profile: bool = False,
    extra_env: dict[str, str] | None = None,
    server_flags: list[str] | None = None,
    rounds: int = 2,
    stack: BenchStack | None = None,
) -> dict[str, Any]:
    async with bench_stack(
        base, "throughput", stack, parts=("temporal", "worker", "api", "bare-worker"), keep=keep,
        extra_env=extra_env, server_flags=server_flags,
    ) as stack:  # fmt: skip
        client = await stack.client()
        pool = await stack.pool()
        run = uuid.uuid4().hex[:6]
        try:
            async with (
                httpx.AsyncClient(base_url=stack.api_url, timeout=60) as http,
                ReplyWatcher(pool) as watcher,
            ):
                note(f"==> warm-up: {warmup} tickets, {warmup} bare workflows")
                _, _, warm_ids = await run_tickets(http, watcher, max(1, warmup), concurrency, f"{run}-warm")
                activities = await activities_to_first_reply(client, workflow_id_for(warm_ids[0]))
                await run_bare(client, warmup, activities, concurrency, f"{run}-warm")

                # Alternating phases (bare, tickets, tickets, bare, ...) so slow drifts in what else runs
                # on the machine weigh on both sides alike.
                sizes = [n // rounds + (1 if r < n % rounds else 0) for r in range(rounds)]
                bare, tickets = _Side(), _Side()
                latencies: list[float] = []
                ids: list[str] = []
                profilers = _start_profilers(stack, profile)
                for r, size in enumerate(sizes):
                    for kind in ("bare", "tickets") if r % 2 == 0 else ("tickets", "bare"):
                        meter = CpuMeter()
                        meter.start(stack.pids())
                        if kind == "bare":
                            note(f"==> round {r + 1}/{rounds}, bare: {size} workflows x {activities} no-op activities")
                            secs = await run_bare(client, size, activities, concurrency, f"{run}-{r}")
                            bare.add(size, secs, meter.stop())
                        else:
                            note(f"==> round {r + 1}/{rounds}, tickets: {size} through the API to the first reply")
                            secs, lat, got = await run_tickets(http, watcher, size, concurrency, f"{run}-{r}")
                            tickets.add(size, secs, meter.stop())
                            latencies += lat
                            ids += got
                        note(f"    {size / secs:.2f}/s ({secs:.1f}s)")
                profiles = {name: p.stop() for name, p in profilers.items()}
                breakdown = await time_breakdown(client, [workflow_id_for(t) for t in ids[:BREAKDOWN_SAMPLE]])
        finally:
            await pool.close()
    bare_per_s, tickets_per_s = bare.rate(), tickets.rate()
    cpu_ticket, cpu_bare = tickets.cpu_ms(), bare.cpu_ms()
    figures: dict[str, Any] = {
        "bench": "throughput",
        "n": n,
        "tickets_per_s": round(tickets_per_s, 3),
        "bare_per_s": round(bare_per_s, 3),
        "ratio": round(tickets_per_s / bare_per_s, 3),
        "activities_per_ticket": activities,
        # What the ratio would be if CPU were all that limits both (steadier on a shared machine).
        "cpu_ratio": round(sum(cpu_bare.values()) / sum(cpu_ticket.values()), 3),
        "cpu_ms_per_ticket": cpu_ticket,
        "cpu_ms_per_bare": cpu_bare,
        "rounds": {"tickets_per_s": tickets.rates(), "bare_per_s": bare.rates()},
        "ticket_first_reply_s": percentiles(latencies),
        "concurrency": concurrency,
        "other_cpu_s_per_s": {"bare": bare.other_load(), "tickets": tickets.other_load()},
        "ticket_time_breakdown": breakdown,
        "server": "temporal CLI dev server, file database",
        "model": base.MODEL_PROVIDER,
        "machine": machine_state(),
    }
    if profiles:
        figures["profile"] = profiles
    return figures


def _start_profilers(stack: BenchStack, profile: bool) -> dict[str, Profiler]:
    if not profile:
        return {}
    if not profiler_available():
        note("    (--profile: py-spy is not installed; `pip install py-spy` to profile)")
        return {}
    out: dict[str, Profiler] = {}
    for name in ("worker", "api"):
        p = Profiler(name, stack.run_dir.parent / f"profile-{stack.run_dir.name}-{name}.txt")
        p.start(stack.pid(name))
        out[name] = p
    return out


@dataclass
class _Side:
    """One side's phases: how many, how long, and the CPU each process spent on them."""

    count: int = 0
    seconds: float = 0.0
    per_round: list[float] = field(default_factory=list)
    cpu: dict[str, float] = field(default_factory=dict)
    other: float = 0.0

    def add(self, count: int, seconds: float, meter: dict[str, Any]) -> None:
        self.count += count
        self.seconds += seconds
        self.per_round.append(round(count / seconds, 3))
        for name, used in meter["cpu_s"].items():
            self.cpu[name] = self.cpu.get(name, 0.0) + used
        self.other += meter["other_cpu_s"]

    def rate(self) -> float:
        return self.count / self.seconds

    def rates(self) -> list[float]:
        return self.per_round

    def cpu_ms(self) -> dict[str, float]:
        return {name: round(1000 * used / self.count, 1) for name, used in self.cpu.items() if used > 0.05}

    def other_load(self) -> float:
        """CPU seconds per second that everything else on the machine used meanwhile (0..cores)."""
        return round(self.other / self.seconds, 2)
