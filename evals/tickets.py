"""Eval tickets: read the JSONL file, push every ticket through the HTTP API, collect the outcome.

One JSON object per line: ``key, group, customer_id, channel, subject, body, follow_up?, expect``, with
``expect: {category, decision (one or a list of reply|escalate|needs_approval|resolved), articles,
must_mention, must_not, max_executed_usd?}``. A bad line is refused as ``FILE:LINE: reason``.

Pushing follows the customer: the ticket is opened with ``POST /tickets``; once the first answer has
settled (an agent replied and the ticket waits, or it went to a person), the ``follow_up`` goes to
``POST /tickets/{id}/messages`` and is waited for the same way. The local stack (`local_stack`) is the one
`supportctl demo` runs, on free ports, in a fresh data folder, with the demo data.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import httpx

from evals.grading import DECISIONS, EvalTicket, Expect

CHANNELS = ("chat", "email", "api")
CATEGORIES = ("technical", "billing", "product", "account", "general")
_REQUIRED = ("key", "group", "customer_id", "channel", "subject", "body", "expect")
_EXPECT_KEYS = {"category", "decision", "articles", "must_mention", "must_not", "max_executed_usd"}
SETTLED = ("waiting_customer", "escalated", "resolved", "closed")
# How long one answer may take to settle. With the offline model, seconds; with a slow or failing real
# model the worker's failure policy ends the turn with a person only after MODEL_FAILURE_BUDGET_S (180 s
# by default) and one more attempt (up to 120 s) plus its backoff, and a local server answering one
# request at a time makes tickets in flight wait for each other. Waiting less would grade a ticket that
# is about to reach a person as "did not settle".
SETTLE_TIMEOUT_S = 600.0


class TicketFileError(ValueError):
    """A ticket file that cannot be read; the message is `FILE:LINE: reason`."""


def _strings(value: Any, what: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise ValueError(f"{what} must be a list of non-empty strings")
    return tuple(v.strip() for v in value)


def parse_ticket(row: Any, known_customers: set[str] | None = None) -> EvalTicket:
    """One line's object as an EvalTicket; ValueError says what is wrong with it."""
    if not isinstance(row, dict):
        raise ValueError("a line must be one JSON object")
    missing = [k for k in _REQUIRED if k not in row]
    if missing:
        raise ValueError(f"missing {', '.join(missing)}")
    for k in ("key", "group", "customer_id", "channel", "subject", "body"):
        if not isinstance(row[k], str) or not row[k].strip():
            raise ValueError(f"{k} must be a non-empty string")
    if row["channel"] not in CHANNELS:
        raise ValueError(f"channel must be one of {', '.join(CHANNELS)}, not {row['channel']!r}")
    if known_customers is not None and row["customer_id"] not in known_customers:
        raise ValueError(f"unknown customer_id {row['customer_id']!r}")
    follow_up = row.get("follow_up")
    if follow_up is not None and (not isinstance(follow_up, str) or not follow_up.strip()):
        raise ValueError("follow_up must be a non-empty string when given")
    exp = row["expect"]
    if not isinstance(exp, dict):
        raise ValueError("expect must be an object")
    unknown = sorted(set(exp) - _EXPECT_KEYS)
    if unknown:
        raise ValueError(f"expect: unknown key {', '.join(unknown)} (takes {', '.join(sorted(_EXPECT_KEYS))})")
    if exp.get("category") not in CATEGORIES:
        raise ValueError(f"expect.category must be one of {', '.join(CATEGORIES)}, not {exp.get('category')!r}")
    decision = exp.get("decision")
    decisions = tuple(decision) if isinstance(decision, list) else (decision,)
    if not decisions or any(d not in DECISIONS for d in decisions):
        raise ValueError(f"expect.decision must be one of {', '.join(DECISIONS)} or a list of them, not {decision!r}")
    limit = exp.get("max_executed_usd")
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int | float) or limit < 0):
        raise ValueError("expect.max_executed_usd must be a number >= 0")
    must_mention = _strings(exp.get("must_mention", []), "expect.must_mention")
    if any(f != f.lower() for f in must_mention):
        raise ValueError("expect.must_mention facts must be lower case")
    return EvalTicket(
        key=row["key"],
        group=row["group"],
        customer_id=row["customer_id"],
        channel=row["channel"],
        subject=row["subject"],
        body=row["body"],
        follow_up=follow_up,
        expect=Expect(
            category=exp["category"],
            decisions=tuple(str(d) for d in decisions),
            articles=_strings(exp.get("articles", []), "expect.articles"),
            must_mention=must_mention,
            must_not=_strings(exp.get("must_not", []), "expect.must_not"),
            max_executed_usd=None if limit is None else float(limit),
        ),
    )


def load_tickets(path: Path, known_customers: set[str] | None = None) -> list[EvalTicket]:
    """Every ticket of the file; TicketFileError (`FILE:LINE: reason`) on the first bad line."""
    if not path.exists():
        raise TicketFileError(f"{path}: no such file")
    if path.is_dir():
        raise TicketFileError(f"{path}: is a folder; give a JSONL file")
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError as e:
        raise TicketFileError(f"{path}: not UTF-8 text ({e.reason})") from None
    out: list[EvalTicket] = []
    seen: dict[str, int] = {}
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as e:
            raise TicketFileError(f"{path}:{n}: not JSON ({e.msg} at column {e.colno})") from None
        try:
            t = parse_ticket(row, known_customers)
        except ValueError as e:
            raise TicketFileError(f"{path}:{n}: {e}") from None
        if t.key in seen:
            raise TicketFileError(f"{path}:{n}: duplicate key {t.key!r} (first on line {seen[t.key]})")
        seen[t.key] = n
        out.append(t)
    if not out:
        raise TicketFileError(f"{path}: no tickets")
    return out


# --- pushing ------------------------------------------------------------------------------------


@dataclass
class Outcome:
    """What became of one ticket: the final ticket as the API shows it and its audit events."""

    ticket: dict[str, Any]
    events: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None
    seconds: float = 0.0


def _agent_replies(t: Mapping[str, Any]) -> int:
    return sum(1 for m in t.get("messages") or [] if m.get("sender") == "agent")


def settled(t: Mapping[str, Any], agent_replies: int, messages_before: int = 0) -> bool:
    """The agents have answered (at least `agent_replies` replies) and the ticket rests: waiting on the
    customer or an approver, resolved, or with a person (who is not coming during an evaluation)."""
    status = t.get("status")
    if status == "escalated":
        return len(t.get("messages") or []) > messages_before or _agent_replies(t) >= agent_replies
    return _agent_replies(t) >= agent_replies and (status in SETTLED or bool(t.get("pending_actions")))


class Pusher:
    def __init__(
        self,
        http: httpx.AsyncClient,
        run: str,
        timeout_s: float,
        say: Callable[[str], None],
    ) -> None:
        self.http, self.run, self.timeout_s, self.say = http, run, timeout_s, say

    async def _call(self, method: str, url: str, **kw: Any) -> httpx.Response:
        """One request; a 429 (rate limit) or 503 waits as told (Retry-After) and tries again."""
        deadline = time.monotonic() + self.timeout_s
        while True:
            r = await self.http.request(method, url, **kw)
            if r.status_code not in (429, 503) or time.monotonic() > deadline:
                if r.status_code >= 400:
                    raise RuntimeError(f"{method} {url}: HTTP {r.status_code} {r.text[:200]}")
                return r
            with contextlib.suppress(ValueError):
                await asyncio.sleep(min(float(r.headers.get("retry-after", "1")), 10.0))
                continue
            await asyncio.sleep(1.0)

    async def _wait(self, tid: str, agent_replies: int, messages_before: int) -> dict[str, Any]:
        deadline = time.monotonic() + self.timeout_s
        while True:
            r = await self.http.get(f"/tickets/{tid}")
            if r.status_code == 200:
                t: dict[str, Any] = r.json()
                if settled(t, agent_replies, messages_before):
                    return t
            elif r.status_code not in (404, 429, 503):  # 404: not stored yet
                raise RuntimeError(f"GET /tickets/{tid}: HTTP {r.status_code} {r.text[:200]}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"ticket {tid} did not settle within {self.timeout_s:.0f}s")
            await asyncio.sleep(0.3)

    async def _events(self, tid: str) -> list[dict[str, Any]]:
        r = await self.http.get(f"/tickets/{tid}/events")
        if r.status_code != 200:
            return []
        data: list[dict[str, Any]] = r.json()
        return data

    async def push(self, t: EvalTicket) -> Outcome:
        started = time.monotonic()
        tid = ""
        last: dict[str, Any] = {}
        try:
            r = await self._call(
                "POST",
                "/tickets",
                json={
                    "customer_id": t.customer_id,
                    "channel": t.channel,
                    "subject": t.subject,
                    "body": t.body,
                    "idempotency_key": f"eval-{self.run}-{t.key}",
                },
            )
            tid = r.json()["ticket_id"]
            last = await self._wait(tid, 1, 0)
            tickets = [tid]
            if t.follow_up and last["status"] != "escalated":
                before = len(last.get("messages") or [])
                m = await self._call(
                    "POST", f"/tickets/{tid}/messages", json={"body": t.follow_up, "message_id": f"eval-{t.key}-f1"}
                )
                to = m.json().get("ticket_id") or tid
                if to != tid:  # the ticket had closed: the follow-up opened a linked ticket
                    tickets.append(to)
                    last = await self._wait(to, 1, 0)
                else:
                    last = await self._wait(tid, _agent_replies(last) + 1, before)
            events = [e for x in tickets for e in await self._events(x)]
            if len(tickets) > 1:  # the conversation spans both tickets: grade every message of it
                first = (await self.http.get(f"/tickets/{tid}")).json()
                last = {**last, "messages": [*first.get("messages", []), *last.get("messages", [])]}
            return Outcome(last, events, None, time.monotonic() - started)
        except (httpx.HTTPError, RuntimeError, TimeoutError, KeyError, ValueError) as e:
            if tid and not last:
                with contextlib.suppress(httpx.HTTPError, ValueError):
                    last = (await self.http.get(f"/tickets/{tid}")).json()
            events = await self._events(tid) if tid else []
            return Outcome(last if isinstance(last, dict) else {}, events, str(e) or type(e).__name__, 0.0)


async def push_all(
    api_url: str,
    tickets: Sequence[EvalTicket],
    *,
    api_key: str | None = None,
    concurrency: int = 4,
    timeout_s: float = SETTLE_TIMEOUT_S,
    say: Callable[[str], None] = lambda _m: None,
) -> list[Outcome]:
    """Push every ticket (at most `concurrency` at once); outcomes in the tickets' order."""
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    run = uuid.uuid4().hex[:8]
    sem = asyncio.Semaphore(concurrency)
    done = 0
    async with httpx.AsyncClient(base_url=api_url.rstrip("/"), timeout=30, headers=headers) as http:
        r = await http.get("/tickets", params={"limit": 1})
        if r.status_code == 401:
            raise RuntimeError(f"{api_url} refused the API key (HTTP 401): give --api-key or set API_KEY")
        pusher = Pusher(http, run, timeout_s, say)

        async def one(t: EvalTicket) -> Outcome:
            nonlocal done
            async with sem:
                out = await pusher.push(t)
            done += 1
            status = out.ticket.get("status", "?")
            say(f"  [{done:>3}/{len(tickets)}] {t.key:<28} {status:<16} {out.error or f'{out.seconds:.1f}s'}")
            return out

        return list(await asyncio.gather(*(one(t) for t in tickets)))


# --- the local stack ----------------------------------------------------------------------------


def free_port() -> int:
    """A free TCP port whose +10 is a port too (the Temporal dev server's HTTP port is frontend + 10)."""
    while True:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port: int = s.getsockname()[1]
        if port + 10 < 65535:
            return port


@contextlib.contextmanager
def local_stack(say: Callable[[str], None]) -> Iterator[str]:
    """The stack `supportctl demo` runs (Temporal, worker, API; demo customers, articles, triage model)
    on free ports, in a fresh data folder and a database of its own (dropped afterwards), without
    per-customer limits; yields the API's address."""
    from settings import Settings
    from supportctl.demo import demo_stack

    # No per-customer limits (the set has many tickets per customer); the embedded knowledge base.
    unlimited = {"CUSTOMER_TICKETS_PER_HOUR": "0", "CUSTOMER_MESSAGES_PER_MINUTE": "0", "QDRANT_URL": ""}
    with tempfile.TemporaryDirectory(prefix="eval-tickets-") as tmp, _env(unlimited):
        data = Path(tmp)
        api_port, temporal_port, ui_port = free_port(), free_port(), free_port()
        base = urlsplit(Settings().DATABASE_URL)
        database = urlunsplit(base._replace(path=f"/support_eval_{uuid.uuid4().hex[:8]}"))
        settings = Settings(
            DATA_DIR=data,
            DATABASE_URL=database,
            QDRANT_PATH=str(data / "qdrant"),
            QDRANT_URL=None,
            API_HOST="127.0.0.1",
            API_PORT=api_port,
            TEMPORAL_ADDRESS=f"127.0.0.1:{temporal_port}",
            TEMPORAL_PORT=temporal_port,
            TEMPORAL_UI_PORT=ui_port,
            TEMPORAL_TASK_QUEUE=f"eval-{api_port}",
        )
        try:
            with demo_stack(settings, say) as stack:
                yield stack.api_url
        finally:
            with contextlib.suppress(OSError, asyncpg.PostgresError):
                asyncio.run(_drop_database(database))


async def _drop_database(dsn: str) -> None:
    parts = urlsplit(dsn)
    conn = await asyncpg.connect(urlunsplit(parts._replace(path="/postgres")))
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{parts.path.lstrip("/")}" WITH (FORCE)')
    finally:
        await conn.close()


@contextlib.contextmanager
def _env(values: Mapping[str, str]) -> Iterator[None]:
    """Environment variables for the stack's children (they inherit this process's environment)."""
    old = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
