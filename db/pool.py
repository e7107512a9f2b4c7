"""One asyncpg pool per process, with JSON codecs so jsonb columns read and write Python objects."""

from __future__ import annotations

import json
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from db.migrate import migrate


async def _init_connection(conn: asyncpg.Connection) -> None:
    for typ in ("json", "jsonb"):
        await conn.set_type_codec(typ, encoder=json.dumps, decoder=json.loads, schema="pg_catalog")


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
