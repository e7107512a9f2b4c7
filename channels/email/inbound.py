"""One inbound mail, from the IMAP poller or `POST /inbound/email`, to the ticket service.

Idempotent by construction, so a mail delivered twice (by IMAP and by the endpoint, or again after a
crash) is one ticket and one message: a new thread opens its ticket with the idempotency key
`email:<hash of Message-ID>` (the same key names the same ticket, as for `POST /tickets`), and a reply
reaches its ticket with that key as message id (the workflow counts a message id once). The outcome
is recorded by Message-ID afterwards, so a repeat is answered from the record without asking Temporal.

Threading: a reply joins a ticket by its reply-address token (support+<token>@…) or by In-Reply-To /
References against the thread's Message-IDs (ours, recorded when the outbox sends, and the customer's),
never by subject; and only when the sender is the ticket's customer or on its thread: the people a mail
taken into the ticket was addressed to (To, Cc) join its thread (`email_participants`) and get its
answers as Cc. A stranger's reply to someone else's thread opens (or is refused) a ticket of the
stranger's own.

A delivery report (bounce) for a mail we sent is never answered: it marks that outbox message bounced
and records a `email_bounced` event on its ticket. A hard bounce (5.x.x) suppresses the failed addresses
(the SMTP sender sets aside later mail to them) until mail from that address is taken in again.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
from pydantic import ValidationError
from temporalio.client import Client
from temporalio.service import RPCError

from api.errors import ApiError
from api.schemas import MAX_BODY, MAX_SUBJECT, TicketIn
from api.service import tickets as service
from channels.email.parse import ParsedMail, Part, parse
from db import email as store
from db import email_suppressions as suppressions
from db import outbox, tickets
from domain.models import Channel
from settings import Settings

log = logging.getLogger("email.inbound")

OPENED, ADDED, IGNORED, REJECTED = "opened", "added", "ignored", "rejected"
MAX_PARTICIPANTS = 20  # added by one mail: a mail to a whole list does not put the list on the thread


class TransientFailure(Exception):
    """The mail could not be taken now (Temporal or the database unavailable): try again later."""


@dataclass(frozen=True)
class Outcome:
    message_id: str
    outcome: str  # opened | added | ignored | rejected
    ticket_id: str | None
    reason: str | None
    duplicate: bool = False  # already taken before: nothing was done now


def mail_key(message_id: str) -> str:
    """The idempotency key / message id a mail is delivered under (bounded length, same for any path)."""
    return "email:" + hashlib.sha256(message_id.encode()).hexdigest()[:32]


def own_addresses(settings: Settings) -> frozenset[str]:
    return frozenset({settings.EMAIL_ADDRESS.lower()}) if settings.EMAIL_ADDRESS else frozenset()


def reply_token(recipients: list[str], support_address: str | None) -> str | None:
    """The token of a reply address support+<token>@domain among the recipients."""
    if not support_address:
        return None
    local, _, domain = support_address.lower().partition("@")
    for r in recipients:
        r_local, _, r_domain = r.partition("@")
        base, plus, token = r_local.partition("+")
        if plus and base == local and r_domain == domain and token.isalnum():
            return token
    return None


class EmailIngest:
    def __init__(self, pool: asyncpg.Pool, temporal: Client, settings: Settings) -> None:
        self._pool, self._temporal, self._settings = pool, temporal, settings
        self._dir = Path(settings.DATA_DIR) / "mail"

    async def ingest(self, raw: bytes, source: str) -> Outcome:
        """Take one raw RFC 822 message; raises TransientFailure when it must be offered again later."""
        # a mail with 10 MB of attachments takes a noticeable time to decode: not on the event loop
        mail = await asyncio.to_thread(parse, raw, own_addresses(self._settings))
        try:
            prior = await store.get_inbound(self._pool, mail.message_id)
            if prior is not None:
                return Outcome(prior.message_id, prior.outcome, prior.ticket_id, prior.reason, duplicate=True)
            raw_path = await asyncio.to_thread(self._keep, "raw", raw, ".eml")
            attachments = await asyncio.to_thread(self._keep_attachments, mail.attachments)
            outcome, ticket_id, reason = await self._route(mail, attachments)
            if ticket_id is not None and outcome in (OPENED, ADDED):
                # under the ticket's customer, whoever on the thread wrote it: replies to it thread by it
                thread = await store.get_thread(self._pool, ticket_id)
                owner = thread.customer_email if thread is not None else mail.sender or ""
                await store.record_inbound_message(self._pool, mail.message_id, ticket_id, owner)
                await self._lift_suppression(ticket_id, mail)
            await store.record_attachments(self._pool, mail.message_id, attachments)
            done = await store.record_inbound(
                self._pool, mail.message_id, source=source, sender=mail.sender, subject=mail.subject,
                outcome=outcome, reason=reason, ticket_id=ticket_id, raw_path=raw_path,
            )  # fmt: skip
        except (OSError, asyncpg.PostgresError, RPCError) as e:
            raise TransientFailure(f"{type(e).__name__}: {e}") from e
        log.info("mail %s from %s (%s): %s %s", mail.message_id, mail.sender, source, outcome, reason or ticket_id)
        return Outcome(done.message_id, done.outcome, done.ticket_id, done.reason)

    async def _route(self, mail: ParsedMail, attachments: list[store.Attachment]) -> tuple[str, str | None, str | None]:
        if mail.automatic is not None:
            if mail.bounce is not None:
                return await self._bounced(mail)
            return IGNORED, None, mail.automatic
        if mail.sender is None:
            return REJECTED, None, "no sender address in From"
        body = compose_body(mail, attachments)
        ticket_id, stranger, owner = await self._thread_of(mail)
        try:
            if ticket_id is not None and owner is not None:
                if owner != mail.sender:  # someone on the thread: say who wrote
                    who = f"{clean(mail.sender_name)[:100]} <{mail.sender}>" if mail.sender_name else mail.sender
                    body = f"[from {who}, on this e-mail thread]\n\n{body}"[:MAX_BODY]
                done = await service.add_message(
                    self._pool, self._temporal, self._settings, ticket_id, body, mail_key(mail.message_id)
                )
                if done.ticket_id != ticket_id:  # the ticket had closed: a follow-up ticket took it
                    await self._ensure_thread(done.ticket_id, owner, mail.subject)
                    await store.add_participants(self._pool, done.ticket_id,
                                                 await store.participants(self._pool, ticket_id), owner)  # fmt: skip
                await self._join(done.ticket_id, mail, owner)
                return ADDED, done.ticket_id, None if done.ticket_id == ticket_id else f"follow-up of {ticket_id}"
            opened = await service.open_ticket(
                self._pool, self._temporal, self._settings,
                TicketIn(
                    customer_email=mail.sender,
                    customer_name=clean(mail.sender_name)[:200] if mail.sender_name else None,
                    channel=Channel.EMAIL, subject=clean(mail.subject or "(no subject)")[:MAX_SUBJECT], body=body,
                    idempotency_key=mail_key(mail.message_id),
                ),
                None,
            )  # fmt: skip
            await self._ensure_thread(opened.ticket_id, mail.sender, mail.subject)
            await self._join(opened.ticket_id, mail, mail.sender)
            note = "a reply to another customer's thread: opened the sender's own ticket" if stranger else None
            return OPENED, opened.ticket_id, note
        except ApiError as e:
            if e.status >= 500:
                raise TransientFailure(f"{e.code}: {e.message}") from e
            return REJECTED, None, f"{e.code}: {e.message}"
        except ValidationError as e:
            return REJECTED, None, f"invalid_request: {e.errors()[0].get('msg', '')}"

    async def _thread_of(self, mail: ParsedMail) -> tuple[str | None, bool, str | None]:
        """(the ticket this mail answers, whether it answers a thread the sender is not on, the ticket's
        customer's address)."""
        owner: str | None = None
        ticket_id: str | None = None
        token = reply_token(mail.recipients, self._settings.EMAIL_ADDRESS)
        if token is not None:
            thread = await store.thread_by_token(self._pool, token)
            if thread is not None:
                ticket_id, owner = thread.ticket_id, thread.customer_email
        if ticket_id is None:
            found = await store.find_thread_message(self._pool, mail.thread_ids)
            if found is not None:
                ticket_id, owner = found.ticket_id, found.customer_email
        if ticket_id is None or owner is None:
            return None, False, None
        owner = owner.lower()
        sender = mail.sender or ""
        if owner != sender and not await store.is_participant(self._pool, ticket_id, sender):
            log.warning("mail %s from %s answers ticket %s of %s: not on its thread, not joined", mail.message_id,
                        mail.sender, ticket_id, owner)  # fmt: skip
            return None, True, None
        return ticket_id, False, owner

    async def _join(self, ticket_id: str, mail: ParsedMail, owner: str) -> None:
        """Whom a mail taken into the ticket was addressed to joins its thread (not us, not the customer)."""
        own = own_addresses(self._settings)
        support = self._settings.EMAIL_ADDRESS
        others = [
            a for a in mail.copied
            if a not in (owner, mail.sender) and a not in own and reply_token([a], support) is None
        ]  # fmt: skip
        if others:
            added = await store.add_participants(self._pool, ticket_id, others[:MAX_PARTICIPANTS], mail.sender or "")
            if added:
                log.info("ticket %s: %s joined the e-mail thread (copied by %s)", ticket_id, ", ".join(added),
                         mail.sender)  # fmt: skip

    async def _bounced(self, mail: ParsedMail) -> tuple[str, str | None, str | None]:
        """A delivery report: mark the outbox message it reports on bounced (never answered); a hard bounce
        also stops mail to the failed addresses (db/email_suppressions.py)."""
        assert mail.bounce is not None
        report = mail.bounce
        ours = await store.sent_message(self._pool, report.original_ids)
        if ours is None:
            return IGNORED, None, f"{report.summary()}; not a mail we sent"
        ticket_id, seq, message_id = ours
        if not report.failed:
            return IGNORED, ticket_id, f"{report.summary()} (message #{seq})"
        reason = report.summary()
        async with self._pool.acquire() as conn, conn.transaction():
            suppressed: list[str] = []
            if report.hard:  # a second report (another recipient of the same mail) still suppresses its own
                suppressed = await suppressions.suppress(conn, report.recipients, status=report.status or "5.0.0",
                                                         reason=reason, ticket_id=ticket_id, seq=seq)  # fmt: skip
            if await outbox.mark_bounced(conn, ticket_id, seq, reason):  # `reason`: the console's timeline shows it
                data = {"seq": seq, "message_id": message_id, "recipients": report.recipients,
                        "status": report.status, "hard": report.hard, "suppressed": suppressed,
                        "diagnostic": report.diagnostic[:500], "report": mail.message_id,
                        "reason": reason[:500]}  # fmt: skip
                await tickets.insert_event(conn, ticket_id, event_key=f"email_bounced:{seq}", kind="email_bounced",
                                           data=data, created_at=datetime.now(UTC))  # fmt: skip
        log.warning("ticket %s message #%d %s%s", ticket_id, seq, reason,
                    f"; no more mail to {', '.join(suppressed)}" if suppressed else "")  # fmt: skip
        return IGNORED, ticket_id, f"{reason} (message #{seq} marked bounced)"

    async def _lift_suppression(self, ticket_id: str, mail: ParsedMail) -> None:
        """Mail taken in from a suppressed address: its mailbox works again, so we may answer it again."""
        if mail.sender is None:
            return
        async with self._pool.acquire() as conn, conn.transaction():
            lifted = await suppressions.lift(conn, mail.sender)
            if lifted is not None:
                key = f"email_unsuppressed:{mail_key(mail.message_id)}"
                await suppressions.record_lifted(conn, ticket_id, key, lifted, "sender")
        if lifted is not None:
            log.info("mail from %s taken into %s: no longer suppressed", lifted.address, ticket_id)

    async def _ensure_thread(self, ticket_id: str, customer_email: str, subject: str) -> None:
        await store.ensure_thread(
            self._pool, ticket_id, secrets.token_hex(8), customer_email, (subject or "(no subject)")[:MAX_SUBJECT]
        )

    def _keep(self, kind: str, data: bytes, suffix: str = "") -> str:
        digest = hashlib.sha256(data).hexdigest()
        path = self._dir / kind / digest[:2] / f"{digest}{suffix}"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(path.suffix + f".{secrets.token_hex(4)}.tmp")
            tmp.write_bytes(data)
            tmp.replace(path)
        return str(path)

    def _keep_attachments(self, parts: list[Part]) -> list[store.Attachment]:
        cap = self._settings.EMAIL_ATTACHMENT_MAX_BYTES
        return [
            store.Attachment(
                filename=p.filename[:255],
                content_type=p.content_type,
                size_bytes=p.size,
                sha256=p.sha256,
                stored_path=self._keep("attachments", p.data) if p.size <= cap else None,
            )  # fmt: skip
            for p in parts
        ]


def clean(text: str) -> str:
    """Without NUL and other control characters (the API refuses them), newlines and tabs kept."""
    return "".join(ch for ch in text if ch in "\n\t" or ord(ch) >= 32)


def compose_body(mail: ParsedMail, attachments: list[store.Attachment]) -> str:
    """The message as the ticket stores it: the mail's text, then its attachments by reference."""
    over = ", not kept: over the size cap"
    refs = [
        f"[attachment: {a.filename} ({a.content_type}, {a.size_bytes} bytes{'' if a.stored_path else over})]"
        for a in attachments
    ]
    tail = "\n\n" + "\n".join(refs) if refs else ""
    text = clean(mail.text).strip() or "(no text)"
    room = MAX_BODY - len(tail)
    if len(text) > room:
        text = text[: room - 20].rstrip() + "\n[… truncated]"
    return text + tail


async def ingest_raw(pool: asyncpg.Pool, temporal: Client, settings: Settings, raw: bytes, source: str) -> Outcome:
    return await EmailIngest(pool, temporal, settings).ingest(raw, source)
