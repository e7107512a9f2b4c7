"""A human agent's decision on a ticket (an Update, applied once per request_id), and the CSAT score."""

from __future__ import annotations

import asyncio
import hashlib
import logging
from datetime import timedelta

from temporalio.client import Client, WorkflowUpdateFailedError, WorkflowUpdateRPCTimeoutOrCancelledError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from api.errors import ApiError
from api.schemas import CsatIn, DecisionIn
from api.service.ids import ticket_not_found, workflow_id_for
from api.service.rpc import query_state, temporal_unavailable, ticket_unresponsive
from db import decisions
from db.tickets import Conn
from domain.lifecycle import DecisionResult
from domain.models import Status
from workflows.ticket import TicketWorkflow

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


async def decide(pool: Conn, temporal: Client, ticket_id: str, decision: DecisionIn, seconds: float) -> DecisionResult:
    """Claim the decision's request_id on the ticket, then send the decision (within `seconds`).

    A request_id already held by another decision is a 409; a refused decision never applied, so its
    request_id is released to carry another one.
    """
    fingerprint = hashlib.sha256(decision.model_dump_json().encode()).hexdigest()
    held = await claim_request_id(pool, ticket_id, decision, fingerprint)
    if held is not None:
        raise ApiError(
            409, "request_id_reused",
            f"request_id {decision.request_id!r} was already used on ticket {ticket_id} for a different decision "
            f"({held.kind} by {held.agent_id}); send this decision with a new request_id",
        )  # fmt: skip
    try:
        return await _send_decision(temporal, ticket_id, decision, seconds)
    except ApiError as e:
        if e.status < 500:  # refused: it never applied, so its request_id may carry another decision
            await _release_request_id(pool, ticket_id, decision.request_id, fingerprint)
        raise


async def claim_request_id(
    pool: Conn, ticket_id: str, decision: DecisionIn, fingerprint: str
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


async def _release_request_id(pool: Conn, ticket_id: str, request_id: str, fingerprint: str) -> None:
    try:
        async with asyncio.timeout(_CLAIM_TIMEOUT_S):
            await decisions.release(pool, ticket_id, request_id, fingerprint)
    except Exception:  # the refusal is the answer; a claim left behind only blocks reuse
        log.warning("request_id %s of %s not released: ticket store unavailable", request_id, ticket_id)


async def _send_decision(temporal: Client, ticket_id: str, decision: DecisionIn, seconds: float) -> DecisionResult:
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
        raise temporal_unavailable(e) from e


async def _closed_or_missing(temporal: Client, ticket_id: str) -> None:
    try:
        await temporal.get_workflow_handle(workflow_id_for(ticket_id)).describe()
    except RPCError:
        raise ticket_not_found(ticket_id) from None
    raise ApiError(409, "ticket_closed", f"ticket {ticket_id} is closed")


async def submit_csat(temporal: Client, ticket_id: str, score: CsatIn, query_timeout_s: float) -> None:
    """Signal the score to the ticket while its survey is open (resolved, not yet scored); else a 409."""
    handle = temporal.get_workflow_handle_for(TicketWorkflow.run, workflow_id_for(ticket_id))
    state = await query_state(temporal, ticket_id, query_timeout_s)
    try:
        if state.status != Status.RESOLVED or state.csat_score is not None:
            raise ApiError(409, "survey_closed", f"ticket {ticket_id} is {state.status.value}: no survey is open")
        await handle.signal(TicketWorkflow.submit_csat, score)
    except RPCError as e:
        if e.status == RPCStatusCode.NOT_FOUND:
            raise ticket_not_found(ticket_id) from None
        raise temporal_unavailable(e) from e
