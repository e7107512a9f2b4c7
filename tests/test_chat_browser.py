"""The chat widget end to end in headless Chromium (the system's /usr/bin/chromium, driven by
Playwright): the page loads the widget from the API, the visitor writes, the agent's reply appears
live, a hand-over notice shows and the person's reply follows; a reload shows the conversation again."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import AsyncIterator

import pytest

from channels.chat.tokens import issue_token
from tests.api_stack import Stack
from tests.test_chat import SECRET, _visitor, chat_api

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]  # fmt: skip

pytestmark = pytest.mark.skipif(shutil.which(CHROMIUM) is None, reason="needs Debian's chromium")


@pytest.fixture
async def browser() -> AsyncIterator[object]:
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        b = await p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield b
        await b.close()


async def test_the_widget_in_a_browser(stack: Stack, browser: object) -> None:
    from playwright.async_api import Browser, expect

    assert isinstance(browser, Browser)
    async with chat_api(stack) as http:
        _, token = await _visitor(stack)
        page = await browser.new_page()
        await page.goto(f"{http.base_url}/chat/page?token={token}")
        await page.fill("#support-chat textarea", "Can I talk to a person? My CSV export fails.")
        await page.click("#support-chat button[type=submit]")
        log = page.locator("#support-chat ol")
        await expect(log.locator("[data-sender=customer]")).to_have_count(1, timeout=30_000)
        notice = page.locator("#support-chat [data-role=notice]")
        await expect(notice).to_contain_text("person will take over", timeout=60_000)
        tid = await stack.pool.fetchval(
            "SELECT ticket_id FROM messages WHERE body = 'Can I talk to a person? My CSV export fails.' "
            "ORDER BY created_at DESC LIMIT 1"
        )
        reply = {"kind": "reply", "request_id": uuid.uuid4().hex, "agent_id": "ana", "body": "Ana here, on it."}
        assert (await stack.http.post(f"/tickets/{tid}/decisions", json=reply)).status_code == 200
        await expect(log.locator("[data-sender=human]")).to_have_text("Ana here, on it.", timeout=30_000)
        # A reload: the same conversation, each message once.
        before = await log.locator("li").count()
        await page.reload()
        await expect(page.locator("#support-chat [data-sender=human]")).to_have_count(1, timeout=30_000)
        assert await page.locator("#support-chat ol li").count() == before
        # Another visitor's token in the same browser sees none of it.
        other = await browser.new_page()
        await other.goto(f"{http.base_url}/chat/page?token={issue_token(SECRET, 'cus_nobody')}")
        await expect(other.locator("#support-chat [data-role=error]")).to_be_hidden()
        assert await other.locator("#support-chat ol li").count() == 0
