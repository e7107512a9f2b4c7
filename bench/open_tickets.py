"""`bench open-tickets`: many tickets open at once, waiting on their customers and on timers.

1. Open N tickets through the API's own start function (`api.service.tickets.start_ticket`: same ids,
   policy, search attributes and memo as `POST /tickets`, without the HTTP hop, to save time), at
   most `in_flight` still opening at a time, until each has its first agent reply and waits.
2. Measure the worker's resident memory (and the SDK's sticky-cache size when metrics are on).
3. Restart the worker (SIGTERM, as a deploy does) and query every ticket (or a sample) on the fresh
   worker, which must replay each one from its history: every query must answer, with the status
   the ticket store shows.
4. Timers: the last `timers` tickets run a short reminder policy (`REMIND_AFTER_HOURS` of
   `remind_after_s`), due only after the restart; each must send its reminder, on the new worker.
"""

from __future__ import annotations

import asyncio
import signal
import time
import uuid
from collections import Counter
from typing import Any

import httpx
from temporalio.client import Client
from temporalio.service import RPCError

from api.service.ids import workflow_id_for
from api.service.tickets import start_ticket
from bench.common import BenchError, machine_state, note, percentiles, rss_bytes
from bench.load import ReplyWatcher, samples, settled_after, unique_body
from bench.stack import BenchStack, bench_stack, free_port
from domain.models import Channel
from settings import Settings
from supportctl.demo import DemoTicket
from workflows.ticket import TicketWorkflow

MIB = 1024 * 1024
OPEN_TIMEOUT_S = 900.0
REMINDER = "reminder_sent"


async def scrape(url: str, prefixes: tuple[str, ...]) -> dict[str, float]:
    """Sum of each Prometheus metric whose name starts with one of `prefixes` (labels ignored)."""
    try:
        async with httpx.AsyncClient(timeout=5) as http:
            text = (await http.get(url)).text
    except httpx.HTTPError:
        return {}
    out: dict[str, float] = {}
    for line in text.splitlines():
        if line.startswith("#") or not line.startswith(prefixes):
            continue
        name_labels, _, value = line.rpartition(" ")
        name = name_labels.split("{", 1)[0]
        try:
            out[name] = out.get(name, 0.0) + float(value)
        except ValueError:
            continue
    return out


async def open_tickets(
    base: Settings,
    *,
    n: int = 10_000,
    in_flight: int = 100,
    timers: int = 50,
    remind_after_s: float = 180.0,
    query_sample: int | None = None,
    query_concurrency: int = 16,
    in_memory: bool = False,
    keep: bool = False,
    extra_env: dict[str, str] | None = None,
    server_flags: list[str] | None = None,
    stack: BenchStack | None = None,
) -> dict[str, Any]:
    metrics_port = free_port()
    env = {"WORKER_METRICS_BIND": f"127.0.0.1:{metrics_port}", **(extra_env or {})}
    async with bench_stack(
        base, "open-tickets", stack, parts=("temporal", "worker"), keep=keep, extra_env=env, in_memory=in_memory,
        server_flags=server_flags,
    ) as stack:  # fmt: skip
        metrics_url = f"http://{stack.child_env().get('WORKER_METRICS_BIND', '127.0.0.1:1')}/metrics"
        client = await stack.client()
        pool = await stack.pool()
        run = uuid.uuid4().hex[:6]
        # the demo tickets, and a plain how-to that waits on the customer whatever the hand-over rules say:
        # the reminder tickets need one (a ticket handed to a person gets no reminder)
        howto = DemoTicket("bench-howto", samples()[0].customer_id, "chat", "Exporting a dashboard",
                           "How do I export a dashboard to CSV?", None)  # fmt: skip
        pool_samples = [*samples(), howto]
        ids: list[str] = []
        statuses: Counter[str] = Counter()
        waits_on_customer: set[int] = set()  # sample indexes whose tickets end up waiting_customer
        rss_peak = 0
        try:
            async with ReplyWatcher(pool, interval=0.25) as watcher:
                sem = asyncio.Semaphore(in_flight)
                short = stack.settings.model_copy(update={"REMIND_AFTER_HOURS": remind_after_s / 3600})

                async def one(i: int, sample_index: int, settings: Settings) -> None:
                    sample = pool_samples[sample_index]
                    async with sem:
                        tid, _ = await start_ticket(
                            client, settings, customer_id=sample.customer_id, channel=Channel(sample.channel),
                            subject=sample.subject, body=unique_body(sample, f"open-{run}-{i}"), key=f"open-{run}-{i}",
                            fingerprint=f"open-{run}-{i}",
                        )  # fmt: skip
                        ids.append(tid)
                        await watcher.until(tid, settled_after(1), OPEN_TIMEOUT_S, "first reply")
                    status = await pool.fetchval("SELECT status FROM tickets WHERE ticket_id = $1", tid)
                    statuses[status] += 1
                    if status == "waiting_customer":
                        waits_on_customer.add(sample_index)

                main_n = max(0, n - timers)
                note(f"==> opening {main_n} tickets ({in_flight} at a time), then {timers} on a short reminder")
                t0 = time.monotonic()
                tasks = [asyncio.create_task(one(i, i % len(pool_samples), stack.settings)) for i in range(main_n)]
                last_note = 0.0
                while not all(t.done() for t in tasks):
                    await asyncio.sleep(1.0)
                    rss_peak = max(rss_peak, rss_bytes(stack.pid("worker")))
                    for t in tasks:
                        if t.done() and t.exception() is not None:
                            raise t.exception()  # type: ignore[misc]
                    if time.monotonic() - last_note > 15:
                        last_note = time.monotonic()
                        done = sum(t.done() for t in tasks)
                        note(
                            f"    {done}/{main_n} open, {done / (time.monotonic() - t0):.2f}/s, "
                            f"worker RSS {rss_bytes(stack.pid('worker')) / MIB:.0f} MiB"
                        )
                await asyncio.gather(*tasks)
                waiting = sorted(waits_on_customer) or [len(pool_samples) - 1]
                timer_ids_start = len(ids)
                await asyncio.gather(*(one(main_n + j, waiting[j % len(waiting)], short) for j in range(timers)))
                timer_ids = ids[timer_ids_start:]
                open_s = time.monotonic() - t0
                note(f"    {len(ids)} tickets open in {open_s:.0f}s ({len(ids) / open_s:.2f}/s)")

            await asyncio.sleep(2)  # let the last post-reply writes settle before measuring
            rss_open = rss_bytes(stack.pid("worker"))
            cache_open = await scrape(metrics_url, ("temporal_sticky_cache",))
            note(f"==> worker RSS with {len(ids)} open tickets: {rss_open / MIB:.0f} MiB (peak {rss_peak / MIB:.0f})")

            note("==> restarting the worker (SIGTERM, then a fresh process)")
            # A reminder stamped after this moment was sent by the fresh worker: the old one is
            # stopping (it finishes nothing new) and the new one picks up the timers that came due.
            stopping_at = time.time()
            restart_s = await asyncio.to_thread(stack.restart_worker, signal.SIGTERM)
            rss_fresh = rss_bytes(stack.pid("worker"))

            sample = ids if query_sample is None else ids[:: max(1, len(ids) // max(1, query_sample))]
            note(f"==> querying {len(sample)} tickets on the fresh worker (each replays from its history)")
            q = await _query_all(client, pool, sample, query_concurrency)
            rss_after_queries = rss_bytes(stack.pid("worker"))
            cache_after = await scrape(metrics_url, ("temporal_sticky_cache",))
            note(
                f"    {q['answered']}/{len(sample)} answered ({q['per_s']}/s), {q['status_mismatches']} status "
                f"mismatches; worker RSS now {rss_after_queries / MIB:.0f} MiB"
            )

            fired = await _wait_reminders(pool, timer_ids, stopping_at, remind_after_s + 240)
        finally:
            await pool.close()
    note(f"    reminders: {fired['fired']}/{len(timer_ids)} fired, {fired['fired_after_restart']} after the restart")
    cache_setting = int(stack.child_env().get("WORKER_MAX_CACHED_WORKFLOWS", base.WORKER_MAX_CACHED_WORKFLOWS))
    correct = (
        q["answered"] == len(sample) and q["status_mismatches"] == 0 and fired["fired_after_restart"] == len(timer_ids)
    )
    return {
        "bench": "open-tickets",
        "ok": correct,
        "n": len(ids),
        "opened_via": "api.service.tickets.start_ticket with a Temporal client (the API's start path, no HTTP)",
        "open_s": round(open_s, 1),
        "open_per_s": round(len(ids) / open_s, 3),
        "statuses": dict(statuses),
        "max_cached_workflows": cache_setting,
        "worker_rss_mib": round(rss_open / MIB, 1),
        "worker_rss_peak_mib": round(max(rss_peak, rss_open) / MIB, 1),
        "worker_rss_fresh_mib": round(rss_fresh / MIB, 1),
        "worker_rss_after_queries_mib": round(rss_after_queries / MIB, 1),
        # The fresh worker did nothing but replay the queried tickets into its cache: the memory
        # each cached ticket costs (allocator noise included).
        "rss_per_cached_ticket_kib": round(
            (rss_after_queries - rss_fresh) / 1024 / max(1, min(len(sample), cache_setting)), 1
        ),
        "rss_target_met": max(rss_peak, rss_open, rss_after_queries) < 1024 * MIB,
        "sticky_cache": {"after_open": cache_open, "after_queries": cache_after},
        "worker_restart_s": round(restart_s, 1),
        "queries": q,
        "timers": {"tickets": len(timer_ids), "remind_after_s": remind_after_s, **fired},
        "server": "temporal CLI dev server, " + ("in memory" if in_memory else "file database"),
        "model": base.MODEL_PROVIDER,
        "machine": machine_state(),
    }


async def _query_all(client: Client, pool: Any, ids: list[str], concurrency: int) -> dict[str, Any]:
    sem = asyncio.Semaphore(concurrency)
    took: list[float] = []
    failed: list[str] = []
    answers: dict[str, str] = {}

    async def one(tid: str) -> None:
        handle = client.get_workflow_handle_for(TicketWorkflow.run, workflow_id_for(tid))
        async with sem:
            t = time.monotonic()
            for attempt in range(3):
                try:
                    answers[tid] = (await handle.query(TicketWorkflow.status)).value
                    break
                except RPCError as e:
                    if attempt == 2:
                        failed.append(f"{tid}: {e.message[:120]}")
                    await asyncio.sleep(1)
            took.append(time.monotonic() - t)

    t0 = time.monotonic()
    await asyncio.gather(*(one(tid) for tid in ids))
    elapsed = time.monotonic() - t0
    mismatches = await _status_mismatches(client, pool, answers)
    return {
        "queried": len(ids),
        "answered": len(answers),
        "failed": failed[:10],
        "status_mismatches": len(mismatches),
        "per_s": round(len(ids) / elapsed, 1) if elapsed > 0 else None,
        "latency_s": percentiles(took),
        "elapsed_s": round(elapsed, 1),
    }


async def _status_mismatches(client: Client, pool: Any, answers: dict[str, str], rounds: int = 5) -> list[str]:
    """Tickets whose workflow status and stored status disagree. The store is written by an activity
    just after the workflow changes (a reminder timer may fire meanwhile), so a disagreement counts
    only if it outlasts a few re-reads of both sides."""
    pending = dict(answers)
    for attempt in range(rounds):
        stored = {r["ticket_id"]: r["status"] for r in await pool.fetch(
            "SELECT ticket_id, status FROM tickets WHERE ticket_id = ANY($1::text[])", list(pending))}  # fmt: skip
        pending = {tid: st for tid, st in pending.items() if stored.get(tid) != st}
        if not pending or attempt == rounds - 1:
            break
        await asyncio.sleep(2)
        for tid in pending:
            handle = client.get_workflow_handle_for(TicketWorkflow.run, workflow_id_for(tid))
            try:
                pending[tid] = (await handle.query(TicketWorkflow.status)).value
            except RPCError:
                pass  # counted against the ticket if it never agrees
    return list(pending)


async def _wait_reminders(pool: Any, ids: list[str], stopping_at: float, within: float) -> dict[str, Any]:
    """Wait until every ticket in `ids` has sent its reminder; count those sent after the old worker
    began stopping (so by the fresh worker)."""
    if not ids:
        return {"fired": 0, "fired_after_restart": 0, "missing": []}
    note(f"==> waiting for {len(ids)} reminder timers (up to {within:.0f}s)")
    deadline = time.monotonic() + within
    rows: list[Any] = []
    while time.monotonic() < deadline:
        rows = await pool.fetch(
            "SELECT ticket_id, extract(epoch FROM created_at) AS at FROM ticket_events "
            "WHERE kind = $1 AND ticket_id = ANY($2::text[])",
            REMINDER,
            ids,
        )
        if len({r["ticket_id"] for r in rows}) >= len(ids):
            break
        await asyncio.sleep(2)
    fired = {r["ticket_id"]: float(r["at"]) for r in rows}
    if len(fired) > len(ids):
        raise BenchError("more reminders than tickets")
    return {
        "fired": len(fired),
        "fired_after_restart": sum(1 for at in fired.values() if at >= stopping_at),
        "missing": [t for t in ids if t not in fired][:10],
    }
