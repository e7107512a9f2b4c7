"""TicketWorkflow's agent turns: whether a person should take over, one turn of the agents, its outcome."""

from __future__ import annotations

from typing import Any

from temporalio import workflow
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from activities.conversation import ConversationActivities
    from domain.lifecycle import PendingApproval
    from domain.models import Sender, Sentiment, Status, TriageResult
    from domain.policy import asks_for_a_person, escalation_reason, handover_reason, reports_outage, worsening
    from domain.turns import TurnOutcome, TurnRequest
    from workflows import patches
    from workflows.base import TicketCore, _invalid
    from workflows.recording import TicketRecording
    from workflows.types import LLM_HEARTBEAT, LLM_RETRY, LLM_SCHEDULE_TO_CLOSE, LLM_START_TO_CLOSE


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


class TicketAgentTurns:
    """One turn of the AutoGen team (an activity) and what its outcome does to the ticket."""

    def __init__(self, core: TicketCore, record: TicketRecording) -> None:
        self._core, self._record = core, record

    def handoff_reason(
        self, text: str, sentiment: Sentiment, polarity: float | None, triage: TriageResult | None = None
    ) -> str | None:
        """Why a person should take over instead of the agents, or None. ``triage``: the message's triage,
        whose hand-over detectors decide when they ran (None for a turn no message asked for)."""
        s, p = self._core.s, self._core.policy()
        if triage is not None and triage.handover_checked and workflow.patched(patches.HANDOVER_DETECTORS):
            reason = handover_reason(triage, self._core.customer())
        else:
            reason = self._rules_reason(text, sentiment, polarity)
        if reason is None and worsening(s.sentiment_trend):
            reason = "customer sentiment is getting worse"
        if reason is None and s.agent_turns >= p.max_agent_turns:
            reason = f"agents have not converged after {s.agent_turns} replies"
        if reason is None and s.prompt_tokens + s.completion_tokens > p.token_budget:
            reason = f"token budget of {p.token_budget} exceeded"
        return reason

    def _rules_reason(self, text: str, sentiment: Sentiment, polarity: float | None) -> str | None:
        """The hand-over rules before the detectors: regexes and textblob polarity (histories before v11)."""
        reason = escalation_reason(text, sentiment, self._core.customer(), polarity)
        if reason is None and asks_for_a_person(text) and workflow.patched(patches.PLAIN_HUMAN_REQUEST):
            reason = "customer asked for a human"
        if reason is None and reports_outage(text) and workflow.patched(patches.OUTAGE_TO_A_PERSON):
            reason = "outage or data loss reported"
        return reason

    async def take(self, handoff_reason: str | None) -> None:
        """Run one agent turn and act on its outcome: reply, escalate, ask for approval or resolve."""
        s = self._core.s
        try:
            outcome = await self._run_turn(handoff_reason)
        except ActivityError as e:
            # The model stayed down past the turn's schedule-to-close budget (or refused our
            # configuration): the ticket goes to a human instead of failing the workflow.
            workflow.logger.warning("agent turn failed for %s: %s", s.ticket_id, e.cause or e)
            s.agent_turns += 1
            await self._record.escalate("the AI agents are unavailable", "system")
            return
        s.prompt_tokens += outcome.prompt_tokens
        s.completion_tokens += outcome.completion_tokens
        s.cost_usd += outcome.cost_usd
        s.assigned_agent = outcome.agent
        s.agent_turns += 1
        handover = outcome.decision == "escalate" and workflow.patched(patches.HANDOVER_NOT_A_RESPONSE)
        await self._record.send_reply(
            Sender.AGENT, outcome.agent, outcome.reply, citations=outcome.citations, counts_as_response=not handover
        )
        if outcome.decision == "escalate":
            await self._record.escalate(
                outcome.escalation_reason or handoff_reason or "agent asked for a human", outcome.agent
            )
        elif outcome.decision == "needs_approval" and outcome.action is not None:
            now = workflow.now()
            s.pending_approval = PendingApproval(
                action=outcome.action, requested_at=now, proposed_by=outcome.agent, level_since=now
            )
            act = outcome.action
            await self._record.escalate(f"approval needed: {act.kind} of ${act.amount_usd:,.2f}", outcome.agent)
            await self._record.notify(
                f"approval_requested:{act.request_id}:0",
                f"{act.kind} of ${act.amount_usd:,.2f} awaits approval by {self._core.policy().approvers[0]}",
                {"approver": self._core.policy().approvers[0], "action": act.model_dump()},
            )
        elif outcome.decision == "resolved":
            await self._record.resolve(outcome.agent, "the agent confirmed the issue is solved")
        else:
            status = Status.ESCALATED if s.owner == "human" else Status.WAITING_CUSTOMER
            await self._record.set_status(status, "agent_replied", outcome.agent, _turn_facts(outcome))

    async def _run_turn(self, handoff_reason: str | None) -> TurnOutcome:
        s = self._core.s
        if s.category is None or s.priority is None or s.sentiment is None:
            raise _invalid("agent turn before triage", "TicketStateError")
        return await workflow.execute_activity_method(
            ConversationActivities.run_agent_turn,
            TurnRequest(
                ticket_id=s.ticket_id, customer=self._core.customer(), channel=s.channel, subject=s.subject,
                category=s.category, priority=s.priority, sentiment=s.sentiment, transcript=s.transcript,
                handoff_reason=handoff_reason, product=s.product,
            ),
            start_to_close_timeout=LLM_START_TO_CLOSE, schedule_to_close_timeout=LLM_SCHEDULE_TO_CLOSE,
            heartbeat_timeout=LLM_HEARTBEAT, retry_policy=LLM_RETRY,
        )  # fmt: skip
