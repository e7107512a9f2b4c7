"""A long ticket continues as new when Temporal suggests it, carrying its whole state: no customer
message, decision or SLA clock is lost on the way. The dev server is told to suggest it early."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from domain.lifecycle import ChangePriority
from domain.models import Priority, Sender, Status
from tests.conftest import BIN
from tests.lifecycle_world import World, current_details, customer, ticket_input
from workflows import search_attributes as sa
from workflows.ticket import CustomerMessage, TicketWorkflow


@pytest.fixture(scope="module")
async def short_history_env() -> AsyncIterator[WorkflowEnvironment]:
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(BIN / "temporal"),
        data_converter=pydantic_data_converter,
        search_attributes=sa.ALL,
        dev_server_extra_args=["--dynamic-config-value", "limit.historyCount.suggestContinueAsNew=80"],
    )
    yield env
    await env.shutdown()


async def test_long_ticket_continues_as_new_without_losing_anything(
    short_history_env: WorkflowEnvironment, task_queue: str
) -> None:
    client, world = short_history_env.client, World(customer())
    async with Worker(client, task_queue=task_queue, workflows=[TicketWorkflow], activities=world.activities()):
        inp = ticket_input("My webhook fails", max_agent_turns=100)
        h = await client.start_workflow(TicketWorkflow.run, inp, id=f"ticket-{inp.ticket_id}", task_queue=task_queue)
        first_run = h.result_run_id
        # a burst of follow-ups, some arriving while the workflow is busy or about to continue as new
        for i in range(10):
            await h.signal(TicketWorkflow.add_customer_message, CustomerMessage(f"m{i}", f"follow-up {i}"))
            if i % 3 == 0:
                await asyncio.sleep(0.3)
        latest = client.get_workflow_handle_for(TicketWorkflow.run, h.id)  # follows the newest run
        for _ in range(300):  # settled: every follow-up in, the last one answered
            state = await latest.query(TicketWorkflow.state)
            customers = [e.body for e in state.transcript if e.sender == Sender.CUSTOMER]
            if (
                customers[-1:] == ["follow-up 9"]
                and state.transcript[-1].sender == Sender.AGENT
                and state.status == Status.WAITING_CUSTOMER
                and not await latest.query(TicketWorkflow.busy)
            ):
                break
            await asyncio.sleep(0.1)
        update = ChangePriority(request_id="p1", agent_id="ana", priority=Priority.HIGH)
        result = await latest.execute_update(TicketWorkflow.decide, update)
        desc = await latest.describe()
        state = await latest.query(TicketWorkflow.state)
        await latest.terminate("done")

    assert desc.run_id != first_run, "the ticket never continued as new"
    customer_bodies = [e.body for e in state.transcript if e.sender == Sender.CUSTOMER]
    assert customer_bodies == ["My webhook fails"] + [f"follow-up {i}" for i in range(10)]
    # lines that arrived together share one answer: between one reply per burst and one per line
    replies = sum(e.sender == Sender.AGENT for e in state.transcript)
    assert 2 <= replies <= 1 + 10, replies
    assert [e.seq for e in state.transcript] == list(range(1, 12 + replies))
    assert result.accepted and state.priority == Priority.HIGH
    assert state.clocks["resolution"].target.total_seconds() > 0 and state.first_response_at is not None
    # Postgres saw every message exactly once, in order
    assert [m.seq for m in world.messages] == list(range(1, 12 + replies))


async def test_a_ticket_continued_as_new_keeps_its_console_link(
    short_history_env: WorkflowEnvironment, task_queue: str
) -> None:
    client, world = short_history_env.client, World(customer())
    async with Worker(client, task_queue=task_queue, workflows=[TicketWorkflow], activities=world.activities()):
        inp = ticket_input("My webhook fails", max_agent_turns=100)
        inp.console_link = (
            f"Support console: [ticket {inp.ticket_id}](https://support.example.com/console/tickets/{inp.ticket_id})"
        )
        h = await client.start_workflow(
            TicketWorkflow.run, inp, id=f"ticket-{inp.ticket_id}", task_queue=task_queue,
            static_details=inp.console_link,
        )  # fmt: skip
        first_run = h.result_run_id
        assert (await current_details(h)).startswith(inp.console_link)
        latest = client.get_workflow_handle_for(TicketWorkflow.run, h.id)  # follows the newest run
        for i in range(40):  # follow-ups until the history is long enough to continue as new
            await h.signal(TicketWorkflow.add_customer_message, CustomerMessage(f"m{i}", f"follow-up {i}"))
            await asyncio.sleep(0.2)
            if (await latest.describe()).run_id != first_run:
                break
        desc = await latest.describe()
        details = await current_details(latest)
        await latest.terminate("done")

    assert desc.run_id != first_run, "the ticket never continued as new"
    # Temporal gives the new run no static details; the current details carry the link on top.
    assert await desc.static_details() is None
    assert details.split("\n\n")[0] == inp.console_link, details
