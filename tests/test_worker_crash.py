"""A ticket survives its worker being killed with SIGKILL mid-conversation and finishes on a new worker,
with nothing lost and nothing written twice. The worker here is the real `python worker.py` process."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest
from pydantic import SecretStr
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from clients import connect_temporal
from db.customers import upsert_customers
from demo.customers import demo_customers
from domain.models import Channel, Sender, Status
from settings import Settings
from tests.api_stack import PAYLOAD_KEYS, PAYLOAD_KEYS_ENV
from workflows.ticket import CustomerMessage, TicketInput, TicketState, TicketWorkflow

ROOT = Path(__file__).resolve().parents[1]


class WorkerProcess:
    def __init__(self, env: dict[str, str], log: Path) -> None:
        self._env, self._log = env, log
        self.proc: subprocess.Popen[bytes] | None = None

    def _spawn(self) -> subprocess.Popen[bytes]:
        with self._log.open("ab") as out:
            return subprocess.Popen(
                [sys.executable, str(ROOT / "worker.py")], cwd=ROOT, env=self._env, stdout=out, stderr=subprocess.STDOUT
            )

    async def start(self) -> None:
        self.proc = self._spawn()
        for _ in range(600):
            if b"polling task queue" in self._log.read_bytes().split(b"==start==")[-1]:
                return
            assert self.proc.poll() is None, self._log.read_text()
            await asyncio.sleep(0.1)
        raise AssertionError(f"worker did not start:\n{self._log.read_text()}")

    def kill(self) -> None:
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)
        with self._log.open("ab") as out:
            out.write(b"\n==start==\n")


@pytest.fixture
async def worker_env(
    dev_env: WorkflowEnvironment, pool: asyncpg.Pool, database_url: str, tmp_path: Path
) -> AsyncIterator[tuple[dict[str, str], str]]:
    await upsert_customers(pool, demo_customers())
    tq = f"crash-{uuid.uuid4().hex[:8]}"
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "TEMPORAL_ADDRESS": dev_env.client.service_client.config.target_host,
        "TEMPORAL_TASK_QUEUE": tq,
        "QDRANT_PATH": str(tmp_path / "qdrant"),
        "DATA_DIR": str(tmp_path),
        "PYTHONUNBUFFERED": "1",
        **PAYLOAD_KEYS_ENV,
    }
    yield env, tq


async def _until(client: Client, wf_id: str, ok: object, within: float = 60) -> TicketState:
    h = client.get_workflow_handle_for(TicketWorkflow.run, wf_id)
    deadline = asyncio.get_running_loop().time() + within
    while True:
        state = await h.query(TicketWorkflow.state)
        if ok(state):  # type: ignore[operator]
            return state
        assert asyncio.get_running_loop().time() < deadline, f"stuck: {state.status}, {len(state.transcript)} msgs"
        await asyncio.sleep(0.2)


def _agent_replies(n: int) -> object:
    """n agent replies and the ticket settled (the status is written just after the reply)."""
    return lambda s: sum(e.sender == Sender.AGENT for e in s.transcript) >= n and s.status == Status.WAITING_CUSTOMER


async def test_ticket_survives_kill_9_of_its_worker(
    worker_env: tuple[dict[str, str], str], dev_client: Client, pool: asyncpg.Pool, tmp_path: Path
) -> None:
    env, tq = worker_env
    # the worker encrypts payloads (codec/): this test's client holds the same keys
    dev_client = await connect_temporal(
        Settings(DATABASE_URL=env["DATABASE_URL"], TEMPORAL_ADDRESS=env["TEMPORAL_ADDRESS"], PAYLOAD_KEYS={
            k: SecretStr(v) for k, v in PAYLOAD_KEYS.items()}), pool
    )  # fmt: skip
    worker = WorkerProcess(env, tmp_path / "worker.log")
    await worker.start()
    tid = f"tkt_{uuid.uuid4().hex[:16]}"
    wf_id = f"ticket-{tid}"
    inp = TicketInput(tid, "cus_1001", Channel.CHAT, "Webhooks", "How do webhook retries work?")
    try:
        h = await dev_client.start_workflow(TicketWorkflow.run, inp, id=wf_id, task_queue=tq)
        await _until(dev_client, wf_id, _agent_replies(1))

        # a follow-up arrives and the worker dies at once, mid-task or mid-activity
        await h.signal(TicketWorkflow.add_customer_message, CustomerMessage("m1", "How do I verify the signature?"))
        worker.kill()
        await h.signal(TicketWorkflow.add_customer_message, CustomerMessage("m2", "And can I replay failed events?"))
        await asyncio.sleep(1)
        await worker.start()  # a fresh process: no cache, replays the history
        # m1 may be answered before m2 arrives, or both together in one turn (they queued while no worker ran)
        state = await _until(
            dev_client, wf_id,
            lambda s: s.transcript[-1].sender == Sender.AGENT and s.status == Status.WAITING_CUSTOMER
            and sum(e.sender == Sender.CUSTOMER for e in s.transcript) == 3,
        )  # fmt: skip
        # the snapshot write follows the status change by one activity: wait for it before the worker goes
        for _ in range(150):
            if await pool.fetchval("SELECT status FROM tickets WHERE ticket_id = $1", tid) == "waiting_customer":
                break
            await asyncio.sleep(0.1)
        worker.kill()
    finally:
        if worker.proc and worker.proc.poll() is None:
            worker.kill()

    senders = [e.sender.value for e in state.transcript]
    assert senders in (["customer", "agent"] * 3, ["customer", "agent", "customer", "customer", "agent"])
    rows = await pool.fetch("SELECT seq, sender, body FROM messages WHERE ticket_id = $1 ORDER BY seq", tid)
    assert [(r["seq"], r["sender"]) for r in rows] == [(i + 1, e.sender.value) for i, e in enumerate(state.transcript)]
    assert [r["body"] for r in rows] == [e.body for e in state.transcript]  # nothing lost, nothing twice
    events = await pool.fetch("SELECT event_key FROM ticket_events WHERE ticket_id = $1", tid)
    assert len(events) == len({e["event_key"] for e in events})
    assert await pool.fetchval("SELECT status FROM tickets WHERE ticket_id = $1", tid) == "waiting_customer"
    await h.terminate("test over")
