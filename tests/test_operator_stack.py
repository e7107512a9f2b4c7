"""Operator commands and the local stack: one Temporal address for all, and a restart keeps the CRM as it is.

A second stack on one machine sets TEMPORAL_PORT (not TEMPORAL_ADDRESS): every command must then talk to
that stack's server, never to 7233. And `supportctl dev` / `demo` seed the demo customers on every start:
only those the CRM does not hold, so an edited customer keeps its edits and an erased one stays erased.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import asyncpg
import pytest
from pydantic import ValidationError
from temporalio.client import Client

from db.customers import get_customer
from db.pool import create_pool
from demo.customers import demo_customers
from settings import Settings, temporal_address
from supportctl.prepare import seed_customers

ROOT = Path(__file__).resolve().parents[1]


def test_the_address_follows_temporal_port_unless_given(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("TEMPORAL_ADDRESS", "TEMPORAL_PORT"):
        monkeypatch.delenv(name, raising=False)
    assert Settings().TEMPORAL_ADDRESS == "127.0.0.1:7233"
    assert Settings(TEMPORAL_PORT=7243).TEMPORAL_ADDRESS == "127.0.0.1:7243"
    assert Settings(TEMPORAL_ADDRESS="temporal:7233", TEMPORAL_PORT=7243).TEMPORAL_ADDRESS == "temporal:7233"
    assert Settings(TEMPORAL_ADDRESS="127.0.0.1:7243", TEMPORAL_PORT=7243).TEMPORAL_ADDRESS == "127.0.0.1:7243"
    monkeypatch.setenv("TEMPORAL_PORT", "7255")  # as a second stack's shell has it
    s = Settings()
    assert s.TEMPORAL_ADDRESS == "127.0.0.1:7255" == temporal_address(s)
    assert s.model_copy(update={"API_KEY": None}).TEMPORAL_ADDRESS == "127.0.0.1:7255"
    with pytest.raises(ValidationError, match="two local servers"):
        Settings(TEMPORAL_ADDRESS="127.0.0.1:7233")  # and TEMPORAL_PORT 7255: which one is meant?


def _supportctl(env: dict[str, str], *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "supportctl.main", *argv], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def test_reconcile_and_erase_talk_to_the_server_on_temporal_port(own_database: str, dev_client: Client) -> None:
    host, _, port = dev_client.service_client.config.target_host.rpartition(":")
    assert host == "127.0.0.1" and port != "7233"
    env = {k: v for k, v in os.environ.items() if k != "TEMPORAL_ADDRESS"}
    env.update(DATABASE_URL=own_database, TEMPORAL_PORT=port, TEMPORAL_NAMESPACE=dev_client.namespace)

    done = _supportctl(env, "tickets", "reconcile")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.strip().splitlines()[-1])["checked"] == 0
    done = _supportctl(env, "customers", "erase", "cus_nobody")  # reached Temporal, then found no customer
    assert done.returncode == 1 and "no customer 'cus_nobody'" in done.stderr, done.stderr

    with socket.socket() as free:  # bound, not listening: the error names the port it was sent to
        free.bind(("127.0.0.1", 0))
        dead = str(free.getsockname()[1])
        env["TEMPORAL_PORT"] = dead
        for argv in (["tickets", "reconcile"], ["customers", "erase", "cus_nobody", "--confirm"]):
            done = _supportctl(env, *argv)
            assert done.returncode == 1 and f"127.0.0.1:{dead}" in done.stderr and ":7233" not in done.stderr, (
                done.stderr
            )


async def test_a_restart_seeds_only_missing_customers(own_database: str) -> None:
    everyone = demo_customers()
    assert await seed_customers(own_database) == len(everyone)
    pool: asyncpg.Pool = await create_pool(own_database, min_size=1, max_size=2)
    try:
        edited, erased, dropped = everyone[0].customer_id, everyone[1].customer_id, everyone[2].customer_id
        edit = "UPDATE customers SET email = 'new@corp.example', plan = 'enterprise' WHERE customer_id = $1"
        await pool.execute(edit, edited)
        await pool.execute(  # as db/erasure.py leaves the row
            "UPDATE customers SET email = $2, name = '[erased]', company = NULL, lifetime_value = 0 "
            "WHERE customer_id = $1",
            erased, f"erased+{erased}@invalid",
        )  # fmt: skip
        await pool.execute("DELETE FROM invoices WHERE customer_id = $1", dropped)  # its demo invoices go too
        await pool.execute("DELETE FROM customers WHERE customer_id = $1", dropped)

        assert await seed_customers(own_database) == 1  # the restart: only the one no longer there
        after = await get_customer(pool, edited)
        assert after is not None and (after.email, after.plan.value) == ("new@corp.example", "enterprise")
        gone = await get_customer(pool, erased)
        assert gone is not None and (gone.name, gone.company) == ("[erased]", None)
        back = await get_customer(pool, dropped)
        assert back is not None and (back.email, back.name) == (everyone[2].email, everyone[2].name)
        assert await seed_customers(own_database) == 0
    finally:
        await pool.close()


def test_a_stack_that_cannot_start_says_why_without_a_traceback(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """StackError is a RuntimeError: it used to reach the clause that re-raises other runtime errors, so an
    operator saw a traceback instead of the reason (a worker that exited, keys that open nothing)."""
    from supportctl import demo
    from supportctl.main import main
    from supportctl.stack import StackError

    def cannot_start(settings: object) -> int:
        raise StackError("the database holds customers' data keys sealed with master key 'local-1' …")

    monkeypatch.setattr(demo, "run_demo", cannot_start)
    assert main(["demo"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: the database holds") and "Traceback" not in err
