"""Human decisions through the `decide` Update, on the dev server (the time-skipping server does not
skip time while an Update is awaited). Each decision answers the caller, records who made it, and a
refused one never touches the ticket.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Literal

import pytest
from temporalio.client import Client, WorkflowHandle, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.worker import Worker

from domain.lifecycle import ActionDecision, ChangePriority, HandBack, HumanDecision, HumanReply, Reassign, Resolve
from domain.models import Priority, Sender, Status
from domain.turns import TurnOutcome
from tests.lifecycle_world import World, customer, ticket_input
from workflows.ticket import CustomerMessage, TicketInput, TicketResult, TicketState, TicketWorkflow

Handle = WorkflowHandle[TicketWorkflow, TicketResult]


@pytest.fixture
async def world(dev_client: Client, task_queue: str) -> AsyncIterator[World]:
    w = World(customer())
    async with Worker(dev_client, task_queue=task_queue, workflows=[TicketWorkflow], activities=w.activities()):
        yield w


async def _start(client: Client, tq: str, inp: TicketInput) -> Handle:
    h = await client.start_workflow(TicketWorkflow.run, inp, id=f"ticket-{inp.ticket_id}", task_queue=tq)
    await _until(h, lambda s: s.status not in (Status.NEW, Status.IN_PROGRESS))
    return h


async def _until(h: Handle, ok: object, within: float = 15) -> TicketState:
    deadline = asyncio.get_running_loop().time() + within
    while True:
        state = await h.query(TicketWorkflow.state)
        if ok(state):  # type: ignore[operator]
            return state
        assert asyncio.get_running_loop().time() < deadline, f"ticket stuck in {state.status}"
        await asyncio.sleep(0.1)


def _rid() -> str:
    return uuid.uuid4().hex


async def _refund_awaiting_approval(client: Client, tq: str) -> tuple[Handle, str]:
    """A ticket whose agent proposed a $250 refund, and that refund's action_request_id."""
    h = await _start(client, tq, ticket_input("Please refund the duplicate invoice of $250"))
    state = await h.query(TicketWorkflow.state)
    assert state.pending_approval is not None
    return h, state.pending_approval.action.request_id


def _event_data(world: World, kind: str) -> dict[str, object]:
    """The details of the first audit event of ``kind`` the ticket wrote."""
    return next(x.event.data for x in world.snapshots if x.event is not None and x.event.kind == kind)


async def _refused(h: Handle, decision: HumanDecision) -> str:
    with pytest.raises(WorkflowUpdateFailedError) as err:
        await h.execute_update(TicketWorkflow.decide, decision)
    cause = err.value.cause
    assert isinstance(cause, ApplicationError)
    return str(cause.type)


async def test_a_human_reply_goes_to_the_customer_once(world: World, dev_client: Client, task_queue: str) -> None:
    h = await _start(dev_client, task_queue, ticket_input("Can I talk to a human? The export is broken"))
    state = await h.query(TicketWorkflow.state)
    assert state.status == Status.ESCALATED and state.first_response_at is None  # the hand-over answered nothing
    reply = HumanReply(request_id=_rid(), agent_id="ana", body="Hi, Ana here: I've restarted your export.")
    first = await h.execute_update(TicketWorkflow.decide, reply)
    again = await h.execute_update(TicketWorkflow.decide, reply)  # the API retried
    assert first.accepted and first == again and first.status == "waiting_customer"
    human = [m for m in world.messages if m.sender == Sender.HUMAN]
    assert [m.body for m in human] == [reply.body] and human[0].author == "ana" and human[0].counts_as_response
    state = await h.query(TicketWorkflow.state)
    assert state.first_response_at == human[0].created_at and state.clocks["first_response"].met_at is not None
    assert state.owner == "human" and state.assigned_human == "ana" and not state.escalated
    # the customer answers: back to the human's queue, no agent turn
    await h.signal(TicketWorkflow.add_customer_message, CustomerMessage("m2", "Thanks, still empty though"))
    state = await _until(h, lambda s: s.status == Status.ESCALATED)
    assert len(world.turns) == 1 and state.escalated
    await h.terminate("done")


async def test_a_blank_or_nul_reply_sent_around_the_api_is_refused(
    world: World, dev_client: Client, task_queue: str
) -> None:
    h = await _start(dev_client, task_queue, ticket_input("Can I talk to a human? The export is broken"))
    for body in ("   ", "fixed\x00"):
        assert await _refused(h, HumanReply(request_id=_rid(), agent_id="ana", body=body)) == "InvalidDecisionError"
    assert [m for m in world.messages if m.sender == Sender.HUMAN] == []
    await h.terminate("done")


async def test_approving_a_refund_executes_it_once(world: World, dev_client: Client, task_queue: str) -> None:
    h = await _start(dev_client, task_queue, ticket_input("Please refund the duplicate invoice of $250"))
    state = await h.query(TicketWorkflow.state)
    assert state.pending_approval is not None
    request_id = state.pending_approval.action.request_id

    stale = ActionDecision(request_id=_rid(), agent_id="lead", kind="approve", action_request_id="nope")
    assert await _refused(h, stale) == "StaleRequestError"
    ok = ActionDecision(request_id=_rid(), agent_id="lead", kind="approve", action_request_id=request_id)
    result = await h.execute_update(TicketWorkflow.decide, ok)
    assert result.accepted and result.status == "waiting_customer"
    # a second approval of the same action, under a new request id, is stale: it was decided
    assert await _refused(h, ok.model_copy(update={"request_id": _rid()})) == "StaleRequestError"
    assert [(a.action.request_id, a.approved_by) for a in world.actions] == [(request_id, "lead")]
    assert "approved and processed" in world.messages[-1].body
    assert "action_approved" in world.events
    await h.terminate("done")


async def test_rejecting_a_refund_tells_the_customer_why(world: World, dev_client: Client, task_queue: str) -> None:
    h, action_id = await _refund_awaiting_approval(dev_client, task_queue)
    d = ActionDecision(
        request_id=_rid(), agent_id="lead", kind="reject", action_request_id=action_id,
        note="internal: flagged for chargeback review", message="The second charge was for a separate workspace.",
    )  # fmt: skip
    await h.execute_update(TicketWorkflow.decide, d)
    assert world.actions == [] and world.rejections[0].rejected_by == "lead"
    # the customer reads the message; the note stays in the ledger and the audit trail
    told = world.messages[-1].body
    assert told.endswith("The second charge was for a separate workspace.") and "chargeback" not in told
    assert world.rejections[0].note == "internal: flagged for chargeback review"
    assert _event_data(world, "action_rejected")["note"] == "internal: flagged for chargeback review"
    await h.terminate("done")


async def test_an_approval_note_is_kept_and_its_message_reaches_the_customer(
    world: World, dev_client: Client, task_queue: str
) -> None:
    h, action_id = await _refund_awaiting_approval(dev_client, task_queue)
    d = ActionDecision(
        request_id=_rid(), agent_id="lead", kind="approve", action_request_id=action_id,
        note="goodwill: second duplicate this year", message="It should reach your card within 5 business days.",
    )  # fmt: skip
    await h.execute_update(TicketWorkflow.decide, d)
    told = world.messages[-1].body
    assert "approved and processed" in told and told.endswith("within 5 business days.") and "goodwill" not in told
    assert _event_data(world, "action_approved")["note"] == "goodwill: second duplicate this year"
    await h.terminate("done")


@pytest.mark.parametrize("kind", ["approve", "reject"])
async def test_what_the_customer_wrote_while_a_refund_waited_is_answered_after_the_decision(
    world: World, dev_client: Client, task_queue: str, kind: Literal["approve", "reject"]
) -> None:
    """The customer's message sat in the human queue while the refund waited; deciding the refund took
    the ticket off the queue to wait on the customer, with that message never answered."""
    h, action_id = await _refund_awaiting_approval(dev_client, task_queue)
    question = "Also, how do I export my data before we leave?"
    await h.signal(TicketWorkflow.add_customer_message, CustomerMessage("m2", question))
    await _until(h, lambda s: s.transcript[-1].body == question and s.status == Status.ESCALATED)
    turns = len(world.turns)
    world.turn = lambda req: TurnOutcome(agent="TechnicalAgent", reply="Settings → Export gives you a CSV.")

    d = ActionDecision(request_id=_rid(), agent_id="lead", kind=kind, action_request_id=action_id)
    await h.execute_update(TicketWorkflow.decide, d)
    state = await _until(h, lambda s: s.transcript[-1].sender == Sender.AGENT and s.status == Status.WAITING_CUSTOMER)
    assert [(e.sender, e.body) for e in state.transcript][-3:-1] == [
        (Sender.CUSTOMER, question), (Sender.SYSTEM, world.messages[-2].body)]  # fmt: skip
    assert len(world.turns) == turns + 1 and world.turns[-1].transcript[-2].body == question
    # the refund's outcome is no answer to the question: the reply clock ran until the agents answered
    outcome = next(m for m in world.messages if m.sender == Sender.SYSTEM)
    assert not outcome.counts_as_response and world.messages[-1].counts_as_response
    assert state.pending_approval is None and not state.escalated
    await h.terminate("done")


async def test_a_pending_approval_keeps_the_ticket_with_a_person(
    world: World, dev_client: Client, task_queue: str
) -> None:
    h, _ = await _refund_awaiting_approval(dev_client, task_queue)
    # a reply ("looking into it") does not take the ticket out of the queue while the refund waits
    reply = HumanReply(request_id=_rid(), agent_id="ana", body="Looking into your refund now.")
    result = await h.execute_update(TicketWorkflow.decide, reply)
    state = await h.query(TicketWorkflow.state)
    assert result.status == "escalated" and state.escalated and state.assigned_human == "ana"
    assert state.pending_approval is not None
    # nor can it be resolved with the refund undecided: the customer was promised an answer
    assert await _refused(h, Resolve(request_id=_rid(), agent_id="ana")) == "InvalidDecisionError"
    assert (await h.query(TicketWorkflow.state)).status == Status.ESCALATED
    await h.terminate("done")


async def test_a_resolved_ticket_refuses_what_would_silently_undo_it(
    world: World, dev_client: Client, task_queue: str
) -> None:
    h = await _start(dev_client, task_queue, ticket_input("Can I talk to a human? Webhooks fail"))
    await h.execute_update(TicketWorkflow.decide, Resolve(request_id=_rid(), agent_id="ana", note="fixed on a call"))
    for d in (
        HumanReply(request_id=_rid(), agent_id="ben", body="One more thing"),
        HandBack(request_id=_rid(), agent_id="ben"),
        Reassign(request_id=_rid(), agent_id="ben", to="cy"),
        ChangePriority(request_id=_rid(), agent_id="ben", priority=Priority.HIGH),
    ):
        assert await _refused(h, d) == "TicketResolvedError", d.kind
    state = await h.query(TicketWorkflow.state)
    assert state.status == Status.RESOLVED and state.csat_requested_at is not None and not state.escalated
    # the customer reopens it: it goes back to the person who resolved it, not to the agents
    turns = len(world.turns)
    await h.signal(TicketWorkflow.add_customer_message, CustomerMessage("m2", "It is broken again"))
    state = await _until(h, lambda s: s.status == Status.ESCALATED)
    assert state.assigned_human == "ana" and state.escalated and len(world.turns) == turns
    for _ in range(100):  # the notification follows the status change
        if world.notifications[-1].kind == "customer_replied":
            break
        await asyncio.sleep(0.1)
    assert world.notifications[-1].message == "the customer replied on a ticket owned by ana"
    await h.terminate("done")


async def test_priority_change_re_arms_the_clocks(world: World, dev_client: Client, task_queue: str) -> None:
    h = await _start(dev_client, task_queue, ticket_input("Can I talk to a human about my invoice?"))
    before = await h.query(TicketWorkflow.state)
    assert before.priority == Priority.MEDIUM and before.clocks["resolution"].target == timedelta(hours=24)
    await h.execute_update(
        TicketWorkflow.decide, ChangePriority(request_id=_rid(), agent_id="ana", priority=Priority.CRITICAL)
    )
    after = await h.query(TicketWorkflow.state)
    assert after.priority == Priority.CRITICAL and after.clocks["resolution"].target == timedelta(hours=1)
    assert after.resolution_due is not None and before.resolution_due is not None
    assert after.resolution_due < before.resolution_due
    same = ChangePriority(request_id=_rid(), agent_id="ana", priority=Priority.CRITICAL)
    assert await _refused(h, same) == "StaleRequestError"
    await h.terminate("done")


async def test_reassign_hand_back_and_resolve(world: World, dev_client: Client, task_queue: str) -> None:
    h = await _start(dev_client, task_queue, ticket_input("Can I talk to a human? Webhooks fail"))
    await h.execute_update(TicketWorkflow.decide, Reassign(request_id=_rid(), agent_id="ana", to="ben"))
    assert (await h.query(TicketWorkflow.state)).assigned_human == "ben"
    assert await _refused(h, Reassign(request_id=_rid(), agent_id="ana", to="ben")) == "StaleRequestError"
    # the customer's last message is unanswered, so handing back makes the agents answer it
    await h.signal(TicketWorkflow.add_customer_message, CustomerMessage("m2", "Any news on the webhooks?"))
    await _until(h, lambda s: s.transcript[-1].body == "Any news on the webhooks?")
    await h.execute_update(TicketWorkflow.decide, HandBack(request_id=_rid(), agent_id="ben"))
    state = await _until(h, lambda s: s.status == Status.WAITING_CUSTOMER)
    assert state.owner == "agents" and state.assigned_human is None and world.messages[-1].sender == Sender.AGENT
    assert await _refused(h, HandBack(request_id=_rid(), agent_id="ben")) == "StaleRequestError"

    res = await h.execute_update(TicketWorkflow.decide, Resolve(request_id=_rid(), agent_id="ben", note="fixed"))
    assert res.status == "resolved" and "Rate us" in world.messages[-1].body
    assert await _refused(h, Resolve(request_id=_rid(), agent_id="ben")) == "StaleRequestError"
    await h.terminate("done")


async def test_of_two_agents_answering_the_same_message_the_second_is_refused(
    world: World, dev_client: Client, task_queue: str
) -> None:
    h = await _start(dev_client, task_queue, ticket_input("Can I talk to a human? The export is broken"))
    read = (await h.query(TicketWorkflow.state)).transcript[-1].seq  # what both agents have on screen

    def reply(agent: str) -> HumanReply:
        return HumanReply(request_id=_rid(), agent_id=agent, body=f"{agent} here, on it.", seen_seq=read)

    ana, ben = await asyncio.gather(
        h.execute_update(TicketWorkflow.decide, reply("ana")),
        h.execute_update(TicketWorkflow.decide, reply("ben")),
        return_exceptions=True,
    )
    outcomes = [o for o in (ana, ben) if not isinstance(o, BaseException)]
    refusals = [o for o in (ana, ben) if isinstance(o, WorkflowUpdateFailedError)]
    assert len(outcomes) == 1 and len(refusals) == 1, (ana, ben)
    cause = refusals[0].cause
    assert isinstance(cause, ApplicationError) and cause.type == "TicketChangedError"
    assert len([m for m in world.messages if m.sender == Sender.HUMAN]) == 1  # the customer got one reply

    # the customer writes while a third agent drafts: the draft is refused, naming who wrote
    await h.signal(TicketWorkflow.add_customer_message, CustomerMessage("m2", "Also, the CSV is empty"))
    state = await _until(h, lambda s: s.transcript[-1].body == "Also, the CSV is empty")
    stale = HumanReply(request_id=_rid(), agent_id="cai", body="Fixed!", seen_seq=state.transcript[-2].seq)
    assert await _refused(h, stale) == "TicketChangedError"
    fresh = HumanReply(request_id=_rid(), agent_id="cai", body="Looking at the CSV.", seen_seq=state.transcript[-1].seq)
    assert (await h.execute_update(TicketWorkflow.decide, fresh)).accepted
    await h.terminate("done")


async def test_two_agents_taking_over_at_once_do_not_both_get_the_ticket(
    world: World, dev_client: Client, task_queue: str
) -> None:
    h = await _start(dev_client, task_queue, ticket_input("Can I talk to a human? Webhooks fail"))

    def take(agent: str) -> Reassign:
        return Reassign(request_id=_rid(), agent_id=agent, to=agent, expect_assignee="")  # only if nobody holds it

    await h.execute_update(TicketWorkflow.decide, take("ana"))
    assert await _refused(h, take("ben")) == "TicketChangedError"
    state = await h.query(TicketWorkflow.state)
    assert state.assigned_human == "ana"
    # without the precondition a deliberate reassignment still works
    await h.execute_update(TicketWorkflow.decide, Reassign(request_id=_rid(), agent_id="lead", to="ben"))
    assert (await h.query(TicketWorkflow.state)).assigned_human == "ben"
    await h.terminate("done")


async def test_decisions_on_a_closed_ticket_are_refused(world: World, dev_client: Client, task_queue: str) -> None:
    inp = ticket_input("Webhook fails", auto_resolve_after=timedelta(seconds=1), csat_timeout=timedelta(seconds=1))
    h = await dev_client.start_workflow(TicketWorkflow.run, inp, id=f"ticket-{inp.ticket_id}", task_queue=task_queue)
    assert (await h.result()).status == Status.CLOSED
    with pytest.raises(Exception) as err:  # noqa: B017 - the server refuses: the workflow has completed
        await h.execute_update(TicketWorkflow.decide, HumanReply(request_id=_rid(), agent_id="a", body="hi"))
    assert "complete" in str(err.value).lower() or "not found" in str(err.value).lower()
