"""`supportctl outbox status|retry`: messages to customers the channel gateway has not taken.

A message the gateway refuses for good (a permanent 4xx) is set aside so the ticket's later messages go
on; once the cause is fixed (the address corrected, the gateway's rule changed), `retry` puts it back
in the queue, in its ticket's order. `status` also lists the e-mails that bounced (accepted by SMTP, then
returned by a delivery report; see docs/channels.md). Last stdout line: one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from settings import Settings
from supportctl.console import emit, say

BOUNCES_DAYS = 7


def cmd_status(_args: argparse.Namespace, settings: Settings) -> int:
    from clients import open_pool
    from db import outbox

    since = datetime.now(UTC) - timedelta(days=BOUNCES_DAYS)

    async def run() -> tuple[tuple[int, int, float], list[dict[str, object]], tuple[int, list[dict[str, object]]]]:
        pool = await open_pool(settings)
        try:
            async with pool.acquire() as conn:
                state = await outbox.state(conn, datetime.now(UTC))
                return state, await outbox.refused(conn), await outbox.bounced(conn, since, 20)
        finally:
            await pool.close()

    (pending, refused, oldest_s), rows, (bounced, bounces) = asyncio.run(run())
    say(f"{pending} message(s) being delivered (oldest {oldest_s:.0f}s), {refused} refused by the gateway")
    for r in rows:
        say(f"  {r['ticket_id']} #{r['seq']} {r['channel']} to {r['customer_email'] or '-'}: {r['last_error']}")
    if refused:
        say("fix the cause, then: supportctl outbox retry [--ticket ID]")
    say(f"{bounced} e-mail(s) bounced in the last {BOUNCES_DAYS} days (sent, then returned by the recipient's server)")
    for r in bounces:
        say(f"  {r['ticket_id']} #{r['seq']} to {r['customer_email'] or '-'}: {r['bounce_reason']}")
    emit({"pending": pending, "refused": refused, "oldest_pending_s": round(oldest_s, 1), "bounced": bounced})
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
    status = ops.add_parser("status", help="how many are pending, refused or bounced; the refused and bounced ones")
    status.set_defaults(func=cmd_status)
    r = ops.add_parser("retry", help="put refused messages back in the queue (after fixing the cause)")
    r.add_argument("--ticket", help="only this ticket's (default: every refused message)")
    r.set_defaults(func=cmd_retry)
