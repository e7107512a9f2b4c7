"""TicketWorkflow: one workflow per support ticket, living as long as the ticket.

The workflow owns the ticket's state, transcript and clocks; every outside effect (CRM, triage,
agents, Postgres, notifications) is an activity. Deterministic only: time is `workflow.now()`.

Three things run inside one ticket:
- the main loop: customer messages, agent turns, waiting on the customer (reminder, auto-resolve),
  approvals moving up the chain, the CSAT survey;
- the SLA watcher: exact durable timers for 75 % warnings and breaches, firing even while an agent
  turn is still running;
- human decisions, arriving as Updates (validated first, so a refused decision never enters history).
The main loop and decisions take `_lock`, so a human's reply never interleaves with an agent's turn.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

from temporalio import workflow
from temporalio.common import SearchAttributePair, SearchAttributeUpdate, TypedSearchAttributes
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.actions import ActionActivities, ExecuteActionInput, RejectActionInput
    from activities.conversation import ConversationActivities
    from activities.crm import CrmActivities, GetCustomerInput
    from activities.notify import Notification
    from activities.store import (
        AuditEvent,
        CreateTicketInput,
        RecordMessageInput,
        RecordTriageInput,
        StoreActivities,
        SyncTicketInput,
    )
    from activities.triage import TriageActivities, TriageInput
    from db.tickets import TicketSnapshot
    from domain.lifecycle import (
        ActionDecision,
        ChangePriority,
        CsatScore,
        DecisionResult,
        HandBack,
        HumanDecision,
        HumanReply,
        PendingApproval,
        Reassign,
        Resolve,
        TicketPolicy,
    )
    from domain.models import Citation, Customer, Priority, Sender, Sentiment, Status, TranscriptEntry, TriageResult
    from domain.policy import (
        FIRST_RESPONSE_TARGET,
        RESOLUTION_TARGET,
        effective_priority,
        escalation_reason,
        raise_priority,
        sla_deadlines,
        worsening,
    )
    from domain.sla import SlaClock, elapsed
    from domain.turns import TurnOutcome, TurnRequest
    from workflows import search_attributes as sa
    from workflows.ticket_v1 import TicketV1
    from workflows.types import (
        ACTION_RETRY,
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

LIFECYCLE_V2 = "lifecycle-v2"
RETARGET_GRACE = 0.25
_OPEN_STATUSES = (Status.NEW, Status.IN_PROGRESS, Status.WAITING_CUSTOMER, Status.ESCALATED)


def _invalid(message: str, kind: str = "InvalidDecisionError") -> ApplicationError:
    return ApplicationError(message, type=kind, non_retryable=True)


@workflow.defn(name="TicketWorkflow")
class TicketWorkflow(TicketV1):
    @workflow.init
    def __init__(self, inp: TicketInput) -> None:
        self._s = inp.state or TicketState(
            ticket_id=inp.ticket_id,
            customer_id=inp.customer_id,
            channel=inp.channel,
            subject=inp.subject,
            opened_at=workflow.now(),
        )
        if self._s.policy is None:
            self._s.policy = inp.policy or TicketPolicy(auto_resolve_after=inp.auto_resolve_after)
        self._lock = asyncio.Lock()
        self._kick = False  # something changed that the main loop must look at
        self._sla_kick = False  # clocks changed: the SLA watcher must re-arm its timer

    # ---- messages in -------------------------------------------------------------------------

    @workflow.signal
    def add_customer_message(self, msg: CustomerMessage) -> None:
        if msg.message_id in self._s.seen_message_ids or self._s.status == Status.CLOSED:
            return  # duplicate delivery, or too late: the API opens a linked ticket instead
        self._s.seen_message_ids.append(msg.message_id)
        self._s.inbox.append(msg)

    @workflow.signal
    def submit_csat(self, score: CsatScore) -> None:
        if self._s.status == Status.RESOLVED and self._s.csat_score is None:
            self._s.csat_score, self._s.csat_comment = score.score, score.comment or None
            self._kick = True

    @workflow.query
    def state(self) -> TicketState:
        return self._s

    @workflow.query
    def status(self) -> Status:
        return self._s.status

    # ---- human decisions ---------------------------------------------------------------------

    @workflow.update
    async def decide(self, d: HumanDecision) -> DecisionResult:
        async with self._lock:
            s = self._s
            if d.request_id in s.decisions:  # a retried request: same answer, nothing redone
                return s.decisions[d.request_id]
            self._validate(d)  # state may have moved while this update waited for the lock
            message = await self._apply_decision(d)
            s.agent_turns = 0
            result = DecisionResult(request_id=d.request_id, accepted=True, status=s.status.value, message=message)
            s.decisions[d.request_id] = result
            self._kick = self._sla_kick = True
            return result

    @decide.validator
    def _validate_decision(self, d: HumanDecision) -> None:
        if d.request_id in self._s.decisions:
            return
        self._validate(d)

    def _validate(self, d: HumanDecision) -> None:
        s = self._s
        if s.status == Status.CLOSED:
            raise _invalid(f"ticket {s.ticket_id} is closed", "TicketClosedError")
        if s.status == Status.NEW:
            raise _invalid("the ticket is still being opened; try again in a moment", "TicketNotReadyError")
        if isinstance(d, ActionDecision):
            pending = s.pending_approval
            if pending is None or pending.action.request_id != d.action_request_id:
                raise _invalid(f"no pending approval {d.action_request_id!r}", "StaleRequestError")
        elif isinstance(d, Resolve) and s.status == Status.RESOLVED:
            raise _invalid("the ticket is already resolved", "StaleRequestError")
        elif isinstance(d, HandBack) and s.owner == "agents" and not s.escalated:
            raise _invalid("the ticket is already with the agents", "StaleRequestError")
        elif isinstance(d, HandBack) and s.pending_approval is not None:
            raise _invalid("approve or reject the pending action before handing back", "InvalidDecisionError")
        elif isinstance(d, ChangePriority) and d.priority == s.priority:
            raise _invalid(f"priority is already {d.priority.value}", "StaleRequestError")

    async def _apply_decision(self, d: HumanDecision) -> str:
        s = self._s
        if isinstance(d, HumanReply):
            await self._send_reply(Sender.HUMAN, d.agent_id, d.body)
            # The replier owns the conversation; it leaves the queue until the customer answers.
            s.owner, s.assigned_human, s.escalated = "human", d.agent_id, False
            await self._set_status(Status.WAITING_CUSTOMER, "human_replied", d.agent_id)
            return "reply sent"
        if isinstance(d, ActionDecision):
            return await self._decide_action(d)
        if isinstance(d, Reassign):
            s.owner, s.assigned_human, s.escalated = "human", d.to, True
            await self._sync("reassigned", d.agent_id, {"to": d.to})
            await self._notify("reassigned", f"ticket assigned to {d.to} by {d.agent_id}", {"to": d.to})
            return f"assigned to {d.to}"
        if isinstance(d, ChangePriority):
            old = s.priority
            self._retarget(d.priority)
            await self._sync("priority_changed", d.agent_id, {"from": old, "to": d.priority, "reason": d.reason})
            return f"priority {old} → {d.priority.value}"
        if isinstance(d, Resolve):
            await self._resolve(d.agent_id, d.note or "resolved by a human agent")
            return "resolved; CSAT survey sent"
        # HandBack: the agents own the ticket again and answer what the customer last wrote, if anything.
        s.owner, s.escalated, s.escalation_reason = "agents", False, None
        last = s.transcript[-1] if s.transcript else None
        s.agent_turn_owed = last is not None and last.sender == Sender.CUSTOMER
        await self._set_status(
            Status.IN_PROGRESS if s.agent_turn_owed else Status.WAITING_CUSTOMER, "handed_back", d.agent_id
        )
        return "handed back to the agents"

    async def _decide_action(self, d: ActionDecision) -> str:
        s = self._s
        pending = s.pending_approval
        if pending is None:  # validated under the lock; unreachable, but never assert in a workflow
            raise _invalid("no pending approval", "StaleRequestError")
        action = pending.action
        s.pending_approval = None
        s.owner, s.escalated, s.escalation_reason = "agents", False, None
        if d.kind == "approve":
            result = await workflow.execute_activity_method(
                ActionActivities.execute_action,
                ExecuteActionInput(ticket_id=s.ticket_id, action=action, approved_by=d.agent_id),
                start_to_close_timeout=FAST_TIMEOUT,
                retry_policy=ACTION_RETRY,
            )
            body = (
                f"Good news: your {action.kind} of ${result.amount_usd:,.2f} has been approved and processed "
                f"(reference {result.request_id})."
            )
            await self._send_reply(Sender.SYSTEM, "system", body)
            await self._set_status(
                Status.WAITING_CUSTOMER, "action_approved", d.agent_id, {"request_id": action.request_id}
            )
            return f"{action.kind} approved: {result.status}"
        await workflow.execute_activity_method(
            ActionActivities.reject_action,
            RejectActionInput(ticket_id=s.ticket_id, action=action, rejected_by=d.agent_id, note=d.note or None),
            start_to_close_timeout=FAST_TIMEOUT,
            retry_policy=ACTION_RETRY,
        )
        body = f"We're sorry: your {action.kind} request of ${action.amount_usd:,.2f} was not approved."
        if d.note:
            body += f" {d.note}"
        await self._send_reply(Sender.SYSTEM, "system", body)
        await self._set_status(
            Status.WAITING_CUSTOMER, "action_rejected", d.agent_id, {"request_id": action.request_id, "note": d.note}
        )
        return f"{action.kind} rejected"

    # ---- the run ------------------------------------------------------------------------------

    @workflow.run
    async def run(self, inp: TicketInput) -> TicketResult:
        if not workflow.patched(LIFECYCLE_V2):
            return await self._run_v1(inp)
        s = self._s
        # The watcher starts first: a first-response breach must fire even while the opening agent
        # turn is still retrying against a model that is down.
        watcher = asyncio.create_task(self._watch_sla())
        if inp.state is None:
            async with self._lock:
                await self._open(inp)
        elif not s.clocks:  # a ticket continued-as-new from v1 state: give it clocks from now on
            self._start_clocks(s.priority or Priority.MEDIUM, workflow.now())
        while s.status != Status.CLOSED:
            await self._wait_for_work()
            async with self._lock:
                await self._step()
            if not self._closed() and workflow.info().is_continue_as_new_suggested():
                await workflow.wait_condition(workflow.all_handlers_finished)
                workflow.continue_as_new(TicketInput(s.ticket_id, s.customer_id, s.channel, s.subject, "", state=s))
        self._sla_kick = True
        await watcher
        await workflow.wait_condition(workflow.all_handlers_finished)
        return TicketResult(s.ticket_id, s.status, len(s.transcript))

    async def _wait_for_work(self) -> None:
        s = self._s
        nxt = self._next_lifecycle_timer()
        self._kick = False

        def ready() -> bool:
            return bool(s.inbox) or self._kick or s.agent_turn_owed

        if ready():
            return
        timeout = None if nxt is None else max((nxt - workflow.now()).total_seconds(), 0.0)
        if timeout == 0.0:
            return
        try:
            await workflow.wait_condition(ready, timeout=timeout)
        except TimeoutError:
            pass

    def _next_lifecycle_timer(self) -> datetime | None:
        s, p = self._s, self._policy()
        times: list[datetime] = []
        if s.status == Status.WAITING_CUSTOMER and s.last_reply_at is not None:
            if not s.reminded:
                times.append(s.last_reply_at + p.remind_after)
            times.append(s.last_reply_at + p.auto_resolve_after)
        if s.pending_approval is not None:
            times.append(s.pending_approval.level_since + p.approval_timeout)
        if s.status == Status.RESOLVED and s.csat_requested_at is not None:
            times.append(s.csat_requested_at + p.csat_timeout)
        return min(times) if times else None

    async def _step(self) -> None:
        """One pass of the main loop: whatever is due or waiting, in a fixed order."""
        s, p, now = self._s, self._policy(), workflow.now()
        if s.status == Status.RESOLVED and (s.csat_score is not None or self._csat_expired(now)):
            await self._close()
            return
        if s.inbox:
            await self._handle_customer_message(s.inbox.pop(0))
            return
        if s.agent_turn_owed:
            s.agent_turn_owed = False
            await self._agent_turn(self._handoff_reason("", s.sentiment or Sentiment.NEUTRAL, None))
            return
        if s.pending_approval is not None and now >= s.pending_approval.level_since + p.approval_timeout:
            await self._approval_timed_out(s.pending_approval)
            return
        if s.status == Status.WAITING_CUSTOMER and s.last_reply_at is not None:
            if now >= s.last_reply_at + p.auto_resolve_after:
                await self._resolve("system", "no reply from the customer")
            elif not s.reminded and now >= s.last_reply_at + p.remind_after:
                s.reminded = True
                await self._send_reply(
                    Sender.SYSTEM, "system",
                    "Just checking in: did our last reply solve your problem? If we don't hear back, we'll close "
                    "this ticket in a couple of days. You can reopen it any time by replying.",
                    counts_as_response=False,
                )  # fmt: skip
                await self._sync("reminder_sent", "system")

    def _csat_expired(self, now: datetime) -> bool:
        s = self._s
        return s.csat_requested_at is not None and now >= s.csat_requested_at + self._policy().csat_timeout

    # ---- opening ------------------------------------------------------------------------------

    async def _open(self, inp: TicketInput) -> None:
        s = self._s
        await workflow.execute_activity_method(
            StoreActivities.create_ticket,
            CreateTicketInput(
                s.ticket_id, workflow.info().workflow_id, s.customer_id, s.channel.value, s.subject, s.opened_at,
                linked_ticket_id=inp.linked_ticket_id,
            ),
            start_to_close_timeout=DB_TIMEOUT, retry_policy=DB_RETRY,
        )  # fmt: skip
        s.customer = await workflow.execute_activity_method(
            CrmActivities.get_customer, GetCustomerInput(s.customer_id),
            start_to_close_timeout=FAST_TIMEOUT, retry_policy=CRM_RETRY,
        )  # fmt: skip
        text = f"{inp.subject}\n\n{inp.body}"
        triage = await self._triage(text)
        s.category = triage.category
        priority = effective_priority(triage.base_priority, s.customer)
        self._start_clocks(priority, s.opened_at)
        await self._record_customer_message(inp.body, triage.sentiment)
        due = sla_deadlines(priority, s.opened_at)
        await workflow.execute_activity_method(
            StoreActivities.record_triage,
            RecordTriageInput(
                s.ticket_id, triage.category.value, priority.value, triage.sentiment.value,
                self._due("first_response") or due.first_response_due, self._due("resolution") or due.resolution_due,
                workflow.now(),
                {"base_priority": triage.base_priority.value, "priority_reasons": triage.priority_reasons,
                 "polarity": triage.polarity, "category_confidence": triage.category_confidence},
            ),
            start_to_close_timeout=DB_TIMEOUT, retry_policy=DB_RETRY,
        )  # fmt: skip
        await self._set_status(Status.IN_PROGRESS, "opened", "system")
        await self._agent_turn(self._handoff_reason(text, triage.sentiment, triage.polarity))

    # ---- customer messages and agent turns --------------------------------------------------

    async def _handle_customer_message(self, msg: CustomerMessage) -> None:
        s = self._s
        triage = await self._triage(msg.body)
        await self._record_customer_message(msg.body, triage.sentiment)
        now = workflow.now()
        if s.status == Status.RESOLVED:  # a reply during the CSAT survey reopens the ticket
            s.resolved_at, s.csat_requested_at = None, None
            s.clocks["resolution"].met_at = None  # the same resolution budget continues
            await self._sync("reopened", s.customer_id)
        s.reminded = False
        s.clocks["next_reply"].restart(now)
        self._sla_kick = True
        if s.owner == "human":  # a human owns the conversation: back to the human queue, no agent turn
            s.escalated = True
            await self._set_status(Status.ESCALATED, "customer_replied", s.customer_id)
            await self._notify("customer_replied", f"the customer replied on a ticket owned by {s.assigned_human}")
            return
        await self._set_status(Status.IN_PROGRESS, "customer_replied", s.customer_id)
        await self._agent_turn(self._handoff_reason(msg.body, triage.sentiment, triage.polarity))

    def _handoff_reason(self, text: str, sentiment: Sentiment, polarity: float | None) -> str | None:
        s, p = self._s, self._policy()
        reason = escalation_reason(text, sentiment, self._customer(), polarity)
        if reason is None and worsening(s.sentiment_trend):
            reason = "customer sentiment is getting worse"
        if reason is None and s.agent_turns >= p.max_agent_turns:
            reason = f"agents have not converged after {s.agent_turns} replies"
        if reason is None and s.prompt_tokens + s.completion_tokens > p.token_budget:
            reason = f"token budget of {p.token_budget} exceeded"
        return reason

    async def _agent_turn(self, handoff_reason: str | None) -> None:
        s = self._s
        try:
            outcome = await self._run_turn(handoff_reason)
        except ActivityError as e:
            # The model stayed down past the turn's schedule-to-close budget (or refused our
            # configuration): the ticket goes to a human instead of failing the workflow.
            workflow.logger.warning("agent turn failed for %s: %s", s.ticket_id, e.cause or e)
            s.agent_turns += 1
            await self._escalate("the AI agents are unavailable", "system")
            return
        s.prompt_tokens += outcome.prompt_tokens
        s.completion_tokens += outcome.completion_tokens
        s.cost_usd += outcome.cost_usd
        s.assigned_agent = outcome.agent
        s.agent_turns += 1
        await self._send_reply(Sender.AGENT, outcome.agent, outcome.reply, citations=outcome.citations)
        if outcome.decision == "escalate":
            await self._escalate(
                outcome.escalation_reason or handoff_reason or "agent asked for a human", outcome.agent
            )
        elif outcome.decision == "needs_approval" and outcome.action is not None:
            now = workflow.now()
            s.pending_approval = PendingApproval(
                action=outcome.action, requested_at=now, proposed_by=outcome.agent, level_since=now
            )
            act = outcome.action
            await self._escalate(f"approval needed: {act.kind} of ${act.amount_usd:,.2f}", outcome.agent)
            await self._notify(
                f"approval_requested:{act.request_id}:0",
                f"{act.kind} of ${act.amount_usd:,.2f} awaits approval by {self._policy().approvers[0]}",
                {"approver": self._policy().approvers[0], "action": act.model_dump()},
            )
        elif outcome.decision == "resolved":
            await self._resolve(outcome.agent, "the agent confirmed the issue is solved")
        else:
            await self._set_status(
                Status.ESCALATED if s.owner == "human" else Status.WAITING_CUSTOMER, "agent_replied", outcome.agent
            )

    async def _run_turn(self, handoff_reason: str | None) -> TurnOutcome:
        s = self._s
        if s.category is None or s.priority is None or s.sentiment is None:
            raise _invalid("agent turn before triage", "TicketStateError")
        return await workflow.execute_activity_method(
            ConversationActivities.run_agent_turn,
            TurnRequest(
                ticket_id=s.ticket_id, customer=self._customer(), channel=s.channel, subject=s.subject,
                category=s.category, priority=s.priority, sentiment=s.sentiment, transcript=s.transcript,
                handoff_reason=handoff_reason,
            ),
            start_to_close_timeout=LLM_START_TO_CLOSE, schedule_to_close_timeout=LLM_SCHEDULE_TO_CLOSE,
            retry_policy=LLM_RETRY,
        )  # fmt: skip

    async def _escalate(self, reason: str, actor: str) -> None:
        s = self._s
        s.owner, s.escalated, s.escalation_reason = "human", True, reason
        await self._set_status(Status.ESCALATED, "escalated", actor, {"reason": reason})
        await self._notify("escalated", f"escalated to a human: {reason}", {"reason": reason})

    async def _approval_timed_out(self, pending: PendingApproval) -> None:
        s, p, now = self._s, self._policy(), workflow.now()
        act = pending.action
        if pending.level + 1 < len(p.approvers):
            pending.level += 1
            pending.level_since = now
            approver = p.approvers[pending.level]
            await self._sync("approval_moved_up", "system", {"request_id": act.request_id, "approver": approver})
            await self._notify(
                f"approval_requested:{act.request_id}:{pending.level}",
                f"{act.kind} of ${act.amount_usd:,.2f} was not decided in time; now awaits {approver}",
                {"approver": approver, "action": act.model_dump()},
            )
            return
        s.pending_approval = None
        s.owner, s.escalated, s.escalation_reason = "agents", False, None
        await workflow.execute_activity_method(
            ActionActivities.reject_action,
            RejectActionInput(ticket_id=s.ticket_id, action=act, rejected_by="system", note="approval timed out"),
            start_to_close_timeout=FAST_TIMEOUT,
            retry_policy=ACTION_RETRY,
        )
        await self._send_reply(
            Sender.SYSTEM, "system",
            f"We're sorry: we could not get your {act.kind} request of ${act.amount_usd:,.2f} approved in time, "
            "so it has been declined. Reply to this message and a person will look at it again.",
        )  # fmt: skip
        await self._set_status(Status.WAITING_CUSTOMER, "approval_expired", "system", {"request_id": act.request_id})

    # ---- resolution ---------------------------------------------------------------------------

    async def _resolve(self, actor: str, why: str) -> None:
        s, now = self._s, workflow.now()
        s.resolved_at, s.csat_requested_at = now, now
        for clock in s.clocks.values():
            clock.stop(now, self._cal())
        self._sla_kick = True
        await self._set_status(Status.RESOLVED, "resolved", actor, {"why": why})
        await self._send_reply(
            Sender.SYSTEM, "system",
            "We've marked this ticket as resolved. How did we do? Rate us from 1 (poor) to 5 (excellent). "
            "If the problem isn't solved, just reply and we'll pick it up again.",
            counts_as_response=False,
        )  # fmt: skip

    async def _close(self) -> None:
        s = self._s
        data: dict[str, Any] = {"csat": s.csat_score} if s.csat_score is not None else {"csat": "no answer"}
        await self._set_status(Status.CLOSED, "closed", s.customer_id if s.csat_score else "system", data)

    # ---- SLA ----------------------------------------------------------------------------------

    async def _watch_sla(self) -> None:
        """Exact durable timers on the next SLA warning or breach; re-armed whenever the clocks change."""
        s = self._s
        while s.status != Status.CLOSED:
            cal = self._cal()
            events = [t for c in s.clocks.values() if (t := c.next_event(cal)) is not None]
            self._sla_kick = False
            if events:
                timeout = max((min(events) - workflow.now()).total_seconds(), 0.0)
                if timeout > 0:
                    try:
                        await workflow.wait_condition(lambda: self._sla_kick, timeout=timeout)
                    except TimeoutError:
                        pass
            else:
                await workflow.wait_condition(lambda: self._sla_kick)
            if not self._closed():
                await self._fire_sla(workflow.now())

    async def _fire_sla(self, now: datetime) -> None:
        s, cal = self._s, self._cal()
        for clock in list(s.clocks.values()):
            warn_at = clock.warn_at(cal)
            if warn_at is not None and warn_at <= now:
                clock.warned = True
                due = clock.due(cal)
                await self._sync(f"sla_warning:{clock.name}", "system", {"due": due})
                await self._notify(f"sla_warning:{clock.name}", f"{clock.name} SLA at 75 %, due {due}")
            due = clock.due(cal)
            if due is not None and not clock.breached and due <= now:
                clock.breached = True
                s.sla_breached = True
                old = s.priority or Priority.MEDIUM
                self._retarget(raise_priority(old))
                reason = f"{clock.name} SLA breached"
                if s.status not in (Status.RESOLVED, Status.CLOSED):
                    s.owner, s.escalated = "human", True
                    s.escalation_reason = s.escalation_reason or reason
                    if s.status != Status.IN_PROGRESS:  # an agent turn in flight will set its own status
                        s.status = Status.ESCALATED
                await self._sync(f"sla_breach:{clock.name}", "system", {"due": due, "priority": [old, s.priority]})
                await self._notify(f"sla_breach:{clock.name}", f"{reason}; priority {old} → {s.priority}")

    def _start_clocks(self, priority: Priority, since: datetime) -> None:
        s = self._s
        s.clocks = {
            "first_response": SlaClock(name="first_response", target=FIRST_RESPONSE_TARGET[priority]),
            "resolution": SlaClock(name="resolution", target=RESOLUTION_TARGET[priority]),
            "next_reply": SlaClock(name="next_reply", target=FIRST_RESPONSE_TARGET[priority]),
        }
        if s.first_response_at is None:
            s.clocks["first_response"].start(since)
        s.clocks["resolution"].start(since)
        self._retarget(priority)

    def _retarget(self, priority: Priority) -> None:
        """Set the priority and give every clock that priority's target (re-arming the watcher).

        A clock that has not breached keeps at least a quarter of its new target from now, so a raised
        priority tightens the deadlines without breaching them on the spot.
        """
        s = self._s
        s.priority = priority
        targets = {"first_response": FIRST_RESPONSE_TARGET, "next_reply": FIRST_RESPONSE_TARGET,
                   "resolution": RESOLUTION_TARGET}  # fmt: skip
        for name, clock in s.clocks.items():
            target = targets[name][priority]
            if clock.running and not clock.breached:
                used = clock.consumed + elapsed(clock.running_since or workflow.now(), workflow.now(), self._cal())
                target = max(target, used + target * RETARGET_GRACE)
            clock.target = target
        s.first_response_due = self._due("first_response") or s.first_response_due
        s.resolution_due = self._due("resolution") or s.resolution_due
        self._sla_kick = True

    def _due(self, name: str) -> datetime | None:
        clock = self._s.clocks.get(name)  # type: ignore[call-overload]
        return None if clock is None else clock.due(self._cal())

    # ---- small helpers ------------------------------------------------------------------------

    def _closed(self) -> bool:
        return self._s.status == Status.CLOSED

    def _policy(self) -> TicketPolicy:
        return self._s.policy or TicketPolicy()

    def _cal(self) -> Any:
        return self._policy().calendar

    def _customer(self) -> Customer:
        if self._s.customer is None:  # an ApplicationError fails the ticket visibly instead of retrying forever
            raise _invalid("customer not loaded", "TicketStateError")
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

    async def _record_customer_message(self, body: str, sentiment: Sentiment) -> None:
        s, now = self._s, workflow.now()
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

    async def _send_reply(
        self, sender: Sender, author: str, body: str, *, citations: list[Citation] | None = None,
        counts_as_response: bool = True,
    ) -> None:  # fmt: skip
        """A message to the customer: into the transcript and Postgres; a real reply stops the reply clocks."""
        s, now = self._s, workflow.now()
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
            s.clocks["first_response"].stop(now, self._cal())
            s.clocks["next_reply"].stop(now, self._cal())
            s.last_reply_at, s.reminded = now, False
            self._sla_kick = True

    async def _set_status(
        self, status: Status, event: str, actor: str | None, data: dict[str, Any] | None = None
    ) -> None:
        s, now = self._s, workflow.now()
        s.status = status
        resolution = s.clocks.get("resolution")
        if resolution is not None:
            # The resolution clock runs while we owe the customer work and waits while they owe us a reply.
            if status == Status.WAITING_CUSTOMER:
                resolution.pause(now, self._cal())
            elif status in (Status.IN_PROGRESS, Status.ESCALATED):
                resolution.start(now)
            self._sla_kick = True
        await self._sync(event, actor, data)

    async def _sync(self, event: str, actor: str | None, data: dict[str, Any] | None = None) -> None:
        """Write the ticket's snapshot and an audit event to Postgres; refresh what operators see."""
        s, now = self._s, workflow.now()
        s.version += 1
        s.event_seq += 1
        next_reply = s.clocks["next_reply"].due(self._cal()) if "next_reply" in s.clocks else None
        snapshot = TicketSnapshot(
            ticket_id=s.ticket_id, version=s.version, status=s.status.value,
            category=s.category.value if s.category else None, priority=s.priority.value if s.priority else None,
            sentiment=s.sentiment.value if s.sentiment else None, escalated=s.escalated,
            escalation_reason=s.escalation_reason, assigned_agent=s.assigned_agent, owner=s.owner,
            assigned_human=s.assigned_human, first_response_due=s.first_response_due, next_reply_due=next_reply,
            resolution_due=s.resolution_due, sla_breached=s.sla_breached, resolved_at=s.resolved_at,
            csat_score=s.csat_score, csat_comment=s.csat_comment, prompt_tokens=s.prompt_tokens,
            completion_tokens=s.completion_tokens, cost_usd=round(s.cost_usd, 6),
        )  # fmt: skip
        audit = AuditEvent(f"{s.event_seq:04d}:{event}", event, now, actor, _jsonable(data or {}))
        self._publish()
        await workflow.execute_activity_method(
            StoreActivities.sync_ticket, SyncTicketInput(snapshot, audit),
            start_to_close_timeout=DB_TIMEOUT, retry_policy=DB_RETRY,
        )  # fmt: skip

    async def _notify(self, key: str, message: str, data: dict[str, Any] | None = None) -> None:
        s = self._s
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
        s = self._s
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
        deadline = min((d for c in s.clocks.values() if (d := c.due(self._cal())) is not None), default=None)
        if deadline is not None:
            updates.append(sa.TICKET_SLA_DEADLINE.value_set(deadline))
        workflow.upsert_search_attributes(updates)
        workflow.set_current_details(self._summary())

    def _summary(self) -> str:
        s = self._s
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
        if s.escalated:
            lines.append(f"ESCALATED: {s.escalation_reason}")
        if s.pending_approval:
            a, approver = s.pending_approval.action, self._policy().approvers[s.pending_approval.level]
            lines.append(f"awaiting approval: {a.kind} ${a.amount_usd:,.2f} ({approver})")
        if s.sla_breached:
            lines.append("SLA BREACHED")
        for clock in s.clocks.values():
            due = clock.due(self._cal())
            if due is not None:
                lines.append(f"{clock.name} due: {due.isoformat(timespec='minutes')}")
        if s.csat_score is not None:
            lines.append(f"CSAT: {s.csat_score}/5")
        return "\n\n".join(lines)


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


def initial_search_attributes(customer_id: str) -> TypedSearchAttributes:
    """Set at start so a ticket is findable by customer and status before its first task runs."""
    return TypedSearchAttributes(
        [
            SearchAttributePair(sa.CUSTOMER_ID, customer_id),
            SearchAttributePair(sa.TICKET_STATUS, Status.NEW.value),
            SearchAttributePair(sa.TICKET_ESCALATED, False),
        ]
    )


__all__ = [
    "CustomerMessage",
    "TicketInput",
    "TicketResult",
    "TicketState",
    "TicketWorkflow",
    "initial_search_attributes",
]
