"""The chat widget end to end in headless Chromium (the system's /usr/bin/chromium, driven by
Playwright): the page loads the widget from the API, the visitor writes, the agent's reply appears
live, a hand-over notice shows and the person's reply follows; a reload shows the conversation again.
With a streaming provider model (a scripted OpenAI-compatible stream, slow enough to watch), the visitor
sees "Support is typing…" while the reply is written, then the final message, never a draft's words."""

from __future__ import annotations

import asyncio
import json
import shutil
import uuid
from collections.abc import AsyncIterator
from typing import Any, cast

import httpx2
import pytest
from pydantic import SecretStr

from activities.conversation import ConversationActivities
from agents.model_client import build_model_client
from agents.model_settings import ModelSettings
from channels.chat.tokens import issue_token
from kb.index import KnowledgeBase
from tests.api_stack import Stack, serve_api
from tests.test_chat import SECRET, _visitor, chat_api
from worker import build_worker

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


# The first answer streams a word every 0.3 s and is cut off at max_tokens: its words exist only as drafts.
# The turn repairs it (unstreamed); that repair is the reply the visitor must read.
CUT_OFF = "Draftonly words: the export quota resets at midnight and the scheduled report runs"
FINAL = "You can export a dashboard as CSV from its menu: choose Export, then CSV. The file downloads at once."


class SlowStream:
    """An OpenAI-compatible chat-completions endpoint (httpx MockTransport) that streams slowly."""

    def __init__(self) -> None:
        self.streamed = 0

    async def __call__(self, request: httpx2.Request) -> httpx2.Response:
        body = json.loads(request.content)
        if not body.get("stream"):
            usage = {"prompt_tokens": 300, "completion_tokens": 20, "total_tokens": 320}
            choice = {"index": 0, "message": {"role": "assistant", "content": FINAL}, "finish_reason": "stop"}
            return httpx2.Response(200, json={"id": "c", "object": "chat.completion", "created": 1,
                                              "model": "m", "choices": [choice], "usage": usage})  # fmt: skip
        self.streamed += 1
        text, finish = (CUT_OFF, "length") if self.streamed == 1 else (FINAL, "stop")
        return httpx2.Response(200, headers={"content-type": "text/event-stream"}, content=self._chunks(text, finish))

    @staticmethod
    async def _chunks(text: str, finish: str) -> AsyncIterator[bytes]:
        def event(delta: dict[str, Any], finish_reason: str | None, usage: dict[str, int] | None = None) -> bytes:
            body = {"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m",
                    "choices": [] if usage else [{"index": 0, "delta": delta, "finish_reason": finish_reason}],
                    **({"usage": usage} if usage else {})}  # fmt: skip
            return f"data: {json.dumps(body)}\n\n".encode()

        yield event({"role": "assistant", "content": ""}, None)
        for word in text.split(" "):
            await asyncio.sleep(0.3)
            yield event({"content": word + " "}, None)
        yield event({}, finish)
        yield event({}, None, {"prompt_tokens": 300, "completion_tokens": 20, "total_tokens": 320})
        yield b"data: [DONE]\n\n"


class NoKb:
    async def search(self, query: str, limit: int = 5, category: str | None = None) -> list[Any]:
        return []


# Every change to the widget, as the visitor would have seen it: is the indicator shown, and the log's text.
WATCH = """() => {
  window.__seen = [];
  const root = document.querySelector("#support-chat");
  const look = () => window.__seen.push({
    typing: root.querySelector("[data-role=typing]").style.display !== "none",
    agent: root.querySelectorAll("[data-sender=agent]").length,
    text: root.textContent,
  });
  new MutationObserver(look).observe(root, {subtree: true, childList: true, characterData: true, attributes: true});
}"""


async def test_the_visitor_sees_support_typing_then_the_final_message_never_a_draft(
    stack: Stack, browser: object
) -> None:
    from playwright.async_api import Browser, expect

    assert isinstance(browser, Browser)
    stream = SlowStream()
    model = build_model_client(
        "openai_compatible", model="m", base_url="http://model.test/v1",
        settings=ModelSettings(context_window=16_384, max_output_tokens=200, streaming=True),
        http_client=httpx2.AsyncClient(transport=httpx2.MockTransport(stream)),
    )  # fmt: skip
    conversation = ConversationActivities(model, cast(KnowledgeBase, NoKb()), stack.pool)
    name = "conversation.run_agent_turn"
    activities = [a for a in stack.activities if getattr(a, "__temporal_activity_definition").name != name]  # noqa: B009
    task_queue = f"typing-{uuid.uuid4().hex[:8]}"
    settings = stack.settings.model_copy(
        update={
            "TEMPORAL_TASK_QUEUE": task_queue,
            "CHAT_SIGNING_SECRET": SecretStr(SECRET),
            "CHAT_POLL_S": 0.1,
            "CHAT_STREAM_MAX_S": 30.0,
        }
    )
    async with build_worker(stack.client, task_queue, [*activities, conversation.run_agent_turn]), \
            serve_api(settings) as http:  # fmt: skip
        _, token = await _visitor(stack)
        page = await browser.new_page()
        await page.goto(f"{http.base_url}/chat/page?token={token}")
        await page.evaluate(WATCH)
        await page.fill("#support-chat textarea", "How do I export my dashboard to CSV?")
        await page.click("#support-chat button[type=submit]")
        typing = page.locator("#support-chat [data-role=typing]")
        await expect(typing).to_be_visible(timeout=60_000)
        await expect(typing).to_have_text("Support is typing…")
        agent = page.locator("#support-chat [data-sender=agent]")
        await expect(agent).to_have_text(FINAL, timeout=60_000)
        await expect(typing).to_be_hidden()
        seen: list[dict[str, Any]] = await page.evaluate("window.__seen")
        assert await agent.count() == 1
        await page.close()  # its event stream open would hold the API's shutdown

    assert stream.streamed >= 1
    shown = [v for v in seen if v["typing"]]
    assert shown and all(v["agent"] == 0 for v in shown)  # typing only before the reply arrived
    before = [v["text"] for v in seen if v["agent"] == 0]
    for words in ("Draftonly", "export quota", "You can export a dashboard"):
        assert not any(words in t for t in before), words  # no draft's words before the final message
    assert not any("Draftonly" in v["text"] for v in seen)  # the cut-off draft's words never, at all
