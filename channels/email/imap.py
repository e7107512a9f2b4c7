"""The IMAP poller: imports new mail from the support mailbox through the ingest service.

Each mail is imported once: the mailbox's UIDVALIDITY and the last UID taken are kept in Postgres
(`email_imap_state`), advanced after each mail is taken, and a poll holds a session advisory lock per
mailbox (`pg_try_advisory_lock`), so a second worker skips a mailbox the first is reading and a
restarted worker goes on after the last UID recorded. A mail that fails for a passing reason (Temporal
or Postgres away) stops the poll there and is offered again next time; if the process dies between
taking a mail and recording its UID, the Message-ID record makes the second offer a no-op. A new
UIDVALIDITY (the mailbox was rebuilt) starts from UID 1, with the same protection.

imaplib (standard library) runs in a thread; the mailbox is opened read-only and read with BODY.PEEK,
so flags stay as they are for people who read the mailbox too. Where the server offers IDLE (and
EMAIL_IMAP_IDLE is on), a watcher on a connection of its own (channels/email/imap_idle.py) wakes the
poller as soon as the server reports new mail; EMAIL_IMAP_POLL_S is then only the safety net. Without
IDLE the poller looks every EMAIL_IMAP_POLL_S seconds.
"""

from __future__ import annotations

import asyncio
import imaplib
import logging
import re
import ssl
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import asyncpg

from channels.email.imap_idle import IDLE, IdleWatcher
from channels.email.inbound import EmailIngest, TransientFailure
from channels.webhooks.sender import in_background
from db import email as store
from settings import Settings

log = logging.getLogger("email.imap")
IMAP_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class ImapConfig:
    host: str
    port: int
    user: str
    password: str
    mailbox: str = "INBOX"
    security: str = "tls"  # tls | starttls | none

    @property
    def key(self) -> str:
        return f"{self.user}@{self.host}:{self.port}/{self.mailbox}"

    @classmethod
    def from_settings(cls, s: Settings) -> ImapConfig | None:
        if not s.EMAIL_IMAP_HOST or not s.EMAIL_IMAP_USER or s.EMAIL_IMAP_PASSWORD is None:
            return None
        return cls(s.EMAIL_IMAP_HOST, s.EMAIL_IMAP_PORT, s.EMAIL_IMAP_USER, s.EMAIL_IMAP_PASSWORD.get_secret_value(),
                   s.EMAIL_IMAP_MAILBOX, s.EMAIL_IMAP_SECURITY)  # fmt: skip


class _Mailbox:
    """A blocking IMAP session (call its methods in a thread)."""

    def __init__(self, cfg: ImapConfig) -> None:
        if cfg.security == "tls":
            self.imap: imaplib.IMAP4 = imaplib.IMAP4_SSL(
                cfg.host, cfg.port, ssl_context=ssl.create_default_context(), timeout=IMAP_TIMEOUT_S
            )
        else:
            self.imap = imaplib.IMAP4(cfg.host, cfg.port, timeout=IMAP_TIMEOUT_S)
            if cfg.security == "starttls":
                self.imap.starttls(ssl.create_default_context())
        self.imap.login(cfg.user, cfg.password)
        typ, _ = self.imap.select(_quoted(cfg.mailbox), readonly=True)
        if typ != "OK":
            raise imaplib.IMAP4.error(f"cannot open mailbox {cfg.mailbox!r}")
        _, data = self.imap.response("UIDVALIDITY")
        if not data or data[0] is None:
            _, status = self.imap.status(_quoted(cfg.mailbox), "(UIDVALIDITY)")
            found = re.search(rb"UIDVALIDITY (\d+)", status[0] if status and isinstance(status[0], bytes) else b"")
            data = [found.group(1) if found else b"0"]
        self.uidvalidity = int(data[0])

    def uids_after(self, last: int) -> list[int]:
        typ, data = self.imap.uid("SEARCH", None, f"UID {last + 1}:*")  # type: ignore[arg-type]
        if typ != "OK" or not data or not data[0]:
            return []
        # "n:*" always matches the newest message, even below n: keep only what is new.
        return sorted(u for u in (int(x) for x in data[0].split()) if u > last)

    def fetch(self, uid: int) -> bytes | None:
        typ, data = self.imap.uid("FETCH", str(uid), "(BODY.PEEK[])")
        if typ != "OK":
            return None
        for item in data:
            if isinstance(item, tuple) and len(item) == 2 and isinstance(item[1], bytes):
                return item[1]
        return None  # expunged meanwhile

    def close(self) -> None:
        try:
            self.imap.logout()
        except (OSError, imaplib.IMAP4.error):
            pass


def _quoted(mailbox: str) -> str:
    return mailbox if re.fullmatch(r"[A-Za-z0-9._/-]+", mailbox) else '"' + mailbox.replace('"', '\\"') + '"'


class ImapPoller:
    def __init__(
        self,
        pool: asyncpg.Pool,
        ingest: EmailIngest,
        cfg: ImapConfig,
        *,
        poll_s: float = 30.0,
        batch: int = 50,
        idle: bool = True,
        idle_renew_s: float = 29 * 60.0,
    ) -> None:
        self._pool, self._ingest, self._cfg, self._poll, self._batch = pool, ingest, cfg, poll_s, batch
        self.watcher = IdleWatcher(cfg, idle_renew_s) if idle else None

    @property
    def mode(self) -> str:
        """`idle` while the server is watched in IDLE, else `polling` (no IDLE, or its connection is down)."""
        return "idle" if self.watcher is not None and self.watcher.state == IDLE else "polling"

    async def poll_once(self) -> int:
        """Import what is new in the mailbox; how many mails were taken (0 when another worker holds it)."""
        lock = f"email-imap:{self._cfg.key}"
        async with self._pool.acquire() as conn:
            if not await conn.fetchval("SELECT pg_try_advisory_lock(hashtext($1))", lock):
                return 0
            try:
                return await self._import(conn)
            finally:
                await conn.execute("SELECT pg_advisory_unlock(hashtext($1))", lock)

    async def _import(self, conn: asyncpg.pool.PoolConnectionProxy) -> int:
        box = await asyncio.to_thread(_Mailbox, self._cfg)
        taken = 0
        try:
            last = await store.imap_position(conn, self._cfg.key, box.uidvalidity)
            for uid in (await asyncio.to_thread(box.uids_after, last))[: self._batch]:
                raw = await asyncio.to_thread(box.fetch, uid)
                if raw is not None:
                    try:
                        await self._ingest.ingest(raw, source="imap")
                    except TransientFailure as e:
                        log.warning("IMAP %s uid %d: not taken now, next poll: %s", self._cfg.key, uid, e)
                        break
                    except Exception:  # a bug on one mail must not stop the mailbox: recorded, skipped
                        log.exception("IMAP %s uid %d: could not be taken; skipped (raw mail stays on server)",
                                      self._cfg.key, uid)  # fmt: skip
                await store.imap_advance(conn, self._cfg.key, box.uidvalidity, uid)
                taken += 1
        finally:
            await asyncio.to_thread(box.close)
        return taken

    async def run(self, stop: asyncio.Event) -> None:
        """Import now, then whenever the IDLE watcher reports mail, and every poll_s in any case."""
        loop = asyncio.get_running_loop()
        wake = asyncio.Event()
        halt = threading.Event()

        def woken() -> None:  # called from the watcher's thread
            try:
                loop.call_soon_threadsafe(wake.set)
            except RuntimeError:  # the loop has closed: we are stopping
                pass

        watching = None
        if self.watcher is not None:  # its own thread: it blocks for the life of the worker
            watching = threading.Thread(
                target=self.watcher.run, args=(woken, halt), name="email-imap-idle", daemon=True
            )
            watching.start()
        try:
            while not stop.is_set():
                wake.clear()  # before the poll: mail reported while it runs makes another one
                try:
                    await self.poll_once()
                except (OSError, imaplib.IMAP4.error, asyncpg.PostgresError) as e:
                    log.warning("IMAP %s: %s", self._cfg.key, e)
                except Exception:
                    log.exception("IMAP %s: poll failed", self._cfg.key)
                await _first_of(stop, wake, self._poll)
        finally:
            halt.set()
            if watching is not None:
                await asyncio.to_thread(watching.join, IMAP_TIMEOUT_S)


async def _first_of(a: asyncio.Event, b: asyncio.Event, timeout_s: float) -> None:
    waits = [asyncio.create_task(a.wait()), asyncio.create_task(b.wait())]
    try:
        await asyncio.wait(waits, timeout=timeout_s, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for w in waits:
            w.cancel()


@asynccontextmanager
async def running_poller(
    pool: asyncpg.Pool, ingest: EmailIngest, settings: Settings
) -> AsyncIterator[ImapPoller | None]:
    """Poll the support mailbox in the background for the block's duration (nothing when unconfigured)."""
    cfg = ImapConfig.from_settings(settings)
    if cfg is None:
        yield None
        return
    poller = ImapPoller(
        pool, ingest, cfg, poll_s=settings.EMAIL_IMAP_POLL_S, idle=settings.EMAIL_IMAP_IDLE,
        idle_renew_s=settings.EMAIL_IMAP_IDLE_RENEW_S,
    )  # fmt: skip
    async with in_background(poller.run, "email-imap", IMAP_TIMEOUT_S):
        yield poller
