"""One asyncpg pool per process, with JSON codecs so jsonb columns read and write Python objects.

PostgreSQL text (and jsonb) cannot hold a NUL character (U+0000): a write carrying one fails with
CharacterNotInRepertoireError, and a store activity that fails that way is retried forever and jams
its ticket. The API refuses NUL in what it is sent, but text also comes from models, the CRM and
older tickets' histories, so the pool's codecs drop NUL from every text and JSON value written.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from db.migrate import migrate

NUL = "\x00"


def _text_without_nul(value: str) -> str:
    return value.replace(NUL, "") if NUL in value else value


def _without_nul(value: Any) -> Any:
    if isinstance(value, str):
        return _text_without_nul(value)
    if isinstance(value, dict):
        return {_without_nul(k): _without_nul(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_without_nul(v) for v in value]
    return value


def _dump_json(value: Any) -> str:
    dumped = json.dumps(value)
    return dumped if "\\u0000" not in dumped else json.dumps(_without_nul(value))


def _text(value: str) -> str:
    return value


async def _init_connection(conn: asyncpg.Connection) -> None:
    for typ in ("json", "jsonb"):
        await conn.set_type_codec(typ, encoder=_dump_json, decoder=json.loads, schema="pg_catalog")
    for typ in ("text", "varchar"):
        await conn.set_type_codec(typ, encoder=_text_without_nul, decoder=_text, schema="pg_catalog", format="text")


async def create_pool(
    dsn: str, *, min_size: int = 1, max_size: int = 10, apply_migrations: bool = True
) -> asyncpg.Pool:
    """Create the pool; by default bring the schema up to date first (idempotent, lock-protected)."""
    if apply_migrations:
        conn = await asyncpg.connect(dsn)
        try:
            await migrate(conn)
        finally:
            await conn.close()
    pool = await asyncpg.create_pool(dsn, min_size=min_size, max_size=max_size, init=_init_connection)
    if pool is None:  # asyncpg types it Optional; it is only None when used as a context manager
        raise RuntimeError("asyncpg.create_pool returned no pool")
    return pool


async def ensure_database(dsn: str) -> bool:
    """Create the database named in `dsn` if it does not exist yet; True when it was created."""
    parts = urlsplit(dsn)
    name = parts.path.lstrip("/")
    if not name:
        raise ValueError(f"DATABASE_URL names no database: {dsn!r}")
    admin_dsn = urlunsplit(parts._replace(path="/postgres"))
    conn = await asyncpg.connect(admin_dsn)
    try:
        if await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
            return False
        try:
            await conn.execute(f'CREATE DATABASE "{name}"')
        except asyncpg.DuplicateDatabaseError:  # another process won the race
            return False
        return True
    finally:
        await conn.close()
