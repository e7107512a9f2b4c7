"""Human agents: the queue of tickets waiting for a person, decisions on a ticket, its audit trail, CSAT."""

from __future__ import annotations

import asyncio
import hashlib
import logging
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Query
from temporalio.client import WorkflowUpdateFailedError, WorkflowUpdateRPCTimeoutOrCancelledError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from api.auth import DecidingAgentDep, authorize
from api.deps import PoolDep, SettingsDep, TemporalDep
from api.errors import ApiError
from api.routes.tickets import (
    _check_ticket_id,
    _temporal_unavailable,
    query_state,
    summaries,
    ticket_unresponsive,
    workflow_id_for,
)
from api.schemas import CsatIn, DecisionIn, EventOut, QueueFilters, TicketSummary
from db import decisions, tickets
from domain.lifecycle import DecisionResult
from domain.models import Status
from workflows.ticket import TicketWorkflow

router = APIRouter(tags=["human agents"])
log = logging.getLogger("api")
_CLAIM_TIMEOUT_S = 5.0  # the request_id check in the ticket store, before the decision goes to the ticket

# Why the workflow refused a decision -> HTTP status and error code.
_REFUSALS = {
    "TicketClosedError": (409, "ticket_closed"),
    "StaleRequestError": (409, "stale_request"),
    "TicketNotReadyError": (409, "ticket_not_ready"),
    "TicketResolvedError": (409, "ticket_resolved"),
    "TicketChangedError": (409, "ticket_changed"),
    "InvalidDecisionError": (422, "invalid_decision"),
}


@router.get("/queue", response_model=list[TicketSummary])
async def human_queue(pool: PoolDep, f: Annotated[QueueFilters, Query()]) -> list[TicketSummary]:
    """Tickets waiting for a human, most urgent first (priority, then the nearest SLA deadline);
    ``product`` keeps to one product's tickets (a team of agents per product), ``assignee`` to those an
    agent holds ("mine"), ``unassigned=true`` to those nobody has picked up."""
    if f.assignee and f.unassigned:
        raise ApiError(422, "invalid_request", "give assignee (held by that agent) or unassigned=true, not both")
    rows = await tickets.escalated_queue(
        pool,
        priority=f.priority.value if f.priority else None,
        product=f.product,
        assignee=f.assignee,
        unassigned=f.unassigned,
        limit=f.limit,
    )
    return await summaries(pool, rows)


@router.post("/tickets/{ticket_id}/decisions", response_model=DecisionResult)
async def decide(
    ticket_id: str,
    decision: DecisionIn,
    temporal: TemporalDep,
    pool: PoolDep,
    settings: SettingsDep,
    agent: DecidingAgentDep,
) -> DecisionResult:
    """Reply, approve/reject a proposed action, reassign, change priority, resolve, or hand back.

    `request_id` makes the call idempotent: repeating it returns the first answer; another decision
    under a `request_id` already used on the ticket is a 409. A ticket that does not take the decision
    within API_DECISION_TIMEOUT_S (worker down, ticket stuck or busy) is a 503. With AGENT_KEYS set the
    caller's key decides who may make it (api/auth.py), checked before the request_id is claimed, so a
    refused decision holds no id.
    """
    _check_ticket_id(ticket_id)
    await authorize(pool, settings, agent, ticket_id, decision)
    fingerprint = hashlib.sha256(decision.model_dump_json().encode()).hexdigest()
    held = await _claim_request_id(pool, ticket_id, decision, fingerprint)
    if held is not None:
        raise ApiError(
            409, "request_id_reused",
            f"request_id {decision.request_id!r} was already used on ticket {ticket_id} for a different decision "
            f"({held.kind} by {held.agent_id}); send this decision with a new request_id",
        )  # fmt: skip
    try:
        return await _send_decision(ticket_id, decision, temporal, settings.API_DECISION_TIMEOUT_S)
    except ApiError as e:
        if e.status < 500:  # refused: it never applied, so its request_id may carry another decision
            await _release_request_id(pool, ticket_id, decision.request_id, fingerprint)
        raise


async def _claim_request_id(
    pool: PoolDep, ticket_id: str, decision: DecisionIn, fingerprint: str
) -> decisions.DecisionClaim | None:
    """The other decision holding this request_id, if any. A ticket store that is down or slow does not
    stop decisions (the workflow, not Postgres, applies them): the check is skipped then."""
    try:
        async with asyncio.timeout(_CLAIM_TIMEOUT_S):
            return await decisions.claim(
                pool, ticket_id, decision.request_id, fingerprint, decision.kind, decision.agent_id
            )
    except Exception:  # any store failure: decide without the check rather than not at all
        log.warning("request_id check skipped for %s %s: ticket store unavailable", ticket_id, decision.request_id)
        return None


async def _release_request_id(pool: PoolDep, ticket_id: str, request_id: str, fingerprint: str) -> None:
    try:
        async with asyncio.timeout(_CLAIM_TIMEOUT_S):
            await decisions.release(pool, ticket_id, request_id, fingerprint)
    except Exception:  # the refusal is the answer; a claim left behind only blocks reuse
        log.warning("request_id %s of %s not released: ticket store unavailable", request_id, ticket_id)


async def _send_decision(ticket_id: str, decision: DecisionIn, temporal: TemporalDep, seconds: float) -> DecisionResult:
    handle = temporal.get_workflow_handle_for(TicketWorkflow.run, workflow_id_for(ticket_id))
    try:
        # The Update's id is the request id. A request that ran out of time may leave its Update queued
        # for the worker, to apply later; a repeat with the same request_id joins that Update (Temporal
        # keeps one per id) and the workflow answers a request_id it has seen from its record, so a
        # decision applies once however often it is sent.
        async with asyncio.timeout(seconds):
            return await handle.execute_update(
                TicketWorkflow.decide, decision, id=f"decision-{decision.request_id}",
                rpc_timeout=timedelta(seconds=seconds),
            )  # fmt: skip
    except (TimeoutError, WorkflowUpdateRPCTimeoutOrCancelledError):
        err = ticket_unresponsive(ticket_id, "take the decision", seconds)
        err.message += " with the same request_id: the decision may still apply, and applies only once"
        raise err from None
    except WorkflowUpdateFailedError as e:
        cause = e.cause
        if isinstance(cause, ApplicationError) and cause.type in _REFUSALS:
            status, code = _REFUSALS[cause.type]
            raise ApiError(status, code, cause.message) from None
        raise
    except RPCError as e:
        if e.status == RPCStatusCode.NOT_FOUND:
            await _closed_or_missing(temporal, ticket_id)
        raise _temporal_unavailable(e) from e


async def _closed_or_missing(temporal: TemporalDep, ticket_id: str) -> None:
    try:
        await temporal.get_workflow_handle(workflow_id_for(ticket_id)).describe()
    except RPCError:
        raise ApiError(404, "ticket_not_found", f"no ticket {ticket_id!r}") from None
    raise ApiError(409, "ticket_closed", f"ticket {ticket_id} is closed")


@router.post("/tickets/{ticket_id}/csat", status_code=202)
async def submit_csat(ticket_id: str, score: CsatIn, temporal: TemporalDep, settings: SettingsDep) -> dict[str, str]:
    """The customer's satisfaction score (1–5), accepted while the resolved ticket's survey is open."""
    _check_ticket_id(ticket_id)
    handle = temporal.get_workflow_handle_for(TicketWorkflow.run, workflow_id_for(ticket_id))
    state = await query_state(temporal, ticket_id, settings.API_QUERY_TIMEOUT_S)
    try:
        if state.status != Status.RESOLVED or state.csat_score is not None:
            raise ApiError(409, "survey_closed", f"ticket {ticket_id} is {state.status.value}: no survey is open")
        await handle.signal(TicketWorkflow.submit_csat, score)
    except RPCError as e:
        if e.status == RPCStatusCode.NOT_FOUND:
            raise ApiError(404, "ticket_not_found", f"no ticket {ticket_id!r}") from None
        raise _temporal_unavailable(e) from e
    return {"ticket_id": ticket_id, "status": "accepted"}


@router.get("/tickets/{ticket_id}/events", response_model=list[EventOut])
async def ticket_events(ticket_id: str, pool: PoolDep) -> list[EventOut]:
    """The audit trail: every status change, decision and SLA event, with who did it."""
    _check_ticket_id(ticket_id)
    if await tickets.get_ticket(pool, ticket_id) is None:
        raise ApiError(404, "ticket_not_found", f"no ticket {ticket_id!r}")
    return [EventOut.model_validate(e.model_dump()) for e in await tickets.get_events(pool, ticket_id)]
