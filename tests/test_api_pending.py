"""Human agents see the approvals they must decide on: the pending action (with the id approve/reject
take) in the ticket, in the queue and in the ticket list, read from the store."""

from __future__ import annotations

import uuid

from tests.api_stack import Stack

REFUND = (
    "Five days ago our card was charged $2,539.80 for the annual Pro renewal. We meant to cancel. "
    "Please refund the annual charge. Invoice number is {invoice}."
)


async def test_a_pending_approval_is_shown_where_a_human_decides_it(stack: Stack) -> None:
    product = f"Billing {uuid.uuid4().hex[:6]}"
    invoice = await stack.invoice("cus_1001", "2539.80")
    body = REFUND.format(invoice=invoice)
    ticket = {"customer_id": "cus_1001", "channel": "email", "subject": "Refund", "body": body, "product": product}
    tid = (await stack.http.post("/tickets", json=ticket)).json()["ticket_id"]
    # The approver is known once the ticket's request for approval is recorded, just after it escalates.
    t = await stack.wait_ticket(
        tid, lambda t: t["status"] == "escalated" and t["pending_actions"] and t["pending_actions"][0]["routed_to"]
    )

    (pending,) = t["pending_actions"]
    assert (pending["kind"], pending["amount_usd"], pending["reference"]) == ("refund", 2539.8, invoice)
    assert pending["routed_to"] == "team-lead"  # the first of APPROVERS
    assert pending["requested_by"] == "BillingAgent" and pending["summary"] and pending["requested_at"]
    (item,) = (await stack.http.get("/queue", params={"product": product})).json()
    assert item["pending_actions"] == [pending]
    assert item["escalation_reason"] == "approval needed: refund of $2,539.80"
    (listed,) = (await stack.http.get("/tickets", params={"product": product})).json()
    assert listed["pending_actions"] == [pending]

    decision = {
        "kind": "approve", "request_id": uuid.uuid4().hex, "agent_id": "lead",
        "action_request_id": pending["action_request_id"],
    }  # fmt: skip
    r = await stack.http.post(f"/tickets/{tid}/decisions", json=decision)
    assert r.status_code == 200, r.text
    t = await stack.wait_ticket(tid, lambda t: t["status"] == "waiting_customer")
    assert t["pending_actions"] == []
    assert (await stack.http.get("/queue", params={"product": product})).json() == []
