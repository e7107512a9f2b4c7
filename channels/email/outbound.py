"""Replies to e-mail tickets by SMTP, from the customer outbox.

Runs in the worker beside the webhook dispatcher (which then leaves channel=email rows alone). Per
message: claim the outbox row (`FOR UPDATE SKIP LOCKED`, oldest undelivered of its ticket), record its
Message-ID in `email_messages` *before* sending (committed on its own, so it survives a rolled-back
claim), send, mark it sent, mark the row delivered. A retry after a failure or a crash reuses the
recorded Message-ID (a receiver deduplicates on it), and a message already marked sent is not sent
again. The mail threads in every client: `Message-ID`, `In-Reply-To` (the customer's latest mail),
`References`, a `Re:` subject, a reply address with the ticket's token, the people on the thread as
`Cc`; an address that hard-bounced before is not mailed (the row is set aside, `email_suppressed`);
automatic answers carry `Auto-Submitted: auto-replied` and are capped per recipient per hour.
"""

from __future__ import annotations

import asyncio
import hashlib
import html
import logging
import secrets
import ssl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, formataddr

import aiosmtplib
import asyncpg

from channels.webhooks.sender import backoff_s, in_background, run_until_stopped  # the webhook dispatcher's backoff
from db import email as store
from db import email_suppressions as suppressions
from db import outbox, tickets
from db.outbox import OutboxMessage
from settings import Settings

log = logging.getLogger("email.outbound")
SEND_TIMEOUT_S = 30.0


def message_id_for(m: OutboxMessage, domain: str) -> str:
    """Our Message-ID for outbox message (ticket_id, seq): the same on every attempt."""
    tag = hashlib.sha256(f"{m.ticket_id}:{m.seq}".encode()).hexdigest()[:12]
    return f"<{m.ticket_id}.{m.seq}.{tag}@{domain}>"


def reply_subject(subject: str) -> str:
    s = subject.strip() or "(no subject)"
    return s if s.lower().startswith(("re:", "aw:", "sv:")) else f"Re: {s}"


def html_part(text: str) -> str:
    paragraphs = [p for p in text.replace("\r\n", "\n").split("\n\n") if p.strip()]
    body = "".join(f"<p>{html.escape(p).replace(chr(10), '<br>')}</p>" for p in paragraphs)
    return f'<!doctype html><html><body style="font-family:sans-serif">{body}</body></html>'


class SmtpOutboxSender:
    def __init__(
        self,
        pool: asyncpg.Pool,
        settings: Settings,
        *,
        batch_size: int = 10,
        poll_interval_s: float = 1.0,
        max_backoff_s: float = 300.0,
    ) -> None:
        if not settings.EMAIL_ADDRESS or not settings.EMAIL_SMTP_HOST:
            raise ValueError("SMTP sending needs EMAIL_ADDRESS and EMAIL_SMTP_HOST")
        self._pool, self._s = pool, settings
        self._address: str = settings.EMAIL_ADDRESS
        self._domain = self._address.rpartition("@")[2]
        self._batch, self._poll, self._cap = batch_size, poll_interval_s, max_backoff_s

    async def send_once(self) -> int:
        """Claim a batch of e-mail rows, send each, record the outcomes; rows claimed."""
        async with self._pool.acquire() as conn, conn.transaction():
            claimed = await outbox.claim(conn, self._batch, channels=["email"])
            for m in claimed:
                if await self._suppressed(conn, m):
                    continue
                error, final = await self._deliver(m)
                await outbox.record_attempt(
                    conn, m, error, final, backoff_s(m.attempts + 1, self._cap), log,
                    refused="mail for %s refused, set aside: %s",
                    failed="mail for %s not sent (attempt %d, next in %.0fs): %s",
                )  # fmt: skip
        return len(claimed)

    async def _suppressed(self, conn: asyncpg.pool.PoolConnectionProxy, m: OutboxMessage) -> bool:
        """Set `m` aside, with an `email_suppressed` event, when its address hard-bounced before: mailing it
        again would only bounce again (and a sender that keeps mailing dead addresses gets its domain's mail
        marked as spam). The row stays refused; `supportctl outbox retry` re-sends it once lifted."""
        if not m.customer_email:
            return False
        found = (await suppressions.active(conn, [m.customer_email])).get(m.customer_email.lower())
        if found is None:
            return False
        if await store.sent_at(conn, m.ticket_id, m.seq) is not None:
            return False  # sent before the bounce arrived (a crash kept the row from being marked): not ours to hold
        reason = f"not sent: {found.address} hard-bounced ({found.status}) on {found.ticket_id} #{found.seq}"
        await outbox.mark_suppressed(conn, m.ticket_id, m.seq, reason)
        data = {"seq": m.seq, "address": found.address, "status": found.status, "reason": found.reason,
                "bounced": {"ticket_id": found.ticket_id, "seq": found.seq},
                "suppressed_since": found.suppressed_at.isoformat()}  # fmt: skip
        await tickets.insert_event(conn, m.ticket_id, event_key=f"email_suppressed:{m.seq}", kind="email_suppressed",
                                   data=data, created_at=datetime.now(UTC))  # fmt: skip
        log.warning("mail %s to %s set aside: %s", m.key, found.address, reason)
        return True

    async def _deliver(self, m: OutboxMessage) -> tuple[str | None, bool]:
        """(None, _) when sent (now or before), else why not and whether that is final."""
        if not m.customer_email:
            return "the ticket's customer has no e-mail address", True
        automatic = m.sender != "human"
        mid, sent_at = await store.outbound_message_id(
            self._pool, m.ticket_id, m.seq, message_id_for(m, self._domain), m.customer_email, automatic
        )
        if sent_at is not None:
            return None, False  # sent before a crash kept the row from being marked: never twice
        limit = self._s.EMAIL_AUTO_REPLIES_PER_HOUR
        if automatic and limit:
            since = datetime.now(UTC) - timedelta(hours=1)
            if await store.automatic_sent_since(self._pool, m.customer_email, since) >= limit:
                return f"automatic answers to {m.customer_email} capped at {limit} per hour (a mail loop?)", True
        msg = await self._compose(m, mid, automatic)
        try:
            await self._send(msg)
        except aiosmtplib.SMTPResponseException as e:
            return f"SMTP {e.code}: {e.message}", 500 <= e.code < 600
        except aiosmtplib.SMTPRecipientsRefused as e:
            codes = [r.code for r in e.recipients]
            return f"recipient refused: {e}", all(500 <= c < 600 for c in codes)
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as e:
            return f"{type(e).__name__}: {e}", False
        await store.mark_sent(self._pool, mid)
        return None, False

    async def _compose(self, m: OutboxMessage, mid: str, automatic: bool) -> EmailMessage:
        thread = await store.get_thread(self._pool, m.ticket_id)
        if thread is None:  # a ticket opened elsewhere (the API) with channel=email: its first mail
            row = await tickets.get_ticket(self._pool, m.ticket_id)
            subject = row.subject if row is not None else "Your request"
            thread = await store.ensure_thread(self._pool, m.ticket_id, secrets.token_hex(8), m.customer_email or "",
                                               subject)  # fmt: skip
        refs = [r for r in await store.thread_message_ids(self._pool, m.ticket_id) if r != mid]
        in_reply_to = await store.last_inbound_id(self._pool, m.ticket_id) or (refs[-1] if refs else None)
        local, _, domain = self._address.partition("@")
        msg = EmailMessage()
        msg["From"] = formataddr((self._s.EMAIL_FROM_NAME, self._address))
        msg["To"] = m.customer_email or ""
        copied = [a for a in await store.participants(self._pool, m.ticket_id) if a != (m.customer_email or "").lower()]
        if copied:  # a colleague's dead mailbox is left out of Cc; the customer still gets the answer
            dead = await suppressions.active(self._pool, copied)
            copied = [a for a in copied if a not in dead]
        if copied:  # the people on the thread besides the customer (channels/email/inbound.py)
            msg["Cc"] = ", ".join(copied)
        msg["Reply-To"] = f"{local}+{thread.token}@{domain}"
        msg["Subject"] = reply_subject(thread.subject) if in_reply_to else thread.subject
        msg["Message-ID"] = mid
        msg["Date"] = format_datetime(m.created_at if m.created_at.tzinfo else m.created_at.replace(tzinfo=UTC))
        if in_reply_to:
            msg["In-Reply-To"] = in_reply_to
            msg["References"] = " ".join(refs if in_reply_to in refs else [*refs, in_reply_to])
        if automatic:
            msg["Auto-Submitted"] = "auto-replied"
            msg["X-Auto-Response-Suppress"] = "All"  # Exchange: no out-of-office back to an automatic answer
        msg["X-Support-Ticket"] = m.ticket_id
        msg.set_content(m.body)
        msg.add_alternative(html_part(m.body), subtype="html")
        return msg

    async def _send(self, msg: EmailMessage) -> None:
        s = self._s
        await aiosmtplib.send(
            msg,
            hostname=s.EMAIL_SMTP_HOST,
            port=s.EMAIL_SMTP_PORT,
            username=s.EMAIL_SMTP_USER,
            password=s.EMAIL_SMTP_PASSWORD.get_secret_value() if s.EMAIL_SMTP_PASSWORD else None,
            use_tls=s.EMAIL_SMTP_SECURITY == "tls",
            start_tls=True if s.EMAIL_SMTP_SECURITY == "starttls" else False,
            tls_context=ssl.create_default_context() if s.EMAIL_SMTP_SECURITY != "none" else None,
            timeout=SEND_TIMEOUT_S,
        )

    async def run(self, stop: asyncio.Event) -> None:
        await run_until_stopped(
            stop, self.send_once, self._poll, log, "e-mail outbox", "sending failed",
            transient=(OSError, asyncpg.PostgresError),
        )  # fmt: skip


@asynccontextmanager
async def running_sender(pool: asyncpg.Pool, settings: Settings) -> AsyncIterator[SmtpOutboxSender | None]:
    """Send e-mail rows in the background for the block's duration (nothing when SMTP is not configured)."""
    if not settings.EMAIL_SMTP_HOST or not settings.EMAIL_ADDRESS:
        yield None
        return
    sender = SmtpOutboxSender(
        pool,
        settings,
        poll_interval_s=settings.CUSTOMER_OUTBOX_POLL_S,
        max_backoff_s=settings.CUSTOMER_OUTBOX_MAX_BACKOFF_S,
    )
    async with in_background(sender.run, "email-outbox", SEND_TIMEOUT_S + 1):
        yield sender
