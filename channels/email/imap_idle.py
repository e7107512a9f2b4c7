"""IMAP IDLE (RFC 2177): a connection of its own that waits for the server to say mail arrived.

The watcher does not import anything itself: on `EXISTS` / `RECENT` it calls `wake()`, and the poller
(channels/email/imap.py) then runs its usual import, which takes each mail once by UIDVALIDITY and UID.
So IDLE only makes the import prompt; a lost IDLE connection, a server without IDLE, or a notification
that never came costs latency (the poller still looks every EMAIL_IMAP_POLL_S), never a mail.

- The server's capabilities after login decide: without `IDLE` the watcher ends and the poller polls.
- The IDLE is ended and re-issued every `renew_s` (EMAIL_IMAP_IDLE_RENEW_S, 29 minutes by default):
  RFC 2177 lets a server drop a client idle for 30 minutes, and NAT boxes forget quiet connections.
- A dropped connection (server restart, kicked session, network) is noticed when the socket closes or
  the renewal fails; the watcher reconnects with backoff (1, 2, 4 … s, at most RECONNECT_MAX_S) and
  wakes the poller once connected again, for whatever arrived in between.

IMAPClient (BSD licence) runs the protocol, blocking, in one thread of its own; `stop` is looked at every
`check_s` seconds.
"""

from __future__ import annotations

import imaplib
import logging
import ssl
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from imapclient import IMAPClient

from channels.webhooks.sender import backoff_s

if TYPE_CHECKING:
    from channels.email.imap import ImapConfig

log = logging.getLogger("email.imap")
RECONNECT_MAX_S = 60.0
CONNECT_TIMEOUT_S = 60.0
NEWS = (b"EXISTS", b"RECENT")

CONNECTING, IDLE, UNSUPPORTED, STOPPED = "connecting", "idle", "unsupported", "stopped"


class ConnectionClosed(OSError):
    """The server closed the IDLE connection."""


def connect(cfg: ImapConfig) -> IMAPClient:
    """Log in and open the mailbox read-only (flags stay as people who read the mailbox left them)."""
    context = ssl.create_default_context()
    client = IMAPClient(cfg.host, cfg.port, ssl=cfg.security == "tls", ssl_context=context, timeout=CONNECT_TIMEOUT_S)
    try:
        if cfg.security == "starttls":
            client.starttls(context)
        client.login(cfg.user, cfg.password)
        client.select_folder(cfg.mailbox, readonly=True)
    except BaseException:
        _close(client)
        raise
    return client


def _close(client: IMAPClient) -> None:
    try:
        client.logout()
    except Exception:  # a dead connection: nothing to say goodbye to
        try:
            client.shutdown()
        except Exception:
            pass


def _is_news(response: Any) -> bool:
    return isinstance(response, tuple) and len(response) >= 2 and response[1] in NEWS


class IdleWatcher:
    def __init__(self, cfg: ImapConfig, renew_s: float, *, check_s: float = 1.0) -> None:
        self._cfg, self._renew_s, self._check_s = cfg, renew_s, check_s
        self.state = CONNECTING
        self.idles_issued = 0  # IDLE commands sent (renewals included), for tests and debugging
        self.connections = 0  # sessions opened (reconnects included)

    def run(self, wake: Callable[[], None], stop: threading.Event) -> None:
        """Watch until `stop` is set, or until the server turns out to have no IDLE (state `unsupported`)."""
        failures = 0
        while not stop.is_set():
            self.state = CONNECTING
            try:
                client = connect(self._cfg)
            except Exception as e:
                failures += 1
                wait = backoff_s(failures, RECONNECT_MAX_S)
                log.warning("IMAP %s: IDLE connection failed (%s); again in %.0fs", self._cfg.key, e, wait)
                stop.wait(wait)
                continue
            self.connections += 1
            try:
                if not client.has_capability("IDLE"):
                    self.state = UNSUPPORTED
                    log.info("IMAP %s: the server offers no IDLE; polling only", self._cfg.key)
                    return
                wake()  # what arrived while we were not connected
                failures = 0
                self._idle(client, wake, stop)
            except Exception as e:
                failures += 1
                wait = backoff_s(failures, RECONNECT_MAX_S)
                log.warning("IMAP %s: IDLE connection lost (%s: %s); reconnecting in %.0fs",
                            self._cfg.key, type(e).__name__, e, wait)  # fmt: skip
                stop.wait(wait)
            finally:
                _close(client)
        self.state = STOPPED

    def _idle(self, client: IMAPClient, wake: Callable[[], None], stop: threading.Event) -> None:
        """IDLE, re-issued every renew_s, until `stop`; raises when the connection is lost."""
        while not stop.is_set():
            client.idle()
            self.idles_issued += 1
            self.state = IDLE
            renew_at = time.monotonic() + self._renew_s
            try:
                while not stop.is_set() and (left := renew_at - time.monotonic()) > 0:
                    wait = min(self._check_s, left)
                    started = time.monotonic()
                    responses = client.idle_check(timeout=wait)
                    if any(_is_news(r) for r in responses):
                        wake()
                    elif not responses and time.monotonic() - started < wait / 2:
                        # readable at once but nothing to read: the server closed the connection
                        raise ConnectionClosed("the server closed the connection")
            finally:
                self.state = CONNECTING
                try:
                    client.idle_done()
                except (OSError, imaplib.IMAP4.error):
                    if not stop.is_set():
                        raise
