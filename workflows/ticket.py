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
from datetime import datetime, timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import SearchAttributePair, TypedSearchAttributes
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from activities.actions import ActionActivities, RejectActionInput
    from activities.conversation import ConversationActivities
    from activities.crm import CrmActivities, GetCustomerInput
    from activities.store import (
        CreateTicketInput,
        RecordTriageInput,
        StoreActivities,
    )
    from domain.lifecycle import (
        CsatScore,
        DecisionResult,
        HumanDecision,
        PendingApproval,
        TicketPolicy,
    )
    from domain.models import Customer, Priority, Sender, Sentiment, Status, TriageResult, ticket_text
    from domain.policy import (
        asks_for_a_person,
        effective_priority,
        escalation_reason,
        outranks,
        reports_outage,
        sla_deadlines,
        worsening,
    )
    from domain.turns import TurnOutcome, TurnRequest
    from workflows import patches
    from workflows import search_attributes as sa
    from workflows.base import _invalid
    from workflows.decisions import TicketDecisions
    from workflows.ticket_v1 import TicketV1
    from workflows.types import (
        ACTION_RETRY,
        CRM_RETRY,
        DB_RETRY,
        DB_TIMEOUT,
        FAST_TIMEOUT,
        LLM_HEARTBEAT,
        LLM_RETRY,
        LLM_SCHEDULE_TO_CLOSE,
        LLM_START_TO_CLOSE,
        CustomerMessage,
        TicketInput,
        TicketResult,
        TicketState,
    )


def _turn_facts(outcome: TurnOutcome) -> dict[str, Any]:
    """What the turn did besides replying, for the audit trail (tool calls, handoffs, actions, bug reports)."""
    return {
        "tool_calls": outcome.tool_calls,
        "handoffs": outcome.handoffs,
        "executed_actions": [a.model_dump() for a in outcome.executed_actions],
        "bug_reports": outcome.bug_reports,
        "tokens": outcome.prompt_tokens + outcome.completion_tokens,
        "cost_usd": outcome.cost_usd,
    }


@workflow.defn(name="TicketWorkflow")
class TicketWorkflow(TicketDecisions, TicketV1):
    @workflow.init
    def __init__(self, inp: TicketInput) -> None:
        self._s = inp.state or TicketState(
            ticket_id=inp.ticket_id,
            customer_id=inp.customer_id,
            channel=inp.channel,
            subject=inp.subject,
            opened_at=workflow.now(),
            product=inp.product,
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

    @workflow.query
    def busy(self) -> bool:
        """Work in hand or waiting: a message, a decision or a due step. The state a `state` query
        shows mid-step can look settled (the follow-up already in the transcript, its store write and
        status change still to come); a ticket is settled only when it is also not busy."""
        return self._lock.locked() or self._has_work()

    def _has_work(self) -> bool:
        """Something the main loop must handle: a message, a kick, an agent turn owed."""
        s = self._s
        return bool(s.inbox) or self._kick or s.agent_turn_owed

    # ---- human decisions ---------------------------------------------------------------------

    @workflow.update
    async def decide(self, d: HumanDecision) -> DecisionResult:
        async with self._lock:
            s = self._s
            if d.request_id in s.decisions:  # a retried request: same answer, nothing redone
                return s.decisions[d.request_id]
            # State may have moved while this update waited for the lock. The validator always applies
            # today's rules; a replayed older decision is re-checked with the rules it was accepted under.
            self._validate(d, current_rules=workflow.patched(patches.DECISION_RULES_V2))
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

    # ---- the run ------------------------------------------------------------------------------

    @workflow.run
    async def run(self, inp: TicketInput) -> TicketResult:
        if not workflow.patched(patches.LIFECYCLE_V2):
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
        nxt = self._next_lifecycle_timer()
        self._kick = False
        if self._has_work():
            return
        timeout = None if nxt is None else max((nxt - workflow.now()).total_seconds(), 0.0)
        if timeout == 0.0:
            return
        try:
            await workflow.wait_condition(self._has_work, timeout=timeout)
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
                    f"this ticket in {_in_words(p.auto_resolve_after - p.remind_after)}. "
                    "You can reopen it any time by replying.",
                    counts_as_response=False,
                )  # fmt: skip
                await self._sync("reminder_sent", "system")

    def _csat_expired(self, now: datetime) -> bool:
        s = self._s
        return s.csat_requested_at is not None and now >= s.csat_requested_at + self._policy().csat_timeout

    # ---- opening ------------------------------------------------------------------------------

    async def _open(self, inp: TicketInput) -> None:
        if workflow.patched(patches.CONCURRENT_OPEN):
            await self._open_concurrently(inp)
            return
        s = self._s
        await self._create_ticket_row(inp)
        s.customer = await self._look_up_customer()
        text = ticket_text(inp.subject, inp.body)  # the same string as before: replays unchanged
        triage = await self._triage(text)
        s.category = triage.category
        priority = effective_priority(triage.base_priority, s.customer)
        self._start_clocks(priority, s.opened_at)
        await self._record_customer_message(inp.body, triage.sentiment)
        await self._record_triage(triage, priority)
        await self._set_status(Status.IN_PROGRESS, "opened", "system")
        await self._agent_turn(self._handoff_reason(text, triage.sentiment, triage.polarity))

    async def _open_concurrently(self, inp: TicketInput) -> None:
        """The opening with independent steps side by side: the same writes in fewer round trips."""
        s = self._s
        text = ticket_text(inp.subject, inp.body)
        _, customer, triage = await asyncio.gather(
            self._create_ticket_row(inp), self._look_up_customer(), self._triage(text)
        )
        s.customer, s.category = customer, triage.category
        priority = effective_priority(triage.base_priority, customer)
        self._start_clocks(priority, s.opened_at)
        # The message row and the triage columns are separate writes to a ticket row that now exists.
        await asyncio.gather(
            self._record_customer_message(inp.body, triage.sentiment), self._record_triage(triage, priority)
        )
        # The agent need not wait for the "opened" snapshot: snapshots carry a version and the store keeps
        # the newest, whichever write lands first.
        await asyncio.gather(
            self._set_status(Status.IN_PROGRESS, "opened", "system"),
            self._agent_turn(self._handoff_reason(text, triage.sentiment, triage.polarity)),
        )

    async def _create_ticket_row(self, inp: TicketInput) -> None:
        s = self._s
        await workflow.execute_activity_method(
            StoreActivities.create_ticket,
            CreateTicketInput(
                s.ticket_id, workflow.info().workflow_id, s.customer_id, s.channel.value, s.subject, s.opened_at,
                linked_ticket_id=inp.linked_ticket_id, product=inp.product,
            ),
            start_to_close_timeout=DB_TIMEOUT, retry_policy=DB_RETRY,
        )  # fmt: skip

    async def _look_up_customer(self) -> Customer:
        return await workflow.execute_activity_method(
            CrmActivities.get_customer, GetCustomerInput(self._s.customer_id),
            start_to_close_timeout=FAST_TIMEOUT, retry_policy=CRM_RETRY,
        )  # fmt: skip

    async def _record_triage(self, triage: TriageResult, priority: Priority) -> None:
        s = self._s
        due = sla_deadlines(priority, s.opened_at)
        await workflow.execute_activity_method(
            StoreActivities.record_triage,
            RecordTriageInput(
                s.ticket_id, triage.category.value, priority.value, triage.sentiment.value,
                self._due("first_response") or due.first_response_due, self._due("resolution") or due.resolution_due,
                workflow.now(),
                {"base_priority": triage.base_priority.value, "priority_reasons": triage.priority_reasons,
                 "polarity": triage.polarity, "category_confidence": triage.category_confidence,
                 # the team's own label (an activity input, not a command: replays of older tickets,
                 # whose triage results have none, are unaffected)
                 **({"label": triage.label} if triage.label is not None else {})},
            ),
            start_to_close_timeout=DB_TIMEOUT, retry_policy=DB_RETRY,
        )  # fmt: skip

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
        # Only words that ask for speed (high, critical) raise it: a message with none ("thanks, that worked")
        # rates medium by default, which says nothing about urgency.
        assessed = effective_priority(triage.base_priority, self._customer())
        urgent = triage.base_priority in (Priority.HIGH, Priority.CRITICAL)
        raises = urgent and s.priority is not None and outranks(assessed, s.priority)
        if raises and workflow.patched(patches.REASSESS_PRIORITY):  # patched() last: only a raise records it
            old = s.priority
            self._retarget(assessed)
            await self._sync(
                "priority_changed", "system", {"from": old, "to": assessed, "reason": "the customer's new message"}
            )
        if s.owner == "human":  # a human owns the conversation: back to the human queue, no agent turn
            s.escalated = True
            await self._set_status(Status.ESCALATED, "customer_replied", s.customer_id)
            who = f"owned by {s.assigned_human}" if s.assigned_human else "waiting for a person"
            await self._notify("customer_replied", f"the customer replied on a ticket {who}")
            return
        await self._set_status(Status.IN_PROGRESS, "customer_replied", s.customer_id)
        reason = self._handoff_reason(msg.body, triage.sentiment, triage.polarity)
        if workflow.patched(patches.BATCHED_MESSAGES):
            if s.inbox:  # more of the customer's lines wait: one turn after the last answers them all
                s.held_handoff = s.held_handoff or reason
                return
            reason, s.held_handoff = s.held_handoff or reason, None
        await self._agent_turn(reason)

    def _handoff_reason(self, text: str, sentiment: Sentiment, polarity: float | None) -> str | None:
        s, p = self._s, self._policy()
        reason = escalation_reason(text, sentiment, self._customer(), polarity)
        if reason is None and asks_for_a_person(text) and workflow.patched(patches.PLAIN_HUMAN_REQUEST):
            reason = "customer asked for a human"
        if reason is None and reports_outage(text) and workflow.patched(patches.OUTAGE_TO_A_PERSON):
            reason = "outage or data loss reported"
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
        handover = outcome.decision == "escalate" and workflow.patched(patches.HANDOVER_NOT_A_RESPONSE)
        await self._send_reply(
            Sender.AGENT, outcome.agent, outcome.reply, citations=outcome.citations, counts_as_response=not handover
        )
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
            status = Status.ESCALATED if s.owner == "human" else Status.WAITING_CUSTOMER
            await self._set_status(status, "agent_replied", outcome.agent, _turn_facts(outcome))

    async def _run_turn(self, handoff_reason: str | None) -> TurnOutcome:
        s = self._s
        if s.category is None or s.priority is None or s.sentiment is None:
            raise _invalid("agent turn before triage", "TicketStateError")
        return await workflow.execute_activity_method(
            ConversationActivities.run_agent_turn,
            TurnRequest(
                ticket_id=s.ticket_id, customer=self._customer(), channel=s.channel, subject=s.subject,
                category=s.category, priority=s.priority, sentiment=s.sentiment, transcript=s.transcript,
                handoff_reason=handoff_reason, product=s.product,
            ),
            start_to_close_timeout=LLM_START_TO_CLOSE, schedule_to_close_timeout=LLM_SCHEDULE_TO_CLOSE,
            heartbeat_timeout=LLM_HEARTBEAT, retry_policy=LLM_RETRY,
        )  # fmt: skip

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
        # The customer wrote while the action waited: the ticket stays in the human queue for that message.
        owed = self._customer_waits_for_answer() and workflow.patched(patches.ANSWER_WHAT_CAME_DURING_APPROVAL)
        s.pending_approval = None
        s.owner, s.escalated, s.escalation_reason = "agents", False, None
        if workflow.patched(patches.DECISION_RULES_V2):
            # The customer is promised a person: their reply goes to the human queue, not to the agents.
            s.owner, s.assigned_human = "human", None
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
            counts_as_response=not owed,
        )  # fmt: skip
        if owed:
            s.owner, s.escalated, s.escalation_reason = "human", True, "approval expired; the customer's message waits"
        after = Status.ESCALATED if owed else Status.WAITING_CUSTOMER
        await self._set_status(after, "approval_expired", "system", {"request_id": act.request_id})


def _in_words(span: timedelta) -> str:
    """A waiting time as the customer reads it: "3 days", "about 20 hours", "a few minutes"."""
    hours = span.total_seconds() / 3600
    if hours >= 47.5:
        days = round(hours / 24)
        return f"{days} days"
    if hours >= 1.5:
        return f"about {round(hours)} hours"
    if hours >= 0.75:
        return "about an hour"
    return "a few minutes"


def initial_search_attributes(customer_id: str, product: str | None = None) -> TypedSearchAttributes:
    """Set at start so a ticket is findable by customer, status and product before its first task runs.
    The product never changes, so the workflow never upserts it (continue-as-new carries it over)."""
    pairs: list[SearchAttributePair[Any]] = [
        SearchAttributePair(sa.CUSTOMER_ID, customer_id),
        SearchAttributePair(sa.TICKET_STATUS, Status.NEW.value),
        SearchAttributePair(sa.TICKET_ESCALATED, False),
    ]
    if product:
        pairs.append(SearchAttributePair(sa.TICKET_PRODUCT, product))
    return TypedSearchAttributes(pairs)


__all__ = [
    "CustomerMessage",
    "TicketInput",
    "TicketResult",
    "TicketState",
    "TicketWorkflow",
    "initial_search_attributes",
]
