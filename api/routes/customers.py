"""The CRM: upsert a customer, read one by id, look one up by email, erase one (the right to be forgotten)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response
from temporalio.service import RPCError

from api.auth import acting_agent
from api.deps import PoolDep, SettingsDep, TemporalDep
from api.errors import ApiError
from api.roles import answers
from api.schemas import CustomerExport, CustomerIn, CustomerLookup, CustomerOut, ErasureOut
from api.service.export import export_customer
from db import customers, erasure
from domain.contacts import CUSTOMER_ID, CUSTOMER_ID_RULE, normalize_email
from domain.models import Customer

router = APIRouter(prefix="/customers", tags=["customers"])
CustomerId = Annotated[str, Path(max_length=64, description=f"the customer's id: {CUSTOMER_ID_RULE}")]
ONE = "/customers/{customer_id}"


def _out(c: Customer) -> CustomerOut:
    return CustomerOut.model_validate(c.model_dump())


@router.put(
    "/{customer_id}",
    response_model=CustomerOut,
    status_code=200,
    responses={201: {"model": CustomerOut}, **answers("PUT", ONE)},
)
async def put_customer(customer_id: CustomerId, body: CustomerIn, response: Response, pool: PoolDep) -> CustomerOut:
    """Create (201) or replace (200) a customer. Its email must not belong to another customer (409)."""
    if not CUSTOMER_ID.match(customer_id):
        raise ApiError(422, "invalid_request", f"customer_id: not a valid customer id ({CUSTOMER_ID_RULE})")
    try:
        async with pool.acquire() as conn:
            report = await customers.save_contacts(conn, [(customer_id, body)])
    except customers.EmailTaken as e:
        raise ApiError(
            409, "email_taken", f"email {e.email!r} belongs to customer {e.owner!r}; change that one first"
        ) from None
    if report.inserted:
        response.status_code = 201
    found = await customers.get_customer(pool, customer_id, stats=True)
    if found is None:  # deleted in between: nothing deletes customers today
        raise ApiError(404, "customer_not_found", f"no customer {customer_id!r}")
    return _out(found)


@router.get("/{customer_id}", response_model=CustomerOut, responses=answers("GET", ONE))
async def get_customer(customer_id: CustomerId, pool: PoolDep) -> CustomerOut:
    found = await customers.get_customer(pool, customer_id, stats=True)
    if found is None:
        raise ApiError(404, "customer_not_found", f"no customer {customer_id!r}")
    return _out(found)


@router.get("", response_model=CustomerOut, responses=answers("GET", "/customers"))
async def find_customer(pool: PoolDep, q: Annotated[CustomerLookup, Query()]) -> CustomerOut:
    """The customer with this email (case-insensitive), or 404."""
    found = await customers.get_customer_by_email(pool, normalize_email(q.email), stats=True)
    if found is None:
        raise ApiError(404, "customer_not_found", f"no customer with email {q.email!r}")
    return _out(found)


@router.get("/{customer_id}/export", response_model=CustomerExport, responses=answers("GET", f"{ONE}/export"))
async def export(customer_id: CustomerId, pool: PoolDep) -> CustomerExport:
    """Everything held on this person, as JSON (the right of access): the customer row, their tickets,
    messages, audit events, ledger entries (refunds, credits), bug reports from their tickets, the
    messages sent to them, staff notifications about their tickets and any erasure done on them."""
    return await export_customer(pool, customer_id)


@router.delete("/{customer_id}", response_model=ErasureOut, responses=answers("DELETE", ONE))
async def erase_customer(
    customer_id: CustomerId, pool: PoolDep, temporal: TemporalDep, settings: SettingsDep, request: Request
) -> ErasureOut:
    """Erase the customer's texts and ticket workflows, anonymise the row (kept, like the refunds ledger)
    and record who did it. 409 customer_has_open_tickets while a ticket is not closed; 503 when Temporal
    cannot be asked (nothing changed). A second call erases nothing and says so in its counts."""
    actor = acting_agent(settings, request.headers.get("authorization")) or "api"
    try:
        done = await erasure.erase_customer(pool, temporal, customer_id, apply=True, actor=actor)
    except erasure.CustomerNotFound:
        raise ApiError(404, "customer_not_found", f"no customer {customer_id!r}") from None
    except erasure.OpenTickets as e:
        raise ApiError(409, "customer_has_open_tickets", str(e)) from None
    except (erasure.TemporalUnavailable, RPCError) as e:
        raise ApiError(503, "temporal_unavailable", f"{e}; nothing was changed", {"Retry-After": "5"}) from e
    return ErasureOut.model_validate(done.summary())
