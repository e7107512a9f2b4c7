"""The console's tag filter menu lists the tags the tickets carry, kept by migration V24's trigger; a rare
tag's filter finds its tickets."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import asyncpg
import pytest

from console.queries import Filters, choices, view_rows
from db.tickets import list_tickets
from tests.store_rows import add_ticket, open_store

NOW = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


@pytest.fixture
async def store(own_database: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await open_store(own_database)
    yield pool
    await pool.close()


async def menu_matches_tickets(pool: asyncpg.Pool) -> list[str]:
    async with pool.acquire() as conn:
        menu = (await choices(conn))["tag"]
    carried = await pool.fetch("SELECT DISTINCT unnest(tags) AS t FROM tickets ORDER BY 1")
    assert menu == [r["t"] for r in carried]
    return menu


async def test_the_tag_menu_follows_tags_set_changed_and_removed(store: asyncpg.Pool) -> None:
    a = await add_ticket(store, opened=NOW, status="escalated", tags=["refund", "vip"])
    b = await add_ticket(store, opened=NOW, status="escalated", tags=["refund"])
    await add_ticket(store, opened=NOW, status="new")
    assert await menu_matches_tickets(store) == ["refund", "vip"]
    # a snapshot writes the same tags again (no change), another drops one and adds one (a repeat counts once)
    await store.execute("UPDATE tickets SET tags = tags WHERE ticket_id = $1", a)
    await store.execute("UPDATE tickets SET tags = ARRAY['legal', 'legal'] WHERE ticket_id = $1", b)
    assert await menu_matches_tickets(store) == ["legal", "refund", "vip"]
    # a rare tag's tickets are read from the GIN index first: the ticket list and the queue view find them
    assert [t.ticket_id for t in await list_tickets(store, tag="legal")] == [b]
    assert [t.ticket_id for t in await list_tickets(store, tag="refund")] == [a]
    async with store.acquire() as conn:
        assert [t.ticket_id for t in await view_rows(conn, "all", Filters(tag="vip"), "ana")] == [a]
        assert await view_rows(conn, "all", Filters(tag="no-such-tag"), "ana") == []
    await store.execute("UPDATE tickets SET tags = '{}' WHERE ticket_id = $1", a)
    assert await menu_matches_tickets(store) == ["legal"]
    await store.execute("DELETE FROM tickets WHERE ticket_id = $1", b)
    assert await menu_matches_tickets(store) == []
    # a bulk load that skipped the trigger is put right by the recount
    await add_ticket(store, opened=NOW, status="new", tags=["billing"])
    await store.execute("DELETE FROM ticket_tag_counts")
    await store.execute("SELECT refresh_ticket_tag_counts()")
    assert await menu_matches_tickets(store) == ["billing"]
