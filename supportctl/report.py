"""`supportctl report`: the brief's success metrics over the tickets opened in a window.

Read from the ticket store (no Temporal needed), printed one metric a line against its target, then
the whole report as one JSON object on the last line (the same body as `GET /reports/summary`).
"""

from __future__ import annotations

import argparse
import asyncio
from datetime import UTC, datetime
from typing import Any

from domain.models import Channel
from domain.success import TARGETS, Metric, SupportReport, report_window
from settings import Settings
from supportctl.console import emit, note, say

_UNITS = {t.name: t.unit for t in TARGETS}


def _when(value: str) -> datetime:
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 date or time: {value!r} (e.g. 2026-12-01)") from None


def _days(value: str) -> int:
    if not value.isdigit() or int(value) < 1:
        raise argparse.ArgumentTypeError(f"a whole number of days, at least 1: {value!r}")
    return int(value)


def _shown(m: Metric) -> str:
    if m.value is None:
        return "-"
    unit = _UNITS[m.name]
    if unit == "ratio":
        return f"{m.value:.1%}"
    if unit == "hours":
        return f"{m.value:.1f} h"
    if unit == "usd":
        return f"${m.value:.4f}"
    return f"{m.value:.2f}"


def _verdict(m: Metric) -> str:
    return {True: "met", False: "MISSED", None: "no data"}[m.met]


def cmd_report(args: argparse.Namespace, settings: Settings) -> int:
    from clients import open_pool
    from db.reports import support_report

    try:
        since, until = report_window(args.since, args.until, args.days, datetime.now(UTC))
    except ValueError as e:  # a usage error, like argparse's own: exit 2
        note(f"supportctl report: error: {e}")
        raise SystemExit(2) from None

    async def run() -> SupportReport:
        pool = await open_pool(settings)
        try:
            return await support_report(pool, since, until, channel=args.channel, product=args.product)
        finally:
            await pool.close()

    r = asyncio.run(run())
    scope = "".join(f", {k} {v}" for k, v in (("channel", r.channel), ("product", r.product)) if v)
    say(f"tickets opened {since:%Y-%m-%d %H:%M} to {until:%Y-%m-%d %H:%M} UTC{scope}: {r.tickets} ({r.resolved} "
        f"resolved, {r.resolved_by_silence} of them by silence, {r.came_back} came back; {r.reached_person} reached a "
        f"person; {r.open_with_agents} open with the agents)")  # fmt: skip
    for m in r.metrics:
        say(f"  {m.name:<22} {_shown(m):>9}  target {m.target:<7} {_verdict(m):<7}  {m.label} ({m.basis})")
    emit(r.model_dump(mode="json"))
    return 0


def register(sub: Any) -> None:
    p = sub.add_parser(
        "report", help="the brief's success metrics (automation, resolution time, SLA, CSAT, cost, escalation)"
    )
    window = p.add_mutually_exclusive_group()
    window.add_argument("--days", type=_days, help="the window: this many days before --until (default: 30)")
    window.add_argument("--since", type=_when, help="tickets opened from (ISO 8601; no zone: UTC)")
    p.add_argument("--until", type=_when, help="tickets opened before (default: now)")
    p.add_argument("--channel", choices=[c.value for c in Channel], help="one channel's tickets")
    p.add_argument("--product", help="one product's tickets")
    p.set_defaults(func=cmd_report)
