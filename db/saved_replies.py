"""Saved replies (migration V21): a team's canned answers, listed, created, edited and deleted by people
through `/saved-replies` and the console. Titles are unique regardless of case."""

from __future__ import annotations

from datetime import datetime

import asyncpg
from pydantic import BaseModel

from db.tickets import Conn


class SavedReply(BaseModel):
    reply_id: int
    title: str
    body: str
    created_by: str
    created_at: datetime
    updated_by: str
    updated_at: datetime


class TitleTaken(Exception):
    """Another saved reply already has this title (case does not count)."""


_COLUMNS = "reply_id, title, body, created_by, created_at, updated_by, updated_at"


async def list_saved_replies(conn: Conn) -> list[SavedReply]:
    rows = await conn.fetch(f"SELECT {_COLUMNS} FROM saved_replies ORDER BY lower(title), reply_id")
    return [SavedReply.model_validate(dict(r)) for r in rows]


async def get_saved_reply(conn: Conn, reply_id: int) -> SavedReply | None:
    row = await conn.fetchrow(f"SELECT {_COLUMNS} FROM saved_replies WHERE reply_id = $1", reply_id)
    return SavedReply.model_validate(dict(row)) if row else None


async def create_saved_reply(conn: Conn, title: str, body: str, by: str) -> SavedReply:
    try:
        row = await conn.fetchrow(
            f"INSERT INTO saved_replies (title, body, created_by, updated_by) VALUES ($1, $2, $3, $3) "
            f"RETURNING {_COLUMNS}",
            title,
            body,
            by,
        )
    except asyncpg.UniqueViolationError:
        raise TitleTaken(title) from None
    assert row is not None  # INSERT … RETURNING always returns the row
    return SavedReply.model_validate(dict(row))


async def update_saved_reply(conn: Conn, reply_id: int, title: str, body: str, by: str) -> SavedReply | None:
    """The reply as saved now; None when there is no such reply."""
    try:
        row = await conn.fetchrow(
            f"UPDATE saved_replies SET title = $2, body = $3, updated_by = $4, updated_at = now() "
            f"WHERE reply_id = $1 RETURNING {_COLUMNS}",
            reply_id,
            title,
            body,
            by,
        )
    except asyncpg.UniqueViolationError:
        raise TitleTaken(title) from None
    return SavedReply.model_validate(dict(row)) if row else None


async def delete_saved_reply(conn: Conn, reply_id: int) -> bool:
    return await conn.fetchval("DELETE FROM saved_replies WHERE reply_id = $1 RETURNING true", reply_id) is not None


async def insert_missing_saved_replies(conn: Conn, replies: list[tuple[str, str]], by: str) -> int:
    """(title, body) pairs whose title is not taken yet; the count inserted. A team's edits stay."""
    inserted = 0
    for title, body in replies:
        row = await conn.fetchval(
            "INSERT INTO saved_replies (title, body, created_by, updated_by) VALUES ($1, $2, $3, $3) "
            "ON CONFLICT DO NOTHING RETURNING reply_id",
            title,
            body,
            by,
        )
        inserted += row is not None
    return inserted
