"""The CRM over HTTP (`/customers`), and first-time senders with AUTO_CREATE_CUSTOMERS, on the real stack."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from domain.contacts import derive_customer_id, name_from_email
from tests.api_stack import Stack, agent_replies, serve_api


def _email() -> str:
    return f"new.{uuid.uuid4().hex[:8]}@example.com"


async def test_a_customer_is_created_replaced_read_and_looked_up(stack: Stack) -> None:
    cid, email = f"crm-{uuid.uuid4().hex[:8]}", _email()
    body: dict[str, Any] = {
        "email": email.upper(),
        "name": "Mia Chen",
        "company": "Kite",
        "plan": "pro",
        "is_vip": True,
    }
    r = await stack.http.put(f"/customers/{cid}", json=body)
    assert r.status_code == 201, r.text
    assert r.json() == {
        "customer_id": cid, "email": email, "name": "Mia Chen", "company": "Kite", "plan": "pro", "is_vip": True,
        "lifetime_value": 0.0, "ticket_count": 0, "average_csat": None,
    }  # fmt: skip
    again = await stack.http.put(f"/customers/{cid}", json=body)
    assert again.status_code == 200 and again.json() == r.json()
    replaced = await stack.http.put(f"/customers/{cid}", json={"email": email, "plan": "enterprise"})
    assert replaced.status_code == 200 and replaced.json()["plan"] == "enterprise"
    assert (
        replaced.json()["name"] == name_from_email(email) and replaced.json()["is_vip"] is False
    )  # PUT replaces the whole customer

    assert (await stack.http.get(f"/customers/{cid}")).json() == replaced.json()
    found = await stack.http.get("/customers", params={"email": email.upper()})
    assert found.status_code == 200 and found.json()["customer_id"] == cid


async def test_unknown_customers_bad_fields_and_a_taken_email_are_refused_by_name(stack: Stack) -> None:
    r = await stack.http.get("/customers/nobody-here")
    assert r.status_code == 404 and r.json()["error"]["code"] == "customer_not_found"
    r = await stack.http.get("/customers", params={"email": "nobody@example.com"})
    assert r.status_code == 404 and r.json()["error"]["code"] == "customer_not_found"
    r = await stack.http.get("/customers")
    assert r.status_code == 422 and "email" in r.json()["error"]["message"]
    r = await stack.http.get("/customers", params={"email": "a@example.com", "plan": "pro"})
    assert r.status_code == 422 and "unknown query parameter plan" in r.json()["error"]["message"]

    cid = f"crm-{uuid.uuid4().hex[:8]}"
    for body, field in [
        ({"email": "not-an-email"}, "email: not an email address"),
        ({"email": _email(), "plan": "platinum"}, "plan: Input should be"),
        ({"email": _email(), "lifetime_value": -1}, "lifetime_value:"),
        ({"email": _email(), "ticket_count": 3}, "ticket_count: unknown field"),
        ({"name": "No Email"}, "email: Field required"),
    ]:
        r = await stack.http.put(f"/customers/{cid}", json=body)
        assert r.status_code == 422 and field in r.json()["error"]["message"], (body, r.text)
    r = await stack.http.put("/customers/bad id!", json={"email": _email()})
    assert r.status_code == 422 and "customer_id: not a valid customer id" in r.json()["error"]["message"]

    # cus_1001 is a demo customer: its email cannot go to another id
    taken = (await stack.http.get("/customers/cus_1001")).json()["email"]
    r = await stack.http.put(f"/customers/{cid}", json={"email": taken.upper()})
    assert r.status_code == 409 and r.json()["error"]["code"] == "email_taken" and "cus_1001" in r.text
    assert (await stack.http.get(f"/customers/{cid}")).status_code == 404


async def test_the_customers_endpoints_need_the_api_key(stack: Stack) -> None:
    async with serve_api(stack.settings.model_copy(update={"API_KEY": "k-0123456789"})) as http:
        assert (await http.get("/customers/cus_1001")).status_code == 401
        assert (await http.put("/customers/x-1", json={"email": _email()})).status_code == 401
        ok = await http.get("/customers/cus_1001", headers={"Authorization": "Bearer k-0123456789"})
        assert ok.status_code == 200


async def test_a_new_sender_is_refused_unless_auto_create_is_on(stack: Stack) -> None:
    email = _email()
    ticket = {"customer_email": email, "subject": "Hello", "body": "How do I invite a teammate?"}
    r = await stack.http.post("/tickets", json=ticket)
    assert r.status_code == 422 and r.json()["error"]["code"] == "unknown_customer"

    async with serve_api(stack.settings.model_copy(update={"AUTO_CREATE_CUSTOMERS": True})) as http:
        key = uuid.uuid4().hex
        first, again = await asyncio.gather(
            http.post("/tickets", json={**ticket, "customer_name": "Noor Haddad"}, headers={"Idempotency-Key": key}),
            http.post("/tickets", json=ticket, headers={"Idempotency-Key": key}),
        )
        assert {first.status_code, again.status_code} <= {200, 201}, (first.text, again.text)
        assert first.json()["ticket_id"] == again.json()["ticket_id"]
        assert await stack.pool.fetchval("SELECT count(*) FROM customers WHERE lower(email) = $1", email) == 1
        customer = (await http.get("/customers", params={"email": email})).json()
        assert customer["customer_id"] == derive_customer_id(email) and customer["plan"] == "free"
        assert customer["name"] in ("Noor Haddad", name_from_email(email))  # whichever request made the contact

        t = await stack.wait_ticket(first.json()["ticket_id"], agent_replies(1))
        assert t["customer_id"] == customer["customer_id"] and t["messages"][1]["sender"] == "agent"

        bad = await http.post("/tickets", json={**ticket, "customer_email": "not-an-email"})
        assert bad.status_code == 422 and "customer_email" in bad.json()["error"]["message"]
        unknown_id = await http.post("/tickets", json={**ticket, "customer_id": "no-such-id", "customer_email": None})
        assert unknown_id.status_code == 422 and unknown_id.json()["error"]["code"] == "unknown_customer"


async def test_a_customers_ticket_count_and_csat_follow_the_ticket_store(stack: Stack) -> None:
    cid = f"crm-{uuid.uuid4().hex[:8]}"
    assert (await stack.http.put(f"/customers/{cid}", json={"email": _email(), "plan": "pro"})).status_code == 201
    r = await stack.http.post(
        "/tickets", json={"customer_id": cid, "subject": "Exports", "body": "Can I talk to a person? Exports fail."}
    )
    tid = r.json()["ticket_id"]
    await stack.wait_ticket(tid, lambda t: t["status"] == "escalated")
    got = (await stack.http.get(f"/customers/{cid}")).json()
    assert got["ticket_count"] == 1 and got["average_csat"] is None

    resolve = {"kind": "resolve", "request_id": uuid.uuid4().hex, "agent_id": "ana", "note": "fixed"}
    assert (await stack.http.post(f"/tickets/{tid}/decisions", json=resolve)).json()["status"] == "resolved"
    assert (await stack.http.post(f"/tickets/{tid}/csat", json={"score": 4})).status_code == 202
    await stack.wait_ticket(tid, lambda t: t["csat_score"] == 4)
    got = (await stack.http.get(f"/customers/{cid}")).json()
    assert got["ticket_count"] == 1 and got["average_csat"] == 4.0
