"""The e-mail channel against real servers: Dovecot (IMAP, mail delivered by APPEND), aiosmtpd (what we
send), the API's stack (Temporal dev server, worker, Postgres). Bad input: malformed MIME, a stranger's
reply to someone else's thread, the same mail by IMAP and by the endpoint, a mail loop."""

from __future__ import annotations

import asyncio
import email
import uuid
from collections.abc import AsyncIterator
from email import policy
from email.message import EmailMessage
from pathlib import Path

import pytest

from channels.email.imap import ImapConfig, ImapPoller
from channels.email.inbound import EmailIngest
from channels.email.outbound import SmtpOutboxSender
from db import email as store
from settings import Settings
from tests import email_samples as s
from tests.api_stack import Stack, serve_api
from tests.email_servers import Dovecot, Recorder, dovecot, smtp_peer  # noqa: F401 - fixtures

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def mail_settings(stack: Stack, tmp_path: Path) -> Settings:
    return stack.settings.model_copy(
        update={"EMAIL_ADDRESS": s.SUPPORT, "DATA_DIR": tmp_path, "EMAIL_ATTACHMENT_MAX_BYTES": 20 * 1024 * 1024}
    )


def _poller(stack: Stack, ingest: EmailIngest, box: Dovecot, mailbox: str) -> ImapPoller:
    return ImapPoller(stack.pool, ingest, ImapConfig(box.host, box.port, box.user, box.password, mailbox, "none"))


async def _messages(stack: Stack, ticket_id: str) -> list[str]:
    rows = await stack.pool.fetch(
        "SELECT body FROM messages WHERE ticket_id = $1 AND sender = 'customer' ORDER BY seq", ticket_id
    )
    return [r["body"] for r in rows]


async def _wait_customer_messages(stack: Stack, ticket_id: str, n: int, within: float = 30) -> list[str]:
    for _ in range(int(within / 0.2)):
        bodies = await _messages(stack, ticket_id)
        if len(bodies) >= n:
            return bodies
        await asyncio.sleep(0.2)
    raise AssertionError(f"ticket {ticket_id}: {await _messages(stack, ticket_id)}")


async def test_imap_imports_each_mail_once(
    stack: Stack,
    dovecot: Dovecot,  # noqa: F811
    mail_settings: Settings,
) -> None:
    box = f"t{uuid.uuid4().hex[:8]}"
    samples = {
        "gmail": s.gmail(),
        "outlook": s.outlook_html(),
        "ooo": s.out_of_office(),
        "bounce": s.bounce(),
        "big": s.big_attachment(),
        "malformed": s.malformed(),
        "forwarded": s.forwarded(),
    }
    for raw in samples.values():
        await asyncio.to_thread(dovecot.append, raw, box)
    ingest = EmailIngest(stack.pool, stack.client, mail_settings)
    first, second = _poller(stack, ingest, dovecot, box), _poller(stack, ingest, dovecot, box)
    taken = await asyncio.gather(first.poll_once(), second.poll_once())
    assert sorted(taken) == [0, 7]  # one worker holds the mailbox, the other skips it

    from channels.email.parse import parse

    outcomes = {}
    for name, raw in samples.items():
        rec = await store.get_inbound(stack.pool, parse(raw).message_id)
        assert rec is not None, name
        outcomes[name] = rec
    assert {k: v.outcome for k, v in outcomes.items()} == {
        "gmail": "opened", "outlook": "opened", "ooo": "ignored", "bounce": "ignored", "big": "opened",
        "malformed": "opened", "forwarded": "opened",
    }  # fmt: skip
    big = await store.attachments_of(stack.pool, parse(samples["big"]).message_id)
    assert [(a.filename, a.size_bytes) for a in big] == [("export-logs-déc.zip", 10 * 1024 * 1024)]
    assert big[0].stored_path
    assert (await asyncio.to_thread(Path(big[0].stored_path).stat)).st_size == 10 * 1024 * 1024
    tid = outcomes["malformed"].ticket_id
    assert tid is not None
    assert "10,000 rows" in (await _wait_customer_messages(stack, tid, 1))[0]

    # A restart (a new poller) imports nothing again; a new mail only.
    assert await _poller(stack, ingest, dovecot, box).poll_once() == 0
    await asyncio.to_thread(dovecot.append, s.gmail(sender=s.DANIEL), box)
    assert await _poller(stack, ingest, dovecot, box).poll_once() == 1
    tickets = await stack.pool.fetchval(
        "SELECT count(DISTINCT ticket_id) FROM email_inbound WHERE message_id = ANY($1)",
        [parse(r).message_id for r in samples.values()],
    )
    assert tickets == 5


async def test_same_mail_by_imap_and_endpoint_is_one_ticket(
    stack: Stack,
    dovecot: Dovecot,  # noqa: F811
    mail_settings: Settings,
) -> None:
    box = f"t{uuid.uuid4().hex[:8]}"
    raw = s.apple_mail(sender=s.DANIEL, text="Our SSO login loops back to the start page.")
    await asyncio.to_thread(dovecot.append, raw, box)
    ingest = EmailIngest(stack.pool, stack.client, mail_settings)
    assert await _poller(stack, ingest, dovecot, box).poll_once() == 1
    async with serve_api(mail_settings) as http:
        r = await http.post("/inbound/email", content=raw, headers={"Content-Type": "message/rfc822"})
        assert r.status_code == 200, r.text
        assert r.json()["duplicate"] is True and r.json()["outcome"] == "opened"
        tid = r.json()["ticket_id"]
        # Endpoint first, then IMAP, and two at once: still one ticket each.
        other = s.gmail(sender=s.DANIEL, text="And the audit log export is empty.")
        r1 = await http.post("/inbound/email", content=other)
        assert r1.status_code == 200 and r1.json()["duplicate"] is False
        await asyncio.to_thread(dovecot.append, other, box)
        assert await _poller(stack, ingest, dovecot, box).poll_once() == 1
        twice = s.gmail(sender=s.DANIEL, text="Third question.")
        a, b = await asyncio.gather(ingest.ingest(twice, "imap"), ingest.ingest(twice, "endpoint"))
        assert a.ticket_id == b.ticket_id is not None
        assert (await http.post("/inbound/email", content=b"   ")).status_code == 422
    assert len(await _wait_customer_messages(stack, tid, 1)) == 1
    from channels.email.parse import parse

    assert (
        await stack.pool.fetchval("SELECT count(*) FROM email_inbound WHERE message_id = $1", parse(raw).message_id)
        == 1
    )
    workflows = [w async for w in stack.client.list_workflows(f"WorkflowId = 'ticket-{tid}'")]
    assert len(workflows) == 1


def _someone(name: str) -> tuple[str, str]:
    return name, f"{name.split()[0].lower()}.{uuid.uuid4().hex[:6]}@nordvik.example"


async def _sent_for(
    recorder: Recorder, sender: SmtpOutboxSender, ticket_id: str, n: int, within: float = 60
) -> list[EmailMessage]:
    for _ in range(int(within / 0.25)):
        await sender.send_once()
        mails = [email.message_from_bytes(c, policy=policy.default) for _, c in recorder.received]
        mine = [m for m in mails if m["X-Support-Ticket"] == ticket_id]
        if len(mine) >= n:
            return mine
        await asyncio.sleep(0.25)
    raise AssertionError(f"{ticket_id}: fewer than {n} mails sent")


@pytest.fixture
async def smtp_settings(mail_settings: Settings, smtp_peer: tuple[Recorder, int]) -> AsyncIterator[Settings]:  # noqa: F811
    yield mail_settings.model_copy(
        update={"EMAIL_SMTP_HOST": "127.0.0.1", "EMAIL_SMTP_PORT": smtp_peer[1], "EMAIL_SMTP_SECURITY": "none"}
    )


async def test_reply_threads_by_headers_and_token_never_by_subject_or_stranger(
    stack: Stack,
    smtp_peer: tuple[Recorder, int],  # noqa: F811
    smtp_settings: Settings,
) -> None:
    recorder, _ = smtp_peer
    auto = smtp_settings.model_copy(update={"AUTO_CREATE_CUSTOMERS": True, "EMAIL_AUTO_REPLIES_PER_HOUR": 2})
    ingest = EmailIngest(stack.pool, stack.client, auto)
    sender = SmtpOutboxSender(stack.pool, auto)
    me, other = _someone("Mara Quist"), _someone("Olek Brandt")  # their own cap, their own tickets
    first_id = s.new_id()
    opened = await ingest.ingest(s.gmail(sender=me, message_id=first_id), "imap")
    assert opened.outcome == "opened" and opened.ticket_id
    tid = opened.ticket_id

    (answer,) = await _sent_for(recorder, sender, tid, 1)
    assert answer["To"] == me[1] and answer["Subject"] == "Re: Export to Snowflake fails — urgent"
    assert answer["In-Reply-To"] == first_id and first_id in answer["References"]
    assert answer["Auto-Submitted"] == "auto-replied"
    assert answer.get_body(("plain",)) is not None and answer.get_body(("html",)) is not None
    ours = answer["Message-ID"]
    assert (await store.find_thread_message(stack.pool, [ours])) is not None  # recorded: replies thread by it
    token = str(answer["Reply-To"]).split("+", 1)[1].split("@", 1)[0]

    # The customer answers (Apple Mail, In-Reply-To our mail): same ticket.
    reply = await ingest.ingest(
        s.apple_mail(me, in_reply_to=ours, references=[first_id, ours], text="Rotated the key, still failing."),
        "imap",
    )
    assert (reply.outcome, reply.ticket_id) == ("added", tid)
    # Answered before the next mail arrives: lines that arrive while a turn runs are answered together.
    await _sent_for(recorder, sender, tid, 2)
    # A stranger answering the same thread never lands in Priya's ticket.
    stranger = await ingest.ingest(s.outlook_html(other, in_reply_to=ours, references=[first_id, ours]), "endpoint")
    assert stranger.ticket_id != tid and stranger.reason and "another customer" in stranger.reason
    # The reply address token alone threads it (a client that drops the headers).
    by_token = await ingest.ingest(
        s.gmail(me, to=f"support+{token}@lumora.example", text="One more detail: EU region."), "imap"
    )
    assert (by_token.outcome, by_token.ticket_id) == ("added", tid)
    # Same subject, no thread headers, no token: a new ticket, never joined by subject.
    by_subject = await ingest.ingest(s.gmail(me), "imap")
    assert by_subject.outcome == "opened" and by_subject.ticket_id != tid
    # An out-of-office in the thread is recorded, never delivered or answered.
    ooo = await ingest.ingest(s.out_of_office(me, in_reply_to=ours), "imap")
    assert ooo.outcome == "ignored" and ooo.ticket_id is None

    bodies = await _wait_customer_messages(stack, tid, 3)
    assert len(bodies) == 3 and not any("out of the office" in b for b in bodies)
    # The customer's two replies got automatic answers; the cap (2 an hour here) lets one more through,
    # then sets the rest aside: an unrecognised auto-responder cannot loop with us.
    await _sent_for(recorder, sender, tid, 2)
    for _ in range(120):
        await sender.send_once()
        refused = await stack.pool.fetchval(
            "SELECT count(*) FROM customer_outbox WHERE ticket_id = $1 AND refused_at IS NOT NULL"
            " AND last_error LIKE '%capped%'",
            tid,
        )
        if refused:
            break
        await asyncio.sleep(0.25)
    assert refused >= 1
    assert len([c for _, c in recorder.received if tid.encode() in c]) == 2


async def test_a_retry_reuses_the_message_id_and_never_sends_twice(
    stack: Stack,
    smtp_peer: tuple[Recorder, int],  # noqa: F811
    smtp_settings: Settings,
) -> None:
    recorder, _ = smtp_peer
    auto = smtp_settings.model_copy(update={"AUTO_CREATE_CUSTOMERS": True})
    ingest = EmailIngest(stack.pool, stack.client, auto)
    sender = SmtpOutboxSender(stack.pool, auto)
    ines = _someone("Ines Duarte")
    opened = await ingest.ingest(s.gmail(ines, text="How do I add a second admin?"), "endpoint")
    tid = opened.ticket_id
    assert tid
    recorder.refuse, recorder.refuse_to = 1, ines[1]  # the first attempt to her gets 451
    for _ in range(240):
        await sender.send_once()
        row = await stack.pool.fetchrow("SELECT seq, attempts FROM customer_outbox WHERE ticket_id = $1", tid)
        if row is not None and row["attempts"] >= 1:
            break
        await asyncio.sleep(0.25)
    assert row is not None and not [c for _, c in recorder.received if tid.encode() in c]
    recorded = await stack.pool.fetchval(
        "SELECT message_id FROM email_messages WHERE ticket_id = $1 AND direction = 'out'", tid
    )
    await stack.pool.execute("UPDATE customer_outbox SET next_attempt_at = now() WHERE ticket_id = $1", tid)
    (sent,) = await _sent_for(recorder, sender, tid, 1)
    assert sent["Message-ID"] == recorded
    # A crash after the send, before the row was marked delivered: the retry does not send again.
    await stack.pool.execute("UPDATE customer_outbox SET delivered_at = NULL WHERE ticket_id = $1", tid)
    await sender.send_once()
    assert await stack.pool.fetchval(
        "SELECT delivered_at IS NOT NULL FROM customer_outbox WHERE ticket_id = $1 AND seq = $2", tid, row["seq"]
    )
    assert len([c for _, c in recorder.received if tid.encode() in c]) == 1


async def test_mail_loop_and_unknown_senders(stack: Stack, mail_settings: Settings) -> None:
    ingest = EmailIngest(stack.pool, stack.client, mail_settings)
    own = await ingest.ingest(s.gmail(sender=("Lumora Support", s.SUPPORT)), "imap")
    assert own.outcome == "ignored" and own.reason == "our own address (a loop)"
    stranger = ("Nobody", f"n{uuid.uuid4().hex[:6]}@unknown.example")
    refused = await ingest.ingest(s.gmail(sender=stranger), "imap")
    assert refused.outcome == "rejected" and refused.reason and refused.reason.startswith("unknown_customer")
    auto = mail_settings.model_copy(update={"AUTO_CREATE_CUSTOMERS": True})
    made = await EmailIngest(stack.pool, stack.client, auto).ingest(s.gmail(sender=stranger), "imap")
    assert made.outcome == "opened" and made.ticket_id
