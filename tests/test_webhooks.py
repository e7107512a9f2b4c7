"""Signed webhooks: ticket events delivered in order from the event feed, signed per Standard Webhooks,
retried, logged and replayed. The receiver verifies with the `standardwebhooks` library (a peer we did
not write) on a real local HTTP server; the store is real Postgres."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import pytest
import uvicorn
from fastapi import FastAPI, Request, Response
from pydantic import SecretStr
from standardwebhooks.webhooks import Webhook, WebhookVerificationError
from temporalio.testing import ActivityEnvironment

from activities.notify import Notification, NotifyActivities
from activities.store import AuditEvent, CreateTicketInput, StoreActivities, SyncTicketInput
from channels.webhooks import store as log_store
from channels.webhooks.dispatcher import WebhookDispatcher
from channels.webhooks.signing import InvalidSecret, Signer, encode_body, new_secret, parse_secrets
from db.customers import upsert_customers
from db.pool import create_pool
from db.tickets import TicketSnapshot
from domain.models import Customer, Plan
from settings import Settings
from tests.api_stack import _free_port

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
OLD, NEW = new_secret(), new_secret()


class Receiver:
    """An integrator's endpoint: verifies every request with `standardwebhooks` (401 when it fails),
    processes each webhook-id once, and answers 503 to the first try of the ids in `flaky`."""

    def __init__(self, secret: str, flaky: set[str] | None = None) -> None:
        self.webhook = Webhook(secret)
        self.flaky = flaky or set()
        self.tries: list[str] = []  # webhook-ids of the verified requests, in arrival order
        self.processed: dict[str, dict[str, Any]] = {}
        self.rejected: list[str] = []
        self.app = FastAPI()
        self.app.post("/hooks")(self._take)

    async def _take(self, request: Request) -> Response:
        body = await request.body()
        try:
            payload = self.webhook.verify(body, dict(request.headers))
        except WebhookVerificationError as e:
            self.rejected.append(str(e))
            return Response(status_code=401)
        wid = request.headers["webhook-id"]
        self.tries.append(wid)
        if wid in self.flaky:
            self.flaky.discard(wid)
            return Response(status_code=503)
        self.processed.setdefault(wid, payload)  # deduplicated on webhook-id
        return Response(status_code=204)


@asynccontextmanager
async def serve(app: FastAPI) -> AsyncIterator[str]:
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    serving = asyncio.create_task(server.serve())
    try:
        while not server.started:  # noqa: ASYNC110 - uvicorn exposes a flag, not an event
            await asyncio.sleep(0.05)
        yield f"http://127.0.0.1:{port}/hooks"
    finally:
        server.should_exit = True
        await serving


@pytest.fixture
async def store(own_database: str) -> AsyncIterator[asyncpg.Pool]:
    p = await create_pool(own_database, min_size=1, max_size=8)
    await upsert_customers(p, [Customer(customer_id="cus_1", email="ada@example.com", name="Ada", plan=Plan.PRO)])
    yield p
    await p.close()


async def _open(pool: asyncpg.Pool) -> str:
    tid = f"tkt_{uuid.uuid4().hex[:16]}"
    await ActivityEnvironment().run(
        StoreActivities(pool).create_ticket, CreateTicketInput(tid, f"ticket-{tid}", "cus_1", "chat", "Export", T0)
    )
    return tid


async def _event(pool: asyncpg.Pool, tid: str, n: int, kind: str, data: dict[str, Any] | None = None) -> None:
    snap = TicketSnapshot(ticket_id=tid, version=n, status="in_progress")
    event = AuditEvent(f"{n:04d}:{kind}", kind, T0 + timedelta(minutes=n), "system", data or {})
    await ActivityEnvironment().run(StoreActivities(pool).sync_ticket, SyncTicketInput(snap, event))


async def _drain(d: WebhookDispatcher, pool: asyncpg.Pool, until: int, receiver: Receiver) -> None:
    deadline = time.monotonic() + 20
    while len(receiver.processed) < until:
        assert time.monotonic() < deadline, f"not delivered: {receiver.tries} {receiver.rejected}"
        if not await d.dispatch_once():
            await pool.execute("UPDATE webhook_deliveries SET next_attempt_at = now() WHERE state = 'pending'")
            await asyncio.sleep(0.05)


def test_signatures_verify_with_the_standard_library_under_either_secret_of_a_rotation() -> None:
    body = encode_body({"type": "ticket.opened", "data": {"ticket_id": "t1", "text": "héllo"}})
    headers = Signer.from_secrets([NEW, OLD]).headers("evt_1", body)
    assert len(headers["webhook-signature"].split(" ")) == 2
    assert all(sig.startswith("v1,") for sig in headers["webhook-signature"].split(" "))
    for secret in (OLD, NEW):  # a receiver still on the old secret, and one already on the new
        assert Webhook(secret).verify(body, headers)["data"]["text"] == "héllo"
    with pytest.raises(WebhookVerificationError):
        Webhook(new_secret()).verify(body, headers)
    with pytest.raises(WebhookVerificationError):  # the body is part of what is signed
        Webhook(OLD).verify(body.replace(b"t1", b"t2"), headers)


def test_secrets_are_whsec_base64_and_bad_ones_are_refused_at_start_up() -> None:
    assert parse_secrets(f"{OLD}, {NEW}") == [OLD, NEW]
    assert base64.b64decode(OLD.removeprefix("whsec_"))
    for bad in ("plain-secret", "whsec_not*base64", "whsec_" + base64.b64encode(b"short").decode()):
        with pytest.raises(InvalidSecret):
            parse_secrets(bad)
    with pytest.raises(ValueError, match="WEBHOOK_SECRETS"):
        Settings(WEBHOOK_SECRETS=SecretStr("whsec_tooshort"))
    assert Settings(WEBHOOK_SECRETS=SecretStr(f"{NEW} {OLD}")).webhook_secrets() == [NEW, OLD]


async def test_ticket_events_reach_the_endpoint_signed_in_order_once_each_through_a_failure(
    store: asyncpg.Pool,
) -> None:
    receiver = Receiver(OLD)  # the receiver still has the old secret: we sign with both during the rotation
    async with serve(receiver.app) as url, httpx.AsyncClient() as http:
        d = WebhookDispatcher(store, http, Signer.from_secrets([NEW, OLD]), event_url=url, max_backoff_s=1)
        assert await d.dispatch_once() == 0  # the cursor starts at the feed's end: history is not news
        tid = await _open(store)
        await _event(store, tid, 1, "agent_replied", {"agent": "billing"})
        await _event(store, tid, 2, "priority_changed")  # not a public event: skipped, cursor moves on
        await _event(store, tid, 3, "escalated", {"reason": "asked for a person"})
        await _event(store, tid, 4, "sla_warning:first_response", {"due": "2026-12-01T10:00:00+00:00"})
        await _event(store, tid, 5, "sla_breach:first_response")
        await _event(store, tid, 6, "human_replied")
        await _event(store, tid, 7, "resolved", {"why": "answered"})
        await _event(store, tid, 8, "closed", {"csat": 5})
        await _event(store, tid, 9, "closed", {"csat": "no answer"})  # no score: no CSAT event
        ids = [r["event_id"] for r in await store.fetch("SELECT event_id FROM ticket_event_feed ORDER BY event_id")]
        receiver.flaky = {f"evt_{ids[3]}"}  # the hand-over's first try fails: nothing after it may overtake it
        await _drain(d, store, 8, receiver)
        while await d.dispatch_once():  # nothing more is due, and nothing is sent twice
            pass

    order = list(dict.fromkeys(receiver.tries))
    assert [receiver.processed[w]["type"] for w in order] == [
        "ticket.opened", "ticket.replied", "ticket.handed_over", "ticket.sla_warning", "ticket.sla_breached",
        "ticket.replied", "ticket.resolved", "ticket.csat",
    ]  # fmt: skip
    assert receiver.tries.count(f"evt_{ids[3]}") == 2 and len(receiver.tries) == 9  # one retry, same id
    assert receiver.rejected == []
    handed = receiver.processed[f"evt_{ids[3]}"]
    assert handed["data"] | {"actor": None} == {
        "ticket_id": tid, "customer_id": "cus_1", "channel": "chat", "event": "escalated",
        "event_key": "0003:escalated", "actor": None, "reason": "asked for a person",
    }  # fmt: skip
    rows = await log_store.list_deliveries(store, stream="event")
    assert len(rows) == 8 and all(r.state == "delivered" and r.endpoint == url for r in rows)
    assert {r.webhook_id: r.attempts for r in rows}[f"evt_{ids[3]}"] == 2


async def test_a_replay_is_resent_signed_anew_while_a_captured_stale_or_unsigned_request_is_refused(
    store: asyncpg.Pool,
) -> None:
    receiver = Receiver(NEW)
    signer = Signer.from_secrets([NEW])
    async with serve(receiver.app) as url, httpx.AsyncClient() as http:
        d = WebhookDispatcher(store, http, signer, event_url=url)
        await d.dispatch_once()
        tid = await _open(store)
        await _drain(d, store, 1, receiver)
        (row,) = await log_store.list_deliveries(store, ticket_id=tid)
        body = encode_body(row.payload)

        # An attacker replays a request captured six minutes ago: refused (the timestamp is too old).
        stale = signer.headers(row.webhook_id, body, now=time.time() - 360)
        assert (await http.post(url, content=body, headers=stale)).status_code == 401
        # The same without a signature, or signed with another secret: refused.
        unsigned = Signer().headers(row.webhook_id, body)
        assert (await http.post(url, content=body, headers=unsigned)).status_code == 401
        forged = Signer.from_secrets([new_secret()]).headers(row.webhook_id, body)
        assert (await http.post(url, content=body, headers=forged)).status_code == 401
        assert len(receiver.rejected) == 3 and receiver.tries == [row.webhook_id]

        # The operator's replay: same webhook-id, fresh timestamp and signature; accepted.
        assert await log_store.replay(store, row.delivery_id)
        assert not await log_store.replay(store, 10**9)
        while await d.dispatch_once():
            pass
    assert receiver.tries == [row.webhook_id, row.webhook_id]
    assert len(receiver.processed) == 1  # the receiver deduplicated the replay on its webhook-id
    again = await log_store.get_delivery(store, row.delivery_id)
    assert again is not None and again.state == "delivered" and again.attempts == 2 and again.replayed_at


async def test_a_refused_event_is_set_aside_and_the_next_ones_go_on(store: asyncpg.Pool) -> None:
    answers = iter([410])
    seen: list[str] = []

    async def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers["webhook-id"])
        return httpx.Response(next(answers, 200))

    async with httpx.AsyncClient(transport=httpx.MockTransport(handle)) as http:
        d = WebhookDispatcher(store, http, Signer.from_secrets([NEW]), event_url="http://hooks.test/in")
        await d.dispatch_once()
        tid = await _open(store)
        await _event(store, tid, 1, "resolved")
        while await d.dispatch_once():
            pass
    states = [(r.event_type, r.state, r.last_status) for r in reversed(await log_store.list_deliveries(store))]
    assert states == [("ticket.opened", "refused", 410), ("ticket.resolved", "delivered", 200)]
    assert len(seen) == 2


async def test_notifications_are_signed_and_logged(store: asyncpg.Pool) -> None:
    receiver = Receiver(NEW)
    tid = await _open(store)
    async with serve(receiver.app) as url:
        notify = NotifyActivities(store, url, signer=Signer.from_secrets([NEW]))
        n = Notification(f"{tid}:escalated:1", tid, "escalated", "escalated to a human", T0, {"reason": "x"})
        assert await ActivityEnvironment().run(notify.send, n) is True
    assert receiver.processed[n.key]["kind"] == "escalated"
    (row,) = await log_store.list_deliveries(store, stream="notification")
    assert (row.webhook_id, row.state, row.event_type, row.ticket_id) == (
        n.key,
        "delivered",
        "notification.escalated",
        tid,
    )
    assert json.loads(encode_body(row.payload)) == receiver.processed[n.key]


def test_an_email_bounce_event_names_no_address() -> None:
    """`email.bounced` as recorded before V25 (no `hard`, no `message_id`): addresses hashed, taken out of the
    remote server's words, the report's own Message-ID not passed on."""
    data = {"seq": 2, "recipients": ["Gone@Nordvik.example"], "status": "4.2.2", "report": "<r1@mx.example>",
            "diagnostic": "smtp; 552 4.2.2 <gone@nordvik.example>: mailbox full"}  # fmt: skip
    assert log_store.event_type("email_bounced", data) == "email.bounced"
    assert log_store.public_data("email_bounced", "tkt_1", data) == {
        "seq": 2, "outbox_key": "tkt_1:2", "message_id": None, "status": "4.2.2", "hard": False,
        "reason": "smtp; 552 4.2.2 <address>: mailbox full",
        "recipients_sha256": [hashlib.sha256(b"gone@nordvik.example").hexdigest()], "suppressed_sha256": [],
    }  # fmt: skip
