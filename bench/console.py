"""`supportctl bench console`: do the console's pages answer in under 300 ms (p95) with 100,000 tickets?

The run fills its own database (bench/console_data.py: tickets over a year, their conversations, audit
events and pending refunds, by COPY), starts the API (and the dev server it connects to), signs in and
requests each page one after another, as one person clicking would: every queue view, the queue with
common filters, ticket pages (a different ticket each time, open and closed ones) and the dashboard over
a week, a month and a quarter. Each request is timed from sending it to the last byte of the page.
"""

from __future__ import annotations

import random
import re
import time
from datetime import UTC, datetime
from typing import Any

import httpx

from bench.common import BenchError, CpuMeter, cpu_seconds, machine_state, note, percentiles
from bench.console_data import fill
from bench.stack import BenchStack, bench_stack
from settings import Settings

TARGET_P95_MS = 300.0
QUEUE_PAGES = {
    "queue mine": "/console/queue?view=mine",
    "queue unassigned": "/console/queue?view=unassigned",
    "queue approval": "/console/queue?view=approval",
    "queue breaching": "/console/queue?view=breaching",
    "queue all": "/console/queue?view=all",
    "queue all, priority high": "/console/queue?view=all&priority=high",
    "queue all, status escalated": "/console/queue?view=all&status=escalated",
    "queue all, channel email, category billing": "/console/queue?view=all&channel=email&category=billing",
    "queue breaching, product Analytics": "/console/queue?view=breaching&product=Analytics",
    "queue unassigned, priority critical": "/console/queue?view=unassigned&priority=critical",
}
DASHBOARD_PAGES = {
    "dashboard 7 days": "/console/dashboard?days=7",
    "dashboard 30 days": "/console/dashboard?days=30",
    "dashboard 90 days per week": "/console/dashboard?days=90&step=week",
    "dashboard 30 days, channel chat": "/console/dashboard?days=30&channel=chat",
    "dashboard 30 days, product Analytics": "/console/dashboard?days=30&product=Analytics",
    "dashboard 90 days per week, channel email": "/console/dashboard?days=90&step=week&channel=email",
}


async def console(
    base: Settings, *, tickets: int = 100_000, days: int = 365, samples: int = 40, warmup: int = 2,
    keep: bool = False, stack: BenchStack | None = None, **stack_options: Any,
) -> dict[str, Any]:  # fmt: skip
    """Fill the store, then time each page `samples` times after `warmup` untimed requests."""
    async with bench_stack(base, "console", stack, parts=("temporal", "api"), keep=keep, **stack_options) as s:
        note(f"==> filling the store: {tickets:,} tickets over {days} days (COPY)")
        t0 = time.monotonic()
        filled = await fill(s.database_url, tickets, days, datetime.now(UTC))
        fill_s = time.monotonic() - t0
        note(
            f"    {filled.tickets:,} tickets, {filled.messages:,} messages, {filled.events:,} events, "
            f"{filled.actions} pending refunds, {filled.open:,} open ({filled.human_queue:,} escalated) "
            f"in {fill_s:.1f} s (the report's rollup {filled.rollup_s:.1f} s of it)"
        )
        ids = list(filled.sample_ids or [])
        if not ids:
            raise BenchError("the fill left no ticket to open")
        rng = random.Random(1)
        meter = CpuMeter()
        meter.start({"api": s.pid("api")})
        url = f"http://127.0.0.1:{s.settings.API_PORT}"
        async with httpx.AsyncClient(base_url=url, timeout=60, follow_redirects=False) as http:
            me = await _sign_in(http, s.settings)
            pages: dict[str, dict[str, Any]] = {}
            api = s.pid("api")
            for name, path in QUEUE_PAGES.items():
                pages[name] = await _time(http, name, lambda p=path: p, samples, warmup, api)
            pages["ticket page"] = await _time(
                http, "ticket page", lambda: f"/console/tickets/{rng.choice(ids)}", samples, warmup, api
            )
            for name, path in DASHBOARD_PAGES.items():
                pages[name] = await _time(http, name, lambda p=path: p, samples, warmup, api)
        cpu = meter.stop()
    worst = max(pages.items(), key=lambda kv: kv[1]["p95"] or 0.0)
    return {
        "bench": "console",
        "ok": True,
        "tickets": filled.tickets,
        "messages": filled.messages,
        "events": filled.events,
        "open_tickets": filled.open,
        "escalated": filled.human_queue,
        "days": days,
        "fill_s": round(fill_s, 1),
        "rollup_rebuild_s": round(filled.rollup_s, 1),
        "samples": samples,
        "signed_in_as": me,
        "target_p95_ms": TARGET_P95_MS,
        "worst_p95_ms": worst[1]["p95"],
        "worst_page": worst[0],
        "target_met": all((p["p95"] or 0.0) < TARGET_P95_MS for p in pages.values()),
        "pages_ms": pages,
        "cpu": cpu,
        "machine": machine_state(),
    }


async def _sign_in(http: httpx.AsyncClient, settings: Settings) -> str:
    page = (await http.get("/console/sign-in")).text
    token = re.search(r'name="csrf" value="([^"]*)"', page)
    if token is None:
        raise BenchError("the sign-in page has no form token")
    keys = settings.AGENT_KEYS or []
    key, name = (keys[0].key.get_secret_value(), keys[0].agent_id) if keys else ("", "agent-01")
    data = {"csrf": token[1], "next": "/console/queue", "key": key, "name": name}
    if not keys and settings.API_KEY:  # the demo's sign-in asks for the API key when one is set
        data["key"] = settings.API_KEY
    r = await http.post("/console/sign-in", data=data)
    if r.status_code != 303:
        raise BenchError(f"console sign-in answered {r.status_code}: {r.text[:200]}")
    return name


async def _time(http: httpx.AsyncClient, name: str, path: Any, samples: int, warmup: int, api: int) -> dict[str, Any]:
    """Milliseconds per request of one page (p50/p95/p99, mean, max), its size, and the API process's CPU
    milliseconds per request (on a busy machine the wall time is mostly waiting for a core)."""
    times: list[float] = []
    size = 0
    cpu0 = 0.0
    for i in range(warmup + samples):
        if i == warmup:
            cpu0 = cpu_seconds(api)
        t0 = time.perf_counter()
        r = await http.get(path())
        elapsed = (time.perf_counter() - t0) * 1000
        if r.status_code != 200:
            raise BenchError(f"{name}: {path()} answered {r.status_code}: {r.text[:300]}")
        if i >= warmup:
            times.append(elapsed)
            size = len(r.content)
    api_cpu_ms = round((cpu_seconds(api) - cpu0) * 1000 / max(samples, 1), 1)
    figures = {**percentiles(times, digits=1), "bytes": size, "api_cpu_ms": api_cpu_ms}
    note(f"    {name}: p50 {figures['p50']} ms, p95 {figures['p95']} ms (API CPU {api_cpu_ms} ms a request)")
    return figures
