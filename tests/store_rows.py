"""Ticket rows written as the ticket workflow writes them, for tests of what reads the store (reports, metrics)."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

import asyncpg

from db import tickets
from db.customers import upsert_customers
from db.pool import create_pool
from domain.models import Customer, Plan


async def open_store(dsn: str) -> asyncpg.Pool:
    pool = await create_pool(dsn, min_size=1, max_size=4)
    await upsert_customers(pool, [Customer(customer_id="cus_1", email="a@example.com", name="Ada", plan=Plan.PRO)])
    return pool


async def add_ticket(
    pool: asyncpg.Pool,
    *,
    opened: datetime,
    status: str,
    events: tuple[str, ...] = (),
    senders: tuple[tuple[str, str | None], ...] = (("customer", "neutral"), ("agent", None)),
    resolved_after_h: float | None = None,
    actors: dict[str, str] | None = None,  # event kind -> who wrote it (the workflow writes "system")
    channel: str = "email",
    authors: dict[int, str] | None = None,  # message seq -> its author (default: the sender)
    message_minutes: dict[int, float] | None = None,  # message seq -> minutes after the opening (default: seq)
    **columns: Any,
) -> str:
    """A ticket row as its workflow leaves it: snapshot columns, its messages in order, its audit events."""
    tid = f"tkt_{uuid.uuid4().hex[:12]}"
    await tickets.insert_ticket(
        pool, ticket_id=tid, workflow_id=f"ticket-{tid}", customer_id="cus_1", channel=channel,
        subject="Exports fail", status=status, created_at=opened,
    )  # fmt: skip
    resolved_at = opened + timedelta(hours=resolved_after_h) if resolved_after_h is not None else None
    sets = {"resolved_at": resolved_at, **columns}
    assignments = ", ".join(f"{name} = ${i}" for i, name in enumerate(sets, start=2))
    await pool.execute(f"UPDATE tickets SET {assignments} WHERE ticket_id = $1", tid, *sets.values())
    for seq, (sender, sentiment) in enumerate(senders, start=1):
        await tickets.insert_message(
            pool, tid, seq=seq, sender=sender, author=(authors or {}).get(seq, sender), body="…", sentiment=sentiment,
            citations=[], created_at=opened + timedelta(minutes=(message_minutes or {}).get(seq, seq)),
        )  # fmt: skip
    for n, kind in enumerate(events, start=1):
        await tickets.insert_audit_event(
            pool, tid, event_key=f"{n:04d}:{kind}", kind=kind, data={}, created_at=opened + timedelta(seconds=n),
            actor=(actors or {}).get(kind),
        )  # fmt: skip
    return tid
