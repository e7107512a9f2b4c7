"""IMAP IDLE against Dovecot: a mail appended to the mailbox is imported within about 2 s although the
poller would look only every 10 minutes (so it was IDLE, not polling); IDLE is re-issued on time and
survives a dropped connection; a server without IDLE is polled. Each mail is still imported once."""

from __future__ import annotations

import asyncio
import inspect
import logging
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from channels.email.imap import ImapConfig, ImapPoller
from channels.email.inbound import EmailIngest
from channels.email.parse import parse
from channels.webhooks.sender import in_background
from db import email as store
from tests import email_samples as s
from tests.api_stack import Stack
from tests.email_servers import Dovecot, dovecot, dovecot_without_idle  # noqa: F401 - fixtures

pytestmark = pytest.mark.timeout(180)
log = logging.getLogger("tests.email")
LONG_POLL_S = 600.0  # the poller's own look: far beyond every wait below


@pytest.fixture
def ingest(stack: Stack, tmp_path: Path) -> EmailIngest:
    settings = stack.settings.model_copy(update={"EMAIL_ADDRESS": s.SUPPORT, "DATA_DIR": tmp_path})
    return EmailIngest(stack.pool, stack.client, settings)


def _config(box: Dovecot, mailbox: str) -> ImapConfig:
    return ImapConfig(box.host, box.port, box.user, box.password, mailbox, "none")


async def _until(what: str, check: Callable[[], object], within: float) -> float:
    """Seconds until `check()` (sync or async) is true; fails after `within`."""
    started = time.monotonic()
    while True:
        value = check()
        if inspect.isawaitable(value):
            value = await value
        if value:
            return time.monotonic() - started
        if time.monotonic() - started > within:
            raise AssertionError(f"{what}: not within {within}s")
        await asyncio.sleep(0.02)


async def _imported_within(stack: Stack, box: Dovecot, mailbox: str, within: float) -> float:
    """Append a new mail and measure how long until the poller has taken it."""
    raw = s.gmail(sender=s.DANIEL, text=f"Question {uuid.uuid4().hex[:6]} about our dashboards.")
    mid = parse(raw).message_id
    await asyncio.to_thread(box.append, raw, mailbox)
    return await _until(f"mail {mid}", lambda: store.get_inbound(stack.pool, mid), within)


async def test_idle_imports_at_once_renews_and_survives_a_drop(
    stack: Stack,
    dovecot: Dovecot,  # noqa: F811
    ingest: EmailIngest,
) -> None:
    mailbox = f"idle{uuid.uuid4().hex[:8]}"
    await asyncio.to_thread(dovecot.append, s.gmail(sender=s.DANIEL), mailbox)  # makes the mailbox
    poller = ImapPoller(stack.pool, ingest, _config(dovecot, mailbox), poll_s=LONG_POLL_S, idle=True, idle_renew_s=1.0)
    assert poller.watcher is not None
    async with in_background(poller.run, "imap-test", 30):
        await _until("waiting in IDLE", lambda: poller.mode == "idle", 15)
        first = await _imported_within(stack, dovecot, mailbox, 5)

        # IDLE re-issued every second (EMAIL_IMAP_IDLE_RENEW_S): still told at once.
        issued = poller.watcher.idles_issued
        await _until(
            "three renewals", lambda: poller.watcher is not None and poller.watcher.idles_issued >= issued + 3, 10
        )
        renewed = await _imported_within(stack, dovecot, mailbox, 5)

        # The server drops the session: the watcher reconnects and waits in IDLE again.
        await asyncio.to_thread(dovecot.kick)
        await _until("reconnected", lambda: poller.watcher is not None and poller.watcher.connections >= 2, 15)
        await _until("waiting in IDLE again", lambda: poller.mode == "idle", 15)
        after_drop = await _imported_within(stack, dovecot, mailbox, 5)
    log.info("IDLE import latency: %.2fs first, %.2fs after renewals, %.2fs after a drop", first, renewed, after_drop)
    assert max(first, renewed, after_drop) < 2.5

    # Each mail once: the mailbox holds four, all taken, and a restarted poller takes none again.
    taken = await stack.pool.fetchval(
        "SELECT last_uid FROM email_imap_state WHERE mailbox = $1", _config(dovecot, mailbox).key
    )
    assert taken == 4
    assert await ImapPoller(stack.pool, ingest, _config(dovecot, mailbox), idle=False).poll_once() == 0


async def test_a_server_without_idle_is_polled(
    stack: Stack,
    dovecot_without_idle: Dovecot,  # noqa: F811
    ingest: EmailIngest,
) -> None:
    box = dovecot_without_idle
    mailbox = f"poll{uuid.uuid4().hex[:8]}"
    await asyncio.to_thread(box.append, s.gmail(sender=s.DANIEL), mailbox)
    poller = ImapPoller(stack.pool, ingest, _config(box, mailbox), poll_s=1.0, idle=True)
    assert poller.watcher is not None
    async with in_background(poller.run, "imap-test", 30):
        await _until(
            "IDLE found missing", lambda: poller.watcher is not None and poller.watcher.state == "unsupported", 15
        )
        assert poller.mode == "polling"
        took = await _imported_within(stack, box, mailbox, 10)
    log.info("polling (1 s) import latency without IDLE: %.2fs", took)
    assert poller.watcher.connections == 1  # it asked once and left the server alone
