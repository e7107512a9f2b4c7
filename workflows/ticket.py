"""TicketWorkflow: one workflow per support ticket, living as long as the ticket.

The workflow owns the ticket's state, transcript and clock; every outside effect (CRM, triage
models, agents, Postgres) is an activity. Deterministic only: time comes from `workflow.now()`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel, Field
from temporalio import workflow
from temporalio.common import (
    RetryPolicy,
    SearchAttributePair,
    SearchAttributeUpdate,
    TypedSearchAttributes,
)
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.conversation import ConversationActivities
    from activities.crm import CrmActivities, GetCustomerInput
    from activities.store import (
        CreateTicketInput,
        RecordMessageInput,
        RecordStatusInput,
        RecordTriageInput,
        StoreActivities,
    )
    from activities.triage import TriageActivities, TriageInput
    from domain.models import (
        Category,
        Channel,
        Customer,
        Priority,
        Sender,
        Sentiment,
        Status,
        TranscriptEntry,
        TriageResult,
    )
    from domain.policy import effective_priority, escalation_reason, sla_deadlines
    from domain.turns import TurnOutcome, TurnRequest
    from workflows import search_attributes as sa

# Timeouts and retries (named so the policy is visible in one place).
DB_TIMEOUT = timedelta(seconds=15)
DB_RETRY = RetryPolicy(maximum_interval=timedelta(seconds=30))
FAST_TIMEOUT = timedelta(seconds=30)
LLM_START_TO_CLOSE = timedelta(seconds=120)
LLM_SCHEDULE_TO_CLOSE = timedelta(minutes=30)
LLM_RETRY = RetryPolicy(maximum_interval=timedelta(minutes=1), non_retryable_error_types=["ModelConfigError"])
CRM_RETRY = RetryPolicy(maximum_interval=timedelta(seconds=30), non_retryable_error_types=["CustomerNotFoundError"])
DEFAULT_AUTO_RESOLVE_AFTER = timedelta(hours=72)


@dataclass
class CustomerMessage:
    """A customer's follow-up. `message_id` makes a re-sent message count once."""

    message_id: str
    body: str


class TicketState(BaseModel):
    """Everything the ticket knows; carried whole across continue-as-new."""

    ticket_id: str
    customer_id: str
    channel: Channel
    subject: str
    opened_at: datetime
    status: Status = Status.NEW
    customer: Customer | None = None
    category: Category | None = None
    priority: Priority | None = None
    sentiment: Sentiment | None = None
    sentiment_trend: list[Sentiment] = Field(default_factory=list)
    escalated: bool = False
    escalation_reason: str | None = None
    assigned_agent: str | None = None
    first_response_at: datetime | None = None
    first_response_due: datetime | None = None
    resolution_due: datetime | None = None
    resolved_at: datetime | None = None
    transcript: list[TranscriptEntry] = Field(default_factory=list)
    inbox: list[CustomerMessage] = Field(default_factory=list)
    seen_message_ids: list[str] = Field(default_factory=list)
    prompt_tokens: int = 0
    completion_tokens: int = 0


@dataclass
class TicketInput:
    ticket_id: str
    customer_id: str
    channel: Channel
    subject: str
    body: str
    auto_resolve_after: timedelta = DEFAULT_AUTO_RESOLVE_AFTER
    state: TicketState | None = None  # set only when continuing as new


@dataclass
class TicketResult:
    ticket_id: str
    status: Status
    messages: int


@workflow.defn(name="TicketWorkflow")
class TicketWorkflow:
    @workflow.init
    def __init__(self, inp: TicketInput) -> None:
        self._inp = inp
        self._s = inp.state or TicketState(
            ticket_id=inp.ticket_id,
            customer_id=inp.customer_id,
            channel=inp.channel,
            subject=inp.subject,
            opened_at=workflow.now(),
        )

    # ---- messages in -------------------------------------------------------------------------

    @workflow.signal
    def add_customer_message(self, msg: CustomerMessage) -> None:
        if msg.message_id in self._s.seen_message_ids or self._s.status == Status.CLOSED:
            return  # duplicate delivery, or too late: the API refuses follow-ups on closed tickets
        self._s.seen_message_ids.append(msg.message_id)
        self._s.inbox.append(msg)

    @workflow.query
    def state(self) -> TicketState:
        return self._s

    @workflow.query
    def status(self) -> Status:
        return self._s.status

    # ---- the lifecycle -----------------------------------------------------------------------

    @workflow.run
    async def run(self, inp: TicketInput) -> TicketResult:
        s = self._s
        if inp.state is None:
            await self._open(inp)
        while s.status != Status.CLOSED:
            if s.escalated:
                # A human owns the ticket now (decisions arrive with the lifecycle work); customer
                # messages are still recorded so nothing the customer says is lost.
                await workflow.wait_condition(lambda: bool(s.inbox))
            else:
                arrived = await self._wait_for_customer(inp.auto_resolve_after)
                if not arrived:
                    await self._resolve("no reply from the customer")
                    break
            await self._handle_follow_up(s.inbox.pop(0))
            if workflow.info().is_continue_as_new_suggested():
                await workflow.wait_condition(workflow.all_handlers_finished)
                workflow.continue_as_new(
                    TicketInput(s.ticket_id, s.customer_id, s.channel, s.subject, "", inp.auto_resolve_after, s)
                )
        await workflow.wait_condition(workflow.all_handlers_finished)
        return TicketResult(s.ticket_id, s.status, len(s.transcript))

    async def _open(self, inp: TicketInput) -> None:
        s = self._s
        await workflow.execute_activity_method(
            StoreActivities.create_ticket,
            CreateTicketInput(
                s.ticket_id,
                workflow.info().workflow_id,
                s.customer_id,
                s.channel.value,
                s.subject,
                s.opened_at,
            ),
            start_to_close_timeout=DB_TIMEOUT,
            retry_policy=DB_RETRY,
        )
        s.customer = await workflow.execute_activity_method(
            CrmActivities.get_customer,
            GetCustomerInput(s.customer_id),
            start_to_close_timeout=FAST_TIMEOUT,
            retry_policy=CRM_RETRY,
        )
        text = f"{inp.subject}\n\n{inp.body}"
        triage = await self._triage(text)
        s.category = triage.category
        s.priority = effective_priority(triage.base_priority, s.customer)
        due = sla_deadlines(s.priority, s.opened_at)
        s.first_response_due, s.resolution_due = due.first_response_due, due.resolution_due
        await self._record_customer_message(inp.body, triage.sentiment)
        await workflow.execute_activity_method(
            StoreActivities.record_triage,
            RecordTriageInput(
                s.ticket_id,
                s.category.value,
                s.priority.value,
                triage.sentiment.value,
                due.first_response_due,
                due.resolution_due,
                workflow.now(),
                {
                    "base_priority": triage.base_priority.value,
                    "priority_reasons": triage.priority_reasons,
                    "polarity": triage.polarity,
                    "category_confidence": triage.category_confidence,
                },
            ),
            start_to_close_timeout=DB_TIMEOUT,
            retry_policy=DB_RETRY,
        )
        await self._set_status(Status.IN_PROGRESS)
        await self._agent_turn(escalation_reason(text, triage.sentiment, s.customer, triage.polarity))

    async def _wait_for_customer(self, silence: timedelta) -> bool:
        s = self._s
        if s.inbox:
            return True
        try:
            await workflow.wait_condition(lambda: bool(s.inbox), timeout=silence)
            return True
        except TimeoutError:
            return False

    async def _handle_follow_up(self, msg: CustomerMessage) -> None:
        s = self._s
        triage = await self._triage(msg.body)
        await self._record_customer_message(msg.body, triage.sentiment)
        if s.escalated:
            return
        await self._set_status(Status.IN_PROGRESS)
        await self._agent_turn(escalation_reason(msg.body, triage.sentiment, self._customer(), triage.polarity))

    def _customer(self) -> Customer:
        if self._s.customer is None:  # an ApplicationError fails the ticket visibly instead of retrying forever
            raise ApplicationError("customer not loaded", type="TicketStateError", non_retryable=True)
        return self._s.customer

    async def _triage(self, text: str) -> TriageResult:
        result = await workflow.execute_activity_method(
            TriageActivities.triage_message,
            TriageInput(text),
            start_to_close_timeout=FAST_TIMEOUT,
            retry_policy=DB_RETRY,
        )
        self._s.sentiment = result.sentiment
        self._s.sentiment_trend.append(result.sentiment)
        return result

    async def _agent_turn(self, handoff_reason: str | None) -> None:
        s = self._s
        if s.category is None or s.priority is None or s.sentiment is None:
            raise ApplicationError("agent turn before triage", type="TicketStateError", non_retryable=True)
        outcome: TurnOutcome = await workflow.execute_activity_method(
            ConversationActivities.run_agent_turn,
            TurnRequest(
                ticket_id=s.ticket_id,
                customer=self._customer(),
                channel=s.channel,
                subject=s.subject,
                category=s.category,
                priority=s.priority,
                sentiment=s.sentiment,
                transcript=s.transcript,
                handoff_reason=handoff_reason,
            ),
            start_to_close_timeout=LLM_START_TO_CLOSE,
            schedule_to_close_timeout=LLM_SCHEDULE_TO_CLOSE,
            retry_policy=LLM_RETRY,
        )
        s.prompt_tokens += outcome.prompt_tokens
        s.completion_tokens += outcome.completion_tokens
        s.assigned_agent = outcome.agent
        now = workflow.now()
        entry = TranscriptEntry(
            seq=len(s.transcript) + 1, sender=Sender.AGENT, author=outcome.agent, body=outcome.reply, at=now
        )
        s.transcript.append(entry)
        await workflow.execute_activity_method(
            StoreActivities.record_message,
            RecordMessageInput(
                s.ticket_id,
                entry.seq,
                entry.sender,
                entry.author,
                entry.body,
                now,
                citations=outcome.citations,
                counts_as_response=True,
            ),
            start_to_close_timeout=DB_TIMEOUT,
            retry_policy=DB_RETRY,
        )
        if s.first_response_at is None:
            s.first_response_at = now
        if outcome.decision == "escalate":
            s.escalated = True
            s.escalation_reason = outcome.escalation_reason or handoff_reason or "agent asked for a human"
            await self._set_status(Status.ESCALATED)
        else:
            await self._set_status(Status.WAITING_CUSTOMER)

    async def _record_customer_message(self, body: str, sentiment: Sentiment) -> None:
        s = self._s
        now = workflow.now()
        entry = TranscriptEntry(
            seq=len(s.transcript) + 1,
            sender=Sender.CUSTOMER,
            author=s.customer_id,
            body=body,
            sentiment=sentiment,
            at=now,
        )
        s.transcript.append(entry)
        await workflow.execute_activity_method(
            StoreActivities.record_message,
            RecordMessageInput(s.ticket_id, entry.seq, entry.sender, entry.author, body, now, sentiment=sentiment),
            start_to_close_timeout=DB_TIMEOUT,
            retry_policy=DB_RETRY,
        )

    async def _resolve(self, why: str) -> None:
        s = self._s
        s.resolved_at = workflow.now()
        await self._set_status(Status.RESOLVED, note=why)
        await self._set_status(Status.CLOSED)

    async def _set_status(self, status: Status, note: str | None = None) -> None:
        s = self._s
        s.status = status
        now = workflow.now()
        # One event per transition; the transcript length makes the key unique yet stable on retry.
        key = f"status:{status.value}:{len(s.transcript)}"
        await workflow.execute_activity_method(
            StoreActivities.record_status,
            RecordStatusInput(
                s.ticket_id,
                status.value,
                now,
                key,
                assigned_agent=s.assigned_agent,
                escalated=s.escalated,
                escalation_reason=s.escalation_reason or note,
            ),
            start_to_close_timeout=DB_TIMEOUT,
            retry_policy=DB_RETRY,
        )
        self._publish()

    def _publish(self) -> None:
        """Keep search attributes and the UI summary current for operators."""
        s = self._s
        updates: list[SearchAttributeUpdate[Any]] = [
            sa.TICKET_STATUS.value_set(s.status.value),
            sa.CUSTOMER_ID.value_set(s.customer_id),
            sa.TICKET_ESCALATED.value_set(s.escalated),
        ]
        if s.priority is not None:
            updates.append(sa.TICKET_PRIORITY.value_set(s.priority.value))
        if s.category is not None:
            updates.append(sa.TICKET_CATEGORY.value_set(s.category.value))
        if s.resolution_due is not None:
            updates.append(sa.TICKET_SLA_DEADLINE.value_set(s.resolution_due))
        workflow.upsert_search_attributes(updates)
        workflow.set_current_details(self._summary())

    def _summary(self) -> str:
        s = self._s
        lines = [
            f"**{s.subject}**",
            f"status: {s.status.value} · priority: {s.priority.value if s.priority else '-'} · "
            f"category: {s.category.value if s.category else '-'} · channel: {s.channel.value}",
            f"customer: {s.customer.name if s.customer else s.customer_id}"
            + (f" ({s.customer.plan.value}{', VIP' if s.customer.is_vip else ''})" if s.customer else ""),
            f"sentiment: {' → '.join(x.value for x in s.sentiment_trend[-5:]) or '-'}",
            f"messages: {len(s.transcript)} · agent: {s.assigned_agent or '-'}",
        ]
        if s.escalated:
            lines.append(f"ESCALATED: {s.escalation_reason}")
        if s.resolution_due:
            lines.append(f"resolution due: {s.resolution_due.isoformat(timespec='minutes')}")
        return "\n\n".join(lines)


def initial_search_attributes(customer_id: str) -> TypedSearchAttributes:
    """Set at start so a ticket is findable by customer and status before its first task runs."""
    return TypedSearchAttributes(
        [
            SearchAttributePair(sa.CUSTOMER_ID, customer_id),
            SearchAttributePair(sa.TICKET_STATUS, Status.NEW.value),
            SearchAttributePair(sa.TICKET_ESCALATED, False),
        ]
    )
