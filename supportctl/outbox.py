"""`supportctl outbox status|retry`: messages to customers the channel gateway has not taken.

A message the gateway refuses for good (a permanent 4xx) is set aside so the ticket's later messages go
on; once the cause is fixed (the address corrected, the gateway's rule changed), `retry` puts it back
in the queue, in its ticket's order. Last stdout line: one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
from datetime import UTC, datetime
from typing import Any

from settings import Settings
from supportctl.console import emit, say


def cmd_status(_args: argparse.Namespace, settings: Settings) -> int:
    from clients import open_pool
    from db import outbox

    async def run() -> tuple[tuple[int, int, float], list[dict[str, object]]]:
        pool = await open_pool(settings)
        try:
            async with pool.acquire() as conn:
                return await outbox.state(conn, datetime.now(UTC)), await outbox.refused(conn)
        finally:
            await pool.close()

    (pending, refused, oldest_s), rows = asyncio.run(run())
    say(f"{pending} message(s) being delivered (oldest {oldest_s:.0f}s), {refused} refused by the gateway")
    for r in rows:
        say(f"  {r['ticket_id']} #{r['seq']} {r['channel']} to {r['customer_email'] or '-'}: {r['last_error']}")
    if refused:
        say("fix the cause, then: supportctl outbox retry [--ticket ID]")
    emit({"pending": pending, "refused": refused, "oldest_pending_s": round(oldest_s, 1)})
    return 0


def cmd_retry(args: argparse.Namespace, settings: Settings) -> int:
    from clients import open_pool
    from db import outbox

    async def run() -> int:
        pool = await open_pool(settings)
        try:
            async with pool.acquire() as conn:
                return await outbox.retry_refused(conn, args.ticket)
        finally:
            await pool.close()

    n = asyncio.run(run())
    scope = f" of ticket {args.ticket}" if args.ticket else ""
    say(f"{n} refused message(s){scope} put back in the queue")
    emit({"retried": n})
    return 0


def register(sub: Any) -> None:
    p = sub.add_parser("outbox", help="messages to customers the channel gateway has not taken")
    ops = p.add_subparsers(dest="outbox_command", required=True)
    ops.add_parser("status", help="how many are pending or refused; the refused ones and why").set_defaults(
        func=cmd_status
    )
    r = ops.add_parser("retry", help="put refused messages back in the queue (after fixing the cause)")
    r.add_argument("--ticket", help="only this ticket's (default: every refused message)")
    r.set_defaults(func=cmd_retry)
