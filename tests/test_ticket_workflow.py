"""TicketWorkflow on the time-skipping server, its outside world replaced by stubs with the real names.

These tests pin the workflow's own decisions: triage → priority with the VIP boost → SLA deadlines,
one agent reply per customer message, escalation rules, auto-resolve after days of silence,
duplicate follow-ups counted once.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from temporalio import activity
from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.crm import GetCustomerInput
from activities.store import CreateTicketInput, RecordMessageInput, RecordStatusInput, RecordTriageInput
from activities.triage import TriageInput
from domain.models import Category, Channel, Customer, Plan, Priority, Sender, Sentiment, Status, TriageResult
from domain.turns import TurnOutcome, TurnRequest
from workflows.ticket import CustomerMessage, TicketInput, TicketResult, TicketState, TicketWorkflow


@dataclass
class World:
    """Stub activities that remember what the workflow asked of them."""

    customer: Customer
    messages: list[RecordMessageInput] = field(default_factory=list)
    statuses: list[str] = field(default_factory=list)
    turns: list[TurnRequest] = field(default_factory=list)
    triaged: list[RecordTriageInput] = field(default_factory=list)

    def activities(self) -> list[Callable[..., Any]]:
        @activity.defn(name="crm.get_customer")
        async def get_customer(inp: GetCustomerInput) -> Customer:
            return self.customer

        @activity.defn(name="triage.triage_message")
        async def triage_message(inp: TriageInput) -> TriageResult:
            text = inp.text.lower()
            angry = "ridiculous" in text
            return TriageResult(
                sentiment=Sentiment.VERY_NEGATIVE if angry else Sentiment.NEUTRAL,
                polarity=-0.8 if angry else 0.0,
                category=Category.BILLING if "invoice" in text else Category.TECHNICAL,
                base_priority=Priority.HIGH if "asap" in text else Priority.MEDIUM,
            )

        @activity.defn(name="conversation.run_agent_turn")
        async def run_agent_turn(req: TurnRequest) -> TurnOutcome:
            self.turns.append(req)
            if req.handoff_reason:
                return TurnOutcome(
                    agent="EscalationManager",
                    reply="A specialist will take over.",
                    decision="escalate",
                    escalation_reason=req.handoff_reason,
                )
            return TurnOutcome(
                agent="TechnicalAgent",
                reply=f"Answer #{len(self.turns)}",
                prompt_tokens=10,
                completion_tokens=5,
            )

        @activity.defn(name="store.create_ticket")
        async def create_ticket(inp: CreateTicketInput) -> None:
            return None

        @activity.defn(name="store.record_triage")
        async def record_triage(inp: RecordTriageInput) -> None:
            self.triaged.append(inp)

        @activity.defn(name="store.record_message")
        async def record_message(inp: RecordMessageInput) -> bool:
            self.messages.append(inp)
            return True

        @activity.defn(name="store.record_status")
        async def record_status(inp: RecordStatusInput) -> None:
            self.statuses.append(inp.status)

        return [
            get_customer,
            triage_message,
            run_agent_turn,
            create_ticket,
            record_triage,
            record_message,
            record_status,
        ]


def _customer(plan: Plan = Plan.PRO, vip: bool = False) -> Customer:
    return Customer(customer_id="cus_1", email="p@example.com", name="Priya Raman", plan=plan, is_vip=vip)


def _input(body: str, subject: str = "API trouble", hours: float = 72) -> TicketInput:
    tid = f"tkt_{uuid.uuid4().hex[:16]}"
    return TicketInput(tid, "cus_1", Channel.CHAT, subject, body, auto_resolve_after=timedelta(hours=hours))


async def _start(env: WorkflowEnvironment, tq: str, inp: TicketInput) -> WorkflowHandle[TicketWorkflow, TicketResult]:
    return await env.client.start_workflow(TicketWorkflow.run, inp, id=f"ticket-{inp.ticket_id}", task_queue=tq)


async def _state(h: WorkflowHandle[TicketWorkflow, TicketResult]) -> TicketState:
    return await h.query(TicketWorkflow.state)


async def test_first_reply_then_waits_then_auto_resolves(time_env: WorkflowEnvironment, task_queue: str) -> None:
    world = World(_customer())
    async with Worker(
        time_env.client, task_queue=task_queue, workflows=[TicketWorkflow], activities=world.activities()
    ):
        h = await _start(time_env, task_queue, _input("Getting 429s, please help ASAP"))
        result = await h.result()  # time-skipping jumps over the 72 h of silence
    assert result.status == Status.CLOSED
    assert [m.sender for m in world.messages] == [Sender.CUSTOMER, Sender.AGENT]
    assert world.messages[1].counts_as_response and world.messages[1].body == "Answer #1"
    assert world.statuses == ["in_progress", "waiting_customer", "resolved", "closed"]
    # high (asap) stays high for a non-VIP pro customer: 4 h resolution target
    triage = world.triaged[0]
    assert triage.priority == "high"
    # targets count from the ticket's opening: 1 h first response, 4 h resolution for high
    assert triage.resolution_due - triage.first_response_due == timedelta(hours=3)
    assert abs(triage.resolution_due - world.messages[0].created_at - timedelta(hours=4)) < timedelta(seconds=5)


async def test_vip_customer_gets_one_level_higher(time_env: WorkflowEnvironment, task_queue: str) -> None:
    world = World(_customer(vip=True))
    async with Worker(
        time_env.client, task_queue=task_queue, workflows=[TicketWorkflow], activities=world.activities()
    ):
        h = await _start(time_env, task_queue, _input("Getting 429s, please help ASAP", hours=1))
        await h.result()
    assert world.triaged[0].priority == "critical"
    assert world.triaged[0].resolution_due - world.triaged[0].first_response_due == timedelta(minutes=45)


async def test_follow_up_is_answered_and_duplicates_count_once(time_env: WorkflowEnvironment, task_queue: str) -> None:
    world = World(_customer())
    async with Worker(
        time_env.client, task_queue=task_queue, workflows=[TicketWorkflow], activities=world.activities()
    ):
        h = await _start(time_env, task_queue, _input("My webhook fails"))
        msg = CustomerMessage("m-1", "Still failing after the change, what next?")
        await h.signal(TicketWorkflow.add_customer_message, msg)
        await h.signal(TicketWorkflow.add_customer_message, msg)  # a client retry
        await h.result()
    bodies = [(m.sender, m.body) for m in world.messages]
    assert bodies == [
        (Sender.CUSTOMER, "My webhook fails"),
        (Sender.AGENT, "Answer #1"),
        (Sender.CUSTOMER, "Still failing after the change, what next?"),
        (Sender.AGENT, "Answer #2"),
    ]
    # the second turn saw the whole conversation so far
    assert [e.body for e in world.turns[1].transcript] == [b for _, b in bodies[:3]]
    assert [m.seq for m in world.messages] == [1, 2, 3, 4]


async def test_angry_customer_is_escalated_and_not_auto_closed(time_env: WorkflowEnvironment, task_queue: str) -> None:
    world = World(_customer())
    async with Worker(
        time_env.client, task_queue=task_queue, workflows=[TicketWorkflow], activities=world.activities()
    ):
        h = await _start(time_env, task_queue, _input("This is RIDICULOUS, nobody helps"))
        await time_env.sleep(timedelta(days=10))
        state = await _state(h)
        assert state.status == Status.ESCALATED and state.escalated
        assert state.escalation_reason == "very negative sentiment"
        assert world.turns[0].handoff_reason == "very negative sentiment"
        # the customer keeps writing: recorded, but no agent answers over the human's head
        await h.signal(TicketWorkflow.add_customer_message, CustomerMessage("m-2", "Hello??"))
        await time_env.sleep(timedelta(minutes=1))
        state = await _state(h)
        assert [e.body for e in state.transcript][-1] == "Hello??"
        assert len(world.turns) == 1
        await h.terminate("test over")


async def test_customer_asking_for_a_person_is_escalated(time_env: WorkflowEnvironment, task_queue: str) -> None:
    world = World(_customer())
    async with Worker(
        time_env.client, task_queue=task_queue, workflows=[TicketWorkflow], activities=world.activities()
    ):
        h = await _start(time_env, task_queue, _input("Can I talk to a human please? My invoice is wrong"))
        await time_env.sleep(timedelta(minutes=5))
        state = await _state(h)
        assert state.status == Status.ESCALATED
        assert state.escalation_reason == "customer asked for a human"
        assert state.category == Category.BILLING
        await h.terminate("test over")
