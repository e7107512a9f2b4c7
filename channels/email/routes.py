"""Addresses not mailed after a hard bounce, for admins: `GET /email/suppressions`, `DELETE
/email/suppressions/{address}` (the same as `supportctl outbox suppressions|unsuppress`).

Clearing one is an admin's decision (the customer said, by phone or another channel, that the mailbox
works again): later answers to the address are sent; the ones set aside meanwhile stay set aside until
`supportctl outbox retry --ticket ID`. Registered in api/main.py behind the roles matrix (admin).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel, Field

from api.auth import acting_agent
from api.deps import PoolDep, SettingsDep
from api.errors import ApiError
from api.roles import answers
from api.schemas import QueryModel
from db import email_suppressions as db

router = APIRouter(prefix="/email/suppressions", tags=["e-mail"])
ONE = "/email/suppressions/{address}"
# one @, no spaces, slashes or control characters (Postgres text holds no NUL): a 422 otherwise, never a 500;
# explicit ranges, not \s, so the schema's pattern means the same to every regex engine (fuzzers included)
Address = Annotated[
    str,
    Path(
        min_length=3,
        max_length=320,
        pattern=r"^[^@/\x00-\x20\x7f-\x9f]+@[^@/\x00-\x20\x7f-\x9f]+$",
        description="an e-mail address",
    ),
]


class SuppressionFilters(QueryModel):
    limit: int = Field(default=100, ge=1, le=500)


class SuppressionOut(BaseModel):
    address: str
    status: str  # the bounce's status, e.g. 5.1.1
    reason: str  # the report's summary
    ticket_id: str  # the bounced mail: ticket and outbox seq
    seq: int
    suppressed_at: datetime


@router.get("", response_model=list[SuppressionOut], responses=answers("GET", "/email/suppressions"))
async def list_suppressions(pool: PoolDep, f: Annotated[SuppressionFilters, Query()]) -> list[SuppressionOut]:
    """Newest first."""
    return [SuppressionOut.model_validate(r.model_dump()) for r in await db.listed(pool, f.limit)]


@router.delete("/{address}", response_model=SuppressionOut, responses=answers("DELETE", ONE))
async def lift_suppression(address: Address, request: Request, pool: PoolDep, settings: SettingsDep) -> SuppressionOut:
    """Mail this address again; the suppression lifted, recorded on the bounced ticket's events. 404
    not_found when the address is not suppressed."""
    who = acting_agent(settings, request.headers.get("authorization")) or "api"
    async with pool.acquire() as conn, conn.transaction():
        lifted = await db.lift(conn, address)
        if lifted is not None:
            key = f"email_unsuppressed:admin:{datetime.now(UTC).isoformat()}"
            await db.record_lifted(conn, lifted.ticket_id, key, lifted, "admin", who)
    if lifted is None:
        raise ApiError(404, "not_found", "that address is not suppressed")
    return SuppressionOut.model_validate(lifted.model_dump())
