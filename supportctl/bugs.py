"""`supportctl bugs`: the bug reports the agents filed for engineering, newest first (last line JSON)."""

from __future__ import annotations

import argparse
import asyncio
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

from settings import Settings
from supportctl.console import emit, say


def cmd_bugs(args: argparse.Namespace, settings: Settings) -> int:
    from clients import open_pool
    from db.actions import BugReportListed, recent_bug_reports

    async def run() -> list[BugReportListed]:
        pool = await open_pool(settings)
        try:
            since = datetime.now(UTC) - timedelta(days=args.days)
            return await recent_bug_reports(
                pool, since, min_severity=args.min_severity, product=args.product, limit=args.limit
            )
        finally:
            await pool.close()

    reports = asyncio.run(run())
    for r in reports:
        product = f" [{r.product}]" if r.product else ""
        say(f"{r.created_at:%Y-%m-%d %H:%M} {r.severity:<8} {r.report_id}  {r.title}{product}")
        say(f"    ticket {r.ticket_id} ({r.ticket_subject}), by {r.reported_by}: {r.details[:300]}")
    if not reports:
        say(f"no bug reports of {args.min_severity} severity or worse in the last {args.days} days")
    by_severity = Counter(r.severity for r in reports)
    emit({"reports": len(reports), "by_severity": dict(sorted(by_severity.items()))})
    return 0


def _days(value: str) -> int:
    if not value.isdigit() or not 1 <= int(value) <= 3660:
        raise argparse.ArgumentTypeError(f"a whole number of days from 1 to 3660: {value!r}")
    return int(value)


def register(sub: Any) -> None:
    p = sub.add_parser("bugs", help="bug reports the agents filed for engineering, newest first")
    p.add_argument("--days", type=_days, default=7, help="filed in the last this many days (default 7)")
    p.add_argument("--min-severity", choices=["low", "medium", "high", "critical"], default="low")
    p.add_argument("--product", help="only tickets about this product")
    p.add_argument("--limit", type=int, default=100)
    p.set_defaults(func=cmd_bugs)
