"""The console's workspace tools over HTTP against the real stack: saved replies (the JSON API and the
console's page, filled into a ticket's reply box), the help-article search the reply box inserts from,
and who else is viewing a ticket (beats, the `viewers` event over the live stream, leaving)."""

from __future__ import annotations

import asyncio
import html
import re
import uuid

import httpx

from db.customers import get_customer
from tests.api_stack import Stack, serve_api
from tests.console_helpers import AGENT_KEYS, AS_CHANNEL, KEYS, field, sign_in


def _client(http: httpx.AsyncClient) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=str(http.base_url), timeout=60)


async def _ticket(http: httpx.AsyncClient, customer_id: str, subject: str, body: str) -> str:
    r = await http.post(
        "/tickets", json={"customer_id": customer_id, "subject": subject, "body": body}, headers=AS_CHANNEL
    )
    assert r.status_code == 201, r.text
    tid: str = r.json()["ticket_id"]
    return tid


async def test_saved_replies_api_rules(stack: Stack) -> None:
    http = stack.http
    title = f"Greeting {uuid.uuid4().hex[:6]}"
    r = await http.post("/saved-replies", json={"title": title, "body": "Hi {{customer.first_name}}!"})
    assert r.status_code == 201, r.text
    saved = r.json()
    assert saved["title"] == title and saved["created_by"] == "api"
    assert title in [s["title"] for s in (await http.get("/saved-replies")).json()]
    # titles are unique regardless of case; a placeholder that does not exist is refused with the list
    again = await http.post("/saved-replies", json={"title": title.upper(), "body": "x"})
    assert (again.status_code, again.json()["error"]["code"]) == (409, "title_taken")
    typo = await http.post("/saved-replies", json={"title": f"t {uuid.uuid4().hex}", "body": "Hi {{custmer.name}}"})
    assert (typo.status_code, typo.json()["error"]["code"]) == (422, "unknown_placeholder")
    assert "{{custmer.name}}" in typo.text and "{{customer.name}}" in typo.text
    blank = await http.post("/saved-replies", json={"title": "  ", "body": "x"})
    assert blank.status_code == 422
    # edit, read, delete; then it is gone
    one = f"/saved-replies/{saved['reply_id']}"
    r = await http.put(one, json={"title": title, "body": "Hello {{customer.name}}."})
    assert r.status_code == 200 and r.json()["body"] == "Hello {{customer.name}}."
    assert (await http.get(one)).json()["body"] == "Hello {{customer.name}}."
    assert (await http.delete(one)).status_code == 204
    gone = await http.delete(one)
    assert (gone.status_code, gone.json()["error"]["code"]) == (404, "saved_reply_not_found")
    assert (await http.put(one, json={"title": "x", "body": "y"})).status_code == 404


async def test_a_saved_reply_made_in_the_console_is_filled_in_the_reply_box(stack: Stack) -> None:
    async with serve_api(stack.settings.model_copy(update={"AGENT_KEYS": AGENT_KEYS})) as http:
        tid = await _ticket(http, "cus_1002", "CSV export is empty", "Our CSV export downloads an empty file.")
        customer = await get_customer(stack.pool, "cus_1002")
        assert customer is not None
        async with _client(http) as ana, _client(http) as auditor:
            assert (await sign_in(ana, key=KEYS["ana"][0])).status_code == 303
            assert (await sign_in(auditor, key=KEYS["auditor"][0])).status_code == 303
            page = (await ana.get("/console/saved-replies")).text
            title = f"Export help {uuid.uuid4().hex[:6]}"
            body = "Hi {{customer.first_name}}, about {{ticket.subject}} ({{ticket.id}}): {{agent.name}} here."
            r = await ana.post(
                "/console/saved-replies",
                data={"csrf": field(page, "csrf"), "op": "create", "title": title, "body": body},
            )
            assert r.status_code == 303, r.text
            # a placeholder that does not exist is refused with the reason, the draft kept
            r = await ana.post(
                "/console/saved-replies",
                data={"csrf": field(page, "csrf"), "op": "create", "title": "Typo", "body": "Hi {{customr.name}}"},
            )
            assert (
                r.status_code == 422 and "unknown_placeholder" in r.text and "{{customr.name}}" in html.unescape(r.text)
            )
            # the auditor reads the list but cannot change it
            listing = (await auditor.get("/console/saved-replies")).text
            assert title in listing and "Save changes" not in listing
            r = await auditor.post(
                "/console/saved-replies",
                data={"csrf": field(listing, "csrf"), "op": "create", "title": "Mine", "body": "No"},
            )
            assert r.status_code == 403

            # the ticket's reply box offers it, filled for this customer and ticket
            ticket_page = (await ana.get(f"/console/tickets/{tid}")).text
            m = re.search(rf'<option value="(\d+)" data-body="([^"]*)">{re.escape(title)}</option>', ticket_page)
            assert m, "the saved reply is not in the reply box"
            filled = html.unescape(m.group(2))
            assert filled == f"Hi {customer.first_name}, about CSV export is empty ({tid}): ana here."

            # deleted from the console: gone from the reply box
            r = await ana.post(
                "/console/saved-replies", data={"csrf": field(page, "csrf"), "op": "delete", "reply_id": m.group(1)}
            )
            assert r.status_code == 303
            assert title not in (await ana.get(f"/console/tickets/{tid}")).text


async def test_article_search_gives_links_and_passages_to_insert(stack: Stack) -> None:
    async with serve_api(stack.settings) as http, _client(http) as me:
        assert (await sign_in(me, name="dana")).status_code == 303
        r = await me.get("/console/articles", params={"q": "how do I get a refund of my annual renewal"})
        assert r.status_code == 200, r.text
        assert 'data-article="kb-refund-policy"' in r.text
        links = [html.unescape(x) for x in re.findall(r'class="insert-link" data-insert="([^"]*)"', r.text)]
        passages = [html.unescape(x) for x in re.findall(r'class="insert-passage" data-insert="([^"]*)"', r.text)]
        assert any(link.startswith("Refund policy") for link in links)
        assert passages and all(p.strip() for p in passages)
        assert any("14 days" in p for p in passages)
        empty = await me.get("/console/articles", params={"q": "   "})
        assert empty.status_code == 422 and "Type a few words" in empty.text
        # signed out: no search
        async with _client(http) as nobody:
            assert (await nobody.get("/console/articles", params={"q": "refund"})).status_code == 401


async def _next_event(lines: object, name: str, within: float = 15) -> str:
    async with asyncio.timeout(within):
        event = ""
        async for line in lines:  # type: ignore[attr-defined]
            if line.startswith("event:"):
                event = line.split(":", 1)[1].strip()
            elif line.startswith("data:") and event == name:
                return str(line.split(":", 1)[1].strip())
    raise AssertionError(f"no {name} event")


async def test_who_else_is_viewing_a_ticket(stack: Stack) -> None:
    async with serve_api(stack.settings.model_copy(update={"AGENT_KEYS": AGENT_KEYS})) as http:
        tid = await _ticket(http, "cus_1004", "Dashboard blank", "The dashboard shows nothing since this morning.")
        async with _client(http) as ana, _client(http) as lead, _client(http) as nobody:
            for client, who in ((ana, "ana"), (lead, "lead")):
                assert (await sign_in(client, key=KEYS[who][0])).status_code == 303
            ana_page = (await ana.get(f"/console/tickets/{tid}")).text
            assert "Nobody else is viewing this ticket." in ana_page
            presence = f"/console/tickets/{tid}/presence"
            ana_csrf = re.search(r'data-csrf="([^"]+)"', ana_page)
            assert ana_csrf
            # a beat needs the session's token
            assert (await ana.post(presence, data={"csrf": "nope"})).status_code == 403
            assert (await nobody.post(presence, data={"csrf": "x"})).status_code == 401
            r = await ana.post(presence, data={"csrf": ana_csrf.group(1)})
            assert r.status_code == 200 and "Nobody else" in r.text

            async with ana.stream("GET", f"/console/stream?ticket={tid}") as events:
                lines = events.aiter_lines()
                assert (await anext(lines)).startswith("retry:")
                # the lead opens the ticket: ana's stream says the viewers changed, her beat names the lead
                lead_page = (await lead.get(f"/console/tickets/{tid}")).text
                assert 'data-viewer="ana"' in lead_page  # the lead's page shows ana at once
                lead_csrf = re.search(r'data-csrf="([^"]+)"', lead_page)
                assert lead_csrf
                assert 'data-viewer="ana"' in (await lead.post(presence, data={"csrf": lead_csrf.group(1)})).text
                assert await _next_event(lines, "viewers") == tid
                assert 'data-viewer="lead"' in (await ana.post(presence, data={"csrf": ana_csrf.group(1)})).text
                # the lead leaves: told again, and gone from ana's list
                assert (await lead.post(f"{presence}/leave", data={"csrf": lead_csrf.group(1)})).status_code == 204
                assert await _next_event(lines, "viewers") == tid
                assert 'data-viewer="lead"' not in (await ana.post(presence, data={"csrf": ana_csrf.group(1)})).text


def test_placeholders_fill_and_unknown_ones_are_named() -> None:
    from domain.saved_replies import fill, unknown_placeholders

    body = "Hi {{ customer.first_name }}, {{customer.company}}{{ticket.id}} {{custmer.name}} {{agent.name}}"
    assert fill(body, {"customer.first_name": "", "ticket.id": "tkt_1", "agent.name": "ana"}) == (
        "Hi there, tkt_1 {{custmer.name}} ana"
    )
    assert unknown_placeholders(body + " {{custmer.name}} {{x}}") == ["custmer.name", "x"]
    assert unknown_placeholders("no placeholders, {single} braces") == []
