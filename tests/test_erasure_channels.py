"""Erasing a customer (`DELETE /customers/{id}`) also erases what the channels kept of them: their mails
(raw and attachments, on disk too), the e-mail thread rows, and the payloads of the webhooks sent about
their tickets. Another customer's copy of the very same attachment stays."""

from __future__ import annotations

import asyncio
import json
import uuid
from pathlib import Path

import httpx

from channels.email.inbound import EmailIngest
from channels.email.parse import parse
from channels.webhooks import store as deliveries
from db import email as mail_store
from db import email_suppressions as suppressions
from db.erasure import erase_customer
from tests import email_samples as s
from tests.api_stack import Stack

SECRET = "the invoice for March was charged twice"


async def _customer(stack: Stack) -> tuple[str, str]:
    cid = f"mail-{uuid.uuid4().hex[:8]}"
    address = f"{cid}@fernway-logistics.example"
    assert (await stack.http.put(f"/customers/{cid}", json={"email": address, "name": "Ola Berg"})).status_code == 201
    return cid, address


async def _exists(path: str | None) -> bool:
    return path is not None and await asyncio.to_thread(Path(path).exists)


async def _ticket_row(stack: Stack, ticket_id: str) -> None:
    """Wait for the ticket's row: the workflow's first activity writes it, a moment after the mail is taken in (under
    load, a delivery recorded before it broke the deliveries' foreign key)."""
    for _ in range(150):
        if await stack.pool.fetchval("SELECT count(*) FROM tickets WHERE ticket_id = $1", ticket_id):
            return
        await asyncio.sleep(0.2)
    raise AssertionError(f"ticket {ticket_id} was never written")


async def _close(stack: Stack, ticket_id: str) -> None:
    """Once the customer's message is in, end the ticket (its workflow would write the text back)."""
    for _ in range(150):
        if await stack.pool.fetchval("SELECT count(*) FROM messages WHERE ticket_id = $1", ticket_id):
            break
        await asyncio.sleep(0.2)
    await stack.client.get_workflow_handle(f"ticket-{ticket_id}").terminate("test: closed")
    await stack.pool.execute("UPDATE tickets SET status = 'closed' WHERE ticket_id = $1", ticket_id)


async def _erase(stack: Stack, customer_id: str, ticket_id: str) -> httpx.Response:
    """DELETE the customer; an activity the termination caught mid-flight may still write the ticket back
    as open (a 409) a moment later: close it again and retry, for a few seconds at most."""
    for _ in range(25):
        r = await stack.http.delete(f"/customers/{customer_id}")
        if r.status_code != 409:
            return r
        await stack.pool.execute("UPDATE tickets SET status = 'closed' WHERE ticket_id = $1", ticket_id)
        await asyncio.sleep(0.2)
    return r


async def test_erasure_removes_mail_files_thread_rows_and_webhook_payloads(stack: Stack, tmp_path: Path) -> None:
    settings = stack.settings.model_copy(update={"EMAIL_ADDRESS": s.SUPPORT, "DATA_DIR": tmp_path})
    ingest = EmailIngest(stack.pool, stack.client, settings)
    (cid, address), (other_cid, other_address) = await _customer(stack), await _customer(stack)

    # Their mail, with a screenshot and a colleague in Cc; an out-of-office of theirs (recorded, no ticket).
    raw = s.apple_mail(("Ola Berg", address), text=f"Hello, {SECRET}.")
    mail = await ingest.ingest(raw.replace(b"To: ", b"Cc: tove@fernway-logistics.example\r\nTo: ", 1), "imap")
    ooo = await ingest.ingest(s.out_of_office(("Ola Berg", address)), "imap")
    assert mail.outcome == "opened" and mail.ticket_id and ooo.outcome == "ignored"
    tid = mail.ticket_id
    # Another customer sends the very same screenshot: one file on disk, two owners.
    other_raw = raw.replace(address.encode(), other_address.encode()).replace(b"Message-Id: <", b"Message-Id: <x", 1)
    other = await ingest.ingest(other_raw, "imap")
    assert other.outcome == "opened" and other.ticket_id
    (screenshot,) = await mail_store.attachments_of(stack.pool, mail.message_id)
    (shared,) = await mail_store.attachments_of(stack.pool, other.message_id)
    assert screenshot.stored_path == shared.stored_path is not None
    raws = [await stack.pool.fetchval("SELECT raw_path FROM email_inbound WHERE message_id = $1", m)
            for m in (mail.message_id, ooo.message_id, parse(other_raw).message_id)]  # fmt: skip
    assert all([await _exists(p) for p in raws])

    # What we POSTed about the ticket: the message to them and an event, as the senders record them.
    await _ticket_row(stack, tid)
    for stream, payload in [("customer", {"body": f"You wrote: {SECRET}", "customer_email": address}),
                            ("event", {"type": "ticket.opened", "data": {"subject": SECRET}})]:  # fmt: skip
        await deliveries.record(
            stack.pool, webhook_id=f"{tid}:{stream}", stream=stream, endpoint="http://gw.example/hook",
            event_type="message" if stream == "customer" else "ticket.opened", ticket_id=tid, payload=payload,
            state="delivered", status=200, error=None,
        )  # fmt: skip
    async with stack.pool.acquire() as conn:  # their address hard-bounced once: it is suppressed
        await suppressions.suppress(conn, [address], status="5.1.1", reason=f"bounced: {address}", ticket_id=tid, seq=1)
    await _close(stack, tid)
    await _close(stack, other.ticket_id)

    # Before erasure, the right of access shows all of it (their out-of-office included).
    export = (await stack.http.get(f"/customers/{cid}/export")).json()
    held = {k: len(export[k]) for k in ("email_threads", "email_inbound", "email_attachments",
                                         "email_participants", "email_suppressions", "webhook_deliveries")}  # fmt: skip
    assert held == {"email_threads": 1, "email_inbound": 2, "email_attachments": 1, "email_participants": 1,
                    "email_suppressions": 1, "webhook_deliveries": 2}, held  # fmt: skip
    assert SECRET in json.dumps(export["webhook_deliveries"])
    assert other.message_id not in json.dumps(export)

    r = await _erase(stack, cid, tid)
    assert r.status_code == 200, r.text

    left = {
        "email_inbound": await stack.pool.fetchval(
            "SELECT count(*) FROM email_inbound WHERE ticket_id = $1 OR sender = $2", tid, address),
        "email_attachments": await stack.pool.fetchval(
            "SELECT count(*) FROM email_attachments WHERE message_id = $1", mail.message_id),
        "email_messages": await stack.pool.fetchval(
            "SELECT count(*) FROM email_messages WHERE ticket_id = $1 OR customer_email = $2", tid, address),
        "email_threads": await stack.pool.fetchval("SELECT count(*) FROM email_threads WHERE ticket_id = $1", tid),
        "email_participants": await stack.pool.fetchval(
            "SELECT count(*) FROM email_participants WHERE ticket_id = $1", tid),
        "email_suppressions": await stack.pool.fetchval(
            "SELECT count(*) FROM email_suppressions WHERE address = $1", address),
    }  # fmt: skip
    assert left == dict.fromkeys(left, 0)
    payloads = await stack.pool.fetch("SELECT payload FROM webhook_deliveries WHERE ticket_id = $1", tid)
    assert [p["payload"] for p in payloads] == [{"erased": True}] * 2
    assert SECRET not in json.dumps([p["payload"] for p in payloads])
    # Their raw mails are gone from disk; the screenshot stays: the other customer's mail holds it too.
    assert [await _exists(p) for p in raws] == [False, False, True]
    assert await _exists(shared.stored_path)
    assert await mail_store.attachments_of(stack.pool, other.message_id) == [shared]
    assert await stack.pool.fetchval("SELECT count(*) FROM email_threads WHERE ticket_id = $1", other.ticket_id) == 1

    # Erased again: nothing of theirs is left in the channels (Temporal deletes the workflow later).
    again = await stack.http.delete(f"/customers/{cid}")
    assert again.status_code == 200 and again.json()["tickets"] == 0
    assert (await erase_customer(stack.pool, stack.client, cid, apply=False)).channel_rows == 0

    # Once the other customer is erased too, the shared file goes.
    assert (await _erase(stack, other_cid, other.ticket_id)).status_code == 200
    assert not await _exists(shared.stored_path)
