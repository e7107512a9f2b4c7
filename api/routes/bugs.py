"""Engineering: the bug reports the agents filed while answering tickets ("escalate to engineering if
it's a bug"), newest first, with their ticket and product."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from api.deps import PoolDep
from api.roles import answers
from api.schemas import QueryModel
from db.actions import recent_bug_reports

router = APIRouter(tags=["engineering"])


class BugFilters(QueryModel):
    days: int = Field(default=7, ge=1, le=3660, description="reports filed in the last this many days")
    min_severity: Literal["low", "medium", "high", "critical"] = Field(default="low", description="and above")
    product: str | None = Field(default=None, min_length=1, max_length=100)
    limit: int = Field(default=100, ge=1, le=1000)


class BugReportOut(BaseModel):
    report_id: str
    ticket_id: str
    ticket_subject: str
    product: str | None
    title: str
    details: str
    severity: str
    reported_by: str  # the agent that filed it
    created_at: datetime


@router.get("/bug-reports", response_model=list[BugReportOut], responses=answers("GET", "/bug-reports"))
async def bug_reports(pool: PoolDep, f: Annotated[BugFilters, Query()]) -> list[BugReportOut]:
    since = datetime.now(UTC) - timedelta(days=f.days)
    rows = await recent_bug_reports(pool, since, min_severity=f.min_severity, product=f.product, limit=f.limit)
    return [BugReportOut.model_validate(r, from_attributes=True) for r in rows]
