"""The console end to end in a real browser (Debian's chromium, driven by Playwright) against the real
stack: sign in, see the queue, open an escalated ticket, watch a live update arrive, write an internal note
the customer never receives, approve the refund above the limit, reply and find the customer's outbox row.
CONSOLE_SCREENSHOTS=<dir> saves the pages.

Never `playwright install`: the browser is the system's (.ci/run installs it with apt)."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest

from tests.api_stack import Stack, serve_api
from tests.console_helpers import AGENT_KEYS, AS_CHANNEL, KEYS, pending_refund

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run",
]  # fmt: skip
NOTE = "Renewal was auto-charged after the cancellation request; finance agrees to refund."
pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium (apt-get install chromium)")


async def test_an_agent_works_an_escalated_ticket_in_the_browser(stack: Stack) -> None:
    from playwright.async_api import async_playwright, expect

    shots = os.environ.get("CONSOLE_SCREENSHOTS")
    async with serve_api(stack.settings.model_copy(update={"AGENT_KEYS": AGENT_KEYS})) as http:
        tid, _ = await pending_refund(stack, http, "cus_1003")
        base = str(http.base_url).rstrip("/")
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
            try:
                page = await browser.new_page(viewport={"width": 1366, "height": 768})
                page.set_default_timeout(20_000)
                # sign in with the team lead's own key
                await page.goto(f"{base}/console/queue")
                await page.fill("#key", KEYS["lead"][0])
                await page.click("button[type=submit]")
                await expect(page.locator("#me")).to_have_text("lead")
                # the queue: the ticket waits for approval
                await page.click('[data-view="approval"]')
                row = page.locator(f'tr[data-ticket="{tid}"]')
                await expect(row).to_be_visible()
                if shots:
                    await page.screenshot(path=f"{shots}/queue.png")
                # open it: the pending refund, the customer
                await row.locator("a").click()
                await expect(page.locator("section.pending h2")).to_contain_text("$2539.80")
                await page.wait_for_selector("body[data-live-ready]", state="attached")
                # a live update: the customer writes while the page is open
                r = await http.post(
                    f"/tickets/{tid}/messages", json={"body": "Any news on my refund, please?"}, headers=AS_CHANNEL
                )
                assert r.status_code == 202, r.text
                await expect(page.locator("ol.timeline")).to_contain_text("Any news on my refund", timeout=20_000)
                if shots:
                    await page.screenshot(path=f"{shots}/ticket.png", full_page=True)
                # an internal note (n focuses the note box): in the timeline, marked internal; never the customer's
                await page.locator("body").press("n")
                await expect(page.locator("#note-body")).to_be_focused()
                await page.keyboard.type(NOTE)
                await page.click("#note-form button[type=submit]")
                await expect(page.locator("p.notice")).to_contain_text("The customer does not see it")
                note = page.locator("ol.timeline li.event.note.internal")
                await expect(note).to_contain_text(NOTE)
                await expect(note).to_contain_text("not sent to the customer")
                if shots:
                    await note.scroll_into_view_if_needed()
                    await page.screenshot(path=f"{shots}/note.png")
                sent = await stack.pool.fetchval(
                    "SELECT count(*) FROM customer_outbox WHERE ticket_id = $1 AND body LIKE '%' || $2 || '%'",
                    tid,
                    NOTE,
                )
                assert sent == 0
                r = await http.get(f"/tickets/{tid}/messages", headers=AS_CHANNEL)
                assert r.status_code == 200 and all(NOTE not in m["body"] for m in r.json())
                # approve the refund above the agents' limit; the ticket moves on
                await page.fill("section.pending input[name=note]", "checked the renewal date")
                await page.click("section.pending button[value=approve]")
                await expect(page.locator("p.notice")).to_have_text("Approved.")
                await stack.wait_ticket(tid, lambda t: not t["pending_actions"] and t["status"] != "in_progress")
                # reply from a fresh screen; the customer's outbox gets the row
                await page.goto(f"{base}/console/tickets/{tid}")
                await expect(page.locator("section.pending")).to_have_count(0)
                await page.fill("#reply-body", "Your refund is approved; you will see it in 5-10 days.")
                await page.click("#reply-form button[type=submit]")
                await expect(page.locator("p.notice")).to_have_text("Reply sent to the customer.")
                row_in_outbox = await stack.pool.fetchrow(
                    "SELECT sender, author FROM customer_outbox WHERE ticket_id = $1 AND body LIKE 'Your refund is%'",
                    tid,
                )
                assert row_in_outbox is not None and row_in_outbox["author"] == "lead"
                # the dashboard
                await page.click("text=Dashboard")
                await expect(page.locator("#metrics")).to_be_visible()
                if shots:
                    await page.screenshot(path=f"{shots}/dashboard.png", full_page=True)
                    await page.goto(f"{base}/console/queue?view=all")
                    await page.screenshot(path=f"{shots}/queue-all.png")
            finally:
                await browser.close()


async def test_reply_box_tools_and_a_second_viewer_in_the_browser(stack: Stack) -> None:
    """A saved reply inserted with the customer's name filled in, a help article's passage inserted from the
    search, and a second person opening the same ticket shown on the first one's page."""
    from playwright.async_api import async_playwright, expect

    from db.customers import get_customer
    from db.saved_replies import create_saved_reply

    title = f"Refund approved {uuid.uuid4().hex[:6]}"
    await create_saved_reply(stack.pool, title, "Hi {{customer.first_name}}, your refund is on its way.", "test")
    customer = await get_customer(stack.pool, "cus_1005")
    assert customer is not None
    async with serve_api(stack.settings.model_copy(update={"AGENT_KEYS": AGENT_KEYS})) as http:
        r = await http.post(
            "/tickets",
            json={"customer_id": "cus_1005", "subject": "Refund?", "body": "Can I get a refund of my renewal?"},
            headers=AS_CHANNEL,
        )
        assert r.status_code == 201, r.text
        tid = r.json()["ticket_id"]
        base = str(http.base_url).rstrip("/")
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
            try:
                lead = await (await browser.new_context(viewport={"width": 1366, "height": 768})).new_page()
                ana = await (await browser.new_context(viewport={"width": 1366, "height": 768})).new_page()
                for page, who in ((lead, "lead"), (ana, "ana")):
                    page.set_default_timeout(20_000)
                    await page.goto(f"{base}/console/sign-in?next=/console/tickets/{tid}")
                    await page.fill("#key", KEYS[who][0])
                    await page.click("button[type=submit]")
                    await expect(page.locator("#me")).to_have_text(who)
                # the lead's page already had a beat; ana arriving shows on it without a reload
                await expect(lead.locator("#presence")).to_contain_text("ana", timeout=20_000)
                await expect(ana.locator("#presence")).to_contain_text("lead")

                # a saved reply, filled for this customer, goes into the reply box
                await lead.select_option("#saved-reply", label=title)
                await lead.click("#insert-saved")
                await expect(lead.locator("#reply-body")).to_have_value(
                    f"Hi {customer.first_name}, your refund is on its way."
                )
                # a help article's passage goes in after it, on a paragraph of its own
                await lead.fill("#article-q", "refund annual renewal")
                await lead.press("#article-q", "Enter")
                article = lead.locator('#article-results [data-article="kb-refund-policy"]')
                await expect(article).to_be_visible()
                passage = await article.locator("button.insert-passage").get_attribute("data-insert")
                assert passage
                await article.locator("button.insert-passage").click()
                value = await lead.locator("#reply-body").input_value()
                assert value == f"Hi {customer.first_name}, your refund is on its way.\n\n{passage}"
                await article.locator("button.insert-link").click()
                assert "Refund policy: https://" in await lead.locator("#reply-body").input_value()
                if os.environ.get("CONSOLE_SCREENSHOTS"):
                    await lead.screenshot(path=f"{os.environ['CONSOLE_SCREENSHOTS']}/reply-tools.png", full_page=True)

                # ana leaves: the lead's page says nobody else is viewing
                await ana.goto(f"{base}/console/queue")
                await expect(lead.locator("#presence")).to_contain_text("Nobody else", timeout=20_000)
                # keyboard: ? lists the keys, r focuses the reply, e the resolution note
                await lead.locator("h1").click()
                await lead.keyboard.press("?")
                await expect(lead.locator("#keys-help")).to_contain_text("resolve")
                await lead.keyboard.press("Escape")
                await lead.locator("h1").click()
                await lead.keyboard.press("e")
                await expect(lead.locator("#resolve-note")).to_be_focused()
            finally:
                await browser.close()
