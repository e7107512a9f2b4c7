"""Visitor tokens: the host site says who the visitor is, signed with `CHAT_SIGNING_SECRET`.

A token is `<base64url(JSON {"cid", "email", "exp"})>.<base64url(HMAC-SHA256(secret, first part))>`.
The host site, which knows its logged-in customer, makes one per visitor (`issue_token`, or the same
four lines in any language) and puts it in the widget's `data-token`. The chat endpoints read only
that customer's tickets: a token cannot be edited to name another customer without the secret.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from dataclasses import dataclass

MAX_TOKEN_CHARS = 2048


class InvalidToken(Exception):
    pass


@dataclass(frozen=True)
class Visitor:
    customer_id: str
    email: str | None
    expires_at: int


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(secret: str, part: str) -> str:
    return _b64(hmac.new(secret.encode(), part.encode(), hashlib.sha256).digest())


def issue_token(secret: str, customer_id: str, email: str | None = None, *, ttl_s: int = 3600,
                now: float | None = None) -> str:  # fmt: skip
    exp = int((time.time() if now is None else now) + ttl_s)
    body = _b64(json.dumps({"cid": customer_id, "email": email, "exp": exp}, separators=(",", ":")).encode())
    return f"{body}.{_mac(secret, body)}"


def verify_token(secret: str, token: str, *, now: float | None = None) -> Visitor:
    """The visitor a token names; InvalidToken when it is malformed, forged or expired."""
    if not token or len(token) > MAX_TOKEN_CHARS or token.count(".") != 1:
        raise InvalidToken("malformed chat token")
    body, mac = token.split(".")
    if not hmac.compare_digest(mac, _mac(secret, body)):
        raise InvalidToken("chat token signature does not match")
    try:
        claims = json.loads(_unb64(body))
        cid, email, exp = claims["cid"], claims.get("email"), int(claims["exp"])
    except (ValueError, KeyError, TypeError) as e:
        raise InvalidToken("malformed chat token") from e
    if not isinstance(cid, str) or not cid or not (email is None or isinstance(email, str)):
        raise InvalidToken("malformed chat token")
    if exp < (time.time() if now is None else now):
        raise InvalidToken("chat token expired")
    return Visitor(cid, email, exp)
