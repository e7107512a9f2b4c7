"""The chat widget's endpoints against the real stack (Temporal, worker, Postgres, API over HTTP):
a visitor writes, the agent's reply arrives over server-sent events, a reconnect resumes after the last
message seen, a hand-over shows and the person's reply follows; a token never opens another's chat."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from channels.chat.tokens import InvalidToken, issue_token, verify_token
from db.customers import upsert_customers
from domain.models import Customer, Plan
from tests.api_stack import Stack, serve_api

SECRET = "chat-secret-" + "x" * 40
Event = tuple[str, str | None, Any]  # (event, id, data)


def test_a_token_names_its_visitor_until_it_expires_and_cannot_be_edited() -> None:
    token = issue_token(SECRET, "cus_1", "ada@example.com", ttl_s=60, now=1000)
    v = verify_token(SECRET, token, now=1030)
    assert (v.customer_id, v.email, v.expires_at) == ("cus_1", "ada@example.com", 1060)
    with pytest.raises(InvalidToken, match="expired"):
        verify_token(SECRET, token, now=1061)
    with pytest.raises(InvalidToken, match="signature"):
        verify_token("another-secret-" + "y" * 40, token, now=1030)
    other = issue_token(SECRET, "cus_2", ttl_s=60, now=1000)
    spliced = other.split(".")[0] + "." + token.split(".")[1]  # cus_2's claims under cus_1's signature
    with pytest.raises(InvalidToken):
        verify_token(SECRET, spliced, now=1030)
    for bad in ("", "abc", "a.b.c", "." * 3000):
        with pytest.raises(InvalidToken):
            verify_token(SECRET, bad, now=1030)


@asynccontextmanager
async def chat_api(stack: Stack) -> AsyncIterator[httpx.AsyncClient]:
    settings = stack.settings.model_copy(
        update={"CHAT_SIGNING_SECRET": SecretStr(SECRET), "CHAT_POLL_S": 0.1, "CHAT_STREAM_MAX_S": 4.0}
    )
    async with serve_api(settings) as http:
        yield http


async def _visitor(stack: Stack) -> tuple[str, str]:
    cid = f"cus_chat_{uuid.uuid4().hex[:8]}"
    await upsert_customers(stack.pool, [Customer(customer_id=cid, email=f"{cid}@example.com", name="V", plan=Plan.PRO)])
    return cid, issue_token(SECRET, cid, f"{cid}@example.com")


async def read_events(
    http: httpx.AsyncClient, params: dict[str, Any], until: Callable[[list[Event]], bool], *,
    last_event_id: str | None = None, within: float = 60,
) -> list[Event]:  # fmt: skip
    """Server-sent events of one connection, parsed, until `until` holds or the server ends it."""
    headers = {"last-event-id": last_event_id} if last_event_id else {}
    events: list[Event] = []
    deadline = time.monotonic() + within
    async with http.stream("GET", "/chat/stream", params=params, headers=headers, timeout=within) as r:
        assert r.status_code == 200, await r.aread()
        assert r.headers["content-type"].startswith("text/event-stream")
        name, eid, data = "message", None, ""
        async for line in r.aiter_lines():
            if line.startswith("event: "):
                name = line[7:]
            elif line.startswith("id: "):
                eid = line[4:]
            elif line.startswith("data: "):
                data = line[6:]
            elif line == "" and data:
                events.append((name, eid, json.loads(data)))
                name, eid, data = "message", None, ""
                if until(events):
                    break
            assert time.monotonic() < deadline, f"no such events in time: {events}"
    return events


def _messages(events: list[Event]) -> list[dict[str, Any]]:
    return [d for name, _, d in events if name == "message"]


def _from(sender: str, n: int = 1) -> Callable[[list[Event]], bool]:
    return lambda ev: sum(m["sender"] == sender for m in _messages(ev)) >= n


async def test_a_visitor_sees_the_agents_reply_live_and_a_reconnect_resumes_after_the_last_seen(
    stack: Stack,
) -> None:
    async with chat_api(stack) as http:
        cid, token = await _visitor(stack)
        assert (await http.get("/chat/session", params={"token": token})).json() == {
            "ticket_id": None, "customer_id": cid,
        }  # fmt: skip
        r = await http.post("/chat/messages", json={"token": token, "body": "How do I export my invoices as CSV?",
                                                    "message_id": "m1"})  # fmt: skip
        assert r.status_code == 200, r.text
        tid = r.json()["ticket_id"]
        assert r.json()["opened"] is True
        again = await http.post("/chat/messages", json={"token": token, "body": "How do I export my invoices as CSV?",
                                                        "message_id": "m1"})  # fmt: skip
        assert again.json()["ticket_id"] == tid  # a retried POST: the same ticket, not a second one
        params = {"token": token, "ticket_id": tid}
        first = await read_events(http, params, _from("agent"))
        assert first[0] == ("ticket", None, {"ticket_id": tid})
        msgs = _messages(first)
        assert [m["sender"] for m in msgs[:2]] == ["customer", "agent"]
        assert [int(e[1] or 0) for e in first if e[0] == "message"] == [m["seq"] for m in msgs] == [1, 2]
        row = await stack.pool.fetchrow("SELECT channel, customer_id FROM tickets WHERE ticket_id = $1", tid)
        assert row is not None and dict(row) == {"channel": "chat", "customer_id": cid}
        assert (await http.get("/chat/session", params={"token": token})).json()["ticket_id"] == tid

        # The browser reconnects with Last-Event-ID = the last seq it saw: nothing seen is sent again.
        r = await http.post("/chat/messages", json={"token": token, "ticket_id": tid, "body": "Thanks! And as PDF?"})
        assert r.status_code == 200 and r.json()["ticket_id"] == tid
        resumed = await read_events(http, params, _from("agent"), last_event_id=str(msgs[-1]["seq"]))
        seqs = [m["seq"] for m in _messages(resumed)]
        assert seqs[0] == msgs[-1]["seq"] + 1 and [m["sender"] for m in _messages(resumed)][:2] == ["customer", "agent"]
        later = await read_events(http, {**params, "after_seq": seqs[0]}, lambda ev: bool(_messages(ev)))
        assert _messages(later)[0]["seq"] == seqs[0] + 1  # after_seq does the same for a new page


async def test_a_hand_over_shows_and_the_persons_reply_arrives(stack: Stack) -> None:
    async with chat_api(stack) as http:
        _, token = await _visitor(stack)
        r = await http.post("/chat/messages", json={"token": token, "body": "Can I talk to a person? Exports fail."})
        tid = r.json()["ticket_id"]
        params = {"token": token, "ticket_id": tid}
        events = await read_events(http, params, lambda ev: any(e[0] == "handover" for e in ev))
        (handover,) = [d for name, _, d in events if name == "handover"]
        assert "person will take over" in handover["text"]
        seen = max(m["seq"] for m in _messages(events))
        reply = {"kind": "reply", "request_id": uuid.uuid4().hex, "agent_id": "ana", "body": "Ana here, on it."}
        assert (await stack.http.post(f"/tickets/{tid}/decisions", json=reply)).status_code == 200
        after = await read_events(http, {**params, "after_seq": seen}, _from("human"))
        assert [(m["sender"], m["body"]) for m in _messages(after)][-1] == ("human", "Ana here, on it.")


async def test_a_token_never_opens_another_visitors_chat(stack: Stack) -> None:
    async with chat_api(stack) as http:
        _, alice = await _visitor(stack)
        _, bob = await _visitor(stack)
        tid = (await http.post("/chat/messages", json={"token": alice, "body": "My export fails."})).json()["ticket_id"]
        r = await http.get("/chat/stream", params={"token": bob, "ticket_id": tid})
        assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"
        r = await http.post("/chat/messages", json={"token": bob, "ticket_id": tid, "body": "let me in"})
        assert r.status_code == 403
        assert (await http.get("/chat/session", params={"token": bob})).json()["ticket_id"] is None
        forged = alice.split(".")[0] + "." + bob.split(".")[1]
        for bad in (forged, issue_token(SECRET, "cus_1001", ttl_s=-1), issue_token("x" * 40, "cus_1001")):
            r = await http.get("/chat/stream", params={"token": bad, "ticket_id": tid})
            assert r.status_code == 401 and r.json()["error"]["code"] == "invalid_token"
        n = await stack.pool.fetchval("SELECT count(*) FROM messages WHERE ticket_id = $1 AND body = 'let me in'", tid)
        assert n == 0
        js = await http.get("/chat/widget.js")
        assert (
            js.status_code == 200
            and "EventSource" in js.text
            and js.headers["content-type"].startswith("text/javascript")
        )
    async with serve_api(stack.settings) as plain:  # no CHAT_SIGNING_SECRET: the chat is off
        r = await plain.get("/chat/session", params={"token": alice})
        assert r.status_code == 503 and r.json()["error"]["code"] == "chat_disabled"
