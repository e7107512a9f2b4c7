"""Human agents: the queue of tickets waiting for a person, decisions on a ticket, its audit trail, CSAT.

Thin: each route parses the request, calls the ticket service (api/service/) and shapes its answer.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.auth import DecidingAgentDep, authorize
from api.deps import PoolDep, SettingsDep, TemporalDep
from api.errors import ApiError
from api.roles import answers
from api.schemas import CsatAccepted, CsatIn, DecisionIn, EventOut, QueueFilters, TicketSummary
from api.service import decisions as service
from api.service.ids import check_ticket_id, ticket_not_found
from api.service.views import summaries
from db import tickets
from domain.lifecycle import DecisionResult

router = APIRouter(tags=["human agents"])


@router.get("/queue", response_model=list[TicketSummary], responses=answers("GET", "/queue"))
async def human_queue(pool: PoolDep, f: Annotated[QueueFilters, Query()]) -> list[TicketSummary]:
    """Tickets waiting for a human, most urgent first (priority, then the nearest SLA deadline);
    ``product`` keeps to one product's tickets (a team of agents per product), ``assignee`` to those an
    agent holds ("mine"), ``unassigned=true`` to those nobody has picked up; ``category`` and ``tag`` (one
    tag people put on the ticket) narrow it further."""
    if f.assignee and f.unassigned:
        raise ApiError(422, "invalid_request", "give assignee (held by that agent) or unassigned=true, not both")
    rows = await tickets.escalated_queue(
        pool,
        priority=f.priority.value if f.priority else None,
        product=f.product,
        assignee=f.assignee,
        unassigned=f.unassigned,
        category=f.category.value if f.category else None,
        tag=f.tag,
        limit=f.limit,
    )
    return await summaries(pool, rows)


@router.post(
    "/tickets/{ticket_id}/decisions",
    response_model=DecisionResult,
    responses=answers("POST", "/tickets/{ticket_id}/decisions"),
)
async def decide(
    ticket_id: str,
    decision: DecisionIn,
    temporal: TemporalDep,
    pool: PoolDep,
    settings: SettingsDep,
    agent: DecidingAgentDep,
) -> DecisionResult:
    """Reply, approve/reject a proposed action, reassign, change priority, resolve, hand back; or, without a
    word to the customer, add an internal note, tag the ticket or re-categorise it.

    `request_id` makes the call idempotent: repeating it returns the first answer; another decision
    under a `request_id` already used on the ticket is a 409. A ticket that does not take the decision
    within API_DECISION_TIMEOUT_S (worker down, ticket stuck or busy) is a 503. With AGENT_KEYS set the
    caller's key decides who may make it (api/auth.py), checked before the request_id is claimed, so a
    refused decision holds no id.
    """
    check_ticket_id(ticket_id)
    await authorize(pool, settings, agent, ticket_id, decision)
    return await service.decide(pool, temporal, ticket_id, decision, settings.API_DECISION_TIMEOUT_S)


@router.post(
    "/tickets/{ticket_id}/csat",
    status_code=202,
    response_model=CsatAccepted,
    responses=answers("POST", "/tickets/{ticket_id}/csat"),
)
async def submit_csat(ticket_id: str, score: CsatIn, temporal: TemporalDep, settings: SettingsDep) -> CsatAccepted:
    """The customer's satisfaction score (1–5), accepted while the resolved ticket's survey is open."""
    check_ticket_id(ticket_id)
    await service.submit_csat(temporal, ticket_id, score, settings.API_QUERY_TIMEOUT_S)
    return CsatAccepted(ticket_id=ticket_id)


@router.get(
    "/tickets/{ticket_id}/events",
    response_model=list[EventOut],
    responses=answers("GET", "/tickets/{ticket_id}/events"),
)
async def ticket_events(ticket_id: str, pool: PoolDep) -> list[EventOut]:
    """The audit trail: every status change, decision and SLA event, with who did it."""
    check_ticket_id(ticket_id)
    if await tickets.get_ticket(pool, ticket_id) is None:
        raise ticket_not_found(ticket_id)
    return [EventOut.model_validate(e.model_dump()) for e in await tickets.get_events(pool, ticket_id)]
