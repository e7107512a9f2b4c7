"""Standard Webhooks signatures (https://www.standardwebhooks.com/).

Every webhook we send carries three headers:

* `webhook-id`: the message's id, the same on every retry and replay (the receiver deduplicates on it);
* `webhook-timestamp`: seconds since the epoch when this attempt was signed (a receiver refuses an old
  one, so a captured request cannot be replayed later);
* `webhook-signature`: `v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">`, one per secret, separated
  by spaces: during a rotation the old and the new secret both sign, and a receiver holding either accepts.

Secrets are `whsec_<base64 of the key bytes>`, as the specification and its libraries write them.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass

PREFIX = "whsec_"
MIN_KEY_BYTES = 24  # the specification: between 24 and 64 bytes


class InvalidSecret(ValueError):
    pass


def decode_secret(secret: str) -> bytes:
    """The key bytes of a `whsec_<base64>` secret."""
    s = secret.strip()
    if not s.startswith(PREFIX):
        raise InvalidSecret(f"a webhook secret starts with {PREFIX!r}")
    try:
        key = base64.b64decode(s[len(PREFIX) :], validate=True)
    except (binascii.Error, ValueError) as e:
        raise InvalidSecret("a webhook secret is whsec_ followed by base64") from e
    if len(key) < MIN_KEY_BYTES or len(key) > 64:
        raise InvalidSecret(f"a webhook secret's key is {MIN_KEY_BYTES} to 64 bytes, this one is {len(key)}")
    return key


def new_secret() -> str:
    """A fresh secret for `WEBHOOK_SECRETS` (`supportctl webhooks secret`)."""
    return PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def encode_body(payload: object) -> bytes:
    """The exact bytes sent and signed: compact JSON, keys sorted, so a replay sends the same body."""
    return json.dumps(payload, separators=(",", ":"), sort_keys=True, ensure_ascii=False).encode()


def signature(key: bytes, msg_id: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(key, f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode()


@dataclass(frozen=True)
class Signer:
    """Signs with every configured secret (newest first); no secrets = the headers without a signature."""

    keys: tuple[bytes, ...] = ()

    @classmethod
    def from_secrets(cls, secrets_: Sequence[str]) -> Signer:
        return cls(tuple(decode_secret(s) for s in secrets_))

    def headers(self, msg_id: str, body: bytes, *, now: float | None = None) -> dict[str, str]:
        ts = int(time.time() if now is None else now)
        out = {"webhook-id": msg_id, "webhook-timestamp": str(ts), "content-type": "application/json"}
        if self.keys:
            out["webhook-signature"] = " ".join(signature(k, msg_id, ts, body) for k in self.keys)
        return out


def parse_secrets(value: str | None) -> list[str]:
    """`WEBHOOK_SECRETS`: one or more `whsec_…` secrets separated by spaces or commas."""
    if not value:
        return []
    found = [s for s in value.replace(",", " ").split() if s]
    for s in found:
        decode_secret(s)
    return found
