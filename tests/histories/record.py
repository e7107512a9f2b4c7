"""Record the histories that tests/test_replay.py replays: `python -m tests.histories.record v2`.

Run it once per released workflow version and commit the new files beside the old ones (never
overwrite the histories of a version that ran in production: they are what keeps old tickets
replayable). Each scenario drives TicketWorkflow on the time-skipping server with the stub world of
the workflow tests; decisions (Updates) are recorded on the dev server, which waits for them.
"""

from __future__ import annotations

import asyncio
import sys
import uuid
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from temporalio.client import Client, WorkflowHandle
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from domain.lifecycle import ActionDecision, CsatScore, HandBack, HumanReply, InternalNote, Recategorise, Resolve, Retag
from domain.models import Category, Status
from domain.turns import TurnOutcome
from tests.conftest import BIN, register_search_attributes
from tests.lifecycle_world import World, customer, default_turn, ticket_input
from workflows import search_attributes as sa
from workflows.ticket import CustomerMessage, TicketResult, TicketState, TicketWorkflow

HERE = Path(__file__).parent
PRODUCT = "Lumora Cloud"  # since v4 a ticket may carry a product; the recordings do
Handle = WorkflowHandle[TicketWorkflow, TicketResult]


async def _save(h: Handle, version: str, name: str) -> None:
    path = HERE / f"{version}_{name}.json"
    if path.exists():  # a version's histories are what keeps its tickets replayable: only add to them
        print(f"kept {path}")  # noqa: T201 - a developer script
        return
    path.write_text((await h.fetch_history()).to_json())
    print(f"wrote {path}")  # noqa: T201 - a developer script


def _detectors(version: str) -> bool:
    """Since v11 triage results carry the hand-over detectors' findings."""
    return int(version.lstrip("v")) >= 11


async def _timers(env: WorkflowEnvironment, version: str) -> None:
    tq, world = f"rec-{uuid.uuid4().hex[:6]}", World(customer(), detectors=_detectors(version))
    async with Worker(env.client, task_queue=tq, workflows=[TicketWorkflow], activities=world.activities()):

        async def start(body: str, **policy: object) -> Handle:
            inp = ticket_input(body, product=PRODUCT, **policy)  # type: ignore[arg-type]
            return await env.client.start_workflow(TicketWorkflow.run, inp, id=f"ticket-{inp.ticket_id}", task_queue=tq)

        h = await start("Getting 429s, please help ASAP")  # reminder, auto-resolve, CSAT timeout, close
        await h.result()
        await _save(h, version, "auto_resolved")

        h = await start("My webhook fails")  # follow-ups (one duplicate), resolved by the agent, CSAT answered
        for mid, body in (("m-1", "Still failing"), ("m-1", "Still failing"), ("m-2", "Yes that fixed it")):
            await h.signal(TicketWorkflow.add_customer_message, CustomerMessage(mid, body))
        await env.sleep(timedelta(minutes=5))
        await h.signal(TicketWorkflow.submit_csat, CsatScore(score=5))
        await h.result()
        await _save(h, version, "follow_ups_csat")

        h = await start("Can I talk to a human? My invoice is wrong")  # escalation, customer writes, SLA breach
        await env.sleep(timedelta(minutes=1))
        await h.signal(TicketWorkflow.add_customer_message, CustomerMessage("m-2", "Anyone there?"))
        await env.sleep(timedelta(hours=5))
        await h.terminate("recorded")
        await _save(h, version, "escalated_breach")

        h = await start("Please refund the duplicate invoice of $250")  # approval up the chain, then declined
        await env.sleep(timedelta(hours=9))
        await h.terminate("recorded")
        await _save(h, version, "approval_expired")

        h = await start("Please refund the duplicate invoice of $250")  # the customer writes while it waits
        await env.sleep(timedelta(minutes=1))
        await h.signal(TicketWorkflow.add_customer_message, CustomerMessage("m-2", "Any news on my refund?"))
        await env.sleep(timedelta(hours=9))
        await h.terminate("recorded")
        await _save(h, version, "approval_expired_customer_wrote")

        h = await start("My webhook fails")  # answered by the agents, then the customer plainly asks for a person
        await env.sleep(timedelta(minutes=1))
        await h.signal(TicketWorkflow.add_customer_message, CustomerMessage("m-2", "I need a human please"))
        await env.sleep(timedelta(minutes=5))
        await h.terminate("recorded")
        await _save(h, version, "plain_human_request")

        h = await start("The dashboard is down for all of us since 9am")  # an outage goes to a person (since v9)
        await env.sleep(timedelta(minutes=5))
        await h.terminate("recorded")
        await _save(h, version, "outage")

        h = await start("My webhook fails")  # a later "asap" raises the priority (since v10)
        await env.sleep(timedelta(minutes=1))
        await h.signal(TicketWorkflow.add_customer_message, CustomerMessage("m-2", "It blocks us, fix it asap"))
        await env.sleep(timedelta(minutes=5))
        await h.terminate("recorded")
        await _save(h, version, "priority_raised")

        if _detectors(version):
            h = await start("Our saved reports are gone since the update")  # data loss, by the detectors
            await env.sleep(timedelta(minutes=5))
            await h.terminate("recorded")
            await _save(h, version, "data_loss")

            h = await start("My webhook fails")  # a later message: the detectors hand it over
            await env.sleep(timedelta(minutes=1))
            await h.signal(TicketWorkflow.add_customer_message, CustomerMessage("m-2", "Our API key leaked on github"))
            await env.sleep(timedelta(minutes=5))
            await h.terminate("recorded")
            await _save(h, version, "security_follow_up")

    tq, world = f"rec-{uuid.uuid4().hex[:6]}", World(customer(vip=True), detectors=_detectors(version))
    async with Worker(env.client, task_queue=tq, workflows=[TicketWorkflow], activities=world.activities()):

        async def start_vip(body: str) -> Handle:
            inp = ticket_input(body, product=PRODUCT)
            return await env.client.start_workflow(TicketWorkflow.run, inp, id=f"ticket-{inp.ticket_id}", task_queue=tq)

        # critical: the first response breaches while a next reply is owed (it keeps its deadline since v8)
        inp = ticket_input("Can I talk to a human? Exports are down, ASAP", product=PRODUCT)
        h = await env.client.start_workflow(TicketWorkflow.run, inp, id=f"ticket-{inp.ticket_id}", task_queue=tq)
        await env.sleep(timedelta(minutes=1))
        await h.signal(TicketWorkflow.add_customer_message, CustomerMessage("m-2", "Anyone there?"))
        await env.sleep(timedelta(minutes=20))
        await h.terminate("recorded")
        await _save(h, version, "critical_breach")

        if _detectors(version):
            h = await start_vip("I'm annoyed, the export still fails")  # an unhappy VIP goes to a person
            await env.sleep(timedelta(minutes=5))
            await h.terminate("recorded")
            await _save(h, version, "vip_unhappy")

            h = await start_vip("How do I export to CSV?")  # a calm VIP question stays with the agents
            await env.sleep(timedelta(minutes=5))
            await h.terminate("recorded")
            await _save(h, version, "vip_calm")


async def _decisions(client: Client, version: str) -> None:
    tq, world = f"rec-{uuid.uuid4().hex[:6]}", World(customer(), detectors=_detectors(version))
    async with Worker(client, task_queue=tq, workflows=[TicketWorkflow], activities=world.activities()):
        inp = ticket_input("Please refund the duplicate invoice of $250", product=PRODUCT)
        h = await client.start_workflow(TicketWorkflow.run, inp, id=f"ticket-{inp.ticket_id}", task_queue=tq)
        for _ in range(200):  # poll the query until the agent's proposal is pending
            state = await h.query(TicketWorkflow.state)
            if state.pending_approval is not None:
                break
            await asyncio.sleep(0.1)
        assert state.pending_approval is not None
        action_id = state.pending_approval.action.request_id
        # since v5: a reply while the approval is pending, an approval with a note and a message, and a
        # customer reopening a ticket a human resolved (it goes back to that human)
        await h.execute_update(TicketWorkflow.decide, HumanReply(request_id="d0", agent_id="ana", body="On it"))
        await h.execute_update(
            TicketWorkflow.decide,
            ActionDecision(
                request_id="d1", agent_id="lead", kind="approve", action_request_id=action_id,
                note="duplicate confirmed", message="It reaches your card in 5 days.",
            ),
        )  # fmt: skip
        await h.execute_update(TicketWorkflow.decide, HumanReply(request_id="d2", agent_id="ana", body="Done!"))
        await h.execute_update(TicketWorkflow.decide, Resolve(request_id="d3", agent_id="ana"))
        await h.signal(TicketWorkflow.add_customer_message, CustomerMessage("m-2", "Not there yet"))
        for _ in range(200):
            if (await h.query(TicketWorkflow.state)).status == Status.ESCALATED:
                break
            await asyncio.sleep(0.1)
        await h.execute_update(TicketWorkflow.decide, Resolve(request_id="d4", agent_id="ana"))
        await h.signal(TicketWorkflow.submit_csat, CsatScore(score=4))
        await h.result()
        await _save(h, version, "decisions")

        # the customer writes while the refund waits, then it is approved (the agents answer them since v8)
        inp = ticket_input("Please refund the duplicate invoice of $250", product=PRODUCT)
        h = await client.start_workflow(TicketWorkflow.run, inp, id=f"ticket-{inp.ticket_id}", task_queue=tq)
        state = await _until(h, lambda s: s.pending_approval is not None)
        assert state.pending_approval is not None
        action_id = state.pending_approval.action.request_id
        await h.signal(TicketWorkflow.add_customer_message, CustomerMessage("m-2", "How do I export my data?"))
        await _until(h, lambda s: s.status == Status.ESCALATED and s.transcript[-1].sender == "customer")
        world.turn = lambda req: TurnOutcome(agent="TechnicalAgent", reply="Settings → Export.")
        await h.execute_update(
            TicketWorkflow.decide,
            ActionDecision(request_id="d1", agent_id="lead", kind="approve", action_request_id=action_id),
        )
        await _until(h, lambda s: s.status == Status.WAITING_CUSTOMER)
        await h.terminate("recorded")
        await _save(h, version, "approved_customer_wrote")

        if int(version.lstrip("v")) >= 12:  # notes, tags and re-categorising (patches.NOTES_AND_TAGS)
            world.turn = default_turn
            inp = ticket_input("Can I talk to a human? My invoice is wrong", product=PRODUCT)
            h = await client.start_workflow(TicketWorkflow.run, inp, id=f"ticket-{inp.ticket_id}", task_queue=tq)
            state = await _until(h, lambda s: s.status == Status.ESCALATED)
            seen = state.transcript[-1].seq
            for d in (
                InternalNote(request_id="n1", agent_id="ana", body="Legacy plan: check with finance", seen_seq=seen),
                Retag(request_id="t1", agent_id="ana", add=["billing", "legacy-plan"], expect_assignee=""),
                Recategorise(request_id="c1", agent_id="ana", category=Category.ACCOUNT, reason="a login problem"),
                Retag(request_id="t2", agent_id="ana", remove=["billing"]),
                HandBack(request_id="h1", agent_id="ana"),
            ):
                await h.execute_update(TicketWorkflow.decide, d)
            # the agents answer the next message as the new category's specialist
            await h.signal(TicketWorkflow.add_customer_message, CustomerMessage("m-2", "Still cannot log in"))
            await _until(h, lambda s: s.status == Status.WAITING_CUSTOMER)
            await h.terminate("recorded")
            await _save(h, version, "notes_tags")


async def _until(h: Handle, ok: Callable[[TicketState], bool]) -> TicketState:
    for _ in range(200):
        state = await h.query(TicketWorkflow.state)
        if ok(state):
            return state
        await asyncio.sleep(0.1)
    raise AssertionError(f"ticket stuck in {state.status}")


async def main(version: str) -> None:
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=str(BIN / "temporal-test-server"), data_converter=pydantic_data_converter
    )
    dev = await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(BIN / "temporal"), data_converter=pydantic_data_converter, search_attributes=sa.ALL
    )
    try:
        await register_search_attributes(env.client)
        await _timers(env, version)
        await _decisions(dev.client, version)
    finally:
        await env.shutdown()
        await dev.shutdown()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1] if len(sys.argv) > 1 else "v2"))
