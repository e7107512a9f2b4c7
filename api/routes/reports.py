"""Team leads: the brief's success metrics (automation, resolution time, SLA, CSAT, cost, escalation,
sentiment) over the tickets opened in a window, each against its target."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from pydantic import Field

from api.deps import PoolDep
from api.errors import ApiError
from api.roles import answers
from api.schemas import IsoDateTime, QueryModel
from db.reports import support_report
from domain.models import Channel
from domain.success import SupportReport, report_window

router = APIRouter(prefix="/reports", tags=["reports"])


class ReportFilters(QueryModel):
    since: IsoDateTime | None = Field(
        default=None, description="tickets opened from (ISO 8601 date or time; without a zone: UTC). Not with days."
    )
    until: IsoDateTime | None = Field(default=None, description="tickets opened before (default: now)")
    days: int | None = Field(
        default=None, ge=1, le=3660, description="the window: this many days before until (default 30 without since)"
    )
    channel: Channel | None = Field(default=None, description="only this channel's tickets")
    product: str | None = Field(default=None, min_length=1, max_length=100, description="only this product's tickets")
    by: list[Literal["channel", "category", "priority", "product", "agent"]] = Field(
        default_factory=list,
        max_length=5,
        description="breakdowns to add (repeatable): `breakdowns[<by>]` lists each value's metrics and CSAT, most "
        "tickets first; `agent` fills `agents` (each person's tickets handled, replies, first response, CSAT)",
    )


@router.get("/summary", response_model=SupportReport, responses=answers("GET", "/reports/summary"))
async def summary(pool: PoolDep, f: Annotated[ReportFilters, Query()]) -> SupportReport:
    """The success metrics of the tickets opened in [since, until) (default: the last 30 days),
    optionally of one channel or product, with the breakdowns asked for in `by`. A metric with nothing
    to measure yet (no resolved ticket, no answered survey) has value null and met null."""
    try:
        since, until = report_window(f.since, f.until, f.days, datetime.now(UTC))
    except ValueError as e:
        raise ApiError(422, "invalid_request", str(e)) from None
    channel = f.channel.value if f.channel else None
    by = list(dict.fromkeys(f.by))  # each breakdown once
    return await support_report(pool, since, until, channel=channel, product=f.product, by=by)
