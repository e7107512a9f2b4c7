"""`supportctl outbox status|retry|suppressions|unsuppress`: messages to customers the channel gateway has not taken.

A message the gateway refuses for good (a permanent 4xx) is set aside so the ticket's later messages go
on; once the cause is fixed (the address corrected, the gateway's rule changed), `retry` puts it back
in the queue, in its ticket's order. `status` also lists the e-mails that bounced (accepted by SMTP, then
returned by a delivery report; see docs/channels.md). A hard bounce suppresses the address: later mail
to it is set aside (refused, with the reason) until it writes again or `unsuppress` clears it; `suppressions`
lists them. Last stdout line: one JSON object.
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


def cmd_suppressions(args: argparse.Namespace, settings: Settings) -> int:
    from clients import open_pool
    from db import email_suppressions

    async def run() -> list[email_suppressions.Suppression]:
        pool = await open_pool(settings)
        try:
            async with pool.acquire() as conn:
                return await email_suppressions.listed(conn, args.limit)
        finally:
            await pool.close()

    rows = asyncio.run(run())
    say(f"{len(rows)} address(es) not mailed after a hard bounce (lifted when they write again, or by unsuppress)")
    for r in rows:
        say(f"  {r.address} since {r.suppressed_at:%Y-%m-%d %H:%M} ({r.status}, {r.ticket_id} #{r.seq}): {r.reason}")
    emit({"suppressed": [r.address for r in rows]})
    return 0


def cmd_unsuppress(args: argparse.Namespace, settings: Settings) -> int:
    """An admin clears a suppression (the customer says the mailbox works again): later answers are sent;
    the answers already set aside stay so until `retry` puts them back (they may be stale by now)."""
    from clients import open_pool
    from db import email_suppressions

    async def run() -> email_suppressions.Suppression | None:
        pool = await open_pool(settings)
        try:
            async with pool.acquire() as conn, conn.transaction():
                lifted = await email_suppressions.lift(conn, args.address)
                if lifted is not None:  # on the ticket whose mail bounced: its audit trail says who lifted it
                    key = f"email_unsuppressed:admin:{datetime.now(UTC).isoformat()}"
                    await email_suppressions.record_lifted(conn, lifted.ticket_id, key, lifted, "admin")
                return lifted
        finally:
            await pool.close()

    lifted = asyncio.run(run())
    if lifted is None:
        say(f"{args.address} was not suppressed")
    else:
        say(f"{lifted.address} will be mailed again; answers set aside meanwhile: supportctl outbox retry --ticket ID")
    emit({"address": args.address.lower(), "lifted": lifted is not None})
    return 0


def register(sub: Any) -> None:
    p = sub.add_parser("outbox", help="messages to customers the channel gateway has not taken")
    ops = p.add_subparsers(dest="outbox_command", required=True)
    status = ops.add_parser("status", help="how many are pending, refused or bounced; the refused and bounced ones")
    status.set_defaults(func=cmd_status)
    r = ops.add_parser("retry", help="put refused messages back in the queue (after fixing the cause)")
    r.add_argument("--ticket", help="only this ticket's (default: every refused message)")
    r.set_defaults(func=cmd_retry)
    sp = ops.add_parser("suppressions", help="e-mail addresses not mailed after a hard bounce")
    sp.add_argument("--limit", type=int, default=100)
    sp.set_defaults(func=cmd_suppressions)
    u = ops.add_parser("unsuppress", help="mail an address again (an admin's decision after a hard bounce)")
    u.add_argument("address")
    u.set_defaults(func=cmd_unsuppress)
