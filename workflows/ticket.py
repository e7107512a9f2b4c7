"""TicketWorkflow: one workflow per support ticket, living as long as the ticket.

The workflow owns the ticket's state, transcript and clocks; every outside effect (CRM, triage,
agents, Postgres, notifications) is an activity. Deterministic only: time is `workflow.now()`.

Three things run inside one ticket:
- the main loop: customer messages, agent turns, waiting on the customer (reminder, auto-resolve),
  approvals moving up the chain, the CSAT survey;
- the SLA watcher: exact durable timers for 75 % warnings and breaches, firing even while an agent
  turn is still running;
- human decisions, arriving as Updates (validated first, so a refused decision never enters history).
The main loop and decisions take the lock, so a human's reply never interleaves with an agent's turn.

Where each step lives. This class holds the handlers, the run loop and the steps only it calls; every
other step is a method of a part it owns, and the attribute names the part (composition, not the
mixin chain this file used to sit on top of):

    self._core       TicketCore        workflows/base.py         state, lock, wake-up flags; triage, CRM lookup
    self._record     TicketRecording   workflows/recording.py    messages, status, Postgres, audit, notify,
                                                                 escalate / resolve / close
    self._sla        TicketSla         workflows/sla_watch.py    SLA timers (watch), start_clocks, retarget
    self._agents     TicketAgentTurns  workflows/agent_turns.py  handoff_reason, one agent turn (take)
    self._decisions  TicketDecisions   workflows/decisions.py    validate / apply a decision, approval timeouts
    TicketV1         (frozen)          workflows/ticket_v1.py    the whole run of a pre-lifecycle-v2 ticket
    patches.X                          workflows/patches.py      every patch id: why, and when it can go

Why composition rather than the mixin chain with a map: a new reader looks for a step from its call.
Under five mixins `self._retarget(...)` could be defined in any of four files and only the MRO said
which; `self._sla.retarget(...)` names the part at the call, the parts' constructors show what each may
touch (decisions may retarget clocks; recording may not), and no map has to be kept in step with the code.
Temporal sees no difference: the handlers, the workflow name and every command are the same as before,
in the same order (the recorded histories in tests/histories/ replay unchanged).
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    # The sandbox's sys.modules holds only what this file passes through, not what the parts import, and
    # pydantic resolves a dataclass's annotations through sys.modules when it decodes one: a dataclass an
    # activity returns needs its module here. ActionResult (execute_action, reject_action) is the one: with
    # this import gone, 26 recorded histories failed to decode it.
    import activities.actions  # noqa: F401
    from domain.lifecycle import RECORD_ONLY, CsatScore, DecisionResult, HumanDecision, TicketPolicy
    from domain.models import Priority, Sender, Sentiment, Status, ticket_text
    from domain.policy import effective_priority, outranks
    from workflows import patches
    from workflows.agent_turns import TicketAgentTurns
    from workflows.base import TicketCore
    from workflows.decisions import TicketDecisions
    from workflows.recording import TicketRecording
    from workflows.search_attributes import initial_search_attributes
    from workflows.sla_watch import TicketSla
    from workflows.ticket_v1 import TicketV1
    from workflows.types import CustomerMessage, TicketInput, TicketResult, TicketState


@workflow.defn(name="TicketWorkflow")
class TicketWorkflow:
    @workflow.init
    def __init__(self, inp: TicketInput) -> None:
        s = inp.state or TicketState(
            ticket_id=inp.ticket_id,
            customer_id=inp.customer_id,
            channel=inp.channel,
            subject=inp.subject,
            opened_at=workflow.now(),
            product=inp.product,
            console_link=inp.console_link,
        )
        if s.policy is None:
            s.policy = inp.policy or TicketPolicy(auto_resolve_after=inp.auto_resolve_after)
        self._s = s  # the same object as self._core.s, for the handlers' and the loop's brevity
        self._core = TicketCore(s)
        self._record = TicketRecording(self._core)
        self._sla = TicketSla(self._core, self._record)
        self._agents = TicketAgentTurns(self._core, self._record)
        self._decisions = TicketDecisions(self._core, self._record, self._sla)

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
            self._core.kick = True

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
        return self._core.lock.locked() or self._has_work()

    def _has_work(self) -> bool:
        """Something the main loop must handle: a message, a kick, an agent turn owed."""
        s = self._s
        return bool(s.inbox) or self._core.kick or s.agent_turn_owed

    # ---- human decisions ---------------------------------------------------------------------

    @workflow.update
    async def decide(self, d: HumanDecision) -> DecisionResult:
        async with self._core.lock:
            s = self._s
            if d.request_id in s.decisions:  # a retried request: same answer, nothing redone
                return s.decisions[d.request_id]
            # State may have moved while this update waited for the lock. The validator always applies
            # today's rules; a replayed older decision is re-checked with the rules it was accepted under.
            self._decisions.validate(d, current_rules=workflow.patched(patches.DECISION_RULES_V2))
            message = await self._decisions.apply(d)
            result = DecisionResult(request_id=d.request_id, accepted=True, status=s.status.value, message=message)
            s.decisions[d.request_id] = result
            if not isinstance(d, RECORD_ONLY):  # a note, tags or a category leave the conversation as it was
                s.agent_turns = 0
                self._core.kick = self._core.sla_kick = True
            return result

    @decide.validator
    def _validate_decision(self, d: HumanDecision) -> None:
        if d.request_id in self._s.decisions:
            return
        self._decisions.validate(d)

    # ---- the run ------------------------------------------------------------------------------

    @workflow.run
    async def run(self, inp: TicketInput) -> TicketResult:
        if not workflow.patched(patches.LIFECYCLE_V2):
            return await TicketV1(self._s)._run_v1(inp)
        s = self._s
        # Current details are no command (a query answers them): shown at once, the console link first,
        # also on a run continued as new, which has no static details.
        self._record.show_details()
        # The watcher starts first: a first-response breach must fire even while the opening agent
        # turn is still retrying against a model that is down.
        watcher = asyncio.create_task(self._sla.watch())
        if inp.state is None:
            async with self._core.lock:
                await self._open(inp)
        elif not s.clocks:  # a ticket continued-as-new from v1 state: give it clocks from now on
            self._sla.start_clocks(s.priority or Priority.MEDIUM, workflow.now())
        while s.status != Status.CLOSED:
            await self._wait_for_work()
            async with self._core.lock:
                await self._step()
            if not self._core.closed() and workflow.info().is_continue_as_new_suggested():
                await workflow.wait_condition(workflow.all_handlers_finished)
                workflow.continue_as_new(TicketInput(s.ticket_id, s.customer_id, s.channel, s.subject, "", state=s))
        self._core.sla_kick = True
        await watcher
        await workflow.wait_condition(workflow.all_handlers_finished)
        return TicketResult(s.ticket_id, s.status, len(s.transcript))

    async def _wait_for_work(self) -> None:
        nxt = self._next_lifecycle_timer()
        self._core.kick = False
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
        s, p = self._s, self._core.policy()
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
        s, p, now = self._s, self._core.policy(), workflow.now()
        if s.status == Status.RESOLVED and (s.csat_score is not None or self._csat_expired(now)):
            await self._record.close()
            return
        if s.inbox:
            await self._handle_customer_message(s.inbox.pop(0))
            return
        if s.agent_turn_owed:
            s.agent_turn_owed = False
            await self._agents.take(self._agents.handoff_reason("", s.sentiment or Sentiment.NEUTRAL, None))
            return
        if s.pending_approval is not None and now >= s.pending_approval.level_since + p.approval_timeout:
            await self._decisions.approval_timed_out(s.pending_approval)
            return
        if s.status == Status.WAITING_CUSTOMER and s.last_reply_at is not None:
            if now >= s.last_reply_at + p.auto_resolve_after:
                await self._record.resolve("system", "no reply from the customer")
            elif not s.reminded and now >= s.last_reply_at + p.remind_after:
                s.reminded = True
                await self._record.send_reply(
                    Sender.SYSTEM, "system",
                    "Just checking in: did our last reply solve your problem? If we don't hear back, we'll close "
                    f"this ticket in {_in_words(p.auto_resolve_after - p.remind_after)}. "
                    "You can reopen it any time by replying.",
                    counts_as_response=False,
                )  # fmt: skip
                await self._record.sync("reminder_sent", "system")

    def _csat_expired(self, now: datetime) -> bool:
        s = self._s
        return s.csat_requested_at is not None and now >= s.csat_requested_at + self._core.policy().csat_timeout

    # ---- opening ------------------------------------------------------------------------------

    async def _open(self, inp: TicketInput) -> None:
        if workflow.patched(patches.CONCURRENT_OPEN):
            await self._open_concurrently(inp)
            return
        s = self._s
        await self._record.create_ticket_row(inp)
        s.customer = await self._core.look_up_customer()
        text = ticket_text(inp.subject, inp.body)  # the same string as before: replays unchanged
        triage = await self._core.triage(text)
        s.category = triage.category
        priority = effective_priority(triage.base_priority, s.customer)
        self._sla.start_clocks(priority, s.opened_at)
        await self._record.record_customer_message(inp.body, triage.sentiment)
        await self._record.record_triage(triage, priority)
        await self._record.set_status(Status.IN_PROGRESS, "opened", "system")
        await self._agents.take(self._agents.handoff_reason(text, triage.sentiment, triage.polarity, triage))

    async def _open_concurrently(self, inp: TicketInput) -> None:
        """The opening with independent steps side by side: the same writes in fewer round trips."""
        s = self._s
        text = ticket_text(inp.subject, inp.body)
        _, customer, triage = await asyncio.gather(
            self._record.create_ticket_row(inp), self._core.look_up_customer(), self._core.triage(text)
        )
        s.customer, s.category = customer, triage.category
        priority = effective_priority(triage.base_priority, customer)
        self._sla.start_clocks(priority, s.opened_at)
        # The message row and the triage columns are separate writes to a ticket row that now exists.
        await asyncio.gather(
            self._record.record_customer_message(inp.body, triage.sentiment),
            self._record.record_triage(triage, priority),
        )
        # The agent need not wait for the "opened" snapshot: snapshots carry a version and the store keeps
        # the newest, whichever write lands first.
        await asyncio.gather(
            self._record.set_status(Status.IN_PROGRESS, "opened", "system"),
            self._agents.take(self._agents.handoff_reason(text, triage.sentiment, triage.polarity, triage)),
        )

    # ---- a customer message -------------------------------------------------------------------

    async def _handle_customer_message(self, msg: CustomerMessage) -> None:
        s = self._s
        triage = await self._core.triage(msg.body)
        await self._record.record_customer_message(msg.body, triage.sentiment)
        now = workflow.now()
        if s.status == Status.RESOLVED:  # a reply during the CSAT survey reopens the ticket
            s.resolved_at, s.csat_requested_at = None, None
            s.clocks["resolution"].met_at = None  # the same resolution budget continues
            await self._record.sync("reopened", s.customer_id)
        s.reminded = False
        s.clocks["next_reply"].restart(now)
        self._core.sla_kick = True
        # Only words that ask for speed (high, critical) raise it: a message with none ("thanks, that worked")
        # rates medium by default, which says nothing about urgency.
        assessed = effective_priority(triage.base_priority, self._core.customer())
        urgent = triage.base_priority in (Priority.HIGH, Priority.CRITICAL)
        raises = urgent and s.priority is not None and outranks(assessed, s.priority)
        if raises and workflow.patched(patches.REASSESS_PRIORITY):  # patched() last: only a raise records it
            old = s.priority
            self._sla.retarget(assessed)
            await self._record.sync(
                "priority_changed", "system", {"from": old, "to": assessed, "reason": "the customer's new message"}
            )
        if s.owner == "human":  # a human owns the conversation: back to the human queue, no agent turn
            s.escalated = True
            await self._record.set_status(Status.ESCALATED, "customer_replied", s.customer_id)
            who = f"owned by {s.assigned_human}" if s.assigned_human else "waiting for a person"
            await self._record.notify("customer_replied", f"the customer replied on a ticket {who}")
            return
        await self._record.set_status(Status.IN_PROGRESS, "customer_replied", s.customer_id)
        reason = self._agents.handoff_reason(msg.body, triage.sentiment, triage.polarity, triage)
        if workflow.patched(patches.BATCHED_MESSAGES):
            if s.inbox:  # more of the customer's lines wait: one turn after the last answers them all
                s.held_handoff = s.held_handoff or reason
                return
            reason, s.held_handoff = s.held_handoff or reason, None
        await self._agents.take(reason)


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


__all__ = [
    "CustomerMessage",
    "TicketInput",
    "TicketResult",
    "TicketState",
    "TicketWorkflow",
    "initial_search_attributes",
]
