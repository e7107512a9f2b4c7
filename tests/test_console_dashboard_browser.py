"""The team lead's dashboard in a real browser (Debian's chromium, driven by Playwright): what the page
shows in its breakdown tables (channel, category, priority, product, person) and its CSAT distribution,
and the CSV files its links download, equal GET /reports/summary?by=... for the same window.

The window starts just before this test's own tickets, so other tests' tickets (and their workflows, still
moving in the background) stay out of it."""

from __future__ import annotations

import asyncio
import csv
import io
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import httpx
import pytest

from tests.api_stack import Stack, serve_api

if TYPE_CHECKING:
    from playwright.async_api import Page

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]  # fmt: skip
DIMENSIONS = ("channel", "category", "priority", "product")
pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium (apt-get install chromium)")

# What a breakdown row shows: the group, its tickets and resolved counts, each metric (the exact value the
# cell carries) and the CSAT answers.
ROWS_JS = """table => [...table.querySelectorAll("tbody tr[data-group]")].map(tr => ({
    group: tr.querySelector("th").innerText.trim(),
    tickets: tr.cells[1].innerText.trim(),
    resolved: tr.cells[2].innerText.trim(),
    metrics: Object.fromEntries([...tr.querySelectorAll("td[data-metric]")].map(
        td => [td.dataset.metric, td.dataset.value])),
    csat_answers: tr.cells[tr.cells.length - 1].innerText.trim(),
}))"""
PEOPLE_JS = """table => [...table.querySelectorAll("tbody tr[data-agent]")].map(
    tr => [...tr.cells].map(c => c.innerText.trim()))"""
CSAT_JS = """table => Object.fromEntries([...table.querySelectorAll("td[data-score]")].map(
    td => [td.dataset.score, td.innerText.trim()]))"""


async def _tickets_worked_by_people(stack: Stack, http: httpx.AsyncClient, people: list[str]) -> list[str]:
    """Tickets across channels and products: one answered and resolved by each person, with a survey."""
    asks = [
        ("chat", "cus_1031", "Can I talk to a person about my exports?", 4),
        ("email", "cus_1032", "I want to speak to a human about the invoice, please.", 2),
        ("api", "cus_1033", "How do I export a funnel to CSV?", None),
    ]
    product = f"dash-{uuid.uuid4().hex[:6]}"
    opened = []
    for i, (channel, customer, body, _) in enumerate(asks):
        ticket = {"customer_id": customer, "channel": channel, "subject": f"Dashboard {i}", "body": body}
        if i == 0:
            ticket["product"] = product
        r = await http.post("/tickets", json=ticket)
        assert r.status_code == 201, r.text
        opened.append(r.json()["ticket_id"])
    for tid, person, (_, _, _, score) in zip(opened, people + [None], asks, strict=True):
        if person is None:  # left with the agents
            await stack.wait_ticket(tid, lambda t: t["status"] in ("waiting_customer", "escalated"))
            continue
        await stack.wait_ticket(tid, lambda t: t["status"] == "escalated")
        for decision in ({"kind": "reply", "body": "I'm here, looking now."}, {"kind": "resolve", "note": "done"}):
            r = await http.post(
                f"/tickets/{tid}/decisions", json={**decision, "request_id": uuid.uuid4().hex, "agent_id": person}
            )
            assert r.status_code == 200, r.text
        assert (await http.post(f"/tickets/{tid}/csat", json={"score": score})).status_code == 202
        await stack.wait_ticket(tid, lambda t: t["status"] == "closed")
    return opened


def _shown(value: float | None) -> str:
    """A metric as its cell carries it (Python's repr of the float the report holds; empty for none)."""
    return "" if value is None else str(value)


async def _download(page: Page, table: str) -> tuple[str, list[dict[str, str]]]:
    """Click a table's CSV link as a person would; the file's name and its rows."""
    async with page.expect_download() as info:
        await page.locator(f"#{table} caption a", has_text="CSV").click()
    download = await info.value
    text = await asyncio.to_thread(Path(await download.path()).read_text)
    return download.suggested_filename, list(csv.DictReader(io.StringIO(text)))


async def test_dashboard_tables_and_csv_equal_the_report_in_the_browser(stack: Stack) -> None:
    from playwright.async_api import async_playwright, expect

    people = [f"dana-{uuid.uuid4().hex[:4]}", f"omar-{uuid.uuid4().hex[:4]}"]
    async with serve_api(stack.settings) as http:
        opened = await _tickets_worked_by_people(stack, http, people)
        # The window is exactly these tickets' opening times: the run's database holds other tests' tickets,
        # some opened a moment before these.
        created = [datetime.fromisoformat((await http.get(f"/tickets/{tid}")).json()["created_at"]) for tid in opened]
        since, until = min(created), max(created) + timedelta(milliseconds=1)
        window = {"since": since.isoformat(), "until": until.isoformat()}
        r = await http.get("/reports/summary", params={**window, "by": [*DIMENSIONS, "agent"]})
        assert r.status_code == 200, r.text
        report: dict[str, Any] = r.json()
        assert report["tickets"] == 3 and {a["agent"] for a in report["agents"]} == set(people), report
        assert len(report["breakdowns"]["channel"]) == 3 and report["csat"]["responses"] == 2

        base = str(http.base_url).rstrip("/")
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
            try:
                page = await browser.new_page(viewport={"width": 1366, "height": 768}, accept_downloads=True)
                page.set_default_timeout(20_000)
                await page.goto(f"{base}/console/sign-in?next=/console/dashboard")
                await page.fill("#name", "lead")
                await page.click("button[type=submit]")
                await page.goto(f"{base}/console/dashboard?{urlencode(window)}")
                await expect(page.locator("#tickets")).to_have_text(str(report["tickets"]))

                # each breakdown table, as the page shows it, is the report's breakdown
                for dim in DIMENSIONS:
                    rows = await page.locator(f"#by-{dim}").evaluate(ROWS_JS)
                    expected = [
                        {
                            "group": g["value"] or "(none)",
                            "tickets": str(g["tickets"]),
                            "resolved": str(g["resolved"]),
                            "metrics": {m["name"]: _shown(m["value"]) for m in g["metrics"]},
                            "csat_answers": str(g["csat"]["responses"]),
                        }
                        for g in report["breakdowns"][dim]
                    ]
                    assert rows == expected, dim
                # each person: tickets handled, replies, resolved, CSAT answers
                people_rows = await page.locator("#by-agent").evaluate(PEOPLE_JS)
                assert [(r[0], r[1], r[2], r[3], r[7]) for r in people_rows] == [
                    (a["agent"], str(a["tickets_handled"]), str(a["replies"]), str(a["resolved"]),
                     str(a["csat_responses"]))
                    for a in report["agents"]
                ]  # fmt: skip
                # the CSAT distribution: the table, and the histogram's bars
                answers = await page.locator("#csat-distribution").evaluate(CSAT_JS)
                assert answers == {k: str(v) for k, v in report["csat"]["distribution"].items()}
                titles = await page.locator("#csat svg.histogram rect title").all_text_contents()
                assert titles == [f"score {k}: {v}" for k, v in sorted(report["csat"]["distribution"].items())]

                # the CSV links download the same tables
                for dim in DIMENSIONS:
                    name, got = await _download(page, f"by-{dim}")
                    assert name.startswith(f"{dim}-")
                    assert [(g[dim], g["tickets"], g["resolved"], g["csat_responses"]) for g in got] == [
                        (g["value"] or "", str(g["tickets"]), str(g["resolved"]), str(g["csat"]["responses"]))
                        for g in report["breakdowns"][dim]
                    ], dim
                    for row, g in zip(got, report["breakdowns"][dim], strict=True):
                        assert {m["name"]: row[m["name"]] for m in g["metrics"]} == {
                            m["name"]: _shown(m["value"]) for m in g["metrics"]
                        }, dim
                _, got = await _download(page, "by-agent")
                assert [(p["agent"], p["tickets_handled"], p["csat_mean"]) for p in got] == [
                    (a["agent"], str(a["tickets_handled"]), _shown(a["csat_mean"])) for a in report["agents"]
                ]
                _, got = await _download(page, "csat-distribution")
                assert {p["score"]: p["answers"] for p in got} == {
                    k: str(v) for k, v in report["csat"]["distribution"].items()
                }
            finally:
                await browser.close()
