"""A ticket whose worker is down (or whose workflow is stuck) gets a prompt 503 with a reason, never a
request that hangs; and a decision retried after such a 503 is applied once."""

from __future__ import annotations

import asyncio
import time
import uuid

from tests.api_stack import Stack, serve_api
from worker import build_worker

WAIT_S = 2.0


async def test_a_worker_that_is_down_gets_a_prompt_503_and_a_retried_decision_applies_once(stack: Stack) -> None:
    queue = f"down-{uuid.uuid4().hex[:8]}"  # this test's own worker, which it stops and starts
    settings = stack.settings.model_copy(
        update={"TEMPORAL_TASK_QUEUE": queue, "API_DECISION_TIMEOUT_S": WAIT_S, "API_QUERY_TIMEOUT_S": WAIT_S}
    )
    ticket = {"customer_id": "cus_1004", "channel": "chat", "subject": "Exports", "body": "Can I talk to a person?"}
    async with serve_api(settings) as http:
        # No worker yet: the ticket is started, but nothing has written its row; the read asks the
        # workflow, which cannot answer. It used to take 30 s and say "Timeout expired".
        tid = (await http.post("/tickets", json=ticket)).json()["ticket_id"]
        t0 = time.monotonic()
        r = await http.get(f"/tickets/{tid}")
        assert r.status_code == 503 and time.monotonic() - t0 < WAIT_S + 5, (r.text, time.monotonic() - t0)
        assert r.json()["error"]["code"] == "ticket_unresponsive"
        assert "worker may be down" in r.json()["error"]["message"] and r.headers["retry-after"]

        async with build_worker(stack.client, queue, stack.activities):
            await _until_escalated(http, tid)

        # The worker is gone: a decision used to wait forever (a client gave up after 580 s).
        reply = {"kind": "reply", "request_id": uuid.uuid4().hex, "agent_id": "ana", "body": "Ana here, on it."}
        t0 = time.monotonic()
        r = await http.post(f"/tickets/{tid}/decisions", json=reply)
        assert r.status_code == 503 and time.monotonic() - t0 < WAIT_S + 5, (r.text, time.monotonic() - t0)
        assert r.json()["error"]["code"] == "ticket_unresponsive"
        assert (
            f"within {WAIT_S:g} s" in r.json()["error"]["message"] and "same request_id" in r.json()["error"]["message"]
        )

        # The worker is back. The first request's update was still queued and now applies; the client's
        # retries with the same request_id join it: the reply is sent once.
        async with build_worker(stack.client, queue, stack.activities):
            deadline = time.monotonic() + 60
            while (r := await http.post(f"/tickets/{tid}/decisions", json=reply)).status_code == 503:
                assert time.monotonic() < deadline, r.text
            again = await http.post(f"/tickets/{tid}/decisions", json=reply)
        assert r.status_code == 200 and again.json() == r.json(), (r.text, again.text)
    bodies = [row["body"] for row in await stack.pool.fetch("SELECT body FROM messages WHERE ticket_id = $1", tid)]
    assert bodies.count("Ana here, on it.") == 1, bodies
    kinds = [e["kind"] for e in await stack.pool.fetch("SELECT kind FROM ticket_events WHERE ticket_id = $1", tid)]
    assert kinds.count("human_replied") == 1, kinds


async def _until_escalated(http: object, tid: str) -> None:
    import httpx

    assert isinstance(http, httpx.AsyncClient)
    deadline = time.monotonic() + 60
    while True:
        r = await http.get(f"/tickets/{tid}")
        if r.status_code == 200 and r.json()["status"] == "escalated":
            return
        assert time.monotonic() < deadline, r.text
        await asyncio.sleep(0.2)
