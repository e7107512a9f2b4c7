"""`bench throughput`: tickets per second to the first agent reply, against bare Temporal on the same
server, and with the payload codec on against off, in one run.

One run, one local stack (CLI dev server with a file database, worker, API, and the parts below):
1. warm-up: a few tickets on each ticket path and bare workflows (imports, caches, connections);
2. bare: N `BenchBareWorkflow`s, each running as many no-op activities, one after another, as a
   ticket runs before its first reply, on their own one-process worker;
3. tickets, codec on (the product as configured: every payload encrypted with the customer's data
   key, codec/): N tickets POSTed to the API (at most `concurrency` requests in flight), timed from
   the first request to the last first reply visible in Postgres;
4. tickets, codec off: the same N tickets through a second API and a second ticket worker started with
   `PAYLOAD_ENCRYPTION=false` on a task queue of their own (`plain-api`, `plain-worker`: the same code,
   tuning, server and database; only the data converter differs).
All four processes run for the whole run, so each side has the other side's idle worker and API beside
it. The phases alternate over `rounds` (bare, on, off, then off, on, bare, ...): on and off always run
next to each other, in both orders, so what else runs on a shared machine weighs on both alike.

`ratio` = tickets_per_s / bare_per_s: how much of the engine's speed the product keeps; `cpu_ratio`
is the same comparison in CPU seconds per workflow, which other people's work on the machine disturbs
much less. `codec_ratio` = codec_on_tickets_per_s / codec_off_tickets_per_s: what encryption costs in
throughput (1.0 = nothing); `codec_cpu_ratio` = CPU per ticket off / on, over all the stack's processes
(the machine's PostgreSQL, which serves the codec's key lookups, is not among them: it counts in
`other_cpu_s_per_s`); `codec_cpu_ms_per_ticket` is the CPU the codec adds per ticket in each process.
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
from bench.common import BenchError, CpuMeter, machine_state, note, percentiles
from bench.history import activities_to_first_reply, input_encoding, time_breakdown
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
        base, "throughput", stack, parts=("temporal", "worker", "api", "bare-worker", "plain-worker", "plain-api"),
        keep=keep, extra_env=extra_env, server_flags=server_flags,
    ) as stack:  # fmt: skip
        client = await stack.client()
        pool = await stack.pool()
        run = uuid.uuid4().hex[:6]
        try:
            async with (
                httpx.AsyncClient(base_url=stack.api_url, timeout=60) as http,
                httpx.AsyncClient(base_url=stack.plain_api_url, timeout=60) as plain_http,
                ReplyWatcher(pool) as watcher,
            ):
                note(f"==> warm-up: {warmup} tickets with the codec on, {warmup} off, {warmup} bare workflows")
                _, _, warm_ids = await run_tickets(http, watcher, max(1, warmup), concurrency, f"{run}-warm")
                await run_tickets(plain_http, watcher, max(1, warmup), concurrency, f"{run}-warm-off")
                activities = await activities_to_first_reply(client, workflow_id_for(warm_ids[0]))
                await run_bare(client, warmup, activities, concurrency, f"{run}-warm")

                # Alternating phases (bare, on, off, off, on, bare, ...) so slow drifts in what else runs
                # on the machine weigh on every side alike.
                sizes = [n // rounds + (1 if r < n % rounds else 0) for r in range(rounds)]
                sides = {"bare": _Side(), "on": _Side(), "off": _Side()}
                http_of = {"on": http, "off": plain_http}
                profilers = _start_profilers(stack, profile)
                for r, size in enumerate(sizes):
                    for kind in ("bare", "on", "off") if r % 2 == 0 else ("off", "on", "bare"):
                        meter = CpuMeter()
                        meter.start(stack.pids())
                        side = sides[kind]
                        if kind == "bare":
                            note(f"==> round {r + 1}/{rounds}, bare: {size} workflows x {activities} no-op activities")
                            secs = await run_bare(client, size, activities, concurrency, f"{run}-{r}")
                        else:
                            note(f"==> round {r + 1}/{rounds}, tickets, codec {kind}: {size} through the API")
                            secs, lat, got = await run_tickets(
                                http_of[kind], watcher, size, concurrency, f"{run}-{r}-{kind}"
                            )
                            side.latencies += lat
                            side.ids += got
                        side.add(size, secs, meter.stop())
                        note(f"    {size / secs:.2f}/s ({secs:.1f}s)")
                profiles = {name: p.stop() for name, p in profilers.items()}
                encodings = {
                    kind: await input_encoding(client, workflow_id_for(sides[kind].ids[0])) for kind in ("on", "off")
                }
                if encodings != {"on": "binary/encrypted", "off": "json/plain"}:
                    raise BenchError(f"the codec is not on on one side and off on the other: {encodings}")
                breakdown = await time_breakdown(
                    client, [workflow_id_for(t) for t in sides["on"].ids[:BREAKDOWN_SAMPLE]]
                )
                breakdown_off = await time_breakdown(
                    client, [workflow_id_for(t) for t in sides["off"].ids[:BREAKDOWN_SAMPLE]]
                )
        finally:
            await pool.close()
    bare, on, off = sides["bare"], sides["on"], sides["off"]
    cpu_ticket, cpu_bare, cpu_off = on.cpu_ms(), bare.cpu_ms(), off.cpu_ms()
    figures: dict[str, Any] = {
        "bench": "throughput",
        "n": n,
        "tickets_per_s": round(on.rate(), 3),
        "bare_per_s": round(bare.rate(), 3),
        "ratio": round(on.rate() / bare.rate(), 3),
        "activities_per_ticket": activities,
        # What the ratio would be if CPU were all that limits both (steadier on a shared machine).
        "cpu_ratio": round(sum(cpu_bare.values()) / sum(cpu_ticket.values()), 3),
        "cpu_ms_per_ticket": cpu_ticket,
        "cpu_ms_per_bare": cpu_bare,
        # The payload codec: the same tickets with encryption on (the product as configured) and off.
        "codec_on_tickets_per_s": round(on.rate(), 3),
        "codec_off_tickets_per_s": round(off.rate(), 3),
        "codec_ratio": round(on.rate() / off.rate(), 3),
        "codec_ratio_per_round": [round(a / b, 3) for a, b in zip(on.rates(), off.rates(), strict=True)],
        "codec_cpu_ratio": round(sum(cpu_off.values()) / sum(cpu_ticket.values()), 3),
        "codec_cpu_ms_per_ticket": _codec_cpu(cpu_ticket, cpu_off),
        "codec_payloads": encodings,  # checked: each side's ticket inputs as stored in Temporal
        "cpu_ms_per_ticket_codec_off": cpu_off,
        "rounds": {"tickets_per_s": on.rates(), "bare_per_s": bare.rates(), "codec_off_tickets_per_s": off.rates()},
        "ticket_first_reply_s": percentiles(on.latencies),
        "codec_off_first_reply_s": percentiles(off.latencies),
        "concurrency": concurrency,
        "other_cpu_s_per_s": {"bare": bare.other_load(), "tickets": on.other_load(), "codec_off": off.other_load()},
        "ticket_time_breakdown": breakdown,
        "ticket_time_breakdown_codec_off": breakdown_off,
        "server": "temporal CLI dev server, file database",
        "model": base.MODEL_PROVIDER,
        "machine": machine_state(),
    }
    if profiles:
        figures["profile"] = profiles
    return figures


# Which process does a ticket's work on each side: the codec-off side's worker and API are the `plain-` ones.
_SAME_ROLE = {"worker": "plain-worker", "api": "plain-api", "temporal": "temporal"}


def _codec_cpu(on: dict[str, float], off: dict[str, float]) -> dict[str, float]:
    """CPU milliseconds per ticket the codec adds in each process that does a ticket's work, and in all."""
    added = {role: round(on.get(role, 0.0) - off.get(plain, 0.0), 1) for role, plain in _SAME_ROLE.items()}
    added["all"] = round(sum(on.values()) - sum(off.values()), 1)
    return added


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
    """One side's phases (bare, codec on, codec off): how many, how long, the CPU each process spent on
    them; for tickets, their latencies and ids."""

    count: int = 0
    seconds: float = 0.0
    per_round: list[float] = field(default_factory=list)
    cpu: dict[str, float] = field(default_factory=dict)
    other: float = 0.0
    latencies: list[float] = field(default_factory=list)  # tickets: request to first reply, seconds
    ids: list[str] = field(default_factory=list)  # tickets: their ids

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
