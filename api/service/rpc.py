"""Asking one ticket's workflow (query, describe), and how a failed RPC becomes an API error.

A ticket the workflow service does not know is a 404; one that does not answer in time, a 503
`ticket_unresponsive` with Retry-After; the service itself down or refusing, a 503
`temporal_unavailable`.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.service import RPCError, RPCStatusCode

from api.errors import ApiError
from api.service.ids import ticket_not_found, workflow_id_for
from workflows.ticket import TicketState, TicketWorkflow

# What an RPC that ran out of time says (the SDK reports its own deadline as CANCELLED "Timeout expired").
OUT_OF_TIME = (RPCStatusCode.DEADLINE_EXCEEDED, RPCStatusCode.CANCELLED)


def temporal_unavailable(e: RPCError) -> ApiError:
    return ApiError(503, "temporal_unavailable", f"workflow service unavailable: {e.message}")


def ticket_unresponsive(ticket_id: str, what: str, seconds: float) -> ApiError:
    """The ticket's workflow did not answer in time: its worker is down, or the ticket is stuck or busy."""
    return ApiError(
        503, "ticket_unresponsive",
        f"ticket {ticket_id} did not {what} within {seconds:g} s: its worker may be down, or the ticket busy; "
        "try again",
        headers={"Retry-After": "5"},
    )  # fmt: skip


async def query_state(temporal: Client, ticket_id: str, seconds: float) -> TicketState:
    """The ticket's state from its workflow, within `seconds` (a Query needs a worker to answer)."""
    handle = temporal.get_workflow_handle_for(TicketWorkflow.run, workflow_id_for(ticket_id))
    try:
        async with asyncio.timeout(seconds):
            return await handle.query(TicketWorkflow.state, rpc_timeout=timedelta(seconds=seconds))
    except TimeoutError:
        raise ticket_unresponsive(ticket_id, "answer", seconds) from None
    except RPCError as e:
        if e.status == RPCStatusCode.NOT_FOUND:
            raise ticket_not_found(ticket_id) from None
        if e.status in OUT_OF_TIME:
            raise ticket_unresponsive(ticket_id, "answer", seconds) from None
        raise temporal_unavailable(e) from e


async def started(temporal: Client, ticket_id: str) -> bool:
    """Whether the ticket's workflow exists (running or closed)."""
    try:
        await temporal.get_workflow_handle(workflow_id_for(ticket_id)).describe()
    except RPCError as e:
        if e.status == RPCStatusCode.NOT_FOUND:
            return False
        raise temporal_unavailable(e) from e
    return True


async def is_open(temporal: Client, ticket_id: str) -> bool:
    """Whether the ticket's workflow runs; 404 when it does not exist."""
    try:
        desc = await temporal.get_workflow_handle(workflow_id_for(ticket_id)).describe()
    except RPCError as e:
        if e.status == RPCStatusCode.NOT_FOUND:
            raise ticket_not_found(ticket_id) from None
        raise temporal_unavailable(e) from e
    return desc.status == WorkflowExecutionStatus.RUNNING
