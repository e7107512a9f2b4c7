"""A worker or API started while PostgreSQL is down waits for it instead of crash-looping."""

from __future__ import annotations

import asyncio
import time
from urllib.parse import urlsplit, urlunsplit

import pytest

from bench.stack import free_port
from clients import open_pool
from settings import Settings


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except ConnectionError:
        pass
    finally:
        writer.close()


async def _late_postgres(port: int, target: tuple[str, int], after_s: float) -> asyncio.Server:
    """After `after_s` seconds, `port` starts forwarding to the real PostgreSQL (a server coming back)."""
    await asyncio.sleep(after_s)

    async def forward(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(*target)
        await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))

    return await asyncio.start_server(forward, "127.0.0.1", port)


async def test_open_pool_waits_for_a_database_that_comes_back(database_url: str) -> None:
    parts = urlsplit(database_url)
    port = free_port()
    via_late_port = urlunsplit(parts._replace(netloc=f"{parts.username or 'postgres'}@127.0.0.1:{port}"))
    late = asyncio.create_task(_late_postgres(port, (parts.hostname or "127.0.0.1", parts.port or 5432), 1.5))
    t0 = time.monotonic()
    pool = await open_pool(Settings(DATABASE_URL=via_late_port, DB_CONNECT_WAIT_S=30))
    server = await late
    try:
        assert time.monotonic() - t0 >= 1.5  # it really waited for the server
        assert await pool.fetchval("SELECT max(version) FROM schema_version") >= 1  # and migrated it
    finally:
        await pool.close()
        server.close()


async def test_open_pool_gives_up_after_the_configured_wait() -> None:
    port = free_port()  # nothing listens there
    t0 = time.monotonic()
    with pytest.raises(OSError):
        await open_pool(Settings(DATABASE_URL=f"postgresql://postgres@127.0.0.1:{port}/x", DB_CONNECT_WAIT_S=1))
    assert time.monotonic() - t0 < 10
