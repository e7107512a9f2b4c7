"""Messages reach the customer's channel: a real ticket's agent reply POSTed to a local webhook receiver
by the worker's outbox dispatcher, and the incremental read a polling adapter uses instead."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import uvicorn
from fastapi import FastAPI, Request, Response

from activities.outbox import running_dispatcher
from tests.api_stack import Stack, _free_port, agent_replies


class Receiver:
    """A channel gateway on a local port: records every POST; the first try of each key in `flaky` gets a 503."""

    def __init__(self, flaky: set[str]) -> None:
        self.received: list[tuple[str, dict[str, Any]]] = []
        self.flaky = flaky
        self.app = FastAPI()
        self.app.post("/in")(self._take)

    async def _take(self, request: Request) -> Response:
        key = request.headers["Idempotency-Key"]
        self.received.append((key, await request.json()))
        if key in self.flaky:
            self.flaky.discard(key)
            return Response(status_code=503)
        return Response(status_code=204)

    def bodies(self, key: str) -> list[dict[str, Any]]:
        return [body for k, body in self.received if k == key]


@asynccontextmanager
async def serve(receiver: Receiver) -> AsyncIterator[str]:
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(receiver.app, host="127.0.0.1", port=port, log_level="warning"))
    serving = asyncio.create_task(server.serve())
    try:
        while not server.started:  # noqa: ASYNC110 - uvicorn exposes a flag, not an event
            await asyncio.sleep(0.05)
        yield f"http://127.0.0.1:{port}/in"
    finally:
        server.should_exit = True
        await serving


def _ticket(body: str) -> dict[str, Any]:
    return {"customer_id": "cus_1001", "channel": "email", "subject": "Webhooks", "body": body}


async def test_an_agent_reply_reaches_the_customers_channel(stack: Stack) -> None:
    r = await stack.http.post("/tickets", json=_ticket("How do webhook retries work? " + uuid.uuid4().hex))
    tid = r.json()["ticket_id"]
    receiver = Receiver(flaky={f"{tid}:2"})  # the gateway fails once: the reply is sent again, same key
    async with serve(receiver) as url, running_dispatcher(stack.pool, url, poll_interval_s=0.1):
        t = await stack.wait_ticket(tid, agent_replies(1))
        deadline = time.monotonic() + 30
        while len(receiver.bodies(f"{tid}:2")) < 2:
            assert time.monotonic() < deadline, f"reply not delivered: {receiver.received[-3:]}"
            await asyncio.sleep(0.1)
    reply = next(m for m in t["messages"] if m["seq"] == 2)
    email = await stack.pool.fetchval("SELECT email FROM customers WHERE customer_id = 'cus_1001'")
    sent = receiver.bodies(f"{tid}:2")
    assert sent[0] == sent[1]  # the retry is the same message
    assert sent[1] | {"created_at": None} == {
        "ticket_id": tid, "seq": 2, "channel": "email", "customer_id": "cus_1001", "customer_email": email,
        "sender": "agent", "author": reply["author"], "body": reply["body"], "created_at": None,
        "key": f"{tid}:2",
    }  # fmt: skip
    assert not receiver.bodies(f"{tid}:1")  # the customer's own message is not sent back to them
    row = await stack.pool.fetchrow("SELECT * FROM customer_outbox WHERE ticket_id = $1 AND seq = 2", tid)
    assert row is not None and row["delivered_at"] is not None and row["attempts"] == 2


async def test_messages_after_a_seq(stack: Stack) -> None:
    r = await stack.http.post("/tickets", json=_ticket("How do I rotate an API key? " + uuid.uuid4().hex))
    tid = r.json()["ticket_id"]
    t = await stack.wait_ticket(tid, agent_replies(1))
    seqs = [m["seq"] for m in t["messages"]]

    everything = await stack.http.get(f"/tickets/{tid}/messages")
    assert everything.status_code == 200 and everything.json() == t["messages"]
    after = await stack.http.get(f"/tickets/{tid}/messages", params={"after_seq": 1})
    assert [m["seq"] for m in after.json()] == seqs[1:] and after.json()[0]["sender"] == "agent"
    assert (await stack.http.get(f"/tickets/{tid}/messages", params={"after_seq": seqs[-1]})).json() == []
    one = await stack.http.get(f"/tickets/{tid}/messages", params={"after_seq": 0, "limit": 1})
    assert [m["seq"] for m in one.json()] == [1]


async def test_messages_after_a_seq_refuses_bad_input(stack: Stack) -> None:
    for ticket in ("tkt_0000000000000000", "not-a-ticket"):
        r = await stack.http.get(f"/tickets/{ticket}/messages", params={"after_seq": 0})
        assert (r.status_code, r.json()["error"]["code"]) == (404, "ticket_not_found")
    r = await stack.http.post("/tickets", json=_ticket("Where is my invoice? " + uuid.uuid4().hex))
    tid = r.json()["ticket_id"]
    for params, says in (
        ({"after_seq": "-1"}, "after_seq"),
        ({"after_seq": "two"}, "after_seq"),
        ({"after": "1"}, "unknown query parameter after"),
    ):
        r = await stack.http.get(f"/tickets/{tid}/messages", params=params)
        assert (r.status_code, r.json()["error"]["code"]) == (422, "invalid_request"), r.text
        assert says in r.json()["error"]["message"], r.text
