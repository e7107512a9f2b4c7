"""The console's internal notes, tags and category over HTTP against the real stack: the note box and
the tag/category controls by role, a note shown in the timeline marked internal and absent from what the
customer's channels read, a refused note kept in the note box (never in the reply box), tags that filter
the queue, and a re-categorised ticket."""

from __future__ import annotations

import re
import uuid

import httpx

from tests.api_stack import Stack, serve_api
from tests.console_helpers import AGENT_KEYS, AS_CHANNEL, KEYS, form_fields, sign_in

NOTE = "Internal: the CFO of the customer called us; keep replies short and formal."


def _client(http: httpx.AsyncClient) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=str(http.base_url), timeout=60)


async def test_notes_tags_and_category_in_the_console(stack: Stack) -> None:
    async with serve_api(stack.settings.model_copy(update={"AGENT_KEYS": AGENT_KEYS})) as http:
        body = {"customer_id": "cus_1008", "subject": "Export", "body": "Can I talk to a person? Exports fail daily."}
        r = await http.post("/tickets", json=body, headers=AS_CHANNEL)
        assert r.status_code == 201, r.text
        tid = r.json()["ticket_id"]
        await stack.wait_ticket(tid, lambda t: t["status"] == "escalated")
        async with _client(http) as ana, _client(http) as auditor:
            for client, who in ((ana, "ana"), (auditor, "auditor")):
                assert (await sign_in(client, key=KEYS[who][0])).status_code == 303
            page = (await ana.get(f"/console/tickets/{tid}")).text
            assert 'id="note-body"' in page and "the customer never sees it" in page
            assert 'id="tag-add"' in page and 'id="category-form"' in page
            audit_page = (await auditor.get(f"/console/tickets/{tid}")).text
            assert 'id="note-body"' not in audit_page and 'id="tag-add"' not in audit_page
            assert 'aria-label="Tags and category"' in audit_page  # what the ticket carries, read-only

            # a note: in the timeline, marked internal; nowhere the customer's channels read
            r = await ana.post(f"/console/tickets/{tid}/decide", data={**form_fields(page, "note"), "note_body": NOTE})
            assert r.status_code == 303 and r.headers["location"].endswith("done=note"), r.text
            shown = (await ana.get(r.headers["location"])).text
            assert "The customer does not see it" in shown
            item = re.search(r'<li class="event note internal".*?</li>', shown, flags=re.S)
            assert item and NOTE in item[0] and "internal note" in item[0] and "ana" in item[0]
            assert all(
                NOTE not in m["body"] for m in (await http.get(f"/tickets/{tid}/messages", headers=AS_CHANNEL)).json()
            )
            outbox = await stack.pool.fetch("SELECT body FROM customer_outbox WHERE ticket_id = $1", tid)
            assert outbox and all(NOTE not in row["body"] for row in outbox)

            # a refused note (a stale screen) comes back in the note box, never in the reply box
            stale = {**form_fields(shown, "note"), "expect_assignee": "ben", "note_body": "Second thoughts"}
            r = await ana.post(f"/console/tickets/{tid}/decide", data=stale)
            assert r.status_code == 409 and "ticket_changed" in r.text
            assert re.search(r'id="note-body"[^>]*>Second thoughts</textarea>', r.text)
            assert not re.search(r'id="reply-body"[^>]*>Second thoughts', r.text)

            # tags, typed as a list; they filter the queue; one is removed with its button
            tag = f"cfo-{uuid.uuid4().hex[:6]}"
            r = await ana.post(
                f"/console/tickets/{tid}/decide", data={**form_fields(shown, "tag"), "add": f"Formal, {tag.upper()}"}
            )
            assert r.status_code == 303, r.text
            page = (await ana.get(f"/console/tickets/{tid}")).text
            assert f'<span class="tag">{tag}</span>' in page and '<span class="tag">formal</span>' in page
            queue = (await ana.get("/console/queue", params={"view": "all", "tag": tag})).text
            assert tid in queue and f"<option selected>{tag}</option>" in queue
            assert tid not in (await ana.get("/console/queue", params={"view": "all", "tag": "no-such-tag"})).text
            remove = re.search(
                r'<form[^>]*decide"[^>]*>((?:(?!</form>).)*name="remove" value="formal".*?)</form>', page, re.S
            )
            assert remove
            fields = dict(re.findall(r'<input type="hidden" name="([a-z_]+)" value="([^"]*)"', remove[1]))
            assert (await ana.post(f"/console/tickets/{tid}/decide", data=fields)).status_code == 303
            await stack.wait_ticket(tid, lambda t: t["tags"] == [tag])

            # re-categorised: the page and the row say so
            page = (await ana.get(f"/console/tickets/{tid}")).text
            data = {**form_fields(page, "recategorise"), "category": "account", "reason": "it is a login problem"}
            r = await ana.post(f"/console/tickets/{tid}/decide", data=data)
            assert r.status_code == 303, r.text
            await stack.wait_ticket(tid, lambda t: t["category"] == "account")
            page = (await ana.get(f"/console/tickets/{tid}")).text
            assert "<option selected>account</option>" in page and "it is a login problem" in page
