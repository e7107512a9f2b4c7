"""Per-customer limits (CUSTOMER_TICKETS_PER_HOUR, CUSTOMER_MESSAGES_PER_MINUTE) on a test-local API
with low limits, over the shared stack's worker and database."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import httpx
import pytest
from temporalio.service import RPCError, RPCStatusCode

from api.service.ids import ticket_id_for, workflow_id_for
from tests.api_stack import Stack, serve_api
from workflows.ticket import TicketWorkflow


async def _customer(stack: Stack) -> str:
    cid = f"lim-{uuid.uuid4().hex[:8]}"
    r = await stack.http.put(f"/customers/{cid}", json={"email": f"{cid}@example.com"})
    assert r.status_code in (200, 201), r.text
    return cid


def _ticket(cid: str, key: str) -> dict[str, Any]:
    return {"customer_id": cid, "channel": "email", "subject": "Invoice", "body": "Where is my invoice?",
            "idempotency_key": key}  # fmt: skip


async def _until(stack: Stack, sql: str, arg: str, want: int, within: float = 30) -> None:
    """Wait for the worker to store what the limits count (rows are written by the workflow)."""
    deadline = time.monotonic() + within
    while (n := await stack.pool.fetchval(sql, arg)) != want:
        assert time.monotonic() < deadline, f"{n} rows, expected {want}: {sql}"
        await asyncio.sleep(0.1)


TICKETS = "SELECT count(*) FROM tickets WHERE customer_id = $1"
CUSTOMER_MESSAGES = """
SELECT count(*) FROM messages m JOIN tickets t USING (ticket_id) WHERE t.customer_id = $1 AND m.sender = 'customer'
"""


async def _workflow_exists(stack: Stack, ticket_id: str) -> bool:
    try:
        await stack.client.get_workflow_handle(workflow_id_for(ticket_id)).describe()
    except RPCError as e:
        assert e.status == RPCStatusCode.NOT_FOUND
        return False
    return True


def _assert_limited(r: httpx.Response, setting: str, window_s: int) -> None:
    assert r.status_code == 429, r.text
    assert r.json()["error"]["code"] == "rate_limited" and setting in r.json()["error"]["message"]
    assert 1 <= int(r.headers["Retry-After"]) <= window_s


async def test_a_customer_over_its_ticket_limit_is_refused_but_a_retry_and_others_are_not(stack: Stack) -> None:
    a, b = await _customer(stack), await _customer(stack)
    limited = stack.settings.model_copy(update={"CUSTOMER_TICKETS_PER_HOUR": 2})
    async with serve_api(limited) as http:
        first = await http.post("/tickets", json=_ticket(a, "k1"))
        assert first.status_code == 201, first.text
        assert (await http.post("/tickets", json=_ticket(a, "k2"))).status_code == 201
        await _until(stack, TICKETS, a, 2)

        r = await http.post("/tickets", json=_ticket(a, "k3"))
        _assert_limited(r, "CUSTOMER_TICKETS_PER_HOUR", 3600)
        assert not await _workflow_exists(stack, ticket_id_for(a, "k3")), "a refused ticket starts no workflow"
        assert await stack.pool.fetchval(TICKETS, a) == 2

        again = await http.post("/tickets", json=_ticket(a, "k1"))  # a retry is no new ticket
        assert again.status_code == 200 and again.json()["ticket_id"] == first.json()["ticket_id"]
        reused = await http.post("/tickets", json={**_ticket(a, "k1"), "body": "Something else"})
        assert reused.status_code == 409  # a reused key is still told so, not rate limited

        assert (await http.post("/tickets", json=_ticket(b, "k3"))).status_code == 201  # another customer
    # 0 = no limit (the shared stack's API)
    assert (await stack.http.post("/tickets", json=_ticket(a, "k3"))).status_code == 201


async def test_a_customer_over_its_message_limit_is_refused_but_a_retry_and_others_are_not(stack: Stack) -> None:
    a, b = await _customer(stack), await _customer(stack)
    limited = stack.settings.model_copy(update={"CUSTOMER_MESSAGES_PER_MINUTE": 2})
    async with serve_api(limited) as http:
        tid = (await http.post("/tickets", json=_ticket(a, "t"))).json()["ticket_id"]
        other = (await http.post("/tickets", json=_ticket(b, "t"))).json()["ticket_id"]
        await _until(stack, CUSTOMER_MESSAGES, a, 1)  # the ticket's first message counts
        m1 = await http.post(f"/tickets/{tid}/messages", json={"body": "Any news?", "message_id": "m1"})
        assert m1.status_code == 202, m1.text
        await _until(stack, CUSTOMER_MESSAGES, a, 2)

        r = await http.post(f"/tickets/{tid}/messages", json={"body": "Hello?", "message_id": "m2"})
        _assert_limited(r, "CUSTOMER_MESSAGES_PER_MINUTE", 60)
        again = await http.post(f"/tickets/{tid}/messages", json={"body": "Any news?", "message_id": "m1"})
        assert again.status_code == 202 and again.json()["ticket_id"] == tid  # a retry is no new message
        handle = stack.client.get_workflow_handle_for(TicketWorkflow.run, workflow_id_for(tid))
        state = await handle.query(TicketWorkflow.state)
        assert state.seen_message_ids == ["m1"], "a refused message is not delivered"

        await _until(stack, CUSTOMER_MESSAGES, b, 1)
        ok = await http.post(f"/tickets/{other}/messages", json={"body": "Thanks", "message_id": "m2"})
        assert ok.status_code == 202  # another customer
    # 0 = no limit (the shared stack's API)
    assert (await stack.http.post(f"/tickets/{tid}/messages", json={"body": "Hello?"})).status_code == 202


@pytest.mark.parametrize("setting", ["CUSTOMER_TICKETS_PER_HOUR", "CUSTOMER_MESSAGES_PER_MINUTE"])
def test_limits_default_on_and_refuse_negatives(setting: str) -> None:
    from pydantic import ValidationError

    from settings import Settings

    assert getattr(Settings(_env_file=None), setting) > 0  # type: ignore[call-arg]
    with pytest.raises(ValidationError):
        Settings.model_validate({setting: -1})
