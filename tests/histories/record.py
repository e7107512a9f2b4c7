"""Record the histories that tests/test_replay.py replays: `python -m tests.histories.record`.

Run it once per released workflow version and commit the new files next to the old ones (never
overwrite a history of a version that ran in production). Each scenario drives TicketWorkflow on the
time-skipping server with the stub world of the workflow tests.
"""

from __future__ import annotations

import asyncio
import sys
import uuid
from datetime import timedelta
from pathlib import Path

from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from tests.conftest import BIN, register_search_attributes
from tests.test_ticket_workflow import World, _customer, _input
from workflows.ticket import CustomerMessage, TicketWorkflow

HERE = Path(__file__).parent


async def main(version: str) -> None:
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=str(BIN / "temporal-test-server"), data_converter=pydantic_data_converter
    )
    await register_search_attributes(env.client)
    try:
        tq = f"rec-{uuid.uuid4().hex[:6]}"
        world = World(_customer())
        async with Worker(env.client, task_queue=tq, workflows=[TicketWorkflow], activities=world.activities()):
            scenarios = {
                "auto_resolved": (_input("Getting 429s, please help ASAP"), []),
                "follow_ups": (
                    _input("My webhook fails"),
                    [CustomerMessage("m-1", "Still failing"), CustomerMessage("m-1", "Still failing")],
                ),
                "escalated": (_input("This is RIDICULOUS, nobody helps"), [CustomerMessage("m-2", "Hello??")]),
            }
            for name, (inp, follow_ups) in scenarios.items():
                h = await env.client.start_workflow(
                    TicketWorkflow.run, inp, id=f"ticket-{inp.ticket_id}", task_queue=tq
                )
                for msg in follow_ups:
                    await h.signal(TicketWorkflow.add_customer_message, msg)
                if name == "escalated":
                    await env.sleep(timedelta(days=2))
                    await h.terminate("recorded")
                else:
                    await h.result()
                history = await h.fetch_history()
                path = HERE / f"{version}_{name}.json"
                path.write_text(history.to_json())
                print(f"wrote {path}")  # noqa: T201 - a developer script
    finally:
        await env.shutdown()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1] if len(sys.argv) > 1 else "v1"))
