"""Ticket ids and the workflow id each ticket runs under: the one place these rules live."""

from __future__ import annotations

import hashlib
import re
import uuid

from api.errors import ApiError

_TICKET_ID = re.compile(r"^tkt_[0-9a-f]{16}$")


def workflow_id_for(ticket_id: str) -> str:
    """The id of the ticket's workflow (a business key: one workflow per ticket, ever)."""
    return f"ticket-{ticket_id}"


def ticket_id_for(customer_id: str, idempotency_key: str | None) -> str:
    """Business key: the same customer and idempotency key always name the same ticket."""
    if idempotency_key is None:
        return f"tkt_{uuid.uuid4().hex[:16]}"
    return "tkt_" + hashlib.sha256(f"{customer_id}\x00{idempotency_key}".encode()).hexdigest()[:16]


def ticket_not_found(ticket_id: str) -> ApiError:
    return ApiError(404, "ticket_not_found", f"no ticket {ticket_id!r}")


def check_ticket_id(ticket_id: str) -> None:
    """A path id that no ticket can have is a 404 before anything is asked."""
    if not _TICKET_ID.match(ticket_id):
        raise ticket_not_found(ticket_id)
