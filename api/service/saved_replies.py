"""Saved replies as the JSON API and the console both manage them: the rules (a title, a body, only
known placeholders, titles unique) and their errors, over db.saved_replies."""

from __future__ import annotations

from api.errors import ApiError
from db import saved_replies as db
from db.saved_replies import SavedReply
from db.tickets import Conn
from domain.saved_replies import MAX_BODY, MAX_TITLE, PLACEHOLDERS, unknown_placeholders


def check(title: str, body: str) -> tuple[str, str]:
    """The title and body to store (stripped), or 422 with the reason."""
    title, body = title.strip(), body.strip()
    if not title or len(title) > MAX_TITLE:
        raise ApiError(422, "invalid_request", f"title: 1 to {MAX_TITLE} characters")
    if not body or len(body) > MAX_BODY:
        raise ApiError(422, "invalid_request", f"body: 1 to {MAX_BODY} characters")
    if "\x00" in title or "\x00" in body:
        raise ApiError(422, "invalid_request", "a NUL character (\\u0000) cannot be stored")
    unknown = unknown_placeholders(body)
    if unknown:
        names = ", ".join("{{" + n + "}}" for n in unknown)
        known = ", ".join("{{" + n + "}}" for n in PLACEHOLDERS)
        raise ApiError(422, "unknown_placeholder", f"body names {names}; the placeholders are {known}")
    return title, body


def _taken(title: str) -> ApiError:
    return ApiError(409, "title_taken", f"another saved reply is titled {title!r}")


def not_found(reply_id: int) -> ApiError:
    return ApiError(404, "saved_reply_not_found", f"no saved reply {reply_id}")


async def create(conn: Conn, title: str, body: str, by: str) -> SavedReply:
    title, body = check(title, body)
    try:
        return await db.create_saved_reply(conn, title, body, by)
    except db.TitleTaken:
        raise _taken(title) from None


async def update(conn: Conn, reply_id: int, title: str, body: str, by: str) -> SavedReply:
    title, body = check(title, body)
    try:
        saved = await db.update_saved_reply(conn, reply_id, title, body, by)
    except db.TitleTaken:
        raise _taken(title) from None
    if saved is None:
        raise not_found(reply_id)
    return saved


async def delete(conn: Conn, reply_id: int) -> None:
    if not await db.delete_saved_reply(conn, reply_id):
        raise not_found(reply_id)
