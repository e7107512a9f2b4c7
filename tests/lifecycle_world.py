"""A stub world for TicketWorkflow tests: activities with the real names that remember what they were asked.

Shared by the time-skipping tests, the Update tests on the dev server and the history recorder.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from temporalio import activity
from temporalio.api.sdk.v1 import WorkflowMetadata
from temporalio.client import WorkflowHandle
from temporalio.exceptions import ApplicationError

from activities.actions import ActionResult, ExecuteActionInput, RejectActionInput
from activities.crm import GetCustomerInput
from activities.notify import Notification
from activities.store import (
    CreateTicketInput,
    RecordMessageInput,
    RecordStatusInput,
    RecordTriageInput,
    SyncTicketInput,
)
from activities.triage import TriageInput
from domain.lifecycle import TicketPolicy
from domain.models import Category, Channel, Customer, Plan, Priority, Sentiment, TriageResult
from domain.turns import ActionRequest, TurnOutcome, TurnRequest
from triage import handover_rules
from triage.handover import MESSAGES
from workflows.ticket import TicketInput

TurnScript = Callable[[TurnRequest], TurnOutcome]


def default_turn(req: TurnRequest) -> TurnOutcome:
    n = sum(1 for e in req.transcript if e.sender == "customer")
    if req.handoff_reason:
        return TurnOutcome(
            agent="EscalationManager",
            reply="A specialist will take over.",
            decision="escalate",
            escalation_reason=req.handoff_reason,
        )
    last = req.transcript[-1].body.lower()
    if "refund" in last:
        action = ActionRequest(request_id=f"{req.ticket_id}:refund:250", kind="refund", amount_usd=250, reason="dup")
        return TurnOutcome(
            agent="BillingAgent", reply="I've asked a manager to approve it.", decision="needs_approval", action=action
        )
    if "that fixed it" in last:
        return TurnOutcome(agent="TechnicalAgent", reply="Glad it works!", decision="resolved")
    return TurnOutcome(agent="TechnicalAgent", reply=f"Answer #{n}", prompt_tokens=10, completion_tokens=5)


@dataclass
class World:
    customer: Customer
    turn: TurnScript = default_turn
    fail_turns: bool = False
    messages: list[RecordMessageInput] = field(default_factory=list)
    events: list[str] = field(default_factory=list)
    snapshots: list[SyncTicketInput] = field(default_factory=list)
    notifications: list[Notification] = field(default_factory=list)
    turns: list[TurnRequest] = field(default_factory=list)
    triaged: list[RecordTriageInput] = field(default_factory=list)
    actions: list[ExecuteActionInput] = field(default_factory=list)
    rejections: list[RejectActionInput] = field(default_factory=list)
    store_gate: asyncio.Event | None = None  # when set, message writes wait for it (a slow database)
    # Triage as the hand-over detectors do it (since v11): their rules, "ridiculous" reads as anger at us,
    # "annoyed" as unhappy. Off: results as triaged before the detectors (the workflow's older rules).
    detectors: bool = False

    def activities(self) -> list[Callable[..., Any]]:
        @activity.defn(name="crm.get_customer")
        async def get_customer(inp: GetCustomerInput) -> Customer:
            return self.customer

        @activity.defn(name="triage.triage_message")
        async def triage_message(inp: TriageInput) -> TriageResult:
            text = inp.text.lower()
            mood = Sentiment.NEUTRAL
            if "ridiculous" in text:
                mood = Sentiment.VERY_NEGATIVE
            elif "annoyed" in text:
                mood = Sentiment.NEGATIVE
            category = Category.BILLING if "invoice" in text else Category.TECHNICAL
            found = handover_rules.matches(inp.text) | ({"angry"} if "ridiculous" in text else set())
            reasons = [r for r in MESSAGES if r in found]
            return TriageResult(
                sentiment=mood,
                polarity={Sentiment.VERY_NEGATIVE: -0.8, Sentiment.NEGATIVE: -0.4}.get(mood, 0.0),
                category=category,
                base_priority=Priority.HIGH if "asap" in text else Priority.MEDIUM,
                label=f"queue-{category.value}",  # a team's own label, as a trained model predicts it
                handover_checked=self.detectors,
                handover_reason=MESSAGES[reasons[0]] if self.detectors and reasons else None,
                handover_reasons=reasons if self.detectors else [],
                unhappy=self.detectors and ("annoyed" in text or "angry" in found),
            )

        @activity.defn(name="conversation.run_agent_turn")
        async def run_agent_turn(req: TurnRequest) -> TurnOutcome:
            self.turns.append(req)
            if self.fail_turns:
                raise ApplicationError("model unavailable", type="ModelConfigError", non_retryable=True)
            return self.turn(req)

        @activity.defn(name="store.create_ticket")
        async def create_ticket(inp: CreateTicketInput) -> None:
            return None

        @activity.defn(name="store.record_triage")
        async def record_triage(inp: RecordTriageInput) -> None:
            self.triaged.append(inp)

        @activity.defn(name="store.record_message")
        async def record_message(inp: RecordMessageInput) -> bool:
            if self.store_gate is not None:
                await self.store_gate.wait()
            self.messages.append(inp)
            return True

        @activity.defn(name="store.record_status")
        async def record_status(inp: RecordStatusInput) -> None:
            self.events.append(f"status:{inp.status}")

        @activity.defn(name="store.sync_ticket")
        async def sync_ticket(inp: SyncTicketInput) -> None:
            self.snapshots.append(inp)
            if inp.event is not None:
                self.events.append(inp.event.kind)

        @activity.defn(name="notify.send")
        async def send(n: Notification) -> bool:
            self.notifications.append(n)
            return False

        @activity.defn(name="actions.execute_action")
        async def execute_action(inp: ExecuteActionInput) -> ActionResult:
            self.actions.append(inp)
            return self._action_result(inp.action, "executed", inp.approved_by)

        @activity.defn(name="actions.reject_action")
        async def reject_action(inp: RejectActionInput) -> ActionResult:
            self.rejections.append(inp)
            return self._action_result(inp.action, "rejected", inp.rejected_by)

        return [
            get_customer,
            triage_message,
            run_agent_turn,
            create_ticket,
            record_triage,
            record_message,
            record_status,
            sync_ticket,
            send,
            execute_action,
            reject_action,
        ]

    @staticmethod
    def _action_result(action: ActionRequest, status: Literal["executed", "rejected"], by: str) -> ActionResult:
        return ActionResult(
            request_id=action.request_id, status=status, kind=action.kind, amount_usd=action.amount_usd,
            decided_by=by, decided_at=datetime(2026, 1, 1, tzinfo=UTC), replayed=False,
        )  # fmt: skip

    def bodies(self) -> list[tuple[str, str]]:
        return [(m.sender.value, m.body) for m in self.messages]


def customer(plan: Plan = Plan.PRO, vip: bool = False) -> Customer:
    return Customer(customer_id="cus_1", email="p@example.com", name="Priya Raman", plan=plan, is_vip=vip)


def ticket_input(body: str, subject: str = "API trouble", *, product: str | None = None, **policy: Any) -> TicketInput:
    tid = f"tkt_{uuid.uuid4().hex[:16]}"
    return TicketInput(tid, "cus_1", Channel.CHAT, subject, body, policy=TicketPolicy(**policy), product=product)


HOURS = timedelta(hours=1)


async def current_details(handle: WorkflowHandle[Any, Any]) -> str:
    """What the Temporal UI shows as a running workflow's current details (the SDK's metadata query)."""
    meta: WorkflowMetadata = await handle.query("__temporal_workflow_metadata", result_type=WorkflowMetadata)
    return meta.current_details
