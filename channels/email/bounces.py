"""Delivery status notifications (RFC 3464): which mail of ours came back, for whom, and why.

A bounce is a `multipart/report; report-type=delivery-status`: a human-readable part, a
`message/delivery-status` part (per recipient: `Final-Recipient`, `Action`, `Status`,
`Diagnostic-Code`), and the returned mail, whole (`message/rfc822`) or its headers only
(`text/rfc822-headers`). The mail it reports on is found by Message-ID: the returned mail's own, an
`Original-Message-ID` / `X-Original-Message-ID` field some servers add, and the report's own
`In-Reply-To` / `References` (a few servers thread their bounce). Only `Action: failed` is a bounce;
`delayed`, `delivered`, `relayed` and `expanded` are news, not failures.
"""

from __future__ import annotations

import email
import re
from dataclasses import dataclass, field
from email import policy
from email.message import Message

_MSG_ID = re.compile(r"<[^<>\s]{1,500}>")
_ID_FIELDS = ("Message-ID", "Original-Message-ID", "X-Original-Message-ID")


@dataclass(frozen=True)
class Bounce:
    failed: bool  # some recipient's Action is `failed` (else only delayed / delivered notices)
    recipients: list[str]  # the failed recipients (all reported ones when none failed)
    status: str  # the first failed recipient's Status, e.g. 5.1.1
    diagnostic: str  # its Diagnostic-Code, as the remote server said it
    original_ids: list[str] = field(default_factory=list)  # Message-IDs the report may be about

    @property
    def hard(self) -> bool:
        """A permanent failure (5.x.x, or `failed` with no status): mailing the address again is pointless.
        A failure with a 4.x.x status (a full mailbox, a server that kept deferring) may pass later."""
        return self.failed and not self.status.startswith("4")

    def summary(self) -> str:
        who = ", ".join(self.recipients) or "the recipient"
        what = "bounced" if self.failed else "delivery delayed or reported"
        return f"{what}: {who} {self.status}".rstrip() + (f" ({self.diagnostic[:200]})" if self.diagnostic else "")


def _ids(value: str | None) -> list[str]:
    return _MSG_ID.findall(value or "")


def _field(block: Message, name: str) -> str:
    try:
        value = block.get(name)
    except Exception:
        return ""
    return re.sub(r"\s+", " ", str(value)).strip() if value is not None else ""


def _address(value: str) -> str:
    """`rfc822; gone@example.com` → gone@example.com"""
    return value.split(";", 1)[-1].strip().strip("<>").lower()


def _status_blocks(part: Message) -> list[Message]:
    payload = part.get_payload()
    if isinstance(payload, list):
        return [b for b in payload if isinstance(b, Message)]
    if isinstance(payload, str):  # unparsed (a non-standard content type): the blocks by hand
        return [email.message_from_string(b, policy=policy.default) for b in re.split(r"\r?\n\r?\n", payload)]
    return []


def _returned_headers(part: Message) -> Message | None:
    ctype = part.get_content_type()
    if ctype in ("message/rfc822", "message/global"):
        inner = part.get_payload()
        if isinstance(inner, list) and inner and isinstance(inner[0], Message):
            return inner[0]
    if ctype in ("text/rfc822-headers", "message/rfc822-headers", "text/global-headers"):
        raw = part.get_payload(decode=True)
        text = raw.decode("utf-8", errors="replace") if isinstance(raw, bytes) else str(part.get_payload())
        return email.message_from_string(text.lstrip(), policy=policy.default)
    return None


def read_bounce(msg: Message) -> Bounce | None:
    """The delivery report in `msg`, or None when it is not one (read receipts are not bounces)."""
    if msg.get_content_type() != "multipart/report":
        return None
    if (msg.get_param("report-type") or "").lower() != "delivery-status":  # type: ignore[union-attr]
        return None
    payload = msg.get_payload()
    parts = [p for p in payload if isinstance(p, Message)] if isinstance(payload, list) else []
    ids: list[str] = []
    for name in ("In-Reply-To", "References"):
        ids += _ids(_field(msg, name))
    failed: list[tuple[str, str, str]] = []
    reported: list[str] = []
    for part in parts:
        if part.get_content_type() in ("message/delivery-status", "message/global-delivery-status"):
            for block in _status_blocks(part):
                for name in _ID_FIELDS[1:]:
                    ids += _ids(_field(block, name))
                recipient = _address(_field(block, "Final-Recipient") or _field(block, "Original-Recipient"))
                if not recipient:
                    continue
                reported.append(recipient)
                action, status = _field(block, "Action").lower(), _field(block, "Status")
                if action == "failed" or (not action and status.startswith("5")):
                    failed.append((recipient, status, _field(block, "Diagnostic-Code")))
            continue
        returned = _returned_headers(part)
        if returned is not None:
            for name in _ID_FIELDS:
                ids = _ids(_field(returned, name)) + ids  # the returned mail's own id first
    if failed:
        return Bounce(True, [r for r, _, _ in failed], failed[0][1], failed[0][2], list(dict.fromkeys(ids)))
    return Bounce(False, reported, "", "", list(dict.fromkeys(ids)))
