"""Saved replies: a team's canned answers with placeholders (`{{customer.name}}`, …), which the console's
reply box inserts filled from the ticket. People with the agent level list, create, edit and delete them."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path, Request, Response
from pydantic import BaseModel, Field

from api.auth import acting_agent
from api.deps import PoolDep, SettingsDep
from api.roles import answers
from api.schemas import ApiModel
from api.service import saved_replies as service
from db import saved_replies as db
from db.saved_replies import SavedReply
from domain.saved_replies import MAX_BODY, MAX_TITLE, PLACEHOLDERS

router = APIRouter(prefix="/saved-replies", tags=["saved replies"])
ONE = "/saved-replies/{reply_id}"
ReplyId = Annotated[int, Path(ge=1, le=2**62, description="the saved reply's id")]
PLACEHOLDER_DOC = ", ".join(f"`{{{{{name}}}}}` ({what})" for name, what in PLACEHOLDERS.items())


class SavedReplyIn(ApiModel):
    title: str = Field(min_length=1, max_length=MAX_TITLE, description="unique, regardless of case")
    body: str = Field(min_length=1, max_length=MAX_BODY, description=f"text with placeholders: {PLACEHOLDER_DOC}")


class SavedReplyOut(BaseModel):
    reply_id: int
    title: str
    body: str
    created_by: str
    created_at: datetime
    updated_by: str
    updated_at: datetime


def _out(r: SavedReply) -> SavedReplyOut:
    return SavedReplyOut.model_validate(r.model_dump())


def _who(request: Request, settings: SettingsDep) -> str:
    return acting_agent(settings, request.headers.get("authorization")) or "api"


@router.get("", response_model=list[SavedReplyOut], responses=answers("GET", "/saved-replies"))
async def list_saved_replies(pool: PoolDep) -> list[SavedReplyOut]:
    """Every saved reply, by title."""
    return [_out(r) for r in await db.list_saved_replies(pool)]


@router.post("", response_model=SavedReplyOut, status_code=201, responses=answers("POST", "/saved-replies"))
async def create_saved_reply(
    body: SavedReplyIn, request: Request, pool: PoolDep, settings: SettingsDep
) -> SavedReplyOut:
    """Save a reply. 409 title_taken when another has this title; 422 unknown_placeholder when the body
    names a placeholder that does not exist."""
    return _out(await service.create(pool, body.title, body.body, _who(request, settings)))


@router.get("/{reply_id}", response_model=SavedReplyOut, responses=answers("GET", ONE))
async def get_saved_reply(reply_id: ReplyId, pool: PoolDep) -> SavedReplyOut:
    found = await db.get_saved_reply(pool, reply_id)
    if found is None:
        raise service.not_found(reply_id)
    return _out(found)


@router.put("/{reply_id}", response_model=SavedReplyOut, responses=answers("PUT", ONE))
async def update_saved_reply(
    reply_id: ReplyId, body: SavedReplyIn, request: Request, pool: PoolDep, settings: SettingsDep
) -> SavedReplyOut:
    """Replace a saved reply's title and body (same rules as creating one)."""
    return _out(await service.update(pool, reply_id, body.title, body.body, _who(request, settings)))


@router.delete("/{reply_id}", status_code=204, responses=answers("DELETE", ONE))
async def delete_saved_reply(reply_id: ReplyId, pool: PoolDep) -> Response:
    await service.delete(pool, reply_id)
    return Response(status_code=204)
