"""Human decisions on a ticket: validation (so a refused decision never enters history) and effects."""

from __future__ import annotations

from typing import Any

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.actions import ActionActivities, ExecuteActionInput, RejectActionInput
    from domain.lifecycle import (
        MAX_TAGS,
        RECORD_ONLY,
        ActionDecision,
        ChangePriority,
        HandBack,
        HumanDecision,
        HumanReply,
        InternalNote,
        PendingApproval,
        Reassign,
        Recategorise,
        Resolve,
        Retag,
    )
    from domain.models import Sender, Status
    from workflows import patches
    from workflows.base import TicketCore, _invalid
    from workflows.recording import TicketRecording
    from workflows.sla_watch import TicketSla
    from workflows.types import (
        ACTION_RETRY,
        FAST_TIMEOUT,
    )


class TicketDecisions:
    """What each human decision does to the ticket (validated first; the Update handler takes the lock),
    and what happens when nobody decides in time."""

    def __init__(self, core: TicketCore, record: TicketRecording, sla: TicketSla) -> None:
        self._core, self._record, self._sla = core, record, sla

    def validate(self, d: HumanDecision, current_rules: bool = True) -> None:
        """Refuse a decision the ticket's state does not allow. ``current_rules`` False: the rules as
        they were before ``patches.DECISION_RULES_V2``, for the handler replaying an older ticket's decision."""
        s = self._core.s
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
        elif isinstance(d, Retag):
            self._check_tags(d)
        elif isinstance(d, Recategorise) and d.category == s.category:
            raise _invalid(f"the category is already {d.category.value}", "StaleRequestError")
        if not current_rules:
            return
        self._check_unchanged(d)
        # The API refuses these already; a decision sent another way (temporal CLI, a script) must not
        # put a blank message before the customer or a NUL into a store write that can never succeed.
        texts = [v for v in d.model_dump().values() if isinstance(v, str)]
        if any("\x00" in v for v in texts):
            raise _invalid("a decision's text must not contain a NUL character", "InvalidDecisionError")
        if isinstance(d, HumanReply) and not d.body.strip():
            raise _invalid("a reply needs a body", "InvalidDecisionError")
        if isinstance(d, InternalNote) and not d.body.strip():
            raise _invalid("a note needs a body", "InvalidDecisionError")
        # A note, a tag or a category is about the record, not the conversation: a resolved ticket takes them.
        if s.status == Status.RESOLVED and not isinstance(d, (ActionDecision, *RECORD_ONLY)):
            raise _invalid(
                f"ticket {s.ticket_id} is resolved and its satisfaction survey is out; "
                "it reopens when the customer replies",
                "TicketResolvedError",
            )
        if isinstance(d, Resolve) and s.pending_approval is not None:
            raise _invalid("approve or reject the pending action before resolving", "InvalidDecisionError")
        if isinstance(d, Reassign) and s.owner == "human" and s.assigned_human == d.to:
            raise _invalid(f"the ticket is already assigned to {d.to}", "StaleRequestError")

    def _check_tags(self, d: Retag) -> None:
        s = self._core.s
        after = (set(s.tags) | set(d.add)) - set(d.remove)
        if after == set(s.tags):
            raise _invalid(f"the tags are already {sorted(s.tags) or 'none'}", "StaleRequestError")
        if len(after) > MAX_TAGS:
            raise _invalid(f"a ticket takes at most {MAX_TAGS} tags; remove some first", "InvalidDecisionError")

    def _check_unchanged(self, d: HumanDecision) -> None:
        """The decision's preconditions: nothing newer than `seen_seq` was written, and the ticket is
        still held by `expect_assignee`. Checked again under the lock, so of two agents who answer the
        same message at once, the second is refused instead of sending a second reply."""
        s = self._core.s
        newer = [m for m in s.transcript if d.seen_seq is not None and m.seq > d.seen_seq]
        if newer:
            last = newer[-1]
            who = "the customer" if last.sender == Sender.CUSTOMER else last.author
            raise _invalid(
                f"the ticket changed since you read it: {len(newer)} newer message(s), the last (seq {last.seq}) "
                f"from {who}; read it again before deciding",
                "TicketChangedError",
            )
        holder = s.assigned_human if s.owner == "human" else None
        if d.expect_assignee is not None and (holder or "") != d.expect_assignee:
            raise _invalid(
                f"the ticket is now held by {holder or 'nobody'}, not {d.expect_assignee or 'nobody'}",
                "TicketChangedError",
            )

    async def apply(self, d: HumanDecision) -> str:
        s = self._core.s
        if isinstance(d, RECORD_ONLY):
            return await self._apply_to_record(d)
        current = workflow.patched(patches.DECISION_RULES_V2)
        if isinstance(d, HumanReply) and current and s.pending_approval is not None:
            # The approval still waits for a person: the ticket stays in the queue, the replier owns it.
            await self._record.send_reply(Sender.HUMAN, d.agent_id, d.body)
            s.owner, s.assigned_human, s.escalated = "human", d.agent_id, True
            await self._record.set_status(Status.ESCALATED, "human_replied", d.agent_id)
            return "reply sent; the pending action still awaits approval"
        if isinstance(d, HumanReply):
            await self._record.send_reply(Sender.HUMAN, d.agent_id, d.body)
            # The replier owns the conversation; it leaves the queue until the customer answers.
            s.owner, s.assigned_human, s.escalated = "human", d.agent_id, False
            await self._record.set_status(Status.WAITING_CUSTOMER, "human_replied", d.agent_id)
            return "reply sent"
        if isinstance(d, ActionDecision):
            return await self._decide_action(d, current)
        if isinstance(d, Reassign):
            s.owner, s.assigned_human, s.escalated = "human", d.to, True
            await self._record.sync("reassigned", d.agent_id, {"to": d.to})
            await self._record.notify("reassigned", f"ticket assigned to {d.to} by {d.agent_id}", {"to": d.to})
            return f"assigned to {d.to}"
        if isinstance(d, ChangePriority):
            old = s.priority
            self._sla.retarget(d.priority)
            await self._record.sync("priority_changed", d.agent_id, {"from": old, "to": d.priority, "reason": d.reason})
            return f"priority {old} → {d.priority.value}"
        if isinstance(d, Resolve):
            if current:  # if the customer reopens it, it comes back to this person, not to the agents
                s.owner, s.assigned_human = "human", d.agent_id
            await self._record.resolve(d.agent_id, d.note or "resolved by a human agent")
            return "resolved; CSAT survey sent"
        # HandBack: the agents own the ticket again and answer what the customer last wrote, if anything.
        s.owner, s.escalated, s.escalation_reason = "agents", False, None
        if current:
            s.assigned_human = None  # nobody is shown as holding a ticket the agents have
        last = s.transcript[-1] if s.transcript else None
        s.agent_turn_owed = last is not None and last.sender == Sender.CUSTOMER
        await self._record.set_status(
            Status.IN_PROGRESS if s.agent_turn_owed else Status.WAITING_CUSTOMER,
            "handed_back",
            d.agent_id,
            {"note": d.note} if current and d.note else None,
        )
        return "handed back to the agents"

    async def _apply_to_record(self, d: InternalNote | Retag | Recategorise) -> str:
        """A note, tags or a category: one audit event and the ticket's snapshot; no message, no owner or
        status change. The note's text is in the event only (``ticket_events``), never in the transcript."""
        s = self._core.s
        if not workflow.patched(patches.NOTES_AND_TAGS):  # unreachable on replay: older runs took none
            raise _invalid(f"this ticket's workflow predates {d.kind} decisions", "InvalidDecisionError")
        if isinstance(d, InternalNote):
            await self._record.sync("note", d.agent_id, {"note": d.body, "internal": True})
            return "internal note added; the customer does not see it"
        if isinstance(d, Retag):
            before = set(s.tags)
            s.tags = sorted((before | set(d.add)) - set(d.remove))
            added, removed = sorted(set(s.tags) - before), sorted(before - set(s.tags))
            await self._record.sync("tagged", d.agent_id, {"added": added, "removed": removed, "tags": s.tags})
            return f"tags: {', '.join(s.tags) or 'none'}"
        old = s.category
        s.category = d.category  # the next agent turn (TurnRequest.category) starts with its specialist
        await self._record.sync("recategorised", d.agent_id, {"from": old, "to": d.category, "reason": d.reason})
        return f"category {old.value if old else '-'} → {d.category.value}"

    async def _decide_action(self, d: ActionDecision, current: bool) -> str:
        s = self._core.s
        pending = s.pending_approval
        if pending is None:  # validated under the lock; unreachable, but never assert in a workflow
            raise _invalid("no pending approval", "StaleRequestError")
        action = pending.action
        # The customer wrote while the action waited (their message went to the human queue): the agents
        # answer it after telling them the outcome, which does not count as that answer.
        owed = self._core.customer_waits_for_answer() and workflow.patched(patches.ANSWER_WHAT_CAME_DURING_APPROVAL)
        after = Status.IN_PROGRESS if owed else Status.WAITING_CUSTOMER
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
            if current and d.message:
                body += f" {d.message}"
            await self._record.send_reply(Sender.SYSTEM, "system", body, counts_as_response=not owed)
            approved: dict[str, Any] = {"request_id": action.request_id}
            if current and d.note:
                approved["note"] = d.note
            s.agent_turn_owed = owed
            await self._record.set_status(after, "action_approved", d.agent_id, approved)
            return f"{action.kind} approved: {result.status}"
        await workflow.execute_activity_method(
            ActionActivities.reject_action,
            RejectActionInput(ticket_id=s.ticket_id, action=action, rejected_by=d.agent_id, note=d.note or None),
            start_to_close_timeout=FAST_TIMEOUT,
            retry_policy=ACTION_RETRY,
        )
        body = f"We're sorry: your {action.kind} request of ${action.amount_usd:,.2f} was not approved."
        told = d.message if current else d.note  # the note is internal since patches.DECISION_RULES_V2
        if told:
            body += f" {told}"
        await self._record.send_reply(Sender.SYSTEM, "system", body, counts_as_response=not owed)
        s.agent_turn_owed = owed
        await self._record.set_status(
            after, "action_rejected", d.agent_id, {"request_id": action.request_id, "note": d.note}
        )
        return f"{action.kind} rejected"

    async def approval_timed_out(self, pending: PendingApproval) -> None:
        """Nobody decided in time: the approval moves up the chain, and past its top it is declined."""
        s, p, now = self._core.s, self._core.policy(), workflow.now()
        act = pending.action
        if pending.level + 1 < len(p.approvers):
            pending.level += 1
            pending.level_since = now
            approver = p.approvers[pending.level]
            await self._record.sync("approval_moved_up", "system", {"request_id": act.request_id, "approver": approver})
            await self._record.notify(
                f"approval_requested:{act.request_id}:{pending.level}",
                f"{act.kind} of ${act.amount_usd:,.2f} was not decided in time; now awaits {approver}",
                {"approver": approver, "action": act.model_dump()},
            )
            return
        # The customer wrote while the action waited: the ticket stays in the human queue for that message.
        owed = self._core.customer_waits_for_answer() and workflow.patched(patches.ANSWER_WHAT_CAME_DURING_APPROVAL)
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
        await self._record.send_reply(
            Sender.SYSTEM, "system",
            f"We're sorry: we could not get your {act.kind} request of ${act.amount_usd:,.2f} approved in time, "
            "so it has been declined. Reply to this message and a person will look at it again.",
            counts_as_response=not owed,
        )  # fmt: skip
        if owed:
            s.owner, s.escalated, s.escalation_reason = "human", True, "approval expired; the customer's message waits"
        after = Status.ESCALATED if owed else Status.WAITING_CUSTOMER
        await self._record.set_status(after, "approval_expired", "system", {"request_id": act.request_id})
