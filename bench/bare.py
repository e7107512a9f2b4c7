"""Bare Temporal, for comparison: a workflow that runs N no-op activities one after another.

Run as `python -m bench.bare` (the throughput benchmark starts it): one worker process on the
`bench-bare` task queue of the server in TEMPORAL_ADDRESS, with the same worker tuning as the ticket
worker, so the only difference from a ticket is what the ticket does.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from datetime import timedelta

from temporalio import activity, workflow
from temporalio.worker import Worker

BARE_QUEUE = "bench-bare"
NOOP_TIMEOUT = timedelta(seconds=15)


@activity.defn(name="bench.noop")
async def noop(step: int) -> int:
    return step


@workflow.defn(name="BenchBareWorkflow")
class BareWorkflow:
    @workflow.run
    async def run(self, activities: int) -> int:
        for step in range(activities):
            await workflow.execute_activity(noop, step, start_to_close_timeout=NOOP_TIMEOUT)
        return activities


async def main() -> None:
    from settings import get_settings
    from worker import worker_tuning

    logging.basicConfig(level=logging.INFO, format="%(asctime)s bare-worker %(levelname)s %(message)s")
    settings = get_settings()
    from clients import connect_temporal

    # the same data converter as the ticket worker (payloads encrypted: codec/), so the comparison is fair
    # and the bench's client, which encrypts, is understood
    client = await connect_temporal(settings)
    worker = Worker(
        client, task_queue=BARE_QUEUE, workflows=[BareWorkflow], activities=[noop], **worker_tuning(settings)
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    logging.info("polling task queue %s on %s", BARE_QUEUE, settings.TEMPORAL_ADDRESS)
    async with worker:
        await stop.wait()


if __name__ == "__main__":
    asyncio.run(main())
