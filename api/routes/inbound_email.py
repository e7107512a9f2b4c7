"""`POST /inbound/email`: a raw RFC 822 message, as inbound-mail services post it (the integration key).

The mail goes through the same ingest service as the IMAP poller (channels/email/inbound.py), so a mail
that arrives both ways is one ticket and one message. 200 with what became of it (also for a repeat,
`duplicate: true`, and for mail that is recorded but not answered: auto-replies, bounces, unknown
senders); 503 when it could not be taken now (the sender should post it again).
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import BaseModel

from api.deps import PoolDep, SettingsDep, TemporalDep
from api.errors import ApiError
from api.roles import answers
from channels.email.inbound import EmailIngest, TransientFailure

router = APIRouter(prefix="/inbound", tags=["channels"])


class InboundEmailOut(BaseModel):
    message_id: str
    outcome: str  # opened | added | ignored | rejected
    ticket_id: str | None
    reason: str | None
    duplicate: bool


@router.post(
    "/email",
    response_model=InboundEmailOut,
    responses=answers("POST", "/inbound/email"),
    openapi_extra={"requestBody": {"required": True, "content": {"message/rfc822": {"schema": {"type": "string"}}}}},
)
async def inbound_email(
    request: Request, pool: PoolDep, temporal: TemporalDep, settings: SettingsDep
) -> InboundEmailOut:
    raw = await request.body()
    if not raw.strip():
        raise ApiError(422, "invalid_request", "the body must be a raw RFC 822 message")
    try:
        done = await EmailIngest(pool, temporal, settings).ingest(raw, source="endpoint")
    except TransientFailure as e:
        raise ApiError(503, "unavailable", f"the mail could not be taken now; post it again ({e})",
                       headers={"Retry-After": "30"}) from e  # fmt: skip
    return InboundEmailOut(
        message_id=done.message_id, outcome=done.outcome, ticket_id=done.ticket_id, reason=done.reason,
        duplicate=done.duplicate,
    )  # fmt: skip
