"""The webhook delivery log for operators: `GET /webhooks/deliveries`, `POST /webhooks/deliveries/{id}/replay`.

A replay puts the delivery back in the queue; the worker's webhook dispatcher sends it again to the
endpoint it went to, under the same `webhook-id` (receivers deduplicate on it) with a fresh timestamp
and signature. Registered in api/main.py behind the API key.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, Field

from api.deps import PoolDep
from api.errors import ApiError
from api.roles import answers
from api.schemas import QueryModel
from channels.webhooks import store

router = APIRouter(prefix="/webhooks", tags=["webhooks"])


MAX_ID = 2**63 - 1  # delivery ids are Postgres bigints: a larger number names no delivery (422, not a 500)
DeliveryId = Annotated[int, Path(ge=1, le=MAX_ID)]


class DeliveryFilters(QueryModel):
    stream: Literal["event", "notification", "customer"] | None = None
    state: Literal["pending", "delivered", "failed", "refused"] | None = None
    ticket_id: str | None = Field(default=None, min_length=1, max_length=100)
    before_id: int | None = Field(default=None, ge=1, le=MAX_ID, description="older than this delivery (paging)")
    limit: int = Field(default=50, ge=1, le=500)


class DeliveryOut(BaseModel):
    delivery_id: int
    webhook_id: str  # the `webhook-id` header: the same on every try and replay
    stream: str
    endpoint: str
    event_type: str
    ticket_id: str | None
    payload: Any
    state: str
    attempts: int
    last_status: int | None
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None
    replayed_at: datetime | None


class ReplayQueued(BaseModel):
    delivery_id: int
    state: str


@router.get("/deliveries", response_model=list[DeliveryOut], responses=answers("GET", "/webhooks/deliveries"))
async def list_deliveries(pool: PoolDep, f: Annotated[DeliveryFilters, Query()]) -> list[DeliveryOut]:
    """Newest first; page with `before_id` = the last `delivery_id` seen."""
    rows = await store.list_deliveries(
        pool, stream=f.stream, state=f.state, ticket_id=f.ticket_id, before=f.before_id, limit=f.limit
    )
    return [DeliveryOut.model_validate(r.model_dump()) for r in rows]


@router.get(
    "/deliveries/{delivery_id}",
    response_model=DeliveryOut,
    responses=answers("GET", "/webhooks/deliveries/{delivery_id}"),
)
async def get_delivery(delivery_id: DeliveryId, pool: PoolDep) -> DeliveryOut:
    found = await store.get_delivery(pool, delivery_id)
    if found is None:
        raise ApiError(404, "not_found", f"no webhook delivery {delivery_id}")
    return DeliveryOut.model_validate(found.model_dump())


@router.post(
    "/deliveries/{delivery_id}/replay",
    status_code=202,
    response_model=ReplayQueued,
    responses=answers("POST", "/webhooks/deliveries/{delivery_id}/replay"),
)
async def replay(delivery_id: DeliveryId, pool: PoolDep) -> ReplayQueued:
    if not await store.replay(pool, delivery_id):
        raise ApiError(404, "not_found", f"no webhook delivery {delivery_id}")
    return ReplayQueued(delivery_id=delivery_id, state="pending")
