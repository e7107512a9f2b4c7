"""`POST /tickets/{id}/decisions` with `note`, `tag` and `recategorise` against the real stack: the note
is in the audit trail and nowhere a channel reads (messages, the customer outbox), tags and the category
show on the ticket and filter the queue and the ticket list, bad input is a 422 with the field named,
and only a person with an agent's role may make them."""

from __future__ import annotations

import uuid
from typing import Any

from tests.api_stack import Stack, serve_api
from tests.console_helpers import AGENT_KEYS, KEYS

NOTE = "Internal: she was double-charged in March too; finance knows. Don't mention the March refund."


def _d(kind: str, **fields: Any) -> dict[str, Any]:
    return {"kind": kind, "request_id": uuid.uuid4().hex, "agent_id": "ana", **fields}


async def _escalated(stack: Stack, customer_id: str) -> str:
    body = {"customer_id": customer_id, "subject": "Export", "body": "Can I talk to a person? Exports fail daily."}
    r = await stack.http.post("/tickets", json=body)
    assert r.status_code == 201, r.text
    tid: str = r.json()["ticket_id"]
    await stack.wait_ticket(tid, lambda t: t["status"] == "escalated")
    return tid


async def test_notes_tags_and_category_through_the_api(stack: Stack) -> None:
    tid = await _escalated(stack, "cus_1005")
    seen = max(m["seq"] for m in (await stack.http.get(f"/tickets/{tid}")).json()["messages"])

    r = await stack.http.post(f"/tickets/{tid}/decisions", json=_d("note", body=NOTE, seen_seq=seen))
    assert r.status_code == 200 and r.json()["status"] == "escalated", r.text
    # nowhere a channel reads: the messages adapters poll, the customer outbox
    polled = (await stack.http.get(f"/tickets/{tid}/messages")).json()
    assert polled and all(NOTE not in m["body"] for m in polled)
    outbox = await stack.pool.fetch("SELECT body FROM customer_outbox WHERE ticket_id = $1", tid)
    assert outbox and all(NOTE not in r["body"] for r in outbox)
    events = (await stack.http.get(f"/tickets/{tid}/events")).json()
    (note,) = [e for e in events if e["kind"] == "note"]
    assert note["actor"] == "ana" and note["data"] == {"note": NOTE, "internal": True}

    tag = f"renewal-{uuid.uuid4().hex[:6]}"
    r = await stack.http.post(f"/tickets/{tid}/decisions", json=_d("tag", add=[tag.upper(), " vip "]))
    assert r.status_code == 200, r.text
    again = await stack.http.post(f"/tickets/{tid}/decisions", json=_d("tag", add=[tag]))
    assert again.status_code == 409 and again.json()["error"]["code"] == "stale_request"
    r = await stack.http.post(f"/tickets/{tid}/decisions", json=_d("recategorise", category="account", reason="login"))
    assert r.status_code == 200, r.text
    t = await stack.wait_ticket(tid, lambda t: t["category"] == "account" and t["tags"])
    assert t["tags"] == sorted([tag, "vip"]) and t["status"] == "escalated"

    def ids(items: list[dict[str, Any]]) -> list[str]:
        return [i["ticket_id"] for i in items]

    assert ids((await stack.http.get("/queue", params={"tag": tag})).json()) == [tid]
    assert (await stack.http.get("/queue", params={"tag": tag})).json()[0]["tags"] == sorted([tag, "vip"])
    assert ids((await stack.http.get("/queue", params={"tag": tag, "category": "account"})).json()) == [tid]
    assert ids((await stack.http.get("/queue", params={"tag": tag, "category": "billing"})).json()) == []
    assert ids((await stack.http.get("/tickets", params={"tag": tag.upper()})).json()) == [tid]

    r = await stack.http.post(f"/tickets/{tid}/decisions", json=_d("tag", remove=[tag]))
    assert r.status_code == 200, r.text
    await stack.wait_ticket(tid, lambda t: t["tags"] == ["vip"])
    assert ids((await stack.http.get("/queue", params={"tag": tag})).json()) == []


async def test_bad_notes_and_tags_are_refused_with_the_reason(stack: Stack) -> None:
    tid = await _escalated(stack, "cus_1006")
    for body, field in [
        (_d("note", body="   "), "body"),
        (_d("note", body="x" * 10_001), "body"),
        (_d("note", body="hi", message="to the customer"), "message"),  # a note has no customer part
        (_d("tag"), "tag to add or to remove"),
        (_d("tag", add=["has space"]), "add"),
        (_d("tag", add=["a" * 41]), "add"),
        (_d("tag", add=["x"], remove=["x"]), "both added and removed"),
        (_d("tag", add=[f"t{i}" for i in range(21)]), "add"),
        (_d("recategorise", category="astrology"), "category"),
    ]:
        r = await stack.http.post(f"/tickets/{tid}/decisions", json=body)
        assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_request", (body, r.text)
        assert field in r.json()["error"]["message"], (field, r.text)
    r = await stack.http.get("/queue", params={"tag": "not a tag!"})
    assert r.status_code == 422 and "tag" in r.json()["error"]["message"]
    category = (await stack.http.get(f"/tickets/{tid}")).json()["category"]
    same = await stack.http.post(f"/tickets/{tid}/decisions", json=_d("recategorise", category=category))
    assert same.status_code == 409 and same.json()["error"]["code"] == "stale_request", same.text
    stale = await stack.http.post(f"/tickets/{tid}/decisions", json=_d("note", body="late", expect_assignee="ben"))
    assert stale.status_code == 409 and stale.json()["error"]["code"] == "ticket_changed"


async def test_only_agents_write_notes(stack: Stack) -> None:
    tid = await _escalated(stack, "cus_1007")
    async with serve_api(stack.settings.model_copy(update={"AGENT_KEYS": AGENT_KEYS})) as http:

        def key(who: str) -> dict[str, str]:
            return {"Authorization": f"Bearer {KEYS[who][0]}"}

        note = {**_d("note", body="checked the logs"), "agent_id": "auditor"}
        r = await http.post(f"/tickets/{tid}/decisions", json=note, headers=key("auditor"))
        assert r.status_code == 403 and r.json()["error"]["code"] == "role_required"
        r = await http.post(f"/tickets/{tid}/decisions", json=_d("note", body="checked the logs"), headers=key("lead"))
        assert r.status_code == 403 and r.json()["error"]["code"] == "agent_mismatch"
        r = await http.post(f"/tickets/{tid}/decisions", json=_d("note", body="checked the logs"), headers=key("ana"))
        assert r.status_code == 200, r.text
