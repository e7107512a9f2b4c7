"""A whole mail with a 10 MB attachment through `POST /inbound/email` (its own INBOUND_EMAIL_MAX_BYTES),
while every other endpoint keeps the API's 256 KiB; the attachment is kept outside the ticket's history."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from channels.email.parse import parse
from db import email as store
from settings import Settings
from tests import email_samples as s
from tests.api_stack import Stack, serve_api

pytestmark = pytest.mark.timeout(120)
log = logging.getLogger("tests.email")


@pytest.fixture
def mail_settings(stack: Stack, tmp_path: Path) -> Settings:
    return stack.settings.model_copy(update={"EMAIL_ADDRESS": s.SUPPORT, "DATA_DIR": tmp_path})


async def test_a_10_mb_attachment_through_the_endpoint(stack: Stack, mail_settings: Settings) -> None:
    raw = s.big_attachment(sender=s.DANIEL)
    assert len(raw) > 13 * 1024 * 1024  # base64: 10 MiB of bytes is ~13.5 MiB of mail
    async with serve_api(mail_settings) as http:
        started = time.monotonic()
        r = await http.post("/inbound/email", content=raw, headers={"Content-Type": "message/rfc822"})
        took = time.monotonic() - started
        assert r.status_code == 200, r.text
        assert r.json()["outcome"] == "opened" and r.json()["duplicate"] is False
        tid = r.json()["ticket_id"]
        # Other endpoints keep their limit: 300 KB of JSON to POST /tickets is still refused.
        big_json = b'{"customer_email": "a@b.example", "subject": "x", "body": "' + b"x" * 300_000 + b'"}'
        small = await http.post("/tickets", content=big_json, headers={"Content-Type": "application/json"})
        assert small.status_code == 413 and small.json()["error"]["code"] == "payload_too_large"
        assert "262144" in small.json()["error"]["message"]
    log.info("10 MiB attachment (%d bytes of mail) through POST /inbound/email: %.2fs", len(raw), took)

    (kept,) = await store.attachments_of(stack.pool, parse(raw).message_id)
    assert (kept.filename, kept.size_bytes) == ("export-logs-déc.zip", 10 * 1024 * 1024)
    assert kept.stored_path and (await asyncio.to_thread(Path(kept.stored_path).stat)).st_size == 10 * 1024 * 1024
    # The ticket's message names the attachment; its bytes are not in the history.
    for _ in range(150):
        body = await stack.pool.fetchval(
            "SELECT body FROM messages WHERE ticket_id = $1 AND sender = 'customer' ORDER BY seq LIMIT 1", tid
        )
        if body is not None:
            break
        await asyncio.sleep(0.2)
    assert body is not None and len(body) < 2000
    assert "[attachment: export-logs-déc.zip (application/zip, 10485760 bytes)]" in body


async def test_a_mail_over_the_cap_is_refused_with_a_reason(stack: Stack, mail_settings: Settings) -> None:
    capped = mail_settings.model_copy(update={"INBOUND_EMAIL_MAX_BYTES": 1024 * 1024})
    raw = s.big_attachment(sender=s.DANIEL, size=2 * 1024 * 1024)
    async with serve_api(capped) as http:
        r = await http.post("/inbound/email", content=raw)
        assert r.status_code == 413
        error = r.json()["error"]
        assert error["code"] == "payload_too_large" and "INBOUND_EMAIL_MAX_BYTES" in error["message"]

        async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: counted as it streams, refused past the cap
            for i in range(0, len(raw), 64 * 1024):
                yield raw[i : i + 64 * 1024]

        streamed = await http.post("/inbound/email", content=chunks())
        assert streamed.status_code == 413 and "INBOUND_EMAIL_MAX_BYTES" in streamed.json()["error"]["message"]
        # Under the cap it is taken.
        ok = await http.post("/inbound/email", content=s.big_attachment(sender=s.DANIEL, size=512 * 1024))
        assert ok.status_code == 200 and ok.json()["outcome"] == "opened"
    assert await store.get_inbound(stack.pool, parse(raw).message_id) is None
