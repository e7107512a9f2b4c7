"""How TicketWorkflow records what happens: messages, status, audit events, notifications, operators' view."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from temporalio import workflow
from temporalio.common import SearchAttributeUpdate

with workflow.unsafe.imports_passed_through():
    from activities.notify import Notification
    from activities.store import (
        AuditEvent,
        CreateTicketInput,
        RecordMessageInput,
        RecordTriageInput,
        StoreActivities,
        SyncTicketInput,
    )
    from db.tickets import TicketSnapshot
    from domain.models import Citation, Priority, Sender, Sentiment, Status, TranscriptEntry, TriageResult
    from domain.policy import sla_deadlines
    from workflows import patches
    from workflows import search_attributes as sa
    from workflows.base import TicketCore
    from workflows.types import (
        DB_RETRY,
        DB_TIMEOUT,
        FAST_TIMEOUT,
        TicketInput,
    )


class TicketRecording:
    """Messages, status changes and their records: Postgres snapshots, audit events, notifications,
    search attributes and the UI summary."""

    def __init__(self, core: TicketCore) -> None:
        self._core = core

    async def create_ticket_row(self, inp: TicketInput) -> None:
        s = self._core.s
        await workflow.execute_activity_method(
            StoreActivities.create_ticket,
            CreateTicketInput(
                s.ticket_id, workflow.info().workflow_id, s.customer_id, s.channel.value, s.subject, s.opened_at,
                linked_ticket_id=inp.linked_ticket_id, product=inp.product,
            ),
            start_to_close_timeout=DB_TIMEOUT, retry_policy=DB_RETRY,
        )  # fmt: skip

    async def record_triage(self, triage: TriageResult, priority: Priority) -> None:
        s = self._core.s
        due = sla_deadlines(priority, s.opened_at)
        await workflow.execute_activity_method(
            StoreActivities.record_triage,
            RecordTriageInput(
                s.ticket_id, triage.category.value, priority.value, triage.sentiment.value,
                self._core.due("first_response") or due.first_response_due,
                self._core.due("resolution") or due.resolution_due,
                workflow.now(),
                {"base_priority": triage.base_priority.value, "priority_reasons": triage.priority_reasons,
                 "polarity": triage.polarity, "category_confidence": triage.category_confidence,
                 # the team's own label (an activity input, not a command: replays of older tickets,
                 # whose triage results have none, are unaffected)
                 **({"label": triage.label} if triage.label is not None else {})},
            ),
            start_to_close_timeout=DB_TIMEOUT, retry_policy=DB_RETRY,
        )  # fmt: skip

    async def record_customer_message(self, body: str, sentiment: Sentiment) -> None:
        s, now = self._core.s, workflow.now()
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
            start_to_close_timeout=DB_TIMEOUT, retry_policy=DB_RETRY,
        )  # fmt: skip

    async def send_reply(
        self, sender: Sender, author: str, body: str, *, citations: list[Citation] | None = None,
        counts_as_response: bool = True,
    ) -> None:  # fmt: skip
        """A message to the customer: into the transcript and Postgres; a real reply stops the reply clocks."""
        s, now = self._core.s, workflow.now()
        entry = TranscriptEntry(seq=len(s.transcript) + 1, sender=sender, author=author, body=body, at=now)
        s.transcript.append(entry)
        await workflow.execute_activity_method(
            StoreActivities.record_message,
            RecordMessageInput(
                s.ticket_id, entry.seq, sender, author, body, now, citations=citations or [],
                counts_as_response=counts_as_response,
            ),
            start_to_close_timeout=DB_TIMEOUT, retry_policy=DB_RETRY,
        )  # fmt: skip
        if counts_as_response:
            if s.first_response_at is None:
                s.first_response_at = now
            s.clocks["first_response"].stop(now, self._core.cal())
            s.clocks["next_reply"].stop(now, self._core.cal())
            s.last_reply_at, s.reminded = now, False
            self._core.sla_kick = True

    async def set_status(
        self, status: Status, event: str, actor: str | None, data: dict[str, Any] | None = None
    ) -> None:
        s, now = self._core.s, workflow.now()
        s.status = status
        resolution = s.clocks.get("resolution")
        if resolution is not None:
            # The resolution clock runs while we owe the customer work and waits while they owe us a reply.
            if status == Status.WAITING_CUSTOMER:
                resolution.pause(now, self._core.cal())
            elif status in (Status.IN_PROGRESS, Status.ESCALATED):
                resolution.start(now)
            self._core.sla_kick = True
        await self.sync(event, actor, data)

    async def sync(self, event: str, actor: str | None, data: dict[str, Any] | None = None) -> None:
        """Write the ticket's snapshot and an audit event to Postgres; refresh what operators see."""
        s, now = self._core.s, workflow.now()
        s.version += 1
        s.event_seq += 1
        next_reply = s.clocks["next_reply"].due(self._core.cal()) if "next_reply" in s.clocks else None
        snapshot = TicketSnapshot(
            ticket_id=s.ticket_id, version=s.version, status=s.status.value,
            category=s.category.value if s.category else None, priority=s.priority.value if s.priority else None,
            sentiment=s.sentiment.value if s.sentiment else None, escalated=s.escalated,
            escalation_reason=s.escalation_reason, assigned_agent=s.assigned_agent, owner=s.owner,
            assigned_human=s.assigned_human, first_response_due=s.first_response_due, next_reply_due=next_reply,
            resolution_due=s.resolution_due, sla_breached=s.sla_breached, resolved_at=s.resolved_at,
            csat_score=s.csat_score, csat_comment=s.csat_comment, prompt_tokens=s.prompt_tokens,
            completion_tokens=s.completion_tokens, cost_usd=round(s.cost_usd, 6), tags=list(s.tags),
        )  # fmt: skip
        audit = AuditEvent(f"{s.event_seq:04d}:{event}", event, now, actor, _jsonable(data or {}))
        self._publish()
        await workflow.execute_activity_method(
            StoreActivities.sync_ticket, SyncTicketInput(snapshot, audit),
            start_to_close_timeout=DB_TIMEOUT, retry_policy=DB_RETRY,
        )  # fmt: skip

    async def notify(self, key: str, message: str, data: dict[str, Any] | None = None) -> None:
        s = self._core.s
        kind = key.split(":", 1)[0]
        payload = {"priority": s.priority, "status": s.status, "assigned_human": s.assigned_human, **(data or {})}
        await workflow.execute_activity(
            "notify.send",
            Notification(f"{s.ticket_id}:{key}:{s.event_seq}", s.ticket_id, kind, message, workflow.now(),
                         _jsonable(payload)),
            start_to_close_timeout=FAST_TIMEOUT, retry_policy=DB_RETRY,
        )  # fmt: skip

    def _publish(self) -> None:
        """Keep search attributes and the UI summary current for operators."""
        s = self._core.s
        updates: list[SearchAttributeUpdate[Any]] = [
            sa.TICKET_STATUS.value_set(s.status.value),
            sa.CUSTOMER_ID.value_set(s.customer_id),
            sa.TICKET_ESCALATED.value_set(s.escalated),
            sa.TICKET_SLA_BREACHED.value_set(s.sla_breached),
        ]
        if s.priority is not None:
            updates.append(sa.TICKET_PRIORITY.value_set(s.priority.value))
        if s.category is not None:
            updates.append(sa.TICKET_CATEGORY.value_set(s.category.value))
        if s.sentiment is not None:
            updates.append(sa.TICKET_SENTIMENT.value_set(s.sentiment.value))
        deadline = min((d for c in s.clocks.values() if (d := c.due(self._core.cal())) is not None), default=None)
        if deadline is not None:
            updates.append(sa.TICKET_SLA_DEADLINE.value_set(deadline))
        workflow.upsert_search_attributes(updates)
        self.show_details()

    def show_details(self) -> None:
        """The Temporal UI's current details: the summary, led by the link to the console."""
        workflow.set_current_details(self._summary())

    def _summary(self) -> str:
        s = self._core.s
        owner = (
            f"human ({s.assigned_human or 'unassigned'})"
            if s.owner == "human"
            else f"agents ({s.assigned_agent or '-'})"
        )
        lines = [
            f"**{s.subject}**",
            f"status: {s.status.value} · priority: {s.priority.value if s.priority else '-'} · "
            f"category: {s.category.value if s.category else '-'} · channel: {s.channel.value}",
            f"customer: {s.customer.name if s.customer else s.customer_id}"
            + (f" ({s.customer.plan.value}{', VIP' if s.customer.is_vip else ''})" if s.customer else ""),
            f"owner: {owner} · messages: {len(s.transcript)} · tokens: {s.prompt_tokens + s.completion_tokens}",
            f"sentiment: {' → '.join(x.value for x in s.sentiment_trend[-5:]) or '-'}",
        ]
        if s.console_link:
            lines.insert(0, s.console_link)
        if s.tags:
            lines.append(f"tags: {', '.join(s.tags)}")
        if s.escalated:
            lines.append(f"ESCALATED: {s.escalation_reason}")
        if s.pending_approval:
            a, approver = s.pending_approval.action, self._core.policy().approvers[s.pending_approval.level]
            lines.append(f"awaiting approval: {a.kind} ${a.amount_usd:,.2f} ({approver})")
        if s.sla_breached:
            lines.append("SLA BREACHED")
        for clock in s.clocks.values():
            due = clock.due(self._core.cal())
            if due is not None:
                lines.append(f"{clock.name} due: {due.isoformat(timespec='minutes')}")
        if s.csat_score is not None:
            lines.append(f"CSAT: {s.csat_score}/5")
        return "\n\n".join(lines)

    # ---- transitions -------------------------------------------------------------------------

    async def escalate(self, reason: str, actor: str) -> None:
        s = self._core.s
        s.owner, s.escalated, s.escalation_reason = "human", True, reason
        await self.set_status(Status.ESCALATED, "escalated", actor, {"reason": reason})
        await self.notify("escalated", f"escalated to a human: {reason}", {"reason": reason})

    async def resolve(self, actor: str, why: str) -> None:
        s, now = self._core.s, workflow.now()
        s.resolved_at, s.csat_requested_at = now, now
        if workflow.patched(patches.DECISION_RULES_V2):
            s.escalated = False  # nobody needs to look at it now: off the queue and the escalated search
        for clock in s.clocks.values():
            clock.stop(now, self._core.cal())
        self._core.sla_kick = True
        await self.set_status(Status.RESOLVED, "resolved", actor, {"why": why})
        await self.send_reply(
            Sender.SYSTEM, "system",
            "We've marked this ticket as resolved. How did we do? Rate us from 1 (poor) to 5 (excellent). "
            "If the problem isn't solved, just reply and we'll pick it up again.",
            counts_as_response=False,
        )  # fmt: skip

    async def close(self) -> None:
        s = self._core.s
        data: dict[str, Any] = {"csat": s.csat_score} if s.csat_score is not None else {"csat": "no answer"}
        await self.set_status(Status.CLOSED, "closed", s.customer_id if s.csat_score else "system", data)


def _jsonable(data: dict[str, Any]) -> dict[str, Any]:
    """Enums and datetimes as plain JSON values for event and notification payloads."""
    out: dict[str, Any] = {}
    for k, v in data.items():
        if isinstance(v, datetime):
            out[k] = v.isoformat()
        elif isinstance(v, list):
            out[k] = [x.value if hasattr(x, "value") else x for x in v]
        elif hasattr(v, "value"):
            out[k] = v.value
        else:
            out[k] = v
    return out
