"""The support console's pages over HTTP against the real stack: sign-in, buttons by role, a stale screen
refused with its reason, the queue's views, live events from LISTEN/NOTIFY, and the dashboard's figures
equal to GET /reports/summary."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime, timedelta

import httpx

from tests.api_stack import Stack, serve_api
from tests.console_helpers import AGENT_KEYS, AS_CHANNEL, KEYS, field, form_fields, pending_refund, sign_in


def _client(http: httpx.AsyncClient) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=str(http.base_url), timeout=60)


async def test_sign_in_roles_stale_screen_and_approval(stack: Stack) -> None:
    async with serve_api(stack.settings.model_copy(update={"AGENT_KEYS": AGENT_KEYS})) as http:
        tid, action = await pending_refund(stack, http, "cus_1001")
        async with _client(http) as ana, _client(http) as lead, _client(http) as auditor, _client(http) as nobody:
            # pages need a session; a wrong key is refused
            r = await nobody.get(f"/console/tickets/{tid}")
            assert r.status_code == 303 and r.headers["location"].startswith("/console/sign-in")
            assert (await sign_in(nobody, key="not-a-key-0123456789")).status_code == 401
            # the sign-in form's token is required (CSRF)
            assert (await nobody.post("/console/sign-in", data={"key": KEYS["ana"][0]})).status_code == 401
            for client, who in ((ana, "ana"), (lead, "lead"), (auditor, "auditor")):
                r = await sign_in(client, key=KEYS[who][0])
                assert r.status_code == 303, r.text
                cookie = r.headers["set-cookie"]
                assert "HttpOnly" in cookie and "SameSite=strict" in cookie.replace("Strict", "strict")

            # buttons by role: ana replies but cannot approve; the lead approves; the auditor only reads
            ana_page = (await ana.get(f"/console/tickets/{tid}")).text
            lead_page = (await lead.get(f"/console/tickets/{tid}")).text
            auditor_page = (await auditor.get(f"/console/tickets/{tid}")).text
            assert "Send reply" in ana_page and 'value="approve"' not in ana_page
            assert 'value="approve"' in lead_page and "Send reply" in lead_page
            assert "Send reply" not in auditor_page and 'value="approve"' not in auditor_page
            assert "$2539.80" in lead_page and "team-lead" in lead_page

            # the queue's approval view lists it, with its count
            q = (await lead.get("/console/queue?view=approval")).text
            assert tid in q and re.search(r'data-count="approval">\d+<', q)
            assert tid in (await lead.get("/console/queue?view=all&customer=cus_1001")).text
            assert tid not in (await lead.get("/console/queue?view=all&customer=cus_1003")).text

            # a form without the session's token is refused
            fields = form_fields(lead_page, "reply")
            r = await lead.post(f"/console/tickets/{tid}/decide", data={**fields, "csrf": "x", "body": "hi"})
            assert r.status_code == 403

            # the lead replies; ana's screen (read before) is now stale and her reply is refused, with why
            r = await lead.post(
                f"/console/tickets/{tid}/decide", data={**fields, "kind": "reply", "body": "Looking at it now."}
            )
            assert r.status_code == 303, r.text
            r = await ana.post(
                f"/console/tickets/{tid}/decide",
                data={**form_fields(ana_page, "reply"), "kind": "reply", "body": "Me too!"},
            )
            assert r.status_code == 409, r.text
            assert "ticket_changed" in r.text and "changed since you read it" in r.text
            assert "by lead" in r.text  # who acted, and when
            assert "Me too!" in r.text  # the draft is kept

            # the lead approves from a fresh screen; the refund leaves the pending list
            fresh = (await lead.get(f"/console/tickets/{tid}")).text
            data = {**form_fields(fresh, "approve"), "kind": "approve", "note": "checked", "message": ""}
            assert data["action_request_id"] == action
            r = await lead.post(f"/console/tickets/{tid}/decide", data=data)
            assert r.status_code == 303, r.text
            await stack.wait_ticket(tid, lambda t: not t["pending_actions"])

            # sign-out ends the session
            r = await lead.post("/console/sign-out", data={"csrf": field(fresh, "csrf")})
            assert r.status_code == 303
            lead.cookies.clear()
            assert (await lead.get("/console/queue")).status_code == 303


async def test_demo_sign_in_by_name_and_live_events(stack: Stack) -> None:
    async with serve_api(stack.settings) as http, _client(http) as me:
        page = (await me.get("/console/sign-in")).text
        assert "Local demo" in page and "no AGENT_KEYS" in page
        assert (await sign_in(me, name="dana")).status_code == 303
        q = await me.get("/console/queue?view=mine")
        assert (
            q.status_code == 200 and "dana" in q.text and "default-src 'self'" in q.headers["content-security-policy"]
        )

        async with me.stream("GET", "/console/stream") as events:
            lines = events.aiter_lines()
            assert (await anext(lines)).startswith("retry:")
            body = {"customer_id": "cus_1002", "channel": "chat", "subject": "Export", "body": "How do I export CSV?"}
            r = await http.post("/tickets", json=body, headers=AS_CHANNEL)
            tid = r.json()["ticket_id"]
            async with asyncio.timeout(20):
                async for line in lines:
                    if line.startswith("data:") and tid in line:
                        break


async def test_dashboard_figures_equal_the_report(stack: Stack) -> None:
    async with serve_api(stack.settings) as http, _client(http) as me:
        await sign_in(me, name="lead")
        until = datetime.now(UTC) + timedelta(minutes=1)
        window = {"since": (until - timedelta(days=3)).isoformat(), "until": until.isoformat()}
        report = (await http.get("/reports/summary", params=window)).json()
        page = (await me.get("/console/dashboard", params=window)).text
        shown = dict(re.findall(r'data-metric="([a-z_]+)" data-value="([^"]*)"', page))
        assert shown, page[:2000]
        for m in report["metrics"]:
            assert (float(shown[m["name"]]) if shown[m["name"]] else None) == m["value"], m["name"]
        assert f'id="tickets">{report["tickets"]}<' in page
        assert "<svg" in page and "Live floor" in page
        csv = await me.get("/console/dashboard.csv", params={**window, "table": "metrics"})
        assert csv.status_code == 200 and csv.text.startswith("metric,value,target")
        assert len(csv.text.strip().splitlines()) == 1 + len(report["metrics"])
        floor = await me.get("/console/dashboard.csv", params={**window, "table": "floor"})
        assert "open by status" in floor.text or floor.text.startswith("table,what,value")
