"""A small migration runner: numbered plain-SQL files, the applied version kept in the database.

Files are `migrations/V<n>__<what>.sql`. Each runs once, in order, inside one transaction together
with the version bump; an advisory lock makes concurrent start-ups (API and worker) take turns.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import asyncpg

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
_NAME = re.compile(r"^V(\d+)__([a-z0-9_]+)\.sql$")
_LOCK_ID = 0x5_0C_7_11  # arbitrary constant shared by every process of this app


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    path: Path


def discover(directory: Path = MIGRATIONS_DIR) -> list[Migration]:
    found: list[Migration] = []
    for p in sorted(directory.glob("*.sql")):
        m = _NAME.match(p.name)
        if m is None:
            raise ValueError(f"migration file {p.name!r} is not named V<n>__<name>.sql")
        found.append(Migration(int(m.group(1)), m.group(2), p))
    found.sort(key=lambda mig: mig.version)
    versions = [mig.version for mig in found]
    if versions != list(range(1, len(versions) + 1)):
        raise ValueError(f"migration versions must be 1..n without gaps, found {versions}")
    return found


async def current_version(conn: asyncpg.Connection) -> int:
    exists = await conn.fetchval("SELECT to_regclass('schema_version') IS NOT NULL")
    if not exists:
        return 0
    return int(await conn.fetchval("SELECT coalesce(max(version), 0) FROM schema_version"))


async def migrate(conn: asyncpg.Connection, directory: Path = MIGRATIONS_DIR) -> list[int]:
    """Apply pending migrations; return the versions applied now."""
    applied: list[int] = []
    await conn.execute("SELECT pg_advisory_lock($1)", _LOCK_ID)
    try:
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_version ("
            " version integer PRIMARY KEY, name text NOT NULL,"
            " applied_at timestamptz NOT NULL DEFAULT now())"
        )
        done = await current_version(conn)
        for mig in discover(directory):
            if mig.version <= done:
                continue
            async with conn.transaction():
                await conn.execute(mig.path.read_text())
                await conn.execute("INSERT INTO schema_version (version, name) VALUES ($1, $2)", mig.version, mig.name)
            applied.append(mig.version)
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", _LOCK_ID)
    return applied
