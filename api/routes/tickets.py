"""Tickets: open one (starts its workflow), read it, add a customer follow-up, list them."""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import uuid
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Header, Query, Response
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from api.deps import PoolDep, SettingsDep, TemporalDep
from api.errors import ApiError
from api.limits import message_refusal, ticket_refusal
from api.schemas import (
    MessageAccepted,
    MessageIn,
    MessageOut,
    MessagesAfter,
    PendingActionOut,
    TicketCreated,
    TicketFilters,
    TicketIn,
    TicketOut,
    TicketSummary,
)
from db import actions, customers, tickets
from domain.contacts import derive_customer_id, is_email
from domain.models import Channel, Customer, Status
from settings import Settings
from workflows.ticket import CustomerMessage, TicketInput, TicketState, TicketWorkflow, initial_search_attributes

router = APIRouter(prefix="/tickets", tags=["tickets"])
_TICKET_ID = re.compile(r"^tkt_[0-9a-f]{16}$")


def workflow_id_for(ticket_id: str) -> str:
    return f"ticket-{ticket_id}"


def _ticket_id(customer_id: str, idempotency_key: str | None) -> str:
    """Business key: the same customer and idempotency key always name the same ticket."""
    if idempotency_key is None:
        return f"tkt_{uuid.uuid4().hex[:16]}"
    return "tkt_" + hashlib.sha256(f"{customer_id}\x00{idempotency_key}".encode()).hexdigest()[:16]


def _fingerprint(body: TicketIn, customer_id: str) -> str:
    payload = {
        "customer": customer_id,
        "channel": body.channel.value,
        "subject": body.subject,
        "body": body.body,
    }
    if body.product is not None:  # only when given: a retried request from before keeps its fingerprint
        payload["product"] = body.product
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


async def _resolve_customer(pool: PoolDep, body: TicketIn, settings: Settings) -> Customer:
    found = None
    if body.customer_id:
        found = await customers.get_customer(pool, body.customer_id)
        if found is not None and body.customer_email and body.customer_email.lower() != found.email.lower():
            raise ApiError(
                422, "customer_mismatch",
                f"customer_id {body.customer_id!r} and customer_email {body.customer_email!r} name different "
                "customers; give one, or both of the same customer",
            )  # fmt: skip
    elif body.customer_email:
        found = await customers.get_customer_by_email(pool, body.customer_email)
    if found is None and body.customer_email and not body.customer_id and settings.AUTO_CREATE_CUSTOMERS:
        found = await _new_contact(pool, body.customer_email, body.customer_name)
    if found is None:
        ref = body.customer_id or body.customer_email
        raise ApiError(422, "unknown_customer", f"no customer {ref!r} in the CRM")
    return found


async def _new_contact(pool: PoolDep, email: str, name: str | None) -> Customer:
    """A first-time sender becomes a free contact. Its id comes from the email, so a retried request
    (same idempotency key) finds this customer and hence the same ticket, never a second one."""
    if not is_email(email):
        raise ApiError(422, "invalid_request", "customer_email: not an email address (name@domain.tld)")
    found = await customers.create_contact(pool, email, name)
    if found is None:
        raise ApiError(
            409, "customer_conflict",
            f"cannot make a customer for {email!r}: its id {derive_customer_id(email)!r} belongs to another email",
        )  # fmt: skip
    return found


def _check_ticket_id(ticket_id: str) -> None:
    if not _TICKET_ID.match(ticket_id):
        raise ApiError(404, "ticket_not_found", f"no ticket {ticket_id!r}")


def _temporal_unavailable(e: RPCError) -> ApiError:
    return ApiError(503, "temporal_unavailable", f"workflow service unavailable: {e.message}")


# What an RPC that ran out of time says (the SDK reports its own deadline as CANCELLED "Timeout expired").
_OUT_OF_TIME = (RPCStatusCode.DEADLINE_EXCEEDED, RPCStatusCode.CANCELLED)


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
            raise ApiError(404, "ticket_not_found", f"no ticket {ticket_id!r}") from None
        if e.status in _OUT_OF_TIME:
            raise ticket_unresponsive(ticket_id, "answer", seconds) from None
        raise _temporal_unavailable(e) from e


async def start_ticket(
    temporal: Client,
    settings: Settings,
    *,
    customer_id: str,
    channel: Channel,
    subject: str,
    body: str,
    key: str | None,
    fingerprint: str,
    linked_ticket_id: str | None = None,
    product: str | None = None,
) -> tuple[str, bool]:
    """Start the ticket's workflow; (ticket id, created). A repeated key returns the existing ticket."""
    ticket_id = _ticket_id(customer_id, key)
    wf_id = workflow_id_for(ticket_id)
    try:
        await temporal.start_workflow(
            TicketWorkflow.run,
            TicketInput(
                ticket_id, customer_id, channel, subject, body,
                auto_resolve_after=timedelta(hours=settings.AUTO_RESOLVE_AFTER_HOURS),
                policy=settings.ticket_policy(), linked_ticket_id=linked_ticket_id, product=product,
            ),
            id=wf_id,
            task_queue=settings.TEMPORAL_TASK_QUEUE,
            # A ticket id is never reused, even after the ticket closed: a repeat returns the original.
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
            search_attributes=initial_search_attributes(customer_id, product),
            memo={"request_fingerprint": fingerprint},
            static_summary=f"[{channel.value}{f' · {product}' if product else ''}] {subject}"[:200],
        )  # fmt: skip
    except WorkflowAlreadyStartedError:
        desc = await temporal.get_workflow_handle(wf_id).describe()
        memo = await desc.memo()
        if memo.get("request_fingerprint") != fingerprint:
            raise ApiError(
                409, "idempotency_key_reused", "this idempotency key was already used for a different request"
            ) from None
        return ticket_id, False
    except RPCError as e:
        raise _temporal_unavailable(e) from e
    return ticket_id, True


@router.post("", status_code=201, response_model=TicketCreated)
async def open_ticket(
    body: TicketIn,
    response: Response,
    pool: PoolDep,
    temporal: TemporalDep,
    settings: SettingsDep,
    idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
) -> TicketCreated:
    customer = await _resolve_customer(pool, body, settings)
    key = body.idempotency_key or idempotency_key
    refusal = await ticket_refusal(pool, customer.customer_id, settings.CUSTOMER_TICKETS_PER_HOUR)
    # A retried request whose ticket exists is no new work: it gets its ticket, never a 429.
    if refusal is not None and not (
        key is not None and await _started(temporal, _ticket_id(customer.customer_id, key))
    ):
        raise refusal
    ticket_id, created = await start_ticket(
        temporal, settings, customer_id=customer.customer_id, channel=body.channel, subject=body.subject,
        body=body.body, key=key,
        fingerprint=_fingerprint(body, customer.customer_id), product=body.product,
    )  # fmt: skip
    status = Status.NEW.value
    if not created:
        response.status_code = 200
        row = await tickets.get_ticket(pool, ticket_id)
        status = row.status if row else status
    return TicketCreated(ticket_id=ticket_id, workflow_id=workflow_id_for(ticket_id), status=status, created=created)


@router.get("/{ticket_id}", response_model=TicketOut)
async def get_ticket(ticket_id: str, pool: PoolDep, temporal: TemporalDep, settings: SettingsDep) -> TicketOut:
    _check_ticket_id(ticket_id)
    # One snapshot: the ticket row and its messages must agree (a reply is never shown without its
    # first-response time).
    async with pool.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
        row = await tickets.get_ticket(conn, ticket_id)
        messages = await tickets.get_messages(conn, ticket_id) if row else []
        pending = (await actions.pending_actions(conn, [ticket_id])).get(ticket_id, []) if row else []
    if row is None:
        # Started but its first activity has not written the row yet: answer from the workflow.
        state = await query_state(temporal, ticket_id, settings.API_QUERY_TIMEOUT_S)
        return TicketOut(
            ticket_id=ticket_id,
            workflow_id=workflow_id_for(ticket_id),
            customer_id=state.customer_id,
            channel=state.channel.value,
            subject=state.subject,
            status=state.status.value,
            product=state.product,
        )
    out = TicketOut.model_validate(
        {
            **row.model_dump(),
            "messages": [MessageOut.model_validate(m.model_dump()) for m in messages],
            "pending_actions": _pending_out(pending),
        }
    )
    out.time_to_first_response_s = _ttfr(row)
    return out


def _pending_out(pending: list[actions.PendingAction]) -> list[PendingActionOut]:
    return [
        PendingActionOut(
            action_request_id=a.request_id,
            kind=a.kind,
            amount_usd=float(a.amount_usd),
            summary=a.reason,
            reference=a.reference,
            requested_by=a.requested_by,
            requested_at=a.created_at,
            routed_to=a.routed_to,
        )  # fmt: skip
        for a in pending
    ]


async def summaries(conn: tickets.Conn, rows: list[tickets.TicketRecord]) -> list[TicketSummary]:
    """List items, each with the actions waiting on a person (read in one query for all of them)."""
    pending = await actions.pending_actions(conn, [r.ticket_id for r in rows])
    return [
        TicketSummary.model_validate(
            {
                **r.model_dump(),
                "sla_due": r.sla_due,
                "time_to_first_response_s": _ttfr(r),
                "pending_actions": _pending_out(pending.get(r.ticket_id, [])),
            }
        )
        for r in rows
    ]


def _ttfr(row: tickets.TicketRecord) -> float | None:
    if row.first_response_at is None:
        return None
    return round((row.first_response_at - row.created_at).total_seconds(), 3)


@router.post("/{ticket_id}/messages", status_code=202, response_model=MessageAccepted)
async def add_message(
    ticket_id: str,
    body: MessageIn,
    response: Response,
    pool: PoolDep,
    temporal: TemporalDep,
    settings: SettingsDep,
    idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
) -> MessageAccepted:
    """A customer follow-up. On a closed ticket it opens a new ticket linked to the old one (201)."""
    _check_ticket_id(ticket_id)
    message_id = body.message_id or idempotency_key or uuid.uuid4().hex
    message = CustomerMessage(message_id, body.body)
    old = await tickets.get_ticket(pool, ticket_id)
    if old is not None:  # None: not yet stored (being opened) or unknown; nothing to count it against
        refusal = await message_refusal(pool, old.customer_id, settings.CUSTOMER_MESSAGES_PER_MINUTE)
        given = body.message_id or idempotency_key
        if refusal is not None and not (given and await _accepted(temporal, pool, settings, old, given)):
            raise refusal
    if await _deliver(temporal, ticket_id, message):
        return MessageAccepted(ticket_id=ticket_id, message_id=message_id)
    old = old or await tickets.get_ticket(pool, ticket_id)
    if old is None:
        raise ApiError(409, "ticket_closed", f"ticket {ticket_id} is closed")
    key = f"follow-up:{ticket_id}:{message_id}"
    # A follow-up already open for this ticket takes the message: one conversation, not one ticket per
    # message. Unless this very message opened it (a retried request): then it is answered as before.
    follow_up = await tickets.open_follow_up(pool, ticket_id)
    if follow_up is not None and follow_up != _ticket_id(old.customer_id, key):
        if await _deliver(temporal, follow_up, message):
            return MessageAccepted(ticket_id=follow_up, message_id=message_id, follows_up=ticket_id)
    subject = old.subject if old.subject.startswith("Re: ") else f"Re: {old.subject}"
    new_id, _ = await start_ticket(
        temporal, settings, customer_id=old.customer_id, channel=Channel(old.channel), subject=subject[:300],
        body=body.body, key=key, fingerprint=key,
        linked_ticket_id=ticket_id, product=old.product,
    )  # fmt: skip
    response.status_code = 201
    return MessageAccepted(ticket_id=new_id, message_id=message_id, follows_up=ticket_id)


@router.get("/{ticket_id}/messages", response_model=list[MessageOut])
async def list_messages(
    ticket_id: str, pool: PoolDep, temporal: TemporalDep, f: Annotated[MessagesAfter, Query()]
) -> list[MessageOut]:
    """The ticket's messages with seq > after_seq, in order (at most `limit`): what a polling channel
    adapter reads, passing the last seq it has seen. Customer messages are included; `sender` tells."""
    _check_ticket_id(ticket_id)
    async with pool.acquire() as conn:
        known = await tickets.get_ticket(conn, ticket_id) is not None
        messages = await tickets.get_messages_after(conn, ticket_id, f.after_seq, f.limit) if known else []
    if not known:
        await _is_open(temporal, ticket_id)  # 404 unless its workflow exists (started, row not yet written)
    return [MessageOut.model_validate(m.model_dump()) for m in messages]


async def _deliver(temporal: Client, ticket_id: str, message: CustomerMessage) -> bool:
    """Signal the message to the ticket's workflow if it is running; False when it is closed."""
    if not await _is_open(temporal, ticket_id):
        return False
    handle = temporal.get_workflow_handle_for(TicketWorkflow.run, workflow_id_for(ticket_id))
    try:
        await handle.signal(TicketWorkflow.add_customer_message, message)
    except RPCError as e:
        if e.status != RPCStatusCode.NOT_FOUND:  # NOT_FOUND: it closed between the check and the signal
            raise _temporal_unavailable(e) from e
        return False
    return True


async def _started(temporal: Client, ticket_id: str) -> bool:
    """Whether the ticket's workflow exists (running or closed)."""
    try:
        await temporal.get_workflow_handle(workflow_id_for(ticket_id)).describe()
    except RPCError as e:
        if e.status == RPCStatusCode.NOT_FOUND:
            return False
        raise _temporal_unavailable(e) from e
    return True


async def _accepted(
    temporal: Client, pool: PoolDep, settings: Settings, old: tickets.TicketRecord, message_id: str
) -> bool:
    """Whether this message was already taken: by the ticket, by its open follow-up, or as the first
    message of a follow-up it opened. Asked only past the limit, where a retry must not get a 429."""
    if await _started(temporal, _ticket_id(old.customer_id, f"follow-up:{old.ticket_id}:{message_id}")):
        return True
    follow_up = await tickets.open_follow_up(pool, old.ticket_id)
    for tid in (old.ticket_id, follow_up):
        if tid is None:
            continue
        try:
            state = await query_state(temporal, tid, settings.API_QUERY_TIMEOUT_S)
        except ApiError as e:
            if e.status != 404:
                raise
            continue
        if message_id in state.seen_message_ids:
            return True
    return False


async def _is_open(temporal: Client, ticket_id: str) -> bool:
    try:
        desc = await temporal.get_workflow_handle(workflow_id_for(ticket_id)).describe()
    except RPCError as e:
        if e.status == RPCStatusCode.NOT_FOUND:
            raise ApiError(404, "ticket_not_found", f"no ticket {ticket_id!r}") from None
        raise _temporal_unavailable(e) from e
    return desc.status == WorkflowExecutionStatus.RUNNING


@router.get("", response_model=list[TicketSummary])
async def list_tickets(pool: PoolDep, f: Annotated[TicketFilters, Query()]) -> list[TicketSummary]:
    rows = await tickets.list_tickets(
        pool,
        status=f.status.value if f.status else None,
        priority=f.priority.value if f.priority else None,
        customer_id=f.customer_id,
        product=f.product,
        limit=f.limit,
        offset=f.offset,
    )
    return await summaries(pool, rows)
