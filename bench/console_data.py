"""A year of a busy support desk in the ticket store, written with COPY, for `supportctl bench console`.

Rows look like the ticket workflow's (tickets with their SLA clocks, owner and CSAT; the conversation;
the audit events with their actors; refunds waiting on an approver), in proportions a desk of a dozen
people and the agents would have: most tickets closed long ago, a few thousand open, a third handed to a
person. Seeded, so two runs fill the same store.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

import asyncpg

from db.report_rollup import rebuild

CHANNELS = (("email", 45), ("chat", 35), ("api", 15), ("phone", 5))
CATEGORIES = (("technical", 35), ("billing", 25), ("product", 20), ("account", 12), ("general", 8))
PRIORITIES = (("low", 30), ("medium", 45), ("high", 20), ("critical", 5))
PRODUCTS = (("Analytics", 40), ("Dashboards", 25), ("Ingestion API", 15), (None, 20))
OPEN_STATUSES = (("waiting_customer", 40), ("escalated", 35), ("in_progress", 15), ("new", 10))
SENTIMENTS = (("neutral", 50), ("positive", 20), ("negative", 22), ("very_negative", 8))
PLANS = ["free", "starter", "pro", "enterprise"]
PEOPLE = [f"agent-{i:02d}" for i in range(1, 13)]
SPECIALISTS = ["TechnicalAgent", "BillingAgent", "ProductAgent", "AccountAgent", "TriageAgent"]
SLA_HOURS = {"critical": (1, 4), "high": (4, 24), "medium": (24, 72), "low": (72, 168)}  # first response, resolution

TICKET_COLUMNS = [
    "ticket_id", "workflow_id", "customer_id", "channel", "subject", "status", "category", "priority", "sentiment",
    "escalated", "created_at", "first_response_at", "first_response_due", "resolution_due", "resolved_at",
    "owner", "assigned_human", "sla_breached", "next_reply_due", "csat_score", "cost_usd", "product", "updated_at",
]  # fmt: skip
MESSAGE_COLUMNS = ["ticket_id", "seq", "sender", "author", "body", "sentiment", "created_at"]
EVENT_COLUMNS = ["ticket_id", "event_key", "kind", "data", "created_at", "actor"]
ACTION_COLUMNS = ["request_id", "ticket_id", "kind", "amount_usd", "reason", "status", "requested_by", "created_at"]
CUSTOMER_COLUMNS = ["customer_id", "email", "name", "plan", "is_vip", "lifetime_value"]


@dataclass
class Filled:
    customers: int = 0
    tickets: int = 0
    messages: int = 0
    events: int = 0
    actions: int = 0
    open: int = 0
    human_queue: int = 0
    sample_ids: list[str] | None = None  # tickets the bench opens (open ones and closed ones)
    rollup_s: float = 0.0  # the report rollup's rebuild (every day, every scope), part of the fill


def _pick(rng: random.Random, weighted: tuple[tuple[str | None, int], ...]) -> str | None:
    value: str | None = rng.choices([v for v, _ in weighted], [w for _, w in weighted])[0]
    return value


def generate(n: int, days: int, now: datetime, seed: int = 7) -> tuple[dict[str, list[tuple[object, ...]]], Filled]:
    """Every row of `n` tickets opened over the `days` before `now` (and their customers)."""
    rng = random.Random(seed)
    n_customers = max(10, n // 20)
    customers = [
        (f"bench_{i:06d}", f"bench{i}@example.com", f"Customer {i}", rng.choice(PLANS), rng.random() < 0.05,
         Decimal(rng.randrange(0, 50_000)))
        for i in range(n_customers)
    ]  # fmt: skip
    tickets: list[tuple[object, ...]] = []
    messages: list[tuple[object, ...]] = []
    events: list[tuple[object, ...]] = []
    actions: list[tuple[object, ...]] = []
    sample_ids: list[str] = []
    filled = Filled(customers=n_customers, sample_ids=sample_ids)
    span = timedelta(days=days).total_seconds()
    # A growing desk (somewhat more tickets lately), written oldest first as a store fills: a month's
    # tickets, messages and events sit together on disk, as they do in a store that ran for a year.
    ages = sorted((span * (1 - rng.random() ** 1.3) for _ in range(n)), reverse=True)
    for i, age in enumerate(ages):
        tid = f"tkt_bench{i:07d}"
        created = now - timedelta(seconds=age)
        priority = str(_pick(rng, PRIORITIES))
        first_h, resolve_h = SLA_HOURS[priority]
        # open: recent tickets mostly; one in a thousand older ones still waits (a forgotten one)
        is_open = (age < 14 * 86400 and rng.random() < 0.3) or rng.random() < 0.001
        status = str(_pick(rng, OPEN_STATUSES)) if is_open else ("resolved" if rng.random() < 0.04 else "closed")
        person = rng.random() < 0.32 or status == "escalated"
        who = rng.choice(PEOPLE) if person else None
        answered = status != "new"
        first_at = created + timedelta(minutes=rng.expovariate(1 / 40)) if answered else None
        resolved_at = None if is_open else created + timedelta(hours=rng.expovariate(1 / 10))
        breached = first_at is not None and first_at > created + timedelta(hours=first_h) or rng.random() < 0.03
        csat = rng.choices([1, 2, 3, 4, 5], [4, 5, 10, 30, 51])[0] if resolved_at and rng.random() < 0.45 else None
        owner = "human" if person and status != "waiting_customer" else "agents"
        tickets.append((
            tid, f"ticket-{tid}", customers[rng.randrange(n_customers)][0], _pick(rng, CHANNELS),
            f"Bench ticket {i}", status, _pick(rng, CATEGORIES), priority, _pick(rng, SENTIMENTS),
            status == "escalated", created, first_at, created + timedelta(hours=first_h),
            created + timedelta(hours=resolve_h), resolved_at, owner,
            who if owner == "human" or status == "escalated" and rng.random() < 0.5 else None, breached,
            first_at + timedelta(hours=24) if is_open and first_at else None, csat,
            Decimal(f"{rng.uniform(0.002, 0.06):.6f}"), _pick(rng, PRODUCTS), resolved_at or created,
        ))  # fmt: skip
        # the conversation: the customer, the agents' answer, then a few turns, a person's reply if handed over
        t = created
        senders = ["customer", "agent"] + ["customer", "agent"] * rng.randrange(0, 3)
        if person:
            senders += ["customer", "human"]
        if not answered:
            senders = ["customer"]
        for seq, sender in enumerate(senders, start=1):
            author = {"customer": "customer", "agent": rng.choice(SPECIALISTS), "human": who or "agent-01"}[sender]
            mood = _pick(rng, SENTIMENTS) if sender == "customer" else None
            messages.append((tid, seq, sender, author, f"message {seq} of ticket {i}", mood, t))
            t += timedelta(minutes=rng.expovariate(1 / 30))
        kinds: list[tuple[str, str | None]] = [("opened", "system"), ("triaged", "system")]
        if answered:
            kinds.append(("agent_replied", rng.choice(SPECIALISTS)))
        if person:
            kinds += [("escalated", "system"), ("human_replied", who)]
        if resolved_at:
            kinds.append(("resolved", who if owner == "human" else rng.choice([*SPECIALISTS, "system"])))
        if status == "closed":
            kinds.append(("closed", "system"))
        for k, (kind, actor) in enumerate(kinds, start=1):
            events.append((tid, f"{k:04d}:{kind}", kind, "{}", created + timedelta(seconds=k * 60), actor))
        if status == "escalated" and rng.random() < 0.25:
            actions.append((f"act_{tid}", tid, "refund", Decimal("249.00"), "annual renewal refund", "pending_approval",
                            "BillingAgent", created + timedelta(minutes=5)))  # fmt: skip
        filled.open += is_open
        filled.human_queue += status == "escalated"
        if len(sample_ids) < 400 and (is_open or rng.random() < 0.004):
            sample_ids.append(tid)
    filled.tickets, filled.messages, filled.events, filled.actions = (
        len(tickets),
        len(messages),
        len(events),
        len(actions),
    )
    rows: dict[str, list[tuple[object, ...]]] = {
        "customers": list(customers), "tickets": tickets, "messages": messages, "ticket_events": events,
        "agent_actions": actions,
    }  # fmt: skip
    return rows, filled


async def fill(dsn: str, n: int, days: int, now: datetime, seed: int = 7) -> Filled:
    """Write the rows with COPY in one transaction without the triggers (nobody listens to a bulk load; as a
    superuser, else they fire), refresh what they would have kept (the report flags and tag counts of
    migrations V20 and V24, the report's rollup of V23), then VACUUM ANALYZE: the planner knows the sizes
    and index-only scans work, as in a store that ran a while."""
    rows, filled = generate(n, days, now, seed)
    columns = {"customers": CUSTOMER_COLUMNS, "tickets": TICKET_COLUMNS, "messages": MESSAGE_COLUMNS,
               "ticket_events": EVENT_COLUMNS, "agent_actions": ACTION_COLUMNS}  # fmt: skip
    conn = await asyncpg.connect(dsn)
    try:
        async with conn.transaction():
            if await conn.fetchval("SELECT rolsuper FROM pg_roles WHERE rolname = current_user"):
                await conn.execute("SET LOCAL session_replication_role = replica")
            for table, records in rows.items():
                await conn.copy_records_to_table(table, records=records, columns=columns[table])
            await conn.execute("SELECT refresh_ticket_report_flags(), refresh_ticket_tag_counts()")
        started = time.monotonic()
        await rebuild(conn)  # the report's rollup (migrations V23, V26), which the skipped triggers would have marked
        filled.rollup_s = time.monotonic() - started
        await conn.execute("VACUUM ANALYZE")
    finally:
        await conn.close()
    return filled
