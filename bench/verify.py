"""After a chaos run: is every ticket whole, once? Checked from Temporal and from Postgres.

For every ticket the API accepted, with the customer messages the API acknowledged:
- Temporal: the workflow exists and still runs (nothing failed or was terminated), it settled in a
  state that waits on someone (the customer, a human, a CSAT score), with an empty inbox;
- its transcript holds each acknowledged customer message exactly once, at most one agent reply per
  customer message, and an answer to the last message unless a human owns the ticket;
- Postgres: the ticket row exists with the workflow's status; the stored messages are the
  transcript, row for row; each audit event that happens once per ticket is stored once; no refund
  or credit executed twice.
`lost` counts tickets or acknowledged messages that are missing anywhere; `duplicates` counts
anything stored or said twice. Both must be zero.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import asyncpg
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowHandle
from temporalio.service import RPCError, RPCStatusCode

from api.service.ids import workflow_id_for
from workflows.ticket import TicketState, TicketWorkflow

WAITING = {"waiting_customer", "escalated", "resolved"}
ONCE_PER_TICKET = ("created", "triaged", "opened")


@dataclass
class Expected:
    """What the API acknowledged for one ticket: its id and the customer messages, in order."""

    ticket_id: str
    bodies: list[str] = field(default_factory=list)


@dataclass
class Report:
    tickets: int = 0
    lost: int = 0
    duplicates: int = 0
    not_settled: int = 0
    store_mismatches: int = 0
    statuses: Counter[str] = field(default_factory=Counter)
    problems: list[str] = field(default_factory=list)
    kinds: Counter[str] = field(default_factory=Counter)

    def flag(self, kind: str, ticket_id: str, what: str, *, lost: int = 0, dup: int = 0) -> None:
        self.lost += lost
        self.duplicates += dup
        self.kinds[kind] += max(lost, dup, 1)
        if len(self.problems) < 30:
            self.problems.append(f"{ticket_id}: {what}")

    def as_dict(self) -> dict[str, Any]:
        return {
            "tickets": self.tickets,
            "lost": self.lost,
            "duplicates": self.duplicates,
            "not_settled": self.not_settled,
            "store_mismatches": self.store_mismatches,
            "statuses": dict(self.statuses),
            "problem_kinds": dict(self.kinds),
            "problems": self.problems,
        }


def settled(state: TicketState, busy: bool) -> bool:
    """Waiting on someone, with nothing in hand. `busy` matters: mid-step the state can already look
    settled (a follow-up in the transcript, its store write still running)."""
    if busy or state.status.value not in WAITING:  # busy covers the inbox and an owed turn
        return False
    return state.status.value != "waiting_customer" or (
        bool(state.transcript) and state.transcript[-1].sender.value != "customer"
    )


async def _busy_and_state(handle: WorkflowHandle[TicketWorkflow, Any]) -> tuple[bool, TicketState]:
    # busy first: once the customers are done nothing starts a new step, so idle then means final
    busy = await handle.query(TicketWorkflow.busy)
    return busy, await handle.query(TicketWorkflow.state)


async def _settled(client: Client, ticket_id: str) -> bool:
    handle = client.get_workflow_handle_for(TicketWorkflow.run, workflow_id_for(ticket_id))
    try:
        busy, state = await _busy_and_state(handle)
    except RPCError:
        return False
    return settled(state, busy)


async def wait_settled(client: Client, ids: list[str], within: float) -> float:
    """Poll until every ticket is settled (or `within` seconds pass); returns seconds waited."""
    t0 = time.monotonic()
    todo = list(ids)
    while todo and time.monotonic() - t0 < within:
        done = await asyncio.gather(*(_settled(client, t) for t in todo))
        todo = [t for t, ok in zip(todo, done, strict=True) if not ok]
        if todo:
            await asyncio.sleep(1.0)
    return time.monotonic() - t0


async def verify(client: Client, pool: asyncpg.Pool, expected: list[Expected], since: datetime) -> Report:
    """Check every expected ticket, and that no other ticket was opened since `since`."""
    rep = Report(tickets=len(expected))
    sem = asyncio.Semaphore(16)

    async def one(exp: Expected) -> None:
        async with sem:
            await _verify_one(client, pool, exp, rep)

    await asyncio.gather(*(one(e) for e in expected))
    # Across tickets: a retried POST must never have opened a second ticket for one request.
    rows = await pool.fetch("SELECT ticket_id FROM tickets WHERE created_at >= $1", since)
    known = {e.ticket_id for e in expected}
    for r in rows:
        if r["ticket_id"] not in known:
            rep.flag("unexpected_ticket", r["ticket_id"], "a ticket the driver never saw acknowledged", dup=1)
    return rep


async def _verify_one(client: Client, pool: asyncpg.Pool, exp: Expected, rep: Report) -> None:
    tid = exp.ticket_id
    handle = client.get_workflow_handle_for(TicketWorkflow.run, workflow_id_for(tid))
    try:
        desc = await handle.describe()
    except RPCError as e:
        if e.status == RPCStatusCode.NOT_FOUND:
            rep.flag("workflow_missing", tid, "no workflow in Temporal", lost=1)
            return
        raise
    if desc.status != WorkflowExecutionStatus.RUNNING:
        rep.flag("workflow_ended", tid, f"workflow {desc.status.name if desc.status else '?'}", lost=1)
        return
    busy, state = await _busy_and_state(handle)
    rep.statuses[state.status.value] += 1
    if not settled(state, busy):
        rep.not_settled += 1
        rep.flag("not_settled", tid, f"status {state.status.value}, inbox {len(state.inbox)}")

    # The transcript: every acknowledged customer message once; at most one agent reply per message.
    said = [e.body for e in state.transcript if e.sender.value == "customer"]
    counts = Counter(said)
    for body in exp.bodies:
        if counts[body] == 0:
            rep.flag("message_lost", tid, f"acknowledged message missing: {body[:40]!r}", lost=1)
        elif counts[body] > 1:
            rep.flag("customer_message_twice", tid, f"customer message x{counts[body]}", dup=counts[body] - 1)
    replies_since_customer = 0
    for entry in state.transcript:
        if entry.sender.value == "customer":
            replies_since_customer = 0
        elif entry.sender.value == "agent":
            replies_since_customer += 1
            if replies_since_customer > 1:
                rep.flag("reply_twice", tid, f"two agent replies to one message (seq {entry.seq})", dup=1)

    # Postgres: the ticket row, the messages row for row, events once, actions once.
    row = await pool.fetchrow("SELECT status FROM tickets WHERE ticket_id = $1", tid)
    if row is None:
        rep.flag("row_missing", tid, "no tickets row", lost=1)
        return
    if row["status"] != state.status.value:
        rep.store_mismatches += 1
        rep.flag("status_mismatch", tid, f"store says {row['status']}, workflow {state.status.value}")
    stored = await pool.fetch("SELECT seq, sender, body FROM messages WHERE ticket_id = $1 ORDER BY seq", tid)
    want = [(e.seq, e.sender.value, e.body) for e in state.transcript]
    got = [(r["seq"], r["sender"], r["body"]) for r in stored]
    if got != want:
        missing, extra = len(set(want) - set(got)), len(set(got) - set(want))
        rep.flag(
            "messages_differ", tid, f"store has {len(got)} messages, transcript {len(want)}", lost=missing, dup=extra
        )
    stored_customer = Counter(r["body"] for r in stored if r["sender"] == "customer")
    for k in stored_customer.values():
        if k > 1:
            rep.flag("stored_customer_twice", tid, f"customer message stored x{k}", dup=k - 1)
    kinds = Counter(r["kind"] for r in await pool.fetch("SELECT kind FROM ticket_events WHERE ticket_id = $1", tid))
    for kind in ONCE_PER_TICKET:
        if kinds[kind] > 1:
            rep.flag("event_twice", tid, f"event {kind} x{kinds[kind]}", dup=kinds[kind] - 1)
    agent_replies = sum(1 for e in state.transcript if e.sender.value == "agent")
    if kinds["agent_replied"] > agent_replies:
        rep.flag("event_twice", tid, f"{kinds['agent_replied']} agent_replied events", dup=1)
    twice = await pool.fetch(
        "SELECT kind, amount_usd, count(*) AS n FROM agent_actions WHERE ticket_id = $1 AND status = 'executed' "
        "GROUP BY kind, amount_usd, reference HAVING count(*) > 1",
        tid,
    )
    for r in twice:
        rep.flag("action_twice", tid, f"{r['kind']} of {r['amount_usd']} executed x{r['n']}", dup=r["n"] - 1)
