"""TicketWorkflow v1, frozen: the lifecycle before SLA clocks and human decisions (issue 4).

Tickets started before the `lifecycle-v2` patch replay through this code, so it must keep issuing
exactly the commands it issued then. Do not change it; delete it (with `deprecate_patch`) once no
v1 ticket is open anywhere.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import SearchAttributeUpdate
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
    from domain.models import Customer, Sender, Sentiment, Status, TranscriptEntry, TriageResult
    from domain.policy import effective_priority, escalation_reason, sla_deadlines
    from domain.turns import TurnOutcome, TurnRequest
    from workflows import search_attributes as sa
    from workflows.types import (
        CRM_RETRY,
        DB_RETRY,
        DB_TIMEOUT,
        FAST_TIMEOUT,
        LLM_RETRY,
        LLM_SCHEDULE_TO_CLOSE,
        LLM_START_TO_CLOSE,
        CustomerMessage,
        TicketInput,
        TicketResult,
        TicketState,
    )


class TicketV1:
    """The v1 run loop on the ticket's state; `TicketWorkflow.run` dispatches to `_run_v1`."""

    def __init__(self, s: TicketState) -> None:
        self._s = s

    async def _run_v1(self, inp: TicketInput) -> TicketResult:
        s = self._s
        if inp.state is None:
            await self._open_v1(inp)
        while s.status != Status.CLOSED:
            if s.escalated:
                # A human owns the ticket now (decisions arrive with the lifecycle work); customer
                # messages are still recorded so nothing the customer says is lost.
                await workflow.wait_condition(lambda: bool(s.inbox))
            else:
                arrived = await self._wait_for_customer_v1(inp.auto_resolve_after)
                if not arrived:
                    await self._resolve_v1("no reply from the customer")
                    break
            await self._handle_follow_up_v1(s.inbox.pop(0))
            if workflow.info().is_continue_as_new_suggested():
                await workflow.wait_condition(workflow.all_handlers_finished)
                workflow.continue_as_new(
                    TicketInput(s.ticket_id, s.customer_id, s.channel, s.subject, "", inp.auto_resolve_after, s)
                )
        await workflow.wait_condition(workflow.all_handlers_finished)
        return TicketResult(s.ticket_id, s.status, len(s.transcript))

    async def _open_v1(self, inp: TicketInput) -> None:
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
        triage = await self._triage_v1(text)
        s.category = triage.category
        s.priority = effective_priority(triage.base_priority, s.customer)
        due = sla_deadlines(s.priority, s.opened_at)
        s.first_response_due, s.resolution_due = due.first_response_due, due.resolution_due
        await self._record_customer_message_v1(inp.body, triage.sentiment)
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
        await self._set_status_v1(Status.IN_PROGRESS)
        await self._agent_turn_v1(escalation_reason(text, triage.sentiment, s.customer, triage.polarity))

    async def _wait_for_customer_v1(self, silence: timedelta) -> bool:
        s = self._s
        if s.inbox:
            return True
        try:
            await workflow.wait_condition(lambda: bool(s.inbox), timeout=silence)
            return True
        except TimeoutError:
            return False

    async def _handle_follow_up_v1(self, msg: CustomerMessage) -> None:
        s = self._s
        triage = await self._triage_v1(msg.body)
        await self._record_customer_message_v1(msg.body, triage.sentiment)
        if s.escalated:
            return
        await self._set_status_v1(Status.IN_PROGRESS)
        await self._agent_turn_v1(escalation_reason(msg.body, triage.sentiment, self._customer_v1(), triage.polarity))

    def _customer_v1(self) -> Customer:
        if self._s.customer is None:  # an ApplicationError fails the ticket visibly instead of retrying forever
            raise ApplicationError("customer not loaded", type="TicketStateError", non_retryable=True)
        return self._s.customer

    # Frozen copy of TicketCore.triage (base.py), not a call to it: a change made there for v2 tickets must
    # never reach v1 replays. Same for the copies of recording.py below.
    async def _triage_v1(self, text: str) -> TriageResult:
        result = await workflow.execute_activity_method(
            TriageActivities.triage_message,
            TriageInput(text),
            start_to_close_timeout=FAST_TIMEOUT,
            retry_policy=DB_RETRY,
        )
        self._s.sentiment = result.sentiment
        self._s.sentiment_trend.append(result.sentiment)
        return result

    async def _agent_turn_v1(self, handoff_reason: str | None) -> None:
        s = self._s
        if s.category is None or s.priority is None or s.sentiment is None:
            raise ApplicationError("agent turn before triage", type="TicketStateError", non_retryable=True)
        outcome: TurnOutcome = await workflow.execute_activity_method(
            ConversationActivities.run_agent_turn,
            TurnRequest(
                ticket_id=s.ticket_id,
                customer=self._customer_v1(),
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
            await self._set_status_v1(Status.ESCALATED)
        else:
            await self._set_status_v1(Status.WAITING_CUSTOMER)

    # Frozen copy of TicketRecording.record_customer_message: v2 changes must not reach v1 replays.
    async def _record_customer_message_v1(self, body: str, sentiment: Sentiment) -> None:
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

    async def _resolve_v1(self, why: str) -> None:
        s = self._s
        s.resolved_at = workflow.now()
        await self._set_status_v1(Status.RESOLVED, note=why)
        await self._set_status_v1(Status.CLOSED)

    async def _set_status_v1(self, status: Status, note: str | None = None) -> None:
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
        self._publish_v1()

    # Frozen, and already different from TicketRecording._publish (no SLA-breached flag, deadline from
    # resolution_due): v1 tickets show operators what they showed when they ran.
    def _publish_v1(self) -> None:
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
        workflow.set_current_details(self._summary_v1())

    def _summary_v1(self) -> str:
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
