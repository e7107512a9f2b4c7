"""Master keys and AES-256-GCM sealing.

A master key has an id (written in every payload it encrypts, so old keys stay readable after a
rotation) and 32 random bytes. PAYLOAD_KEYS holds them all; PAYLOAD_KEY_ID names the one that writes.
A customer's data key (db/data_keys.py) is sealed by a master key; a payload is sealed by a data key or,
when it belongs to no customer, by the writing master key.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import os
import re
import time
from collections.abc import Mapping
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

KEY_BYTES = 32
NONCE_BYTES = 12
DATA_KEY_PREFIX = "cdk_"  # a customer's data key id; master key ids may not start with it
_KEY_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
LOCAL_KEYS_FILE = "payload-keys.json"

log = logging.getLogger("codec")


class CodecKeyError(LookupError):
    """Base of the codec's key errors."""


class UnknownKey(CodecKeyError):
    """A payload or data key names a key this process does not hold (or that was destroyed)."""


class DecryptionFailed(CodecKeyError):
    """The ciphertext does not authenticate under the key it names (tampered, or the wrong key)."""


def decode_key(key_id: str, b64: str) -> bytes:
    """A master key from its base64 text; refuses what is not 32 random-looking bytes."""
    if not _KEY_ID.match(key_id) or key_id.startswith(DATA_KEY_PREFIX):
        raise ValueError(f"key id {key_id!r}: 1-64 of A-Z a-z 0-9 . _ -, not starting with {DATA_KEY_PREFIX!r}")
    try:
        raw = base64.b64decode(b64.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise ValueError(f"key {key_id!r} is not base64") from None
    if len(raw) != KEY_BYTES:
        raise ValueError(f"key {key_id!r} is {len(raw)} bytes; it must be {KEY_BYTES} (base64 of 32 random bytes)")
    # 32 random bytes have ~30 distinct values; a key of few distinct bytes (all zeros, "aaaa…", a
    # repeated pattern) is a placeholder someone typed, not a secret.
    if len(set(raw)) < 16:
        raise ValueError(f"key {key_id!r} is a placeholder (too few distinct bytes), not a random key")
    return raw


def new_key() -> str:
    """A fresh master key, base64 (for PAYLOAD_KEYS)."""
    return base64.b64encode(os.urandom(KEY_BYTES)).decode()


def seal(aead: AESGCM, plaintext: bytes, aad: bytes) -> bytes:
    nonce = os.urandom(NONCE_BYTES)
    return nonce + aead.encrypt(nonce, plaintext, aad)


def unseal(aead: AESGCM, blob: bytes, aad: bytes) -> bytes:
    if len(blob) < NONCE_BYTES + 16:
        raise DecryptionFailed("ciphertext too short")
    try:
        return aead.decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], aad)
    except InvalidTag:
        raise DecryptionFailed("ciphertext does not authenticate (tampered, or sealed with another key)") from None


class KeyRing:
    """The master keys: every one readable, `write_id` the one new ciphertext uses."""

    def __init__(self, keys: Mapping[str, bytes], write_id: str) -> None:
        if write_id not in keys:
            raise ValueError(f"the writing key {write_id!r} is not among the keys {sorted(keys)}")
        self._aead = {kid: AESGCM(k) for kid, k in keys.items()}
        self.write_id = write_id

    @classmethod
    def from_base64(cls, keys: Mapping[str, str], write_id: str | None) -> KeyRing:
        raw = {kid: decode_key(kid, b64) for kid, b64 in keys.items()}
        if write_id is None:
            if len(raw) != 1:
                raise ValueError("PAYLOAD_KEY_ID must name the writing key when PAYLOAD_KEYS holds several")
            write_id = next(iter(raw))
        return cls(raw, write_id)

    @property
    def ids(self) -> list[str]:
        return sorted(self._aead)

    def aead(self, key_id: str) -> AESGCM:
        try:
            return self._aead[key_id]
        except KeyError:
            raise UnknownKey(f"no master key {key_id!r} in PAYLOAD_KEYS (removed after a rotation?)") from None

    def wrap(self, data_key: bytes, aad: bytes) -> tuple[str, bytes]:
        return self.write_id, seal(self._aead[self.write_id], data_key, aad)

    def unwrap(self, master_key_id: str, wrapped: bytes, aad: bytes) -> bytes:
        return unseal(self.aead(master_key_id), wrapped, aad)


def local_keyring(data_dir: Path) -> KeyRing:
    """The local stack's master key: generated once into DATA_DIR/payload-keys.json (mode 0600) and
    read back by every process of the stack. Never a key written in the code: each checkout has its own."""
    path = data_dir / LOCAL_KEYS_FILE
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        doc = {"write": "local-1", "keys": {"local-1": new_key()}}
        try:  # O_EXCL: two processes starting at once agree on one key (the loser reads the winner's)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "w") as f:
                json.dump(doc, f)
            log.warning(
                "PAYLOAD_KEYS is not set: generated a local payload key in %s. Fine for the local stack; "
                "in production set PAYLOAD_KEYS and PAYLOAD_KEY_ID (losing this file makes every encrypted "
                "history unreadable)",
                path,
            )
    for _ in range(50):  # the winner may still be writing it
        try:
            doc = json.loads(path.read_text())
            break
        except json.JSONDecodeError:
            time.sleep(0.02)
    else:
        raise RuntimeError(f"{path}: not a payload key file")
    return KeyRing.from_base64(doc["keys"], doc["write"])
