"""Opening a ticket (its workflow) and delivering a customer's follow-up to it.

Who the customer is, the per-customer limits, the idempotency key and the follow-up rules live here;
the routes only parse the request and shape the answer.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import uuid
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import quote

from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from api.errors import ApiError
from api.limits import message_refusal, ticket_refusal
from api.schemas import TicketIn
from api.service.ids import ticket_id_for, workflow_id_for
from api.service.rpc import is_open, query_state, started, temporal_unavailable
from db import customers, decisions, tickets
from domain.contacts import derive_customer_id, is_email
from domain.models import Channel, Customer, Status
from settings import Settings
from workflows.ticket import CustomerMessage, TicketInput, TicketWorkflow, initial_search_attributes

log = logging.getLogger("api")


@dataclass(frozen=True)
class Opened:
    """A ticket `POST /tickets` names: new (`created`), or the one an earlier request with its key made."""

    ticket_id: str
    created: bool
    status: str


@dataclass(frozen=True)
class Delivered:
    """Where a customer message went: its ticket, or a follow-up ticket (`opened`: this message opened it)."""

    ticket_id: str
    message_id: str
    follows_up: str | None = None
    opened: bool = False


def fingerprint(body: TicketIn, customer_id: str) -> str:
    payload = {
        "customer": customer_id,
        "channel": body.channel.value,
        "subject": body.subject,
        "body": body.body,
    }
    if body.product is not None:  # only when given: a retried request from before keeps its fingerprint
        payload["product"] = body.product
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


async def resolve_customer(pool: tickets.Conn, body: TicketIn, settings: Settings) -> Customer:
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


async def _new_contact(pool: tickets.Conn, email: str, name: str | None) -> Customer:
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


def console_link(settings: Settings, ticket_id: str) -> str | None:
    """The workflow's Details in the Temporal UI (markdown): a link back to the ticket's console page.
    Only the ticket id, no customer text; None (no Details) when CONSOLE_PUBLIC_URL is `off`. Given twice:
    as the static Details (a start option) and in the input, since a run continued as new gets no static
    Details and the workflow keeps the link at the top of its current details instead."""
    console = settings.console_url()
    if console is None:
        return None
    return f"Support console: [ticket {ticket_id}]({console}/tickets/{quote(ticket_id)})"


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
    ticket_id = ticket_id_for(customer_id, key)
    wf_id = workflow_id_for(ticket_id)
    try:
        await temporal.start_workflow(
            TicketWorkflow.run,
            TicketInput(
                ticket_id, customer_id, channel, subject, body,
                auto_resolve_after=timedelta(hours=settings.AUTO_RESOLVE_AFTER_HOURS),
                policy=settings.ticket_policy(), linked_ticket_id=linked_ticket_id, product=product,
                console_link=console_link(settings, ticket_id),
            ),
            id=wf_id,
            task_queue=settings.TEMPORAL_TASK_QUEUE,
            # A ticket id is never reused, even after the ticket closed: a repeat returns the original.
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
            search_attributes=initial_search_attributes(customer_id, product),
            memo={"request_fingerprint": fingerprint},
            static_summary=f"[{channel.value}{f' · {product}' if product else ''}] {subject}"[:200],
            static_details=console_link(settings, ticket_id),
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
        raise temporal_unavailable(e) from e
    return ticket_id, True


async def open_ticket(
    pool: tickets.Conn, temporal: Client, settings: Settings, body: TicketIn, key: str | None
) -> Opened:
    """Open the ticket `body` asks for, under the customer's hourly limit; a repeated `key` names the
    ticket its first request opened (never a second one)."""
    customer = await resolve_customer(pool, body, settings)
    refusal = await ticket_refusal(pool, customer.customer_id, settings.CUSTOMER_TICKETS_PER_HOUR)
    # A retried request whose ticket exists is no new work: it gets its ticket, never a 429.
    if refusal is not None and not (
        key is not None and await started(temporal, ticket_id_for(customer.customer_id, key))
    ):
        raise refusal
    ticket_id, created = await start_ticket(
        temporal, settings, customer_id=customer.customer_id, channel=body.channel, subject=body.subject,
        body=body.body, key=key,
        fingerprint=fingerprint(body, customer.customer_id), product=body.product,
    )  # fmt: skip
    status = Status.NEW.value
    if not created:
        row = await tickets.get_ticket(pool, ticket_id)
        status = row.status if row else status
    return Opened(ticket_id, created, status)


async def add_message(
    pool: tickets.Conn, temporal: Client, settings: Settings, ticket_id: str, body: str, given_id: str | None
) -> Delivered:
    """A customer follow-up, under the customer's per-minute limit. On a closed ticket it goes to the
    open follow-up ticket, or opens a new ticket linked to the old one."""
    message_id = given_id or uuid.uuid4().hex
    message = CustomerMessage(message_id, body)
    old = await tickets.get_ticket(pool, ticket_id)
    if given_id is not None and old is not None:
        await _claim_message_id(pool, ticket_id, given_id, body)
    if old is not None:  # None: not yet stored (being opened) or unknown; nothing to count it against
        refusal = await message_refusal(pool, old.customer_id, settings.CUSTOMER_MESSAGES_PER_MINUTE)
        if refusal is not None and not (given_id and await _accepted(temporal, pool, settings, old, given_id)):
            raise refusal
    if await _deliver(temporal, ticket_id, message):
        return Delivered(ticket_id, message_id)
    old = old or await tickets.get_ticket(pool, ticket_id)
    if old is None:
        raise ApiError(409, "ticket_closed", f"ticket {ticket_id} is closed")
    key = f"follow-up:{ticket_id}:{message_id}"
    # A follow-up already open for this ticket takes the message: one conversation, not one ticket per
    # message. Unless this very message opened it (a retried request): then it is answered as before.
    follow_up = await tickets.open_follow_up(pool, ticket_id)
    if follow_up is not None and follow_up != ticket_id_for(old.customer_id, key):
        if await _deliver(temporal, follow_up, message):
            return Delivered(follow_up, message_id, follows_up=ticket_id)
    subject = old.subject if old.subject.startswith("Re: ") else f"Re: {old.subject}"
    new_id, _ = await start_ticket(
        temporal, settings, customer_id=old.customer_id, channel=Channel(old.channel), subject=subject[:300],
        body=body, key=key, fingerprint=key,
        linked_ticket_id=ticket_id, product=old.product,
    )  # fmt: skip
    return Delivered(new_id, message_id, follows_up=ticket_id, opened=True)


# A customer message's id is claimed on its ticket in `decision_requests` (erasure clears it with the
# ticket's decisions), under a key no decision's request_id can take: those are stripped of whitespace.
_MESSAGE_KEY = " message {}"
_CLAIM_TIMEOUT_S = 5.0


async def _claim_message_id(pool: tickets.Conn, ticket_id: str, message_id: str, body: str) -> None:
    """409 message_id_reused when this ticket already took another text under `message_id` (the workflow
    would drop it silently as a duplicate). A store that does not answer skips the check, as for decisions."""
    fingerprint = hashlib.sha256(f"{ticket_id}\x00{message_id}\x00{body}".encode()).hexdigest()
    try:
        async with asyncio.timeout(_CLAIM_TIMEOUT_S):
            held = await decisions.claim(
                pool, ticket_id, _MESSAGE_KEY.format(message_id), fingerprint, "customer_message", "customer"
            )
    except Exception:
        log.warning("message_id check skipped for %s: ticket store unavailable", ticket_id)
        return
    if held is not None:
        raise ApiError(
            409, "message_id_reused",
            f"message_id {message_id!r} was already used on ticket {ticket_id} for a different text; "
            "send this message with a new message_id",
        )  # fmt: skip


async def _deliver(temporal: Client, ticket_id: str, message: CustomerMessage) -> bool:
    """Signal the message to the ticket's workflow if it is running; False when it is closed."""
    if not await is_open(temporal, ticket_id):
        return False
    handle = temporal.get_workflow_handle_for(TicketWorkflow.run, workflow_id_for(ticket_id))
    try:
        await handle.signal(TicketWorkflow.add_customer_message, message)
    except RPCError as e:
        if e.status != RPCStatusCode.NOT_FOUND:  # NOT_FOUND: it closed between the check and the signal
            raise temporal_unavailable(e) from e
        return False
    return True


async def _accepted(
    temporal: Client, pool: tickets.Conn, settings: Settings, old: tickets.TicketRecord, message_id: str
) -> bool:
    """Whether this message was already taken: by the ticket, by its open follow-up, or as the first
    message of a follow-up it opened. Asked only past the limit, where a retry must not get a 429."""
    if await started(temporal, ticket_id_for(old.customer_id, f"follow-up:{old.ticket_id}:{message_id}")):
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
