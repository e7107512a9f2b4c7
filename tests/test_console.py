"""The support console's pages over HTTP against the real stack: sign-in, buttons by role, a stale screen
refused with its reason, the queue's views, live events from LISTEN/NOTIFY, and the dashboard's figures
equal to GET /reports/summary."""

from __future__ import annotations

import asyncio
import html
import re
import uuid
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
        # a ticket a person answers and resolves, and its survey: something in every table
        body = {"customer_id": "cus_1004", "channel": "chat", "subject": "Exports", "body": "Can I talk to a person?"}
        tid = (await http.post("/tickets", json=body)).json()["ticket_id"]
        await stack.wait_ticket(tid, lambda t: t["status"] == "escalated")
        for decision in ({"kind": "reply", "body": "Here now."}, {"kind": "resolve", "note": "done"}):
            r = await http.post(
                f"/tickets/{tid}/decisions", json={**decision, "request_id": uuid.uuid4().hex, "agent_id": "dana"}
            )
            assert r.status_code == 200, r.text
        assert (await http.post(f"/tickets/{tid}/csat", json={"score": 4})).status_code == 202
        await stack.wait_ticket(tid, lambda t: t["status"] == "closed")
        until = datetime.now(UTC) + timedelta(minutes=1)
        window = {"since": (until - timedelta(days=3)).isoformat(), "until": until.isoformat()}
        by = ["channel", "category", "priority", "product", "agent"]
        report = (await http.get("/reports/summary", params={**window, "by": by})).json()
        assert report["tickets"] > 0 and "dana" in [a["agent"] for a in report["agents"]], report
        page = (await me.get("/console/dashboard", params=window)).text
        shown = dict(re.findall(r'<tr data-metric="([a-z_]+)" data-value="([^"]*)"', page))
        assert shown, page[:2000]
        for m in report["metrics"]:
            assert _number(shown[m["name"]]) == m["value"], m["name"]
        assert f'id="tickets">{report["tickets"]}<' in page
        assert "<svg" in page and "Live floor" in page

        # every breakdown shows the report's groups, each metric as the API computes it
        for dim in ("channel", "category", "priority", "product"):
            table = _table(page, f"by-{dim}")
            rows = re.findall(r'<tr data-group="([^"]*)" data-tickets="(\d+)">(.*?)</tr>', table, re.S)
            expected = report["breakdowns"][dim]
            # attribute text is HTML-escaped (other tests' products hold quotes and control characters)
            shown_groups = [(html.unescape(v), int(n)) for v, n, _ in rows]
            assert shown_groups == [(g["value"] or "", g["tickets"]) for g in expected], dim
            for (_, _, cells), g in zip(rows, expected, strict=True):
                values = dict(re.findall(r'data-metric="([a-z_]+)" data-value="([^"]*)"', cells))
                assert {k: _number(v) for k, v in values.items()} == {m["name"]: m["value"] for m in g["metrics"]}
        people = re.findall(r'data-agent="([^"]+)" data-handled="(\d+)"', _table(page, "by-agent"))
        assert [(html.unescape(a), int(n)) for a, n in people] == [
            (a["agent"], a["tickets_handled"]) for a in report["agents"]
        ]
        csat = re.search(r'id="csat" data-mean="([^"]*)"\s+data-responses="(\d+)"', page)
        assert csat and (_number(csat[1]), int(csat[2])) == (report["csat"]["mean"], report["csat"]["responses"])
        answers = dict(re.findall(r'data-score="(\d)">(\d+)<', page))
        assert {k: int(v) for k, v in answers.items()} == report["csat"]["distribution"]

        # a CSV of every table; the chart per week on request
        csv = await me.get("/console/dashboard.csv", params={**window, "table": "metrics"})
        assert csv.status_code == 200 and csv.text.startswith("metric,value,target")
        assert len(csv.text.strip().splitlines()) == 1 + len(report["metrics"])
        for table, header in (("channel", "channel,tickets"), ("agents", "agent,tickets_handled"),
                              ("csat", "score,answers"), ("periods", "period_start,tickets"),
                              ("floor", "table,what,value")):  # fmt: skip
            r = await me.get("/console/dashboard.csv", params={**window, "table": table})
            assert r.status_code == 200 and r.text.startswith(header), (table, r.text[:200])
        channels = (await me.get("/console/dashboard.csv", params={**window, "table": "channel"})).text
        assert len(channels.strip().splitlines()) == 1 + len(report["breakdowns"]["channel"])
        assert (await me.get("/console/dashboard.csv", params={**window, "table": "nope"})).status_code == 422
        weekly = await me.get("/console/dashboard", params={**window, "step": "week"})
        assert weekly.status_code == 200 and "Per week" in weekly.text
        assert (await me.get("/console/dashboard", params={**window, "step": "hour"})).status_code == 422


def _number(text: str) -> float | None:
    return float(text) if text else None


def _table(page: str, table_id: str) -> str:
    found = re.search(rf'<table[^>]*id="{table_id}".*?</table>', page, re.S)
    assert found, table_id
    return found[0]
