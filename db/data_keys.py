"""Per-customer data keys (envelope encryption) and which customer each ticket workflow belongs to.

A customer's data key is 32 random bytes, stored only here, sealed (AES-GCM) by a master key from
PAYLOAD_KEYS; the payload codec (codec/payload.py) encrypts every payload of that customer's tickets with
it. Erasure deletes the row (`destroy`): no copy of the key is left anywhere, so every copy of those
histories (Temporal, its archives, backups, a `temporal workflow show` saved to a file) is unreadable.

The codec is given a workflow id (the SDK's serialization context), not a customer. `bind` records a
ticket workflow's customer before the workflow starts (the client's interceptor, clients.py); tickets
started otherwise are found through the ticket store's `tickets.workflow_id`.

Caches: which customer a workflow belongs to never changes (kept); an unwrapped data key is kept for
`cache_s` seconds so a busy ticket costs no query per payload. The erasing process forgets the key at
once; another process stops using it within `cache_s`. A store opened `fresh` (the codec endpoint)
caches no key at all.
"""

from __future__ import annotations

import asyncio
import os
import time
import weakref
from collections import OrderedDict
from typing import Any

import asyncpg

from codec.keys import DATA_KEY_PREFIX, KEY_BYTES, CodecKeyError, KeyRing, UnknownKey
from db.tickets import Conn

BIND = "INSERT INTO workflow_customers (workflow_id, customer_id) VALUES ($1, $2) ON CONFLICT (workflow_id) DO NOTHING"
CUSTOMER_OF = """
SELECT customer_id FROM workflow_customers WHERE workflow_id = $1
UNION ALL SELECT customer_id FROM tickets WHERE workflow_id = $1
LIMIT 1
"""
KEY_OF_CUSTOMER = "SELECT key_id, wrapped_key, master_key_id FROM customer_data_keys WHERE customer_id = $1"
KEY_BY_ID = "SELECT customer_id, wrapped_key, master_key_id FROM customer_data_keys WHERE key_id = $1"
NEW_KEY = """
INSERT INTO customer_data_keys (key_id, customer_id, wrapped_key, master_key_id) VALUES ($1, $2, $3, $4)
ON CONFLICT (customer_id) DO NOTHING
"""
DESTROY = "DELETE FROM customer_data_keys WHERE customer_id = $1"
ALL_KEYS = "SELECT key_id, customer_id, wrapped_key, master_key_id FROM customer_data_keys WHERE master_key_id <> $1"
SAMPLE_KEY = "SELECT key_id, customer_id, wrapped_key, master_key_id FROM customer_data_keys LIMIT 1"
REWRAP = "UPDATE customer_data_keys SET wrapped_key = $2, master_key_id = $3 WHERE key_id = $1 AND master_key_id = $4"

_MAX_CACHED = 20_000
# One small pool per database per event loop for stores that were given none (the API's client, bench).
# Keyed by the loop itself, weakly: a new loop that happens to get a dead one's id() must not inherit its
# (closed) pool.
_pools: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, asyncpg.Pool]] = weakref.WeakKeyDictionary()
_pool_locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = weakref.WeakKeyDictionary()


def _wrap_aad(key_id: str, customer_id: str) -> bytes:
    # A wrapped key only opens as this key id of this customer: rows cannot be swapped between customers.
    return f"customer-data-key\x00{key_id}\x00{customer_id}".encode()


async def keyring_mismatch(conn: Conn, keyring: KeyRing) -> str | None:
    """Why `keyring` cannot open the customers' data keys stored here (one tried), or None when it can.

    A database set up by another checkout (its own generated master key) or under other PAYLOAD_KEYS
    would fail every new ticket of a known customer and every read of its history; said at start-up,
    the operator can point at the right keys or a fresh database instead."""
    row = await conn.fetchrow(SAMPLE_KEY)
    if row is None:
        return None
    try:
        keyring.unwrap(row["master_key_id"], bytes(row["wrapped_key"]), _wrap_aad(row["key_id"], row["customer_id"]))
    except CodecKeyError as e:
        return (
            f"the database holds customers' data keys sealed with master key {row['master_key_id']!r} that this "
            f"stack's keys cannot open ({e}): it was set up by another checkout or with other PAYLOAD_KEYS. Use "
            "those keys (PAYLOAD_KEYS, or that checkout's data/payload-keys.json), or a fresh database "
            "(DATABASE_URL)"
        )
    return None


async def destroy(conn: Conn, customer_id: str) -> int:
    """Delete the customer's data key (crypto-shredding); the number of keys deleted (0 or 1)."""
    status = await conn.execute(DESTROY, customer_id)
    return int(status.split()[-1])


async def rewrap(pool: asyncpg.Pool, keyring: KeyRing) -> int:
    """Re-seal every data key under the writing master key (after a rotation, before an old master key
    is removed from PAYLOAD_KEYS). The data keys, hence the payloads, do not change. The number re-sealed."""
    done = 0
    for row in await pool.fetch(ALL_KEYS, keyring.write_id):
        aad = _wrap_aad(row["key_id"], row["customer_id"])
        key = keyring.unwrap(row["master_key_id"], row["wrapped_key"], aad)
        master_id, wrapped = keyring.wrap(key, aad)
        status = await pool.execute(REWRAP, row["key_id"], wrapped, master_id, row["master_key_id"])
        done += int(status.split()[-1])
    return done


class DataKeys:
    """The data keys as the codec sees them: by workflow id (to write) and by key id (to read)."""

    def __init__(
        self, keyring: KeyRing, *, pool: asyncpg.Pool | None = None, dsn: str | None = None, cache_s: float = 60.0
    ) -> None:
        if pool is None and dsn is None:
            raise ValueError("DataKeys needs a pool or a DATABASE_URL")
        self.keyring = keyring
        self._pool, self._dsn, self.cache_s = pool, dsn, cache_s
        self._customers: OrderedDict[str, str | None] = OrderedDict()  # workflow id → customer (None: none)
        self._no_customer_until: dict[str, float] = {}
        self._by_customer: dict[str, tuple[str, bytes, float]] = {}  # customer → (key id, key, expires)
        self._by_id: dict[str, tuple[str, bytes, float]] = {}  # key id → (customer, key, expires)

    async def pool(self) -> asyncpg.Pool:
        if self._pool is not None:
            return self._pool
        assert self._dsn is not None
        loop = asyncio.get_running_loop()
        async with _pool_locks.setdefault(loop, asyncio.Lock()):
            pools = _pools.setdefault(loop, {})
            if self._dsn not in pools:
                from db.pool import create_pool

                pools[self._dsn] = await create_pool(self._dsn, min_size=0, max_size=2)
        self._pool = pools[self._dsn]
        return self._pool

    async def bind(self, workflow_id: str, customer_id: str) -> None:
        """Record the ticket workflow's customer (before it starts) and make sure the customer has a key."""
        pool = await self.pool()
        await pool.execute(BIND, workflow_id, customer_id)
        self._remember(workflow_id, customer_id)
        await self.key_for_customer(customer_id)

    def _remember(self, workflow_id: str, customer_id: str | None) -> None:
        self._customers[workflow_id] = customer_id
        self._customers.move_to_end(workflow_id)
        while len(self._customers) > _MAX_CACHED:
            self._customers.popitem(last=False)

    async def customer_of(self, workflow_id: str) -> str | None:
        if workflow_id in self._customers:
            return self._customers[workflow_id]
        if self._no_customer_until.get(workflow_id, 0) > time.monotonic():
            return None
        customer: str | None = await (await self.pool()).fetchval(CUSTOMER_OF, workflow_id)
        if customer is None:  # not a ticket, or not bound yet: look again later
            self._no_customer_until[workflow_id] = time.monotonic() + self.cache_s
            if len(self._no_customer_until) > _MAX_CACHED:
                self._no_customer_until.clear()
        else:
            self._remember(workflow_id, customer)
        return customer

    async def key_for_customer(self, customer_id: str) -> tuple[str, bytes]:
        """The customer's data key (id, bytes), made on first use."""
        hit = self._by_customer.get(customer_id)
        if hit is not None and hit[2] > time.monotonic():
            return hit[0], hit[1]
        pool = await self.pool()
        row = await pool.fetchrow(KEY_OF_CUSTOMER, customer_id)
        if row is None:
            key_id, key = DATA_KEY_PREFIX + os.urandom(16).hex(), os.urandom(KEY_BYTES)
            master_id, wrapped = self.keyring.wrap(key, _wrap_aad(key_id, customer_id))
            await pool.execute(NEW_KEY, key_id, customer_id, wrapped, master_id)
            row = await pool.fetchrow(KEY_OF_CUSTOMER, customer_id)  # ours, or a concurrent writer's
            assert row is not None
        key_id = row["key_id"]
        key = self.keyring.unwrap(row["master_key_id"], row["wrapped_key"], _wrap_aad(key_id, customer_id))
        self._cache(key_id, customer_id, key)
        return key_id, key

    def _cache(self, key_id: str, customer_id: str, key: bytes) -> None:
        if self.cache_s <= 0:
            return
        if len(self._by_id) > _MAX_CACHED:
            self._by_id.clear()
            self._by_customer.clear()
        expires = time.monotonic() + self.cache_s
        self._by_customer[customer_id] = (key_id, key, expires)
        self._by_id[key_id] = (customer_id, key, expires)

    async def key_by_id(self, key_id: str, *, fresh: bool = False) -> bytes:
        """The data key `key_id`; UnknownKey when it does not exist (destroyed: its customer was erased)."""
        hit = None if fresh else self._by_id.get(key_id)
        if hit is not None and hit[2] > time.monotonic():
            return hit[1]
        row = await (await self.pool()).fetchrow(KEY_BY_ID, key_id)
        if row is None:
            raise UnknownKey(f"data key {key_id} does not exist: destroyed (its customer was erased)")
        customer_id = row["customer_id"]
        key = self.keyring.unwrap(row["master_key_id"], row["wrapped_key"], _wrap_aad(key_id, customer_id))
        if not fresh:
            self._cache(key_id, customer_id, key)
        return key

    def forget(self, customer_id: str) -> None:
        """Drop the customer's key from this process' cache (after `destroy`)."""
        hit = self._by_customer.pop(customer_id, None)
        if hit is not None:
            self._by_id.pop(hit[0], None)
        for key_id in [k for k, v in self._by_id.items() if v[0] == customer_id]:
            del self._by_id[key_id]

    def stats(self) -> dict[str, Any]:
        return {"workflows": len(self._customers), "keys": len(self._by_id)}
