"""TicketWorkflow on the time-skipping server: every timer path, signals and queries.

The outside world is the stub world of tests/lifecycle_world.py (activities with the real names),
so these tests pin the workflow's own decisions. Days pass in milliseconds.
"""

from __future__ import annotations

import asyncio
from datetime import time, timedelta

from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from domain.lifecycle import CsatScore
from domain.models import Category, Plan, Priority, Sender, Status
from domain.sla import BusinessCalendar, OpeningHours
from tests.lifecycle_world import World, customer, ticket_input
from workflows.ticket import CustomerMessage, TicketInput, TicketResult, TicketState, TicketWorkflow

Handle = WorkflowHandle[TicketWorkflow, TicketResult]


async def _start(env: WorkflowEnvironment, tq: str, inp: TicketInput) -> Handle:
    return await env.client.start_workflow(TicketWorkflow.run, inp, id=f"ticket-{inp.ticket_id}", task_queue=tq)


async def _state(h: Handle) -> TicketState:
    return await h.query(TicketWorkflow.state)


def _worker(env: WorkflowEnvironment, tq: str, world: World) -> Worker:
    return Worker(env.client, task_queue=tq, workflows=[TicketWorkflow], activities=world.activities())


async def test_silence_brings_a_reminder_then_resolution_then_close(
    time_env: WorkflowEnvironment, task_queue: str
) -> None:
    world = World(customer())
    async with _worker(time_env, task_queue, world):
        h = await _start(time_env, task_queue, ticket_input("Getting 429s, please help ASAP"))
        result = await h.result()  # 24 h reminder, 72 h auto-resolve, 72 h CSAT survey: all skipped
        state = await _state(h)
    assert result.status == Status.CLOSED
    senders = [m.sender for m in world.messages]
    assert senders == [Sender.CUSTOMER, Sender.AGENT, Sender.SYSTEM, Sender.SYSTEM]
    assert "checking in" in world.messages[2].body and "Rate us" in world.messages[3].body
    assert "close this ticket in 2 days" in world.messages[2].body  # 72 h to auto-resolve, reminded at 24 h
    silence = world.messages[3].created_at - world.messages[1].created_at
    assert timedelta(hours=72) <= silence < timedelta(hours=72, seconds=5)
    assert [e for e in world.events if e in ("reminder_sent", "resolved", "closed")] == [
        "reminder_sent", "resolved", "closed"]  # fmt: skip
    assert state.csat_score is None and state.resolved_at is not None
    # high (asap) for a non-VIP pro customer: 1 h first response, 4 h resolution
    assert world.triaged[0].priority == "high"
    assert state.clocks["resolution"].target == timedelta(hours=4)
    assert state.clocks["first_response"].met_at is not None and not state.sla_breached


async def test_vip_customer_gets_one_level_higher(time_env: WorkflowEnvironment, task_queue: str) -> None:
    world = World(customer(vip=True))
    async with _worker(time_env, task_queue, world):
        h = await _start(time_env, task_queue, ticket_input("Getting 429s, please help ASAP"))
        await time_env.sleep(timedelta(minutes=1))
        state = await _state(h)
        await h.terminate("done")
    assert state.priority == Priority.CRITICAL
    assert state.clocks["resolution"].target == timedelta(hours=1)
    assert state.clocks["first_response"].target == timedelta(minutes=15)


async def test_follow_up_is_answered_and_duplicates_count_once(time_env: WorkflowEnvironment, task_queue: str) -> None:
    world = World(customer())
    async with _worker(time_env, task_queue, world):
        h = await _start(time_env, task_queue, ticket_input("My webhook fails"))
        msg = CustomerMessage("m-1", "Still failing after the change, what next?")
        await h.signal(TicketWorkflow.add_customer_message, msg)
        await h.signal(TicketWorkflow.add_customer_message, msg)  # a client retry
        await time_env.sleep(timedelta(hours=1))
        state = await _state(h)
        await h.terminate("done")
    assert world.bodies()[:4] == [
        ("customer", "My webhook fails"),
        ("agent", "Answer #1"),
        ("customer", "Still failing after the change, what next?"),
        ("agent", "Answer #2"),
    ]
    assert [e.body for e in world.turns[1].transcript] == [b for _, b in world.bodies()[:3]]
    assert [m.seq for m in world.messages][:4] == [1, 2, 3, 4]
    assert state.status == Status.WAITING_CUSTOMER


async def test_the_resolution_clock_pauses_while_the_customer_is_silent(
    time_env: WorkflowEnvironment, task_queue: str
) -> None:
    world = World(customer())
    async with _worker(time_env, task_queue, world):
        h = await _start(time_env, task_queue, ticket_input("My webhook fails"))
        await time_env.sleep(timedelta(hours=20))  # 20 h of silence: more than a medium ticket's 24 h? no, but
        state = await _state(h)
        assert state.clocks["resolution"].running_since is None  # paused since our reply
        consumed = state.clocks["resolution"].consumed
        assert consumed < timedelta(minutes=1)
        await h.signal(TicketWorkflow.add_customer_message, CustomerMessage("m", "Tried it, no luck"))
        await time_env.sleep(timedelta(minutes=5))
        state = await _state(h)
        await h.terminate("done")
    assert not state.sla_breached and not [n for n in world.notifications if n.kind.startswith("sla_")]


async def test_a_later_message_that_sounds_more_urgent_raises_the_priority_and_never_lowers_it(
    time_env: WorkflowEnvironment, task_queue: str
) -> None:
    """The ticket opened at medium; "asap" (high in this world's triage) a minute later tightens its clocks."""
    world = World(customer())
    async with _worker(time_env, task_queue, world):
        h = await _start(time_env, task_queue, ticket_input("Webhook fails"))
        await time_env.sleep(timedelta(minutes=1))
        opened = await _state(h)
        await h.signal(TicketWorkflow.add_customer_message, CustomerMessage("m2", "It is blocking us, fix it asap"))
        await time_env.sleep(timedelta(minutes=1))
        raised = await _state(h)
        await h.signal(TicketWorkflow.add_customer_message, CustomerMessage("m3", "ok, thanks"))
        await time_env.sleep(timedelta(minutes=1))
        calm = await _state(h)
        await h.terminate("done")
    assert opened.priority == Priority.MEDIUM and raised.priority == Priority.HIGH
    assert raised.clocks["resolution"].target < opened.clocks["resolution"].target
    assert world.events.count("priority_changed") == 1
    assert calm.priority == Priority.HIGH, "a calmer message never lowers it"


async def test_a_customer_who_plainly_asks_for_a_person_gets_one(
    time_env: WorkflowEnvironment, task_queue: str
) -> None:
    world = World(customer())
    async with _worker(time_env, task_queue, world):
        h = await _start(time_env, task_queue, ticket_input("Webhook fails"))
        await time_env.sleep(timedelta(minutes=5))
        await h.signal(TicketWorkflow.add_customer_message, CustomerMessage("m2", "I need a human please"))
        await time_env.sleep(timedelta(minutes=5))
        state = await _state(h)
        await h.terminate("done")
    assert state.status == Status.ESCALATED and state.owner == "human"
    assert state.escalation_reason == "customer asked for a human"
    assert world.turns[-1].handoff_reason == "customer asked for a human"


async def test_an_outage_report_goes_to_a_person(time_env: WorkflowEnvironment, task_queue: str) -> None:
    world = World(customer())
    async with _worker(time_env, task_queue, world):
        h = await _start(time_env, task_queue, ticket_input("The dashboard is down for all of us since 9am"))
        await time_env.sleep(timedelta(minutes=5))
        state = await _state(h)
        await h.terminate("done")
    assert state.status == Status.ESCALATED and state.owner == "human"
    assert state.escalation_reason == "outage or data loss reported"
    assert world.turns[0].handoff_reason == "outage or data loss reported"


async def test_angry_customer_goes_to_a_human_and_is_not_auto_closed(
    time_env: WorkflowEnvironment, task_queue: str
) -> None:
    world = World(customer())
    async with _worker(time_env, task_queue, world):
        h = await _start(time_env, task_queue, ticket_input("This is RIDICULOUS, nobody helps"))
        await time_env.sleep(timedelta(minutes=5))
        state = await _state(h)
        assert state.status == Status.ESCALATED and state.owner == "human"
        assert state.escalation_reason == "very negative sentiment"
        assert world.turns[0].handoff_reason == "very negative sentiment"
        assert [n.kind for n in world.notifications] == ["escalated"]
        # the customer keeps writing: recorded, the human queue is told, no agent answers over the human's head
        await h.signal(TicketWorkflow.add_customer_message, CustomerMessage("m-2", "Hello??"))
        await time_env.sleep(timedelta(minutes=1))
        state = await _state(h)
        assert state.transcript[-1].body == "Hello??" and len(world.turns) == 1
        await time_env.sleep(timedelta(days=10))
        state = await _state(h)
        await h.terminate("done")
    assert state.status == Status.ESCALATED  # waiting for a human, however long


async def test_a_ticket_mid_step_says_it_is_busy_until_its_writes_land(
    time_env: WorkflowEnvironment, task_queue: str
) -> None:
    # Escalated, then the customer writes again: the follow-up enters the transcript before its store
    # write lands, and the status is already "escalated", so the state alone looks settled. A checker
    # (or a UI) that trusted it would compare the store too early; `busy` says the step is not done.
    gate = asyncio.Event()
    gate.set()
    world = World(customer(), store_gate=gate)
    async with _worker(time_env, task_queue, world):
        h = await _start(time_env, task_queue, ticket_input("This is RIDICULOUS, nobody helps"))
        await time_env.sleep(timedelta(minutes=5))
        assert (await _state(h)).status == Status.ESCALATED and not await h.query(TicketWorkflow.busy)
        gate.clear()  # the database is slow from here on
        await h.signal(TicketWorkflow.add_customer_message, CustomerMessage("m-2", "Hello??"))
        for _ in range(200):
            state = await _state(h)
            if state.transcript[-1].body == "Hello??":
                break
            await asyncio.sleep(0.05)
        assert state.transcript[-1].body == "Hello??" and not state.inbox and state.status == Status.ESCALATED
        assert await h.query(TicketWorkflow.busy)
        assert world.bodies()[-1] != ("customer", "Hello??")  # not stored yet
        gate.set()
        for _ in range(200):
            if not await h.query(TicketWorkflow.busy):
                break
            await asyncio.sleep(0.05)
        assert not await h.query(TicketWorkflow.busy)
        assert world.bodies()[-1] == ("customer", "Hello??")
        await h.terminate("done")


async def test_a_burst_of_customer_lines_gets_one_answer(time_env: WorkflowEnvironment, task_queue: str) -> None:
    # Chat customers type in bursts. Lines that arrive while the ticket is busy are all recorded, then
    # answered by one agent turn that sees them all: not one reply each, which used up MAX_AGENT_TURNS.
    gate = asyncio.Event()
    gate.set()
    world = World(customer(), store_gate=gate)
    async with _worker(time_env, task_queue, world):
        h = await _start(time_env, task_queue, ticket_input("My webhook fails"))
        await time_env.sleep(timedelta(minutes=1))
        assert len(world.turns) == 1
        gate.clear()  # the first line's write is slow: the others queue behind it
        lines = ["hello?", "it fails since monday", "can I talk to a human?", "with a 500", "on every event"]
        for i, line in enumerate(lines):
            await h.signal(TicketWorkflow.add_customer_message, CustomerMessage(f"m{i}", line))
        gate.set()
        for _ in range(200):
            if not await h.query(TicketWorkflow.busy):
                break
            await asyncio.sleep(0.05)
        state = await _state(h)
        await h.terminate("done")
    assert [b for s, b in world.bodies() if s == "customer"][-5:] == lines
    assert len(world.turns) == 2 and [e.body for e in world.turns[-1].transcript][-5:] == lines
    assert world.turns[-1].handoff_reason is not None  # "a human" was asked for mid-burst, not lost
    assert state.held_handoff is None


async def test_unanswered_escalation_warns_then_breaches_and_raises_priority(
    time_env: WorkflowEnvironment, task_queue: str
) -> None:
    world = World(customer())
    async with _worker(time_env, task_queue, world):
        h = await _start(time_env, task_queue, ticket_input("Can I talk to a human please? My invoice is wrong"))
        await time_env.sleep(timedelta(minutes=1))
        state = await _state(h)
        assert state.priority == Priority.MEDIUM  # 4 h first response, 24 h resolution
        # the agents' "a colleague will take over" is on the transcript but answers nothing: the
        # customer is still owed a first response, by a person
        assert [s for s, _ in world.bodies()] == ["customer", "agent"]
        assert state.first_response_at is None and state.clocks["first_response"].running_since is not None
        assert not world.messages[1].counts_as_response
        await h.signal(TicketWorkflow.add_customer_message, CustomerMessage("m-2", "Anyone there?"))
        # nobody answers: warning at 3 h, breach at 4 h after the ticket opened
        await time_env.sleep(timedelta(hours=3, minutes=5))
        assert [n.kind for n in world.notifications][-1] == "sla_warning"
        await time_env.sleep(timedelta(hours=1))
        state = await _state(h)
        await h.terminate("done")
    kinds = [n.kind for n in world.notifications]
    assert kinds[:3] == ["escalated", "customer_replied", "sla_warning"] and "sla_breach" in kinds
    assert state.sla_breached and state.clocks["first_response"].breached and state.first_response_at is None
    assert state.priority == Priority.HIGH  # raised one level on breach
    # re-armed for the new priority (4 h), but with a quarter of it still ahead: no instant second breach
    resolution = state.clocks["resolution"]
    assert not resolution.breached and timedelta(hours=5) <= resolution.target < timedelta(hours=5, minutes=5)
    assert state.category == Category.BILLING


async def test_a_breach_at_critical_does_not_push_the_other_deadlines_back(
    time_env: WorkflowEnvironment, task_queue: str
) -> None:
    """A critical ticket's breach raises nothing, yet re-targeted every clock with the raise's grace: its
    first-response breach moved the next reply the person holding it owed 3 minutes later."""
    world = World(customer(vip=True))
    async with _worker(time_env, task_queue, world):
        h = await _start(time_env, task_queue, ticket_input("Can I talk to a human? Exports are down, ASAP"))
        await time_env.sleep(timedelta(minutes=1))
        state = await _state(h)
        assert state.priority == Priority.CRITICAL and state.status == Status.ESCALATED  # 15 min first response
        await h.signal(TicketWorkflow.add_customer_message, CustomerMessage("m-2", "Anyone there?"))
        await time_env.sleep(timedelta(seconds=5))
        owed = (await _state(h)).clocks["next_reply"].due(None)
        await time_env.sleep(timedelta(minutes=14, seconds=30))  # the first response breaches
        state = await _state(h)
        await h.terminate("done")
    assert state.clocks["first_response"].breached and not state.clocks["next_reply"].breached
    assert state.priority == Priority.CRITICAL
    assert owed is not None and state.clocks["next_reply"].due(None) == owed
    assert state.clocks["next_reply"].target == timedelta(minutes=15)


async def test_first_response_breach_when_the_model_is_down(time_env: WorkflowEnvironment, task_queue: str) -> None:
    world = World(customer(), fail_turns=True)
    async with _worker(time_env, task_queue, world):
        h = await _start(time_env, task_queue, ticket_input("Dashboard shows nothing, fix it asap"))
        await time_env.sleep(timedelta(hours=2))
        state = await _state(h)
        await h.terminate("done")
    assert state.escalation_reason == "the AI agents are unavailable" and state.status == Status.ESCALATED
    assert state.clocks["first_response"].breached and state.first_response_at is None
    assert "sla_breach" in [n.kind for n in world.notifications]
    assert state.priority == Priority.CRITICAL  # high → critical on breach


async def test_unanswered_approval_moves_up_the_chain_then_is_declined(
    time_env: WorkflowEnvironment, task_queue: str
) -> None:
    world = World(customer())
    async with _worker(time_env, task_queue, world):
        h = await _start(time_env, task_queue, ticket_input("Please refund the duplicate invoice of $250"))
        await time_env.sleep(timedelta(minutes=1))
        state = await _state(h)
        assert state.pending_approval is not None and state.pending_approval.level == 0
        assert state.status == Status.ESCALATED and state.escalation_reason == "approval needed: refund of $250.00"
        await time_env.sleep(timedelta(hours=4))
        state = await _state(h)
        assert state.pending_approval is not None and state.pending_approval.level == 1
        await time_env.sleep(timedelta(hours=4))
        state = await _state(h)
        declined = world.messages[-1].body
        # "a person will look at it again": the customer's answer goes to the human queue, not to an agent
        turns = len(world.turns)
        await h.signal(TicketWorkflow.add_customer_message, CustomerMessage("m2", "Please look at my refund again"))
        await time_env.sleep(timedelta(minutes=1))
        after = await _state(h)
        await h.terminate("done")
    approvers = [n.data.get("approver") for n in world.notifications if n.kind == "approval_requested"]
    assert approvers == ["team-lead", "support-manager"]
    assert state.pending_approval is None and state.status == Status.WAITING_CUSTOMER and state.owner == "human"
    assert "declined" in declined and "a person will look" in declined and world.actions == []
    assert after.status == Status.ESCALATED and after.escalated and len(world.turns) == turns
    assert world.notifications[-1].message == "the customer replied on a ticket waiting for a person"
    assert [r.rejected_by for r in world.rejections] == ["system"]  # the ledger knows it was declined
    assert "approval_expired" in world.events


async def test_an_approval_that_expires_leaves_what_the_customer_wrote_meanwhile_in_the_queue(
    time_env: WorkflowEnvironment, task_queue: str
) -> None:
    """The expiry used to set the ticket waiting on the customer, off the queue, with their message unanswered."""
    world = World(customer())
    async with _worker(time_env, task_queue, world):
        h = await _start(time_env, task_queue, ticket_input("Please refund the duplicate invoice of $250"))
        await time_env.sleep(timedelta(minutes=1))
        await h.signal(TicketWorkflow.add_customer_message, CustomerMessage("m2", "Any news on my refund?"))
        await time_env.sleep(timedelta(hours=9))  # both approvers let it expire
        state = await _state(h)
        await h.terminate("done")
    assert state.pending_approval is None and "declined" in state.transcript[-1].body
    assert state.status == Status.ESCALATED and state.escalated and state.owner == "human"
    assert [m for m in world.messages if m.sender == Sender.SYSTEM][-1].counts_as_response is False
    assert "next_reply" in state.clocks and state.clocks["next_reply"].running


async def test_csat_answer_closes_the_ticket(time_env: WorkflowEnvironment, task_queue: str) -> None:
    world = World(customer())
    async with _worker(time_env, task_queue, world):
        h = await _start(time_env, task_queue, ticket_input("Webhook fails"))
        await h.signal(TicketWorkflow.add_customer_message, CustomerMessage("m", "Yes that fixed it, thanks"))
        await time_env.sleep(timedelta(minutes=5))
        assert (await _state(h)).status == Status.RESOLVED
        await h.signal(TicketWorkflow.submit_csat, CsatScore(score=5, comment="quick!"))
        result = await h.result()
        state = await _state(h)
    assert result.status == Status.CLOSED and state.csat_score == 5 and state.csat_comment == "quick!"
    assert world.events[-1] == "closed"


async def test_a_reply_during_the_survey_reopens_the_ticket(time_env: WorkflowEnvironment, task_queue: str) -> None:
    world = World(customer())
    async with _worker(time_env, task_queue, world):
        h = await _start(time_env, task_queue, ticket_input("Webhook fails"))
        await h.signal(TicketWorkflow.add_customer_message, CustomerMessage("m1", "that fixed it"))
        await time_env.sleep(timedelta(hours=1))
        await h.signal(TicketWorkflow.add_customer_message, CustomerMessage("m2", "Oh no, it broke again"))
        await time_env.sleep(timedelta(minutes=5))
        state = await _state(h)
        await h.terminate("done")
    assert "reopened" in world.events
    assert state.status == Status.WAITING_CUSTOMER and state.resolved_at is None
    assert world.bodies()[-1] == ("agent", "Answer #3")


async def test_agents_that_do_not_converge_hand_over(time_env: WorkflowEnvironment, task_queue: str) -> None:
    world = World(customer())
    async with _worker(time_env, task_queue, world):
        h = await _start(time_env, task_queue, ticket_input("Webhook fails", max_agent_turns=2))
        for i in range(2):
            await h.signal(TicketWorkflow.add_customer_message, CustomerMessage(f"m{i}", f"still broken {i}"))
            await time_env.sleep(timedelta(minutes=5))
        state = await _state(h)
        await h.terminate("done")
    assert world.turns[-1].handoff_reason == "agents have not converged after 2 replies"
    assert state.status == Status.ESCALATED


async def test_worsening_sentiment_hands_over(time_env: WorkflowEnvironment, task_queue: str) -> None:
    world = World(customer(plan=Plan.FREE))
    async with _worker(time_env, task_queue, world):
        h = await _start(time_env, task_queue, ticket_input("Webhook fails"))
        await h.signal(TicketWorkflow.add_customer_message, CustomerMessage("m1", "I'm annoyed now"))
        await time_env.sleep(timedelta(minutes=5))
        state = await _state(h)
        await h.terminate("done")
    # neutral → negative is only two steps; with three (neutral, neutral, negative) it is not "steadily worse"
    assert state.status == Status.WAITING_CUSTOMER
    assert world.turns[-1].handoff_reason is None


async def test_business_hours_move_the_breach_to_when_the_office_is_open(
    time_env: WorkflowEnvironment, task_queue: str
) -> None:
    office = BusinessCalendar(hours={d: OpeningHours(start=time(9), end=time(17)) for d in range(5)})
    world = World(customer(), fail_turns=True)  # no reply ever goes out: the first-response clock runs on
    async with _worker(time_env, task_queue, world):
        h = await _start(time_env, task_queue, ticket_input("Dashboard empty, asap", calendar=office))
        await time_env.sleep(timedelta(seconds=5))
        state = await _state(h)
        clock = state.clocks["first_response"]
        assert clock.running_since is not None
        due = office.add(clock.running_since, clock.target)  # 1 h of office time, wherever it falls
        assert clock.due(office) == due
        await time_env.sleep(due - state.opened_at - timedelta(minutes=2))
        assert not (await _state(h)).clocks["first_response"].breached
        await time_env.sleep(timedelta(minutes=4))
        state = await _state(h)
        await h.terminate("done")
    assert state.clocks["first_response"].breached


async def test_the_triages_hand_over_detectors_decide_since_v11(time_env: WorkflowEnvironment, task_queue: str) -> None:
    """An unhappy VIP goes to a person, an unhappy regular customer and a calm VIP stay with the agents,
    and a data loss no older rule knew is handed over with the detector's reason."""
    vip, regular = World(customer(vip=True), detectors=True), World(customer(), detectors=True)
    cases = [
        (vip, "I'm annoyed, the export still fails", "VIP or enterprise customer unhappy"),
        (vip, "How do I export to CSV?", None),
        (regular, "I'm annoyed, the export still fails", None),
        (regular, "Our saved reports are gone since the update", "data loss reported"),
    ]
    for world, body, reason in cases:
        async with _worker(time_env, task_queue, world):
            h = await _start(time_env, task_queue, ticket_input(body))
            await time_env.sleep(timedelta(minutes=5))
            state = await _state(h)
            await h.terminate("done")
        assert state.escalation_reason == reason, body
        assert (state.status == Status.ESCALATED) == (reason is not None), body
