"""Per-customer limits on new work: tickets opened per hour, messages sent per minute (429 past them)."""

from __future__ import annotations

import math
from datetime import timedelta

from api.errors import ApiError
from db import limits
from db.tickets import Conn

HOUR = timedelta(hours=1)
MINUTE = timedelta(minutes=1)


def _refuse(customer_id: str, what: str, limit: int, setting: str, retry_after_s: float) -> ApiError:
    wait = max(1, math.ceil(retry_after_s))
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
    if recent.count < limit:
        return None
    return _refuse(customer_id, "tickets per hour", limit, "CUSTOMER_TICKETS_PER_HOUR", recent.retry_after_s)


async def message_refusal(conn: Conn, customer_id: str, limit: int) -> ApiError | None:
    """The 429 for one more customer message, or None while under `limit` (0: no limit)."""
    if limit <= 0:
        return None
    recent = await limits.messages_sent(conn, customer_id, MINUTE)
    if recent.count < limit:
        return None
    return _refuse(customer_id, "messages per minute", limit, "CUSTOMER_MESSAGES_PER_MINUTE", recent.retry_after_s)
