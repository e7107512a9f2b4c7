"""Bounces and the people on a thread, against aiosmtpd (what we send) and the API's stack.

A delivery report for a mail we sent marks that outbox message bounced, shows in the ticket's events and
`supportctl outbox status`, and is never answered. People the customer copied may write into the ticket
and get its answers as Cc; a stranger answering the same thread still cannot."""

from __future__ import annotations

import asyncio
import email
import json
import uuid
from collections.abc import AsyncIterator
from email import policy
from email.message import EmailMessage
from email.utils import getaddresses
from pathlib import Path

import pytest

from channels.email.inbound import EmailIngest
from channels.email.outbound import SmtpOutboxSender
from db import email_suppressions as suppressions
from settings import Settings, get_settings
from supportctl.main import main as supportctl_main
from tests import email_samples as s
from tests.api_stack import Stack, serve_api
from tests.email_servers import Recorder, smtp_peer  # noqa: F401 - fixture

pytestmark = pytest.mark.timeout(150)


@pytest.fixture
async def settings(stack: Stack, tmp_path: Path, smtp_peer: tuple[Recorder, int]) -> AsyncIterator[Settings]:  # noqa: F811
    yield stack.settings.model_copy(
        update={
            "EMAIL_ADDRESS": s.SUPPORT, "DATA_DIR": tmp_path, "AUTO_CREATE_CUSTOMERS": True,
            "EMAIL_SMTP_HOST": "127.0.0.1", "EMAIL_SMTP_PORT": smtp_peer[1], "EMAIL_SMTP_SECURITY": "none",
        }
    )  # fmt: skip


def _someone(name: str) -> tuple[str, str]:
    return name, f"{name.split()[0].lower()}.{uuid.uuid4().hex[:6]}@nordvik.example"


async def _sent_for(recorder: Recorder, sender: SmtpOutboxSender, ticket_id: str, n: int) -> list[bytes]:
    """The raw mails sent for the ticket, once there are n."""
    for _ in range(240):
        await sender.send_once()
        mine = [c for _, c in recorder.received if f"X-Support-Ticket: {ticket_id}".encode() in c]
        if len(mine) >= n:
            return mine
        await asyncio.sleep(0.25)
    raise AssertionError(f"{ticket_id}: fewer than {n} mails sent")


def _mail(raw: bytes) -> EmailMessage:
    msg = email.message_from_bytes(raw, policy=policy.default)
    assert isinstance(msg, EmailMessage)
    return msg


async def _customer_messages(stack: Stack, ticket_id: str, n: int) -> list[str]:
    for _ in range(150):
        rows = await stack.pool.fetch(
            "SELECT body FROM messages WHERE ticket_id = $1 AND sender = 'customer' ORDER BY seq", ticket_id
        )
        if len(rows) >= n:
            return [r["body"] for r in rows]
        await asyncio.sleep(0.2)
    raise AssertionError(f"{ticket_id}: fewer than {n} customer messages")


async def test_a_bounce_marks_our_mail_bounced_and_is_never_answered(
    stack: Stack,
    smtp_peer: tuple[Recorder, int],  # noqa: F811
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    recorder, _ = smtp_peer
    ingest, sender = EmailIngest(stack.pool, stack.client, settings), SmtpOutboxSender(stack.pool, settings)
    who = _someone("Lene Okafor")
    opened = await ingest.ingest(s.gmail(sender=who, text="How do I export my dashboards as PDF?"), "imap")
    tid = opened.ticket_id
    assert tid is not None
    (answer,) = await _sent_for(recorder, sender, tid, 1)
    seq = await stack.pool.fetchval("SELECT seq FROM customer_outbox WHERE ticket_id = $1", tid)
    outbox_rows = await stack.pool.fetchval("SELECT count(*) FROM customer_outbox WHERE ticket_id = $1", tid)

    # A report for a mail we never sent changes nothing.
    stray = await ingest.ingest(s.postfix_bounce(s.gmail(sender=who), who[1]), "imap")
    assert stray.outcome == "ignored" and stray.ticket_id is None and "not a mail we sent" in (stray.reason or "")
    # Delayed is news, not a failure.
    delayed = await ingest.ingest(s.postfix_bounce(answer, who[1], action="delayed", status="4.4.1"), "imap")
    assert delayed.outcome == "ignored" and delayed.ticket_id == tid
    assert await stack.pool.fetchval("SELECT bounced_at FROM customer_outbox WHERE ticket_id = $1", tid) is None

    # Postfix returns the headers (by the endpoint), Gmail the whole mail (by IMAP): one bounce recorded.
    async with serve_api(settings) as http:
        r = await http.post("/inbound/email", content=s.postfix_bounce(answer, who[1]))
        assert r.status_code == 200, r.text
        assert (r.json()["outcome"], r.json()["ticket_id"]) == ("ignored", tid)
        assert "bounced" in r.json()["reason"] and "5.1.1" in r.json()["reason"]
        events = (await http.get(f"/tickets/{tid}/events")).json()
    again = await ingest.ingest(s.gmail_bounce(answer, who[1]), "imap")
    assert again.outcome == "ignored" and again.ticket_id == tid

    row = await stack.pool.fetchrow("SELECT * FROM customer_outbox WHERE ticket_id = $1 AND seq = $2", tid, seq)
    assert row is not None and row["bounced_at"] is not None and row["delivered_at"] is not None
    assert who[1] in row["bounce_reason"] and "User unknown" in row["bounce_reason"]
    bounced = [e for e in events if e["kind"] == "email_bounced"]
    assert len(bounced) == 1 and bounced[0]["data"]["seq"] == seq and bounced[0]["data"]["status"] == "5.1.1"
    assert bounced[0]["data"]["recipients"] == [who[1]]
    assert await stack.pool.fetchval(
        "SELECT count(*) FROM ticket_events WHERE ticket_id = $1 AND kind = 'email_bounced'", tid
    ) == 1  # fmt: skip

    # Never answered: no customer message, no new outbox row, nothing more sent.
    await asyncio.sleep(1.0)
    await sender.send_once()
    assert len(await _customer_messages(stack, tid, 1)) == 1
    assert await stack.pool.fetchval("SELECT count(*) FROM customer_outbox WHERE ticket_id = $1", tid) == outbox_rows
    assert len([c for _, c in recorder.received if tid.encode() in c]) == 1

    # The operator sees it.
    monkeypatch.setenv("DATABASE_URL", stack.settings.DATABASE_URL)
    get_settings.cache_clear()
    try:
        assert await asyncio.to_thread(supportctl_main, ["outbox", "status"]) == 0
    finally:
        get_settings.cache_clear()
    out = capsys.readouterr().out
    assert f"{tid} #{seq} to {who[1]}: bounced: {who[1]} 5.1.1" in out
    assert json.loads(out.splitlines()[-1])["bounced"] >= 1


async def test_people_copied_join_the_thread_and_strangers_do_not(
    stack: Stack,
    smtp_peer: tuple[Recorder, int],  # noqa: F811
    settings: Settings,
) -> None:
    recorder, _ = smtp_peer
    closed = settings.model_copy(update={"AUTO_CREATE_CUSTOMERS": False})  # copied people are not customers
    ingest, sender = EmailIngest(stack.pool, stack.client, closed), SmtpOutboxSender(stack.pool, closed)
    # A customer of their own: the demo's addresses get automatic answers from other tests of the run, and
    # the per-recipient cap on them would set this test's answer aside.
    customer = _someone("Priya Raman")
    cid = f"cc-{uuid.uuid4().hex[:8]}"
    assert (
        await stack.http.put(f"/customers/{cid}", json={"email": customer[1], "name": customer[0]})
    ).status_code == 201
    colleague, boss, stranger = _someone("Tove Lindqvist"), _someone("Rune Aalto"), _someone("Edda Mork")
    first_id = s.new_id()
    opened = await ingest.ingest(
        s.gmail(sender=customer, message_id=first_id, cc=f"{colleague[0]} <{colleague[1]}>",
                text="Our dashboards stopped refreshing this morning. Tove in Cc sees it too."),
        "imap",
    )  # fmt: skip
    tid = opened.ticket_id
    assert opened.outcome == "opened" and tid is not None

    # Our answer goes to the customer, the colleague in Cc.
    (raw,) = await _sent_for(recorder, sender, tid, 1)
    answer = _mail(raw)
    assert answer["To"] == customer[1]
    assert [a for _, a in getaddresses([str(answer["Cc"])])] == [colleague[1]]
    ours = str(answer["Message-ID"])

    # The colleague answers all, copying their boss: taken into the ticket (not refused as an unknown
    # sender), said to be from them; the boss joins the thread.
    by_colleague = await ingest.ingest(
        s.gmail(sender=colleague, in_reply_to=ours, references=[first_id, ours], cc=f"{customer[1]}, {boss[1]}",
                text="Same here: the refresh stops at 09:00 every day."),
        "imap",
    )  # fmt: skip
    assert (by_colleague.outcome, by_colleague.ticket_id) == ("added", tid)
    bodies = await _customer_messages(stack, tid, 2)
    assert bodies[1].startswith(f"[from {colleague[0]} <{colleague[1]}>, on this e-mail thread]")
    assert "refresh stops at 09:00" in bodies[1]

    # A stranger answering the same thread (headers and all) is still refused: not on the thread.
    by_stranger = await ingest.ingest(
        s.gmail(sender=stranger, in_reply_to=ours, references=[first_id, ours], cc=customer[1],
                text="I saw this thread; can you also look at my account?"),
        "imap",
    )  # fmt: skip
    assert by_stranger.outcome == "rejected" and by_stranger.ticket_id is None
    assert by_stranger.reason and by_stranger.reason.startswith("unknown_customer")

    # The next answer goes to everyone on the thread; the customer still threads by our mail.
    sent = await _sent_for(recorder, sender, tid, 2)
    cc = [a for _, a in getaddresses([str(_mail(sent[1])["Cc"])])]
    assert cc == [colleague[1], boss[1]]
    # The colleague's mailbox hard-bounced meanwhile: the next answer leaves them out of Cc, not the customer.
    async with stack.pool.acquire() as conn:
        await suppressions.suppress(conn, [colleague[1]], status="5.1.1", reason="gone", ticket_id=tid, seq=1)
    customer_reply = await ingest.ingest(
        s.apple_mail(customer, in_reply_to=by_colleague.message_id, text="Thanks both, it is every morning."),
        "imap",
    )
    assert (customer_reply.outcome, customer_reply.ticket_id) == ("added", tid)
    third = _mail((await _sent_for(recorder, sender, tid, 3))[2])
    assert third["To"] == customer[1] and [a for _, a in getaddresses([str(third["Cc"])])] == [boss[1]]
    # The stranger's text never reached the ticket.
    bodies = await _customer_messages(stack, tid, 3)
    assert not any("my account" in b for b in bodies)
