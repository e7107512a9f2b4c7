"""`supportctl webhooks list|replay`: the webhook delivery log (docs/channels.md#delivery-log-and-replay).

What `GET /webhooks/deliveries` and `POST /webhooks/deliveries/{id}/replay` do, from the operator's shell
and straight on the database (no API key needed where the database is reachable). A replay puts the
delivery back in the queue: the worker's webhook dispatcher sends it again to the endpoint it went to,
under the same `webhook-id`, with a fresh timestamp and signature. Last stdout line: one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

from settings import Settings
from supportctl.console import emit, fail, say

STREAMS = ("event", "notification", "customer")
STATES = ("pending", "delivered", "failed", "refused")
MAX_REPLAY = 500


def cmd_list(args: argparse.Namespace, settings: Settings) -> int:
    from channels.webhooks import store
    from clients import open_pool

    async def run() -> list[store.Delivery]:
        pool = await open_pool(settings)
        try:
            return await store.list_deliveries(
                pool, stream=args.stream, state=args.state, ticket_id=args.ticket, before=args.before, limit=args.limit
            )
        finally:
            await pool.close()

    rows = asyncio.run(run())
    for d in rows:
        status = f"HTTP {d.last_status}" if d.last_status is not None else "no answer" if d.attempts else "not sent"
        last = d.last_error[:120] if d.last_error else status  # the error starts with its HTTP status
        say(f"#{d.delivery_id} {d.created_at:%Y-%m-%d %H:%M:%S} {d.stream} {d.event_type} {d.ticket_id or '-'} "
            f"{d.state} after {d.attempts} attempt(s), {last} [{d.webhook_id} to {d.endpoint}]")  # fmt: skip
    if not rows:
        say("no deliveries match")
    more = len(rows) == args.limit
    if more:
        say(f"older ones: supportctl webhooks list --before {rows[-1].delivery_id}")
    emit({"deliveries": len(rows), "next_before_id": rows[-1].delivery_id if more else None})
    return 0


def cmd_replay(args: argparse.Namespace, settings: Settings) -> int:
    from channels.webhooks import store
    from clients import open_pool

    if not args.ids and not args.refused:
        return fail("name the deliveries to replay (IDs), or --refused for every refused one", 2)

    async def run() -> tuple[list[int], list[int]]:
        pool = await open_pool(settings)
        try:
            ids = list(args.ids)
            if args.refused:
                found = await store.list_deliveries(
                    pool, stream=args.stream, state="refused", ticket_id=args.ticket, limit=MAX_REPLAY
                )
                ids += [d.delivery_id for d in reversed(found)]  # oldest first, as they were sent
            done: list[int] = []
            missing: list[int] = []
            for delivery_id in dict.fromkeys(ids):
                (done if await store.replay(pool, delivery_id) else missing).append(delivery_id)
            return done, missing
        finally:
            await pool.close()

    done, missing = asyncio.run(run())
    say(f"{len(done)} delivery(ies) queued again: the worker's dispatcher sends them under the same webhook-id")
    for delivery_id in missing:
        say(f"  no webhook delivery {delivery_id}")
    emit({"replayed": done, "not_found": missing})
    return 1 if missing else 0


def _delivery_id(text: str) -> int:
    value = int(text)
    if not 1 <= value < 2**63:
        raise argparse.ArgumentTypeError(f"{text} is not a delivery id")
    return value


def _limit(text: str) -> int:
    value = int(text)
    if not 1 <= value <= 500:
        raise argparse.ArgumentTypeError(f"{text} is not in 1..500")
    return value


def register(sub: Any) -> None:
    p = sub.add_parser("webhooks", help="the webhook delivery log: what was sent where, and replays")
    ops = p.add_subparsers(dest="webhooks_command", required=True)
    ls = ops.add_parser("list", help="deliveries, newest first (events, notifications, customer messages)")
    ls.add_argument("--stream", choices=STREAMS)
    ls.add_argument("--state", choices=STATES, help="refused: a receiver said no for good (4xx); failed: retrying")
    ls.add_argument("--ticket", help="only this ticket's")
    ls.add_argument("--before", type=_delivery_id, help="older than this delivery id (paging)")
    ls.add_argument("--limit", type=_limit, default=20, help="at most this many (1..500, default 20)")
    ls.set_defaults(func=cmd_list)
    rp = ops.add_parser("replay", help="send deliveries again (same webhook-id, fresh signature)")
    rp.add_argument("ids", nargs="*", type=_delivery_id, metavar="ID", help="delivery ids (from `webhooks list`)")
    rp.add_argument("--refused", action="store_true", help=f"every refused delivery (at most {MAX_REPLAY})")
    rp.add_argument("--stream", choices=STREAMS, help="with --refused: only this stream's")
    rp.add_argument("--ticket", help="with --refused: only this ticket's")
    rp.set_defaults(func=cmd_replay)
