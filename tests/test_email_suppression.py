"""A hard bounce stops mail to the address, end to end: mail in through Dovecot (IMAP APPEND, the poller),
mail out to aiosmtpd, the API's stack, and the event webhooks to a receiver that verifies them.

A soft bounce (4.x.x) changes nothing for later answers. A hard one (5.x.x) suppresses the address: the next
answer is set aside (its outbox row refused as suppressed, an `email_suppressed` event), never sent, until
the customer writes again from that address; an admin may also clear it. Both bounces and the suppressed
answer reach the event webhook once each, with the address hashed."""

from __future__ import annotations

import asyncio
import email
import hashlib
import json
import time
import uuid
from collections.abc import AsyncIterator
from email import policy
from email.message import EmailMessage
from pathlib import Path

import httpx
import pytest

from channels.email.imap import ImapConfig, ImapPoller
from channels.email.inbound import EmailIngest
from channels.email.outbound import SmtpOutboxSender
from channels.webhooks.dispatcher import WebhookDispatcher
from channels.webhooks.signing import Signer, new_secret
from db import email_suppressions as suppressions
from settings import Settings, get_settings
from supportctl.main import main as supportctl_main
from tests import email_samples as s
from tests.api_stack import Stack
from tests.email_servers import Dovecot, Recorder, dovecot, smtp_peer  # noqa: F401 - fixtures
from tests.test_webhooks import Receiver, serve

pytestmark = pytest.mark.timeout(240)
SECRET = new_secret()


@pytest.fixture
async def settings(stack: Stack, tmp_path: Path, smtp_peer: tuple[Recorder, int]) -> AsyncIterator[Settings]:  # noqa: F811
    yield stack.settings.model_copy(
        update={
            "EMAIL_ADDRESS": s.SUPPORT, "DATA_DIR": tmp_path, "AUTO_CREATE_CUSTOMERS": True,
            "EMAIL_SMTP_HOST": "127.0.0.1", "EMAIL_SMTP_PORT": smtp_peer[1], "EMAIL_SMTP_SECURITY": "none",
        }
    )  # fmt: skip


class Mailroom:
    """Mail in by IMAP (Dovecot and the poller), mail out by SMTP (the sender, recorded by aiosmtpd)."""

    def __init__(self, stack: Stack, settings: Settings, box: Dovecot, recorder: Recorder) -> None:
        self.stack, self.box, self.recorder = stack, box, recorder
        self.mailbox = f"suppr{uuid.uuid4().hex[:8]}"
        ingest = EmailIngest(stack.pool, stack.client, settings)
        config = ImapConfig(box.host, box.port, box.user, box.password, self.mailbox, "none")
        self.poller = ImapPoller(stack.pool, ingest, config)
        self.sender = SmtpOutboxSender(stack.pool, settings)

    async def deliver(self, raw: bytes) -> None:
        await asyncio.to_thread(self.box.append, raw, self.mailbox)
        assert await self.poller.poll_once() == 1

    async def sent(self, ticket_id: str, n: int, within: float = 60) -> list[EmailMessage]:
        """The mails sent for the ticket, once there are n."""
        deadline = time.monotonic() + within
        while True:
            await self.sender.send_once()
            mails = [email.message_from_bytes(c, policy=policy.default) for _, c in self.recorder.received]
            mine = [m for m in mails if m["X-Support-Ticket"] == ticket_id]
            if len(mine) >= n:
                return mine
            assert time.monotonic() < deadline, f"{ticket_id}: {len(mine)} of {n} mails sent"
            await asyncio.sleep(0.25)

    async def outbox_row(self, ticket_id: str, seq: int) -> dict[str, object]:
        """The outbox row once the sender has dealt with it (delivered or set aside)."""
        for _ in range(240):
            await self.sender.send_once()
            row = await self.stack.pool.fetchrow(
                "SELECT * FROM customer_outbox WHERE ticket_id = $1 AND seq = $2", ticket_id, seq
            )
            if row is not None and (row["delivered_at"] or row["refused_at"]):
                return dict(row)
            await asyncio.sleep(0.25)
        raise AssertionError(f"{ticket_id} #{seq} never dealt with")


def _raw(m: EmailMessage) -> bytes:
    return m.as_bytes(policy=policy.SMTP)


def _hash(address: str) -> str:
    return hashlib.sha256(address.lower().encode()).hexdigest()


async def _events(stack: Stack, tid: str, kind: str) -> list[dict[str, object]]:
    rows = await stack.pool.fetch(
        "SELECT data FROM ticket_events WHERE ticket_id = $1 AND kind = $2 ORDER BY created_at", tid, kind
    )
    return [r["data"] if isinstance(r["data"], dict) else json.loads(r["data"]) for r in rows]


async def _suppressed(stack: Stack, address: str) -> bool:
    found: bool = await stack.pool.fetchval("SELECT EXISTS (SELECT 1 FROM email_suppressions WHERE address = $1)",
                                            address)  # fmt: skip
    return found


async def test_a_hard_bounce_stops_mail_to_the_address_until_the_customer_writes_again(
    stack: Stack,
    smtp_peer: tuple[Recorder, int],  # noqa: F811
    dovecot: Dovecot,  # noqa: F811
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    room = Mailroom(stack, settings, dovecot, smtp_peer[0])
    who = ("Maren Solberg", f"maren.{uuid.uuid4().hex[:6]}@nordvik.example")
    receiver = Receiver(SECRET)
    async with serve(receiver.app) as url, httpx.AsyncClient() as http:
        hooks = WebhookDispatcher(stack.pool, http, Signer.from_secrets([SECRET]), event_url=url, max_backoff_s=1)
        await hooks.dispatch_once()  # the endpoint's cursor starts here: earlier tests' events are not news

        first_id = s.new_id()
        await room.deliver(s.gmail(sender=who, message_id=first_id, text="How do I export my dashboards as PDF?"))
        tid = await stack.pool.fetchval("SELECT ticket_id FROM email_inbound WHERE message_id = $1", first_id)
        assert tid is not None
        (a1,) = await room.sent(tid, 1)

        # A soft bounce (mailbox full, 4.2.2) is recorded but stops nothing: the next answer is sent.
        await room.deliver(s.postfix_bounce(_raw(a1), who[1], status="4.2.2"))
        assert [e["hard"] for e in await _events(stack, tid, "email_bounced")] == [False]
        assert not await _suppressed(stack, who[1])
        await room.deliver(s.gmail(sender=who, in_reply_to=str(a1["Message-ID"]), references=[first_id],
                                   text="Thanks. Can I also schedule that PDF export every Monday?"))  # fmt: skip
        a2 = (await room.sent(tid, 2))[1]

        # A hard bounce (5.1.1 user unknown, Postfix returning the headers) suppresses the address; the
        # same failure reported again in Gmail's format (the whole mail returned) changes nothing more.
        await room.deliver(s.postfix_bounce(_raw(a2), who[1]))
        await room.deliver(s.gmail_bounce(_raw(a2), who[1]))
        bounced = await _events(stack, tid, "email_bounced")
        assert [(e["hard"], e["status"]) for e in bounced] == [(False, "4.2.2"), (True, "5.1.1")]
        assert bounced[1]["suppressed"] == [who[1]] and bounced[1]["message_id"] == str(a2["Message-ID"])
        assert str(bounced[1]["reason"]).startswith(f"bounced: {who[1]} 5.1.1")  # shown on the console's timeline
        assert await _suppressed(stack, who[1])

        # A person answers now: the answer is set aside, never sent, and the ticket says why.
        reply = {"kind": "reply", "request_id": uuid.uuid4().hex, "agent_id": "ana",
                 "body": "Ana here: scheduled exports are under Settings, then Reports."}  # fmt: skip
        r = await stack.http.post(f"/tickets/{tid}/decisions", json=reply)
        assert r.status_code == 200, r.text
        held_seq = await stack.pool.fetchval(
            "SELECT seq FROM customer_outbox WHERE ticket_id = $1 AND sender = 'human'", tid
        )
        held = await room.outbox_row(tid, held_seq)
        assert held["suppressed_at"] is not None and held["delivered_at"] is None and held["refused_at"] is not None
        assert "hard-bounced (5.1.1)" in str(held["suppress_reason"])
        (suppressed,) = await _events(stack, tid, "email_suppressed")
        assert suppressed["seq"] == held_seq and suppressed["address"] == who[1]
        await asyncio.sleep(0.5)
        await room.sender.send_once()
        assert len(await room.sent(tid, 2)) == 2 and not any(b"Ana here" in c for _, c in room.recorder.received)

        # The event webhook: both bounces and the held answer, each once, the address only as a hash.
        wanted = {"email.bounced": 2, "email.suppressed": 1}
        deadline = time.monotonic() + 30
        while True:
            mine = [p for p in receiver.processed.values() if p["data"]["ticket_id"] == tid]
            got = {t: sum(p["type"] == t for p in mine) for t in wanted}
            if got == wanted:
                break
            assert time.monotonic() < deadline, (got, receiver.tries, receiver.rejected)
            if not await hooks.dispatch_once():
                await asyncio.sleep(0.1)
        for _ in range(3):
            await hooks.dispatch_once()
        hard = next(p for p in mine if p["type"] == "email.bounced" and p["data"]["hard"])
        assert hard["data"]["outbox_key"] == f"{tid}:{bounced[1]['seq']}"
        assert hard["data"]["message_id"] == str(a2["Message-ID"]) and hard["data"]["status"] == "5.1.1"
        assert hard["data"]["recipients_sha256"] == [_hash(who[1])] == hard["data"]["suppressed_sha256"]
        assert "User unknown" in hard["data"]["reason"] and "<address>" in hard["data"]["reason"]
        held_hook = next(p for p in mine if p["type"] == "email.suppressed")
        assert held_hook["data"]["outbox_key"] == f"{tid}:{held_seq}"
        assert held_hook["data"]["address_sha256"] == _hash(who[1])
        assert all(who[1] not in json.dumps(p) for p in mine)  # no address in any payload
        ids = [w for w, p in receiver.processed.items() if p in mine and p["type"].startswith("email.")]
        assert all(receiver.tries.count(w) == 1 for w in ids), receiver.tries  # delivered once each
        logged = await stack.pool.fetchval(
            "SELECT count(*) FROM webhook_deliveries WHERE endpoint = $1 AND ticket_id = $2"
            " AND event_type LIKE 'email.%'", url, tid,
        )  # fmt: skip
        assert logged == 3

    # The customer writes again from that address: the mailbox works, so the person's next answer is sent.
    # The answer held back stays held (`supportctl outbox retry` would send it, now stale).
    await room.deliver(s.gmail(sender=who, in_reply_to=str(a2["Message-ID"]), references=[first_id],
                               text="Did you get my last mail? I changed mailbox providers."))  # fmt: skip
    assert not await _suppressed(stack, who[1])
    (lifted,) = await _events(stack, tid, "email_unsuppressed")
    assert lifted["by"] == "sender" and lifted["address"] == who[1]
    reply = {"kind": "reply", "request_id": uuid.uuid4().hex, "agent_id": "ana",
             "body": "Ana again: yes, it arrived now. Scheduled exports are under Settings, then Reports."}  # fmt: skip
    assert (await stack.http.post(f"/tickets/{tid}/decisions", json=reply)).status_code == 200
    sent = await room.sent(tid, 3)
    assert "Ana again" in str(sent[2].get_body(("plain",)))
    assert not any("Ana here" in str(m.get_body(("plain",))) for m in sent)
    assert (await room.outbox_row(tid, held_seq))["suppressed_at"] is not None

    # Another hard bounce, then an admin clears it: by the API, and (suppressed once more) by supportctl.
    await room.deliver(s.postfix_bounce(_raw(sent[2]), who[1]))
    assert await _suppressed(stack, who[1])
    listed = (await stack.http.get("/email/suppressions")).json()
    assert any(r["address"] == who[1] and r["status"] == "5.1.1" and r["ticket_id"] == tid for r in listed)
    r = await stack.http.delete(f"/email/suppressions/{who[1].upper()}")
    assert r.status_code == 200 and r.json()["address"] == who[1], r.text
    assert not await _suppressed(stack, who[1])
    assert (await stack.http.delete(f"/email/suppressions/{who[1]}")).status_code == 404  # nothing to lift
    assert (await stack.http.delete("/email/suppressions/not-an-address")).status_code == 422

    async with stack.pool.acquire() as conn:
        await suppressions.suppress(conn, [who[1]], status="5.1.1", reason="again", ticket_id=tid, seq=held_seq)
    monkeypatch.setenv("DATABASE_URL", stack.settings.DATABASE_URL)
    get_settings.cache_clear()
    try:
        assert await asyncio.to_thread(supportctl_main, ["outbox", "suppressions"]) == 0
        shown = capsys.readouterr().out
        assert await asyncio.to_thread(supportctl_main, ["outbox", "unsuppress", who[1].upper()]) == 0
        cleared = capsys.readouterr().out
    finally:
        get_settings.cache_clear()
    assert f"{who[1]} since" in shown and "5.1.1" in shown
    assert json.loads(cleared.splitlines()[-1]) == {"address": who[1], "lifted": True}
    assert not await _suppressed(stack, who[1])
    assert [e["by"] for e in await _events(stack, tid, "email_unsuppressed")] == ["sender", "admin", "admin"]
