"""A whole mail with a 10 MB attachment through `POST /inbound/email` (its own INBOUND_EMAIL_MAX_BYTES),
while every other endpoint keeps the API's 256 KiB; the attachment is kept outside the ticket's history."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from channels.email.parse import parse
from db import email as store
from settings import Settings
from tests import email_samples as s
from tests.api_stack import Stack, serve_api
from tests.test_api_input import _Uploader  # the raw chunked client of the API's own limit test

pytestmark = pytest.mark.timeout(120)
log = logging.getLogger("tests.email")


@pytest.fixture
def mail_settings(stack: Stack, tmp_path: Path) -> Settings:
    return stack.settings.model_copy(update={"EMAIL_ADDRESS": s.SUPPORT, "DATA_DIR": tmp_path})


async def _declared(http: httpx.AsyncClient, path: str, length: int) -> tuple[int, dict[str, Any]]:
    """POST only the head, declaring `length` bytes: a body over the limit is refused before it is read
    (sending it too would race the server's close: a reset can swallow the answer)."""
    url = httpx.URL(str(http.base_url))
    reader, writer = await asyncio.open_connection(url.host, url.port or 80)
    writer.write(f"POST {path} HTTP/1.1\r\nHost: {url.host}\r\nContent-Length: {length}\r\n\r\n".encode())
    answer = await asyncio.wait_for(reader.read(), timeout=30)
    writer.close()
    head, _, body = answer.partition(b"\r\n\r\n")
    error: dict[str, Any] = json.loads(body)["error"]
    return int(head.split()[1]), error


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
        # Other endpoints keep their limit: 300 KB to POST /tickets is still refused.
        status, error = await _declared(http, "/tickets", 300_000)
        assert status == 413 and error["code"] == "payload_too_large" and "262144" in error["message"]
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
        status, error = await _declared(http, "/inbound/email", len(raw))
        assert status == 413
        assert error["code"] == "payload_too_large" and "INBOUND_EMAIL_MAX_BYTES" in error["message"]

        # No Content-Length (chunked): counted as it streams in, refused once past the cap, connection closed.
        url = httpx.URL(str(http.base_url))
        _, client = await asyncio.get_running_loop().create_connection(_Uploader, url.host, url.port or 80)
        head = (f"POST /inbound/email HTTP/1.1\r\nHost: {url.host}\r\nContent-Type: message/rfc822\r\n"
                "Transfer-Encoding: chunked\r\n\r\n").encode()  # fmt: skip
        pushing = asyncio.create_task(client.push(head, b"x" * 65_536, 64 * 1024 * 1024))
        try:
            await asyncio.wait_for(client.closed.wait(), timeout=30)
        finally:
            pushing.cancel()
            client.transport.close()
        # The server closes with our bytes still unread, so TCP may reset and swallow the 413 itself (the
        # same refusal with a declared length is checked above); when it arrives, it came early.
        if client.received:
            assert client.received.startswith(b"HTTP/1.1 413") and b"INBOUND_EMAIL_MAX_BYTES" in client.received
            assert client.sent_at_first_byte is not None and client.sent_at_first_byte < 16 * 1024 * 1024
        # Under the cap it is taken.
        ok = await http.post("/inbound/email", content=s.big_attachment(sender=s.DANIEL, size=512 * 1024))
        assert ok.status_code == 200 and ok.json()["outcome"] == "opened"
    assert await store.get_inbound(stack.pool, parse(raw).message_id) is None
