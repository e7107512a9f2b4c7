"""The payload codec: AES-256-GCM over each whole payload (its metadata and data).

An encrypted payload is `encoding: binary/encrypted`, `encryption-key-id: <key id>`, and data
`nonce (12 bytes) || ciphertext || tag`, the associated data binding it to its key id. The original
payload (encoding `json/plain` and its JSON) is the plaintext, so nothing of it shows.

Which key writes: the SDK gives the codec the workflow id of the payload (its serialization context:
a workflow's input, result, signals, updates, queries, memo, user metadata, its activities' inputs and
results, failures). A ticket workflow's payloads use its customer's data key (db/data_keys.py), so
destroying that key shreds them; a payload with no customer (no workflow id, not a ticket) uses the
writing master key. Reading goes by the key id in the payload alone (the codec endpoint gets no context).

A payload that is not encrypted is passed through on decode: histories written before the codec (and
the replay tests' recorded histories) still read.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Self

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from temporalio.api.common.v1 import Payload
from temporalio.converter import PayloadCodec, SerializationContext, WithSerializationContext

from codec.keys import DATA_KEY_PREFIX, KeyRing, UnknownKey, seal, unseal
from db.data_keys import DataKeys

ENCODING = b"binary/encrypted"
KEY_ID = "encryption-key-id"
CIPHER = "encryption-cipher"
AES_GCM = b"AES256-GCM"


def _aad(key_id: str) -> bytes:
    return b"temporal-payload\x00" + key_id.encode()


def is_encrypted(payload: Payload) -> bool:
    return payload.metadata.get("encoding") == ENCODING


class EncryptionCodec(PayloadCodec, WithSerializationContext):
    """Encrypts with the customer's data key when the workflow is a customer's ticket, else the master key.

    `data_keys` None: master keys only (tests, replay). `fresh`: data keys are read from the database on
    every call (the codec endpoint: an erasure elsewhere takes effect at once)."""

    def __init__(
        self,
        keyring: KeyRing,
        data_keys: DataKeys | None = None,
        *,
        workflow_id: str | None = None,
        fresh: bool = False,
    ) -> None:
        self.keyring, self.data_keys, self.workflow_id, self.fresh = keyring, data_keys, workflow_id, fresh

    def with_context(self, context: SerializationContext) -> Self:
        workflow_id = getattr(context, "workflow_id", None)  # workflow and activity contexts; Nexus has none
        if workflow_id == self.workflow_id:
            return self
        return type(self)(self.keyring, self.data_keys, workflow_id=workflow_id, fresh=self.fresh)

    def fresh_reads(self) -> EncryptionCodec:
        return EncryptionCodec(self.keyring, self.data_keys, workflow_id=None, fresh=True)

    async def _writing_key(self) -> tuple[str, AESGCM]:
        if self.data_keys is not None and self.workflow_id:
            customer = await self.data_keys.customer_of(self.workflow_id)
            if customer is not None:
                key_id, key = await self.data_keys.key_for_customer(customer)
                return key_id, AESGCM(key)
        return self.keyring.write_id, self.keyring.aead(self.keyring.write_id)

    async def _reading_key(self, key_id: str, found: dict[str, AESGCM]) -> AESGCM:
        if key_id in found:
            return found[key_id]
        if key_id.startswith(DATA_KEY_PREFIX):
            if self.data_keys is None:
                raise UnknownKey(f"payload sealed with data key {key_id}, and this codec has no data key store")
            aead = AESGCM(await self.data_keys.key_by_id(key_id, fresh=self.fresh))
        else:
            aead = self.keyring.aead(key_id)
        found[key_id] = aead
        return aead

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        if not payloads:
            return []
        key_id, aead = await self._writing_key()
        out = []
        for p in payloads:
            if is_encrypted(p):  # never twice
                out.append(p)
                continue
            out.append(
                Payload(
                    metadata={"encoding": ENCODING, KEY_ID: key_id.encode(), CIPHER: AES_GCM},
                    data=seal(aead, p.SerializeToString(), _aad(key_id)),
                )
            )
        return out

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        found: dict[str, AESGCM] = {}
        out = []
        for p in payloads:
            if not is_encrypted(p):
                out.append(p)
                continue
            key_id = p.metadata.get(KEY_ID, b"").decode()
            aead = await self._reading_key(key_id, found)
            out.append(Payload.FromString(unseal(aead, p.data, _aad(key_id))))
        return out
