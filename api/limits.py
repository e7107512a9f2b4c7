"""Per-customer limits on new work: tickets opened per hour, messages sent per minute (429 past them)."""

from __future__ import annotations

import math
from datetime import timedelta

from api.errors import ApiError
from db import limits
from db.tickets import Conn

HOUR = timedelta(hours=1)
MINUTE = timedelta(minutes=1)


def _past(customer_id: str, recent: limits.Recent, limit: int, what: str, setting: str) -> ApiError | None:
    """The 429 once `recent` reached `limit`, with Retry-After until its oldest item leaves the window."""
    if recent.count < limit:
        return None
    wait = max(1, math.ceil(recent.retry_after_s))
    return ApiError(
        429, "rate_limited",
        f"customer {customer_id} reached its limit of {limit} {what} ({setting}); try again in {wait} s",
        headers={"Retry-After": str(wait)},
    )  # fmt: skip


async def ticket_refusal(conn: Conn, customer_id: str, limit: int) -> ApiError | None:
    """The 429 for opening one more ticket, or None while the customer is under `limit` (0: no limit)."""
    if limit <= 0:
        return None
    recent = await limits.tickets_opened(conn, customer_id, HOUR)
    return _past(customer_id, recent, limit, "tickets per hour", "CUSTOMER_TICKETS_PER_HOUR")


async def message_refusal(conn: Conn, customer_id: str, limit: int) -> ApiError | None:
    """The 429 for one more customer message, or None while under `limit` (0: no limit)."""
    if limit <= 0:
        return None
    recent = await limits.messages_sent(conn, customer_id, MINUTE)
    return _past(customer_id, recent, limit, "messages per minute", "CUSTOMER_MESSAGES_PER_MINUTE")
