"""`supportctl reports status|rebuild`: the report's rollup (migrations V23, V26; db/report_rollup.py).

`status` says how many days wait for a refresh (the worker refreshes them in the background every
`REPORT_REFRESH_S`; reports count them from the tickets meanwhile, so figures are exact either way, only
slower). `rebuild` recomputes every day of the store in one go, a batch of days per transaction, with a
progress bar on stderr: after a bulk load that skipped the triggers, after the migration that added a
scope (V26), or when a rollup row is doubted. `--stale-only` recomputes only the days waiting. Readers go
on during a rebuild. Last stdout line: one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from typing import Any

from settings import Settings
from supportctl.console import ProgressBar, emit, say


def _batch(value: str) -> int:
    if not value.isdigit() or int(value) < 1:
        raise argparse.ArgumentTypeError(f"a whole number of days, at least 1: {value!r}")
    return int(value)


def cmd_status(_args: argparse.Namespace, settings: Settings) -> int:
    from clients import open_pool
    from db import report_rollup

    async def run() -> tuple[int, int]:
        pool = await open_pool(settings)
        try:
            return await report_rollup.stale_count(pool), await report_rollup.rolled_hours(pool)
        finally:
            await pool.close()

    stale, hours = asyncio.run(run())
    say(f"{stale} day(s) wait for a refresh; the rollup holds {hours} hour(s) of tickets")
    emit({"stale_days": stale, "hours": hours})
    return 0


def cmd_rebuild(args: argparse.Namespace, settings: Settings) -> int:
    from clients import open_pool
    from db import report_rollup

    bar = ProgressBar("days recomputed")

    async def run() -> int:
        pool = await open_pool(settings)
        try:
            if args.stale_only:
                return await report_rollup.catch_up(pool, args.batch_days, bar)
            return await report_rollup.rebuild(pool, args.batch_days, bar)
        finally:
            await pool.close()

    started = time.monotonic()
    days = asyncio.run(run())
    took = time.monotonic() - started
    say(f"{days} day(s) of the report's rollup recomputed in {took:.1f} s")
    emit({"days": days, "seconds": round(took, 1)})
    return 0


def register(sub: Any) -> None:
    p = sub.add_parser("reports", help="the success-metrics report's rollup: days waiting, rebuild")
    ops = p.add_subparsers(dest="reports_command", required=True)
    status = ops.add_parser("status", help="how many days wait for the rollup's refresh")
    status.set_defaults(func=cmd_status)
    r = ops.add_parser("rebuild", help="recompute the rollup of every day (progress on stderr)")
    r.add_argument("--stale-only", action="store_true", help="only the days written to since their refresh")
    r.add_argument("--batch-days", type=_batch, default=31, help="days per transaction (default: 31)")
    r.set_defaults(func=cmd_rebuild)
