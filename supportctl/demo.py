"""`supportctl demo`: start the local stack, push the sample tickets through it, print a summary, stop."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from console.queries import VIEWS, Filters, view_counts
from settings import Settings
from supportctl.console import say
from supportctl.prepare import prepare
from supportctl.stack import LocalStack, resolve_database_url

SAMPLE_TICKETS = Path(__file__).resolve().parents[1] / "demo" / "tickets.jsonl"
REPLY_TIMEOUT_S = 180.0
DEMO_PERSON = "alex"  # the demo's human agent: sign in to the console as alex to see the Mine view
TAKEN_BY_DEMO_PERSON = 2  # escalated tickets the demo hands to alex; the others stay unassigned


@dataclass
class DemoTicket:
    key: str
    customer_id: str
    channel: str
    subject: str
    body: str
    follow_up: str | None
    tags: list[str] = field(default_factory=list)  # what a person on the team labels it with (the `tag` decision)


def load_samples(path: Path = SAMPLE_TICKETS) -> list[DemoTicket]:
    out = []
    for line in path.read_text().splitlines():
        if line.strip():
            row = json.loads(line)
            out.append(
                DemoTicket(
                    row["key"],
                    row["customer_id"],
                    row["channel"],
                    row["subject"],
                    row["body"],
                    row.get("follow_up"),
                    row.get("tags", []),
                )
            )
    return out


async def _get(http: httpx.AsyncClient, ticket_id: str) -> dict[str, Any]:
    r = await http.get(f"/tickets/{ticket_id}")
    r.raise_for_status()
    data: dict[str, Any] = r.json()
    return data


def _answered(t: dict[str, Any], agent_replies: int) -> bool:
    """The agent has replied `agent_replies` times and the ticket settled (waiting or escalated)."""
    replies = sum(1 for m in t["messages"] if m["sender"] == "agent")
    settled = t["status"] in ("waiting_customer", "escalated", "resolved", "closed")
    return replies >= agent_replies and settled


async def _wait_for(http: httpx.AsyncClient, ticket_id: str, agent_replies: int) -> dict[str, Any]:
    deadline = time.monotonic() + REPLY_TIMEOUT_S
    while True:
        t = await _get(http, ticket_id)
        # An escalated ticket's follow-up waits for a human: recorded, not answered by an agent.
        escalated_follow_up = t["status"] == "escalated" and len(t["messages"]) > agent_replies
        if _answered(t, agent_replies) or (agent_replies > 1 and escalated_follow_up):
            return t
        if time.monotonic() > deadline:
            raise TimeoutError(f"ticket {ticket_id}: no agent reply within {REPLY_TIMEOUT_S:.0f}s")
        await asyncio.sleep(0.25)


def _payload(sample: DemoTicket, run: str) -> dict[str, str]:
    return {
        "customer_id": sample.customer_id,
        "channel": sample.channel,
        "subject": sample.subject,
        "body": sample.body,
        "idempotency_key": f"{run}-{sample.key}",
    }


def first_answer(t: dict[str, Any]) -> str:
    """What the agents did first and how fast: an answer, or a hand-over to a person (which is not a
    first response: the ticket's first-response clock runs on until a person replies)."""
    agent = [m for m in t["messages"] if m["sender"] == "agent"]
    took = ""
    if agent:
        seconds = (
            datetime.fromisoformat(agent[0]["created_at"]) - datetime.fromisoformat(t["created_at"])
        ).total_seconds()
        took = f" in {seconds:.2f}s"
    did = "handed it to a person" if t["escalated"] and t["time_to_first_response_s"] is None else "replied"
    return f"{t['assigned_agent'] or 'no agent'} {did}{took} ({t['status']})"


async def _one(http: httpx.AsyncClient, sample: DemoTicket, run: str, n: int, total: int) -> dict[str, Any]:
    r = await http.post("/tickets", json=_payload(sample, run))
    r.raise_for_status()
    tid = r.json()["ticket_id"]
    t = await _wait_for(http, tid, 1)
    say(f"  [{n:>2}/{total}] {tid} {sample.channel:<5} → {t['category']}/{t['priority']}, {first_answer(t)}")
    if sample.follow_up and t["status"] != "escalated":
        m = await http.post(f"/tickets/{tid}/messages", json={"body": sample.follow_up, "message_id": "f1"})
        m.raise_for_status()
        t = await _wait_for(http, tid, 2)
        replies = sum(1 for m in t["messages"] if m["sender"] == "agent")
        outcome = "answered" if replies >= 2 else "handed to a human (no agent reply)"
        say(f"          follow-up {outcome} ({len(t['messages'])} messages, {t['status']})")
    return t


async def push_tickets(api_url: str, samples: list[DemoTicket], concurrency: int = 4) -> list[dict[str, Any]]:
    run = uuid.uuid4().hex[:6]  # a fresh run id: each demo run opens new tickets
    sem = asyncio.Semaphore(concurrency)
    async with httpx.AsyncClient(base_url=api_url, timeout=30) as http:

        async def guarded(i: int, s: DemoTicket) -> dict[str, Any]:
            async with sem:
                return await _one(http, s, run, i, len(samples))

        results = await asyncio.gather(*(guarded(i, s) for i, s in enumerate(samples, 1)))
        # Idempotency, shown: repeating the first request returns the same ticket, not a new one.
        first = samples[0]
        again = await http.post("/tickets", json=_payload(first, run))
        say(
            f"  repeated request for {first.key}: HTTP {again.status_code}, created={again.json()['created']}, "
            f"same ticket={again.json()['ticket_id'] == results[0]['ticket_id']}"
        )
    return list(results)


async def tag_like_a_person(api_url: str, samples: list[DemoTicket], rows: list[dict[str, Any]]) -> dict[str, int]:
    """DEMO_PERSON labels the samples that name tags (a `tag` decision, as a person would in the console),
    so the queue's tag filter has something to show; how many tickets carry each tag afterwards."""
    tagged = [(s, t) for s, t in zip(samples, rows, strict=True) if s.tags and t["status"] != "closed"]
    async with httpx.AsyncClient(base_url=api_url, timeout=30) as http:
        for sample, t in tagged:
            decision = {"kind": "tag", "add": sample.tags, "agent_id": DEMO_PERSON, "request_id": uuid.uuid4().hex}
            r = await http.post(f"/tickets/{t['ticket_id']}/decisions", json=decision)
            r.raise_for_status()
        shown: list[set[str]] = []
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:  # the store follows the workflow's decision
            shown = [set((await _get(http, t["ticket_id"]))["tags"]) for _, t in tagged]
            if all(set(s.tags) <= have for (s, _), have in zip(tagged, shown, strict=True)):
                break
            await asyncio.sleep(0.25)
    counts: dict[str, int] = {}
    for have in shown:
        for tag in have:
            counts[tag] = counts.get(tag, 0) + 1
    return dict(sorted(counts.items()))


async def leave_tickets_in_every_view(api_url: str, dsn: str, rows: list[dict[str, Any]]) -> dict[str, int]:
    """Hand a few escalated tickets to DEMO_PERSON (a reassign decision, as a person would in the console),
    leaving at least one unassigned; the console's views' counts for DEMO_PERSON afterwards."""
    waiting = [t for t in rows if t["status"] == "escalated" and not t["assigned_human"]]
    take = waiting[: min(TAKEN_BY_DEMO_PERSON, max(len(waiting) - 1, 0))]
    async with httpx.AsyncClient(base_url=api_url, timeout=30) as http:
        for t in take:
            decision = {"kind": "reassign", "to": DEMO_PERSON, "agent_id": DEMO_PERSON, "request_id": uuid.uuid4().hex}
            r = await http.post(f"/tickets/{t['ticket_id']}/decisions", json=decision)
            r.raise_for_status()
        deadline = time.monotonic() + 30
        while take and time.monotonic() < deadline:  # the store follows the workflow's decision
            held = [(await _get(http, t["ticket_id"]))["assigned_human"] for t in take]
            if all(h == DEMO_PERSON for h in held):
                break
            await asyncio.sleep(0.25)
    conn = await asyncpg.connect(dsn)
    try:
        return await view_counts(conn, Filters(), DEMO_PERSON)
    finally:
        await conn.close()


def console_lines(api_url: str, counts: dict[str, int] | None, tags: dict[str, int] | None = None) -> list[str]:
    """Where the console is, and (after the demo) what each of its views holds for DEMO_PERSON and the
    tags the demo gave."""
    lines = [f"Console:     {api_url}/console  (sign in with any name, e.g. {DEMO_PERSON}; no AGENT_KEYS: local demo)"]
    if counts is not None:
        views = " · ".join(f"{label} {counts[name]}" for name, (label, _, _) in VIEWS.items())
        lines.append(f"             its views for {DEMO_PERSON}: {views}")
    if tags:
        lines.append(f"             tags (the queue's tag filter): {' · '.join(f'{k} {n}' for k, n in tags.items())}")
    return lines


def _first_reply(t: dict[str, Any]) -> str:
    if t["time_to_first_response_s"] is not None:
        return f"{t['time_to_first_response_s']:.2f}s"
    return "owed by a person" if t["escalated"] else "-"


def print_summary(rows: list[dict[str, Any]]) -> None:
    cols = ("ticket", "channel", "category", "priority", "sentiment", "status", "first reply")
    table = [
        (
            t["ticket_id"],
            t["channel"],
            t["category"] or "-",
            t["priority"] or "-",
            t["sentiment"] or "-",
            t["status"],
            _first_reply(t),
        )
        for t in rows
    ]
    widths = [max(len(c), *(len(r[i]) for r in table)) for i, c in enumerate(cols)]
    say("  ".join(c.ljust(w) for c, w in zip(cols, widths, strict=True)))
    say("  ".join("-" * w for w in widths))
    for r in table:
        say("  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)))


@contextlib.contextmanager
def demo_stack(settings: Settings, say: Callable[[str], None]) -> Iterator[LocalStack]:
    """The local stack with the demo data (schema, customers, articles, triage model), started; stopped on
    the way out, whatever happened. `supportctl demo` and `supportctl eval tickets` run in it."""
    say("==> checking PostgreSQL")
    dsn, keepalive = asyncio.run(resolve_database_url(settings, say))
    stack = LocalStack(settings, dsn)
    try:
        say("==> preparing data: migrations, demo customers, knowledge base, triage model")
        asyncio.run(prepare(settings, dsn, say))
        stack.start_all(say)
        yield stack
    finally:
        say("==> stopping the local stack")
        stack.stop()
        del keepalive


def run_demo(settings: Settings) -> int:
    samples = load_samples()
    with demo_stack(settings, say) as stack:
        say(f"==> pushing {len(samples)} sample tickets through the API")
        started = time.monotonic()
        rows = asyncio.run(push_tickets(stack.api_url, samples))
        say(f"==> {len(rows)} tickets answered or handed to a person in {time.monotonic() - started:.1f}s\n")
        print_summary(rows)
        tags = asyncio.run(tag_like_a_person(stack.api_url, samples, rows))
        counts = asyncio.run(leave_tickets_in_every_view(stack.api_url, stack.database_url, rows))
        say("")
        for line in console_lines(stack.api_url, counts, tags):
            say(line)
        say(f"Temporal UI: {stack.ui_url}/namespaces/{settings.TEMPORAL_NAMESPACE}/workflows")
        say(
            "Find tickets: temporal workflow list --query 'TicketPriority=\"high\"' "
            f"--address 127.0.0.1:{settings.TEMPORAL_PORT}"
        )
        say("(the stack stops now; `make dev` keeps it running, with these tickets, at the same addresses)")
        return 0
