"""An RFC 822 message to what a ticket needs: sender, subject, thread ids, clean text, attachments, and
whether it is automatic mail (never answered).

Standard library only (`email` with `policy.default`): RFC 2047 headers and every transfer encoding and
charset Python knows are decoded; a malformed message (broken headers, a missing boundary, bad base64,
an unknown charset) is read as far as it goes, never refused for that alone.
"""

from __future__ import annotations

import email
import hashlib
import re
from dataclasses import dataclass, field
from email import policy
from email.header import decode_header, make_header
from email.message import EmailMessage, Message
from email.utils import getaddresses, parseaddr

from channels.email.bounces import Bounce, read_bounce
from channels.email.html_text import html_to_text

_MSG_ID = re.compile(r"<[^<>\s]{1,500}>")
_BOUNCE_SENDERS = re.compile(r"^(?:mailer-daemon|postmaster|mail-daemon|mailerdaemon)(?:@|$)", re.IGNORECASE)
_NOREPLY = re.compile(r"^(?:no-?reply|do-?not-?reply|noreply-[^@]*)@", re.IGNORECASE)


@dataclass(frozen=True)
class Part:
    """An attachment: kept by reference (name, type, size), its bytes stored outside the history."""

    filename: str
    content_type: str
    data: bytes

    @property
    def size(self) -> int:
        return len(self.data)

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


@dataclass(frozen=True)
class ParsedMail:
    message_id: str
    sender: str | None  # lower-case address, None when the From header has none
    sender_name: str | None
    recipients: list[str]
    subject: str
    in_reply_to: list[str]
    references: list[str]
    text: str
    attachments: list[Part] = field(default_factory=list)
    automatic: str | None = None  # why it is automatic mail (never answered), None for a person's mail
    defects: list[str] = field(default_factory=list)
    copied: list[str] = field(default_factory=list)  # the To and Cc addresses: whom the sender wrote to
    bounce: Bounce | None = None  # a delivery status notification: which mail of ours came back

    @property
    def thread_ids(self) -> list[str]:
        """Message-IDs this mail answers, most specific first: In-Reply-To, then References newest first."""
        seen: list[str] = []
        for mid in [*self.in_reply_to, *reversed(self.references)]:
            if mid not in seen:
                seen.append(mid)
        return seen


def synthetic_message_id(raw: bytes) -> str:
    """For a mail without a Message-ID: the same mail always gets the same id, whichever way it came.
    Made from its letters and digits only (servers rewrite line endings, NULs and stray bytes)."""
    letters = re.sub(rb"[^A-Za-z0-9]", b"", raw)
    return f"<{hashlib.sha256(letters).hexdigest()[:40]}@no-message-id.invalid>"


def _raw_header(msg: Message, name: str) -> str | None:
    for key, value in msg.raw_items() if isinstance(msg, EmailMessage) else msg.items():
        if key.lower() == name.lower():
            return str(value)
    return None


def header(msg: Message, name: str) -> str:
    """The header decoded (RFC 2047), "" when absent; a header `policy.default` cannot parse is decoded
    from its raw value instead of failing the message."""
    try:
        value = msg.get(name)
        return "" if value is None else re.sub(r"\s+", " ", str(value)).strip()
    except Exception:
        raw = _raw_header(msg, name)
        if raw is None:
            return ""
        try:
            return re.sub(r"\s+", " ", str(make_header(decode_header(raw)))).strip()
        except Exception:
            return re.sub(r"\s+", " ", raw).strip()


def _ids(msg: Message, name: str) -> list[str]:
    raw = _raw_header(msg, name) or ""
    return _MSG_ID.findall(raw)


def _decode(part: Message) -> str:
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return ""
    charset = part.get_content_charset() or "utf-8"
    for cs in (charset, "utf-8", "cp1252"):
        try:
            return payload.decode(cs)
        except (LookupError, UnicodeDecodeError):
            continue
    return payload.decode("utf-8", errors="replace")


def _filename(part: Message) -> str | None:
    try:
        name = part.get_filename()
    except Exception:
        name = None
    if name:
        return str(make_header(decode_header(name))) if "=?" in name else name
    return None


def _leaves(msg: Message) -> list[Message]:
    """Every leaf part in order; an attached message (message/rfc822) is one leaf, not descended into."""
    if msg.get_content_maintype() == "multipart":
        payload = msg.get_payload()
        if isinstance(payload, list):
            return [leaf for sub in payload if isinstance(sub, Message) for leaf in _leaves(sub)]
        return [msg]
    return [msg]


def _split(msg: Message) -> tuple[str, list[Part]]:
    """(text, attachments): the first text/plain body, else the first text/html as text; every part that
    is not a body is an attachment."""
    plain: str | None = None
    html: str | None = None
    attachments: list[Part] = []
    for part in _leaves(msg):
        ctype = part.get_content_type()
        try:
            disposition = part.get_content_disposition()
        except Exception:
            disposition = None
        name = _filename(part)
        if ctype == "message/rfc822":
            inner = part.get_payload()
            data = b""
            if isinstance(inner, list) and inner and isinstance(inner[0], Message):
                data = inner[0].as_bytes()
            attachments.append(Part(name or "forwarded.eml", ctype, data))
            continue
        if disposition != "attachment" and name is None and ctype in ("text/plain", "text/html"):
            if ctype == "text/plain" and plain is None:
                plain = _decode(part)
                continue
            if ctype == "text/html" and html is None:
                html = _decode(part)
                continue
        if ctype.startswith("multipart/"):
            continue  # a multipart without parts (no boundary found): nothing to keep
        payload = part.get_payload(decode=True)
        if isinstance(payload, bytes) and (payload or name):
            attachments.append(Part(name or f"part-{len(attachments) + 1}", ctype, payload))
    text = plain if plain is not None and plain.strip() else html_to_text(html) if html else (plain or "")
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text.strip(), attachments


def automatic_reason(msg: Message, sender: str | None, own_addresses: frozenset[str]) -> str | None:
    """Why this mail is automatic (an auto-reply, out-of-office, bounce, list mail or our own): such mail
    is recorded, never answered. None: a person wrote it."""
    auto = header(msg, "Auto-Submitted").lower()
    if auto and not auto.startswith("no"):
        return f"auto-submitted: {auto[:40]}"
    precedence = header(msg, "Precedence").lower()
    if precedence in {"bulk", "junk", "list", "auto_reply"}:
        return f"precedence: {precedence}"
    for name in ("X-Autoreply", "X-Autorespond", "X-Autoresponder", "X-Auto-Reply"):
        if header(msg, name):
            return f"{name.lower()} header"
    suppress = header(msg, "X-Auto-Response-Suppress").lower()
    if "oof" in suppress and "automatic reply" in header(msg, "Subject").lower():
        return "out of office (Outlook)"
    if msg.get_content_type() == "multipart/report":
        return "delivery or read report (multipart/report)"
    if header(msg, "Return-Path").strip() == "<>":
        return "null return path (a bounce)"
    if sender is None:
        return None
    if _BOUNCE_SENDERS.match(sender):
        return "mailer-daemon sender"
    if _NOREPLY.match(sender):
        return "no-reply sender"
    if sender in own_addresses or _own_plus(sender, own_addresses):
        return "our own address (a loop)"
    return None


def _own_plus(sender: str, own: frozenset[str]) -> bool:
    local, _, domain = sender.partition("@")
    base = local.split("+", 1)[0]
    return f"{base}@{domain}" in own


def parse(raw: bytes, own_addresses: frozenset[str] = frozenset()) -> ParsedMail:
    """Read a raw message; never raises on malformed input (what could not be read is in `defects`)."""
    msg = email.message_from_bytes(raw, policy=policy.default)
    defects = [type(d).__name__ for d in msg.defects]
    ids = _ids(msg, "Message-ID")
    message_id = ids[0] if ids else synthetic_message_id(raw)
    name, address = parseaddr(header(msg, "From"))
    sender = address.strip().lower() if "@" in address else None
    recipients: list[str] = []
    copied: list[str] = []
    for h in ("To", "Cc", "Delivered-To", "X-Original-To", "Envelope-To"):
        value = header(msg, h)
        if value:
            found = [a.strip().lower() for _, a in getaddresses([value]) if "@" in a]
            recipients += found
            copied += found if h in ("To", "Cc") else []
    try:
        text, attachments = _split(msg)
    except Exception as e:  # the structure is beyond repair: the raw bytes as text, nothing attached
        defects.append(f"unreadable structure: {type(e).__name__}")
        text, attachments = raw.decode("utf-8", errors="replace"), []
    return ParsedMail(
        message_id=message_id,
        sender=sender,
        sender_name=name.strip() or None,
        recipients=list(dict.fromkeys(recipients)),
        subject=header(msg, "Subject"),
        in_reply_to=_ids(msg, "In-Reply-To"),
        references=_ids(msg, "References"),
        text=text,
        attachments=attachments,
        automatic=automatic_reason(msg, sender, own_addresses),
        defects=defects,
        copied=list(dict.fromkeys(copied)),
        bounce=_bounce(msg, defects),
    )


def _bounce(msg: Message, defects: list[str]) -> Bounce | None:
    try:
        return read_bounce(msg)
    except Exception as e:  # a report too broken to read is still automatic mail, just not matched
        defects.append(f"unreadable delivery report: {type(e).__name__}")
        return None
