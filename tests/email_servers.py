"""Real mail servers for the e-mail tests: Dovecot (IMAP) from a temporary config, run unprivileged,
and aiosmtpd recording what we send. Mail reaches Dovecot by IMAP APPEND, as a real client's would."""

from __future__ import annotations

import asyncio
import imaplib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"
DOVEADM = shutil.which("doveadm") or "/usr/bin/doveadm"
# Dovecot's capabilities after login, less IDLE: a server that cannot push (the poller must poll).
WITHOUT_IDLE = "imap_capability = IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE SORT LITERAL+ UIDPLUS NAMESPACE\n"
USER, PASSWORD = "support", "s3cret-pw"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class Dovecot:
    host: str
    port: int
    user: str
    password: str
    base: Path

    def append(self, raw: bytes, mailbox: str = "INBOX") -> None:
        imap = imaplib.IMAP4(self.host, self.port, timeout=30)
        try:
            imap.login(self.user, self.password)
            if mailbox != "INBOX":
                imap.create(mailbox)  # "already exists" after the first: fine
            typ, data = imap.append(mailbox, "", imaplib.Time2Internaldate(time.time()), raw)
            assert typ == "OK", data
        finally:
            imap.logout()

    def kick(self) -> None:
        """Drop every session of the user, as a server restart or an admin would."""
        subprocess.run([DOVEADM, "-c", str(self.base / "dovecot.conf"), "kick", self.user], check=True,
                       capture_output=True)  # fmt: skip


@pytest.fixture(scope="session")
def dovecot() -> Iterator[Dovecot]:
    with running_dovecot() as server:
        yield server


@pytest.fixture(scope="session")
def dovecot_without_idle() -> Iterator[Dovecot]:
    with running_dovecot(WITHOUT_IDLE) as server:
        yield server


@contextmanager
def running_dovecot(extra_config: str = "") -> Iterator[Dovecot]:
    if not os.path.exists(DOVECOT):
        pytest.skip("Dovecot is not installed (apt-get install -y dovecot-imapd)")
    base = Path(tempfile.mkdtemp(prefix="dovecot-"))
    home = base / "home"
    (home / "Maildir").mkdir(parents=True)
    port = _free_port()
    conf = base / "dovecot.conf"
    conf.write_text(
        f"""base_dir = {base}/run
state_dir = {base}/state
log_path = {base}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
mail_location = maildir:~/Maildir
default_internal_user = nobody
default_internal_group = nogroup
default_login_user = nobody
passdb {{
  driver = passwd-file
  args = {base}/users
}}
userdb {{
  driver = passwd-file
  args = {base}/users
}}
service imap-login {{
  inet_listener imap {{
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  chroot =
}}
service imap-login {{
  chroot =
}}
{extra_config}"""
    )
    (base / "users").write_text(f"{USER}:{{PLAIN}}{PASSWORD}:65534:65534::{home}::\n")
    for p in (base, home, home / "Maildir"):
        os.chmod(p, 0o755)
    if os.geteuid() == 0:
        for root, dirs, _ in os.walk(home):
            os.chown(root, 65534, 65534)
            for d in dirs:
                os.chown(Path(root) / d, 65534, 65534)
    subprocess.run([DOVECOT, "-c", str(conf)], check=True)
    deadline = time.monotonic() + 10
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                break
        except OSError as e:
            if time.monotonic() > deadline:
                raise RuntimeError((base / "dovecot.log").read_text() if (base / "dovecot.log").exists() else "") from e
            time.sleep(0.05)
    try:
        yield Dovecot("127.0.0.1", port, USER, PASSWORD, base)
    finally:
        pid = base / "run" / "master.pid"
        if pid.exists():
            os.kill(int(pid.read_text().strip()), signal.SIGTERM)
        shutil.rmtree(base, ignore_errors=True)


@dataclass
class Recorder:
    """An SMTP peer: every message received, as bytes; `refuse` answers the next N DATA with a 451 (only
    those to `refuse_to` when set: other tests' tickets in the same outbox must not use up the refusals)."""

    received: list[tuple[Envelope, bytes]] = field(default_factory=list)
    refuse: int = 0
    refuse_to: str | None = None

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802
        if self.refuse > 0 and (self.refuse_to is None or self.refuse_to in envelope.rcpt_tos):
            self.refuse -= 1
            return "451 4.3.0 try again later"
        content = envelope.original_content or b""
        self.received.append((envelope, content))
        return "250 OK"

    async def wait_for(self, n: int, within: float = 20) -> list[bytes]:
        deadline = time.monotonic() + within
        while len(self.received) < n:
            if time.monotonic() > deadline:
                raise AssertionError(f"{len(self.received)} mails received, wanted {n}")
            await asyncio.sleep(0.05)
        return [c for _, c in self.received]


@pytest.fixture
def smtp_peer() -> Iterator[tuple[Recorder, int]]:
    recorder = Recorder()
    controller = Controller(recorder, hostname="127.0.0.1", port=_free_port())
    controller.start()
    try:
        yield recorder, controller.port
    finally:
        controller.stop()
