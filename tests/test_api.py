"""The API driven over real HTTP against the real stack: Temporal dev server, worker, Postgres, Qdrant
(tests/api_stack.py)."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from datetime import timedelta
from typing import Any

import pytest

from domain.lifecycle import TicketPolicy
from domain.models import Channel
from tests.api_stack import Stack, agent_replies
from workflows import search_attributes as sa
from workflows.ticket import TicketInput, TicketWorkflow

BRIEF_429 = (
    "Hi, I'm getting a 429 error when calling your API. It says \"Rate limit exceeded\" but I'm on the Pro "
    "plan which should have 10,000 requests/hour. I've only made about 5,000 requests today. This is "
    "blocking our production deployment. Please help ASAP!"
)


def _ticket(customer_id: str = "cus_1001", body: str = BRIEF_429, **extra: Any) -> dict[str, Any]:
    return {
        "customer_id": customer_id,
        "channel": "chat",
        "subject": "API returns 429",
        "body": body,
        **extra,
    }


async def test_brief_example_gets_a_grounded_first_reply(stack: Stack) -> None:
    r = await stack.http.post("/tickets", json=_ticket(idempotency_key=uuid.uuid4().hex))
    assert r.status_code == 201, r.text
    created = r.json()
    assert created["created"] is True and created["workflow_id"] == f"ticket-{created['ticket_id']}"

    t = await stack.wait_ticket(created["ticket_id"], agent_replies(1))
    assert t["category"] == "technical" and t["triage_label"] == "technical"  # the demo model's labels
    assert t["priority"] == "high"  # "blocking", "production", "ASAP"; Pro is not boosted
    assert t["status"] == "waiting_customer"
    assert t["time_to_first_response_s"] is not None and t["time_to_first_response_s"] >= 0
    customer_msg, reply = t["messages"]
    assert customer_msg["sender"] == "customer" and customer_msg["body"] == BRIEF_429
    assert reply["sender"] == "agent" and reply["author"] == "TechnicalAgent"
    assert "Priya" in reply["body"] and "429" in reply["body"]
    assert any(c["article_id"] == "kb-rate-limits" for c in reply["citations"]), reply["citations"]

    events = await stack.pool.fetch("SELECT kind, data FROM ticket_events WHERE ticket_id = $1", created["ticket_id"])
    kinds = {e["kind"] for e in events}
    assert {"created", "triaged", "opened", "agent_replied"} <= kinds
    triaged = next(e["data"] for e in events if e["kind"] == "triaged")
    assert triaged["label"] == "technical", "the model's own label is kept beside the category"


async def test_repeating_a_request_returns_the_same_ticket(stack: Stack) -> None:
    key = uuid.uuid4().hex
    first = await stack.http.post("/tickets", json=_ticket(idempotency_key=key))
    again = await stack.http.post("/tickets", json=_ticket(), headers={"Idempotency-Key": key})
    assert first.status_code == 201 and again.status_code == 200
    assert again.json()["ticket_id"] == first.json()["ticket_id"] and again.json()["created"] is False
    tid = first.json()["ticket_id"]
    await stack.wait_ticket(tid, agent_replies(1))
    assert await stack.pool.fetchval("SELECT count(*) FROM tickets WHERE ticket_id = $1", tid) == 1
    assert await stack.pool.fetchval("SELECT count(*) FROM messages WHERE ticket_id = $1", tid) == 2

    other = await stack.http.post("/tickets", json=_ticket(body="A different problem", idempotency_key=key))
    assert other.status_code == 409
    assert other.json()["error"]["code"] == "idempotency_key_reused"


async def test_follow_up_is_answered_in_the_same_ticket(stack: Stack) -> None:
    r = await stack.http.post(
        "/tickets",
        json=_ticket(
            "cus_1001",
            "We are setting up a webhook endpoint this week. How do webhook retries work?",
        ),
    )
    tid = r.json()["ticket_id"]
    await stack.wait_ticket(tid, agent_replies(1))
    m = await stack.http.post(
        f"/tickets/{tid}/messages",
        json={"body": "How do I verify the webhook signature?", "message_id": "m1"},
    )
    assert m.status_code == 202, m.text
    dup = await stack.http.post(
        f"/tickets/{tid}/messages",
        json={"body": "How do I verify the webhook signature?", "message_id": "m1"},
    )
    assert dup.status_code == 202
    t = await stack.wait_ticket(tid, agent_replies(2))
    assert [m["sender"] for m in t["messages"]] == ["customer", "agent", "customer", "agent"]
    assert "signature" in t["messages"][3]["body"].lower()


async def test_operators_find_tickets_by_search_attributes(stack: Stack) -> None:
    r = await stack.http.post("/tickets", json=_ticket("cus_1002", "Quick question: how do I invite a teammate?"))
    tid = r.json()["ticket_id"]
    t = await stack.wait_ticket(tid, agent_replies(1))
    query = (
        f'CustomerId="cus_1002" AND TicketStatus="{t["status"]}" AND TicketPriority="{t["priority"]}" '
        f'AND TicketCategory="{t["category"]}"'
    )
    deadline = time.monotonic() + 20
    while True:  # visibility is eventually consistent
        ids = [w.id async for w in stack.client.list_workflows(query)]
        if f"ticket-{tid}" in ids:
            break
        assert time.monotonic() < deadline, f"{query} did not find ticket-{tid}"
        await asyncio.sleep(0.3)


async def test_a_tickets_product_is_stored_listed_and_given_to_the_agents(stack: Stack) -> None:
    product = f"Cloud {uuid.uuid4().hex[:6]}"
    key = uuid.uuid4().hex
    r = await stack.http.post("/tickets", json=_ticket(product=product, idempotency_key=key))
    assert r.status_code == 201, r.text
    created = r.json()

    t = await stack.wait_ticket(created["ticket_id"], agent_replies(1))
    listed = (await stack.http.get("/tickets", params={"product": product})).json()
    handle = stack.client.get_workflow_handle(created["workflow_id"])
    history = await handle.fetch_history()
    findable = (await handle.describe()).typed_search_attributes.get(sa.TICKET_PRODUCT)
    codec = stack.client.data_converter.payload_codec  # payloads are encrypted (codec/)
    assert codec is not None
    turns = [
        json.loads((await codec.decode([e.activity_task_scheduled_event_attributes.input.payloads[0]]))[0].data)
        for e in history.events
        if e.activity_task_scheduled_event_attributes.activity_type.name == "conversation.run_agent_turn"
    ]

    assert t["product"] == product and findable == product  # `TicketProduct = '…'` in the Temporal UI
    assert [s["ticket_id"] for s in listed] == [created["ticket_id"]] and listed[0]["product"] == product
    assert turns and all(turn["product"] == product for turn in turns), "the agents' searches keep to it"
    other = await stack.http.post("/tickets", json=_ticket(product="Desktop", idempotency_key=key))
    assert other.status_code == 409, "the same key for another product is another request"
    empty = await stack.http.post("/tickets", json=_ticket(product="  "))
    assert empty.status_code == 422 and "product" in empty.text


async def test_a_message_after_close_opens_a_linked_ticket(stack: Stack) -> None:
    tid = f"tkt_{uuid.uuid4().hex[:16]}"
    quick = TicketPolicy(auto_resolve_after=timedelta(seconds=1), csat_timeout=timedelta(seconds=1))
    h = await stack.client.start_workflow(
        TicketWorkflow.run,
        TicketInput(
            tid,
            "cus_1003",
            Channel.EMAIL,
            "Invoice copy",
            "Can you resend my last invoice?",
            policy=quick,
            product="Lumora Cloud",
        ),  # fmt: skip
        id=f"ticket-{tid}",
        task_queue=stack.task_queue,
    )
    await h.result()  # auto-resolved after a second of silence, closed when the survey expired
    t = (await stack.http.get(f"/tickets/{tid}")).json()
    assert t["status"] == "closed" and t["resolved_at"] is not None
    r = await stack.http.post(f"/tickets/{tid}/messages", json={"body": "Hello again", "message_id": "late-1"})
    again = await stack.http.post(f"/tickets/{tid}/messages", json={"body": "Hello again", "message_id": "late-1"})
    assert r.status_code == 201 and r.json()["follows_up"] == tid and r.json()["ticket_id"] != tid
    assert again.json()["ticket_id"] == r.json()["ticket_id"]  # a retry does not open a third ticket
    new = await stack.wait_ticket(r.json()["ticket_id"], agent_replies(1))
    assert new["linked_ticket_id"] == tid and new["subject"] == "Re: Invoice copy"
    assert new["product"] == "Lumora Cloud", "the follow-up is about the same product"
    assert new["messages"][0]["body"] == "Hello again"
    retried = await stack.http.post(f"/tickets/{tid}/messages", json={"body": "Hello again", "message_id": "late-1"})
    assert retried.json()["ticket_id"] == r.json()["ticket_id"]  # the retry is not added to the follow-up
    # another message to the closed ticket joins that follow-up (202), not a third ticket
    more = await stack.http.post(f"/tickets/{tid}/messages", json={"body": "Also my VAT number changed"})
    assert more.status_code == 202, more.text
    assert more.json()["ticket_id"] == r.json()["ticket_id"] and more.json()["follows_up"] == tid
    joined = await stack.wait_ticket(
        r.json()["ticket_id"], lambda t: any(m["body"] == "Also my VAT number changed" for m in t["messages"])
    )
    assert joined["linked_ticket_id"] == tid
    assert [m["body"] for m in joined["messages"] if m["sender"] == "customer"].count("Hello again") == 1


async def test_human_agents_work_the_queue(stack: Stack) -> None:
    product = f"Exports {uuid.uuid4().hex[:6]}"
    r = await stack.http.post(
        "/tickets", json=_ticket("cus_1004", "Can I talk to a person? Exports fail daily.", product=product)
    )
    tid = r.json()["ticket_id"]
    await stack.wait_ticket(tid, lambda t: t["status"] == "escalated")
    queue = (await stack.http.get("/queue")).json()
    (item,) = [t for t in queue if t["ticket_id"] == tid]
    # nobody has answered the hand-over: the first response is the deadline the agent must see
    assert item["first_response_due"] and item["sla_due"] == item["first_response_due"] < item["resolution_due"]
    assert [t["ticket_id"] for t in (await stack.http.get("/queue", params={"product": product})).json()] == [tid]
    assert tid not in [t["ticket_id"] for t in (await stack.http.get("/queue", params={"product": "Other"})).json()]

    reply = {"kind": "reply", "request_id": uuid.uuid4().hex, "agent_id": "ana", "body": "Ana here, looking now."}
    first = await stack.http.post(f"/tickets/{tid}/decisions", json=reply)
    again = await stack.http.post(f"/tickets/{tid}/decisions", json=reply)
    assert first.status_code == 200 and first.json() == again.json() and first.json()["status"] == "waiting_customer"
    stale = {"kind": "approve", "request_id": uuid.uuid4().hex, "agent_id": "ana", "action_request_id": "x"}
    r = await stack.http.post(f"/tickets/{tid}/decisions", json=stale)
    assert r.status_code == 409 and r.json()["error"]["code"] == "stale_request"
    # a second agent who answers the message Ana just answered is told, and the customer gets one reply
    late = {**reply, "request_id": uuid.uuid4().hex, "agent_id": "ben", "body": "Ben here!", "seen_seq": 1}
    r = await stack.http.post(f"/tickets/{tid}/decisions", json=late)
    assert r.status_code == 409 and r.json()["error"]["code"] == "ticket_changed" and "from ana" in r.text, r.text
    r = await stack.http.post(f"/tickets/{tid}/decisions", json={"kind": "dance", "request_id": "1", "agent_id": "a"})
    assert r.status_code == 422
    r = await stack.http.post(f"/tickets/{tid}/csat", json={"score": 5})
    assert r.status_code == 409 and r.json()["error"]["code"] == "survey_closed"

    resolve = {"kind": "resolve", "request_id": uuid.uuid4().hex, "agent_id": "ana", "note": "exports fixed"}
    assert (await stack.http.post(f"/tickets/{tid}/decisions", json=resolve)).json()["status"] == "resolved"
    assert (await stack.http.post(f"/tickets/{tid}/csat", json={"score": 9})).status_code == 422
    assert (await stack.http.post(f"/tickets/{tid}/csat", json={"score": 4, "comment": "ok"})).status_code == 202
    t = await stack.wait_ticket(tid, lambda t: t["status"] == "closed")
    assert t["csat_score"] == 4 and t["assigned_human"] == "ana"
    assert [m["sender"] for m in t["messages"]][-2:] == ["human", "system"]

    events = (await stack.http.get(f"/tickets/{tid}/events")).json()
    assert {"kind": "human_replied", "actor": "ana"}.items() <= next(
        e for e in events if e["kind"] == "human_replied"
    ).items()
    assert [e["kind"] for e in events][-1] == "closed"
    r = await stack.http.post(f"/tickets/{tid}/decisions", json={**reply, "request_id": uuid.uuid4().hex})
    assert r.status_code == 409 and r.json()["error"]["code"] == "ticket_closed"
    assert tid not in [t["ticket_id"] for t in (await stack.http.get("/queue")).json()]


@pytest.mark.parametrize(
    ("payload", "status", "code"),
    [
        (_ticket(body="   "), 422, "invalid_request"),
        (_ticket(body="x" * 20_001), 422, "invalid_request"),
        ({"channel": "chat", "subject": "s", "body": "b"}, 422, "invalid_request"),
        (_ticket(channel="fax"), 422, "invalid_request"),
        (_ticket(customer_id="cus_nope"), 422, "unknown_customer"),
        ({**_ticket(), "surprise": 1}, 422, "invalid_request"),
    ],
)
async def test_bad_tickets_get_a_clear_4xx_and_write_nothing(
    stack: Stack, payload: dict[str, Any], status: int, code: str
) -> None:
    before = await stack.pool.fetchval("SELECT count(*) FROM tickets")
    r = await stack.http.post("/tickets", json=payload)
    assert r.status_code == status, r.text
    assert r.json()["error"]["code"] == code and r.json()["error"]["message"]
    await asyncio.sleep(0.2)
    assert await stack.pool.fetchval("SELECT count(*) FROM tickets") == before


async def test_malformed_and_oversized_requests(stack: Stack) -> None:
    r = await stack.http.post(
        "/tickets", content=b'{"customer_id": "cus_1001", ', headers={"content-type": "application/json"}
    )
    assert r.status_code == 400 and r.json()["error"]["code"] == "malformed_json"
    r = await stack.http.post("/tickets", content=b"x" * 300_000, headers={"content-type": "application/json"})
    assert r.status_code == 413


async def test_unknown_tickets_are_404(stack: Stack) -> None:
    for tid in ("tkt_0000000000000000", "not-a-ticket", "../etc/passwd"):
        r = await stack.http.get(f"/tickets/{tid}")
        assert r.status_code == 404, tid
        r = await stack.http.post(f"/tickets/{tid}/messages", json={"body": "hi"})
        assert r.status_code == 404, tid
    r = await stack.http.post("/tickets/tkt_0000000000000000/messages", json={"body": ""})
    assert r.status_code == 422


async def test_health_and_listing(stack: Stack) -> None:
    h = await stack.http.get("/health")
    assert h.status_code == 200 and h.json()["postgres"] == "ok" and h.json()["temporal"] == "ok"
    r = await stack.http.get("/tickets", params={"customer_id": "cus_1001", "limit": 5})
    assert r.status_code == 200 and all(t["customer_id"] == "cus_1001" for t in r.json())
    assert (await stack.http.get("/tickets", params={"status": "bogus"})).status_code == 422


async def test_a_request_id_carries_one_decision(stack: Stack) -> None:
    """A request_id sent again with another decision used to get the first decision's answer (200,
    accepted): an agent who resolved under a reply's id was told it worked, and the ticket stayed open."""
    r = await stack.http.post("/tickets", json=_ticket("cus_1004", "Can I talk to a person? Exports fail daily."))
    tid = r.json()["ticket_id"]
    await stack.wait_ticket(tid, lambda t: t["status"] == "escalated")
    rid = uuid.uuid4().hex
    reply = {"kind": "reply", "request_id": rid, "agent_id": "ana", "body": "Ana here, looking now."}
    first = await stack.http.post(f"/tickets/{tid}/decisions", json=reply)
    assert first.status_code == 200, first.text

    resolve = {"kind": "resolve", "request_id": rid, "agent_id": "ana", "note": "done"}
    r = await stack.http.post(f"/tickets/{tid}/decisions", json=resolve)
    assert r.status_code == 409 and r.json()["error"]["code"] == "request_id_reused", r.text
    assert "reply by ana" in r.json()["error"]["message"] and "new request_id" in r.json()["error"]["message"]
    assert (await stack.http.get(f"/tickets/{tid}")).json()["status"] == "waiting_customer"
    # the same decision again is still answered as before, and sent once
    again = await stack.http.post(f"/tickets/{tid}/decisions", json=reply)
    assert again.status_code == 200 and again.json() == first.json()
    bodies = [m["body"] for m in (await stack.http.get(f"/tickets/{tid}")).json()["messages"]]
    assert bodies.count("Ana here, looking now.") == 1

    # a decision the ticket refused never applied: its request_id may carry the corrected one
    rid = uuid.uuid4().hex
    stale = {"kind": "approve", "request_id": rid, "agent_id": "ana", "action_request_id": "act_nope"}
    assert (await stack.http.post(f"/tickets/{tid}/decisions", json=stale)).status_code == 409
    r = await stack.http.post(f"/tickets/{tid}/decisions", json={**resolve, "request_id": rid})
    assert r.status_code == 200 and r.json()["status"] == "resolved", r.text


async def test_a_decision_is_not_stopped_by_a_ticket_store_that_is_down() -> None:
    """The request_id check reads Postgres, but the workflow applies decisions: with the store down the
    check is skipped rather than the decision refused."""
    from api.schemas import HumanReplyIn
    from api.service.decisions import claim_request_id

    class DownPool:
        async def execute(self, *_: object) -> None:
            raise OSError("connection refused")

    reply = HumanReplyIn(request_id="r-1", agent_id="ana", body="hi")
    assert await claim_request_id(DownPool(), "tkt_0000000000000000", reply, "fp") is None  # type: ignore[arg-type]
