"""The local stack as an operator runs it: `supportctl dev` in its own process, driven over HTTP, then Ctrl-C.

Also the embedded-Postgres fallback for machines without a PostgreSQL server.
"""

from __future__ import annotations

import argparse
import atexit
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psutil
import pytest

from clients import open_pool
from settings import Settings
from supportctl import commands, prepare
from supportctl.stack import LocalStack, resolve_database_url
from tests.api_stack import PAYLOAD_KEYS_ENV

ROOT = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    while True:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port: int = s.getsockname()[1]
        if port + 10 < 65535:  # the dev server's HTTP port is frontend + 10
            return port


def _read_until(proc: subprocess.Popen[str], marker: str, within: float) -> str:
    seen: list[str] = []
    deadline = time.monotonic() + within
    assert proc.stdout is not None
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            if proc.poll() is not None:
                break
            continue
        seen.append(line)
        if marker in line:
            return "".join(seen)
    raise AssertionError(f"never saw {marker!r}; output so far:\n{''.join(seen)}")


def _answered(api: str, body: str) -> None:
    """Open a ticket through the API and wait until an agent has answered it."""
    r = httpx.post(
        f"{api}/tickets",
        timeout=10,
        json={"customer_id": "cus_1001", "channel": "email", "subject": body[:40], "body": body},
    )
    assert r.status_code == 201, r.text
    tid = r.json()["ticket_id"]
    deadline = time.monotonic() + 60
    while True:
        t = httpx.get(f"{api}/tickets/{tid}", timeout=5).json()
        if any(m["sender"] == "agent" for m in t.get("messages", [])):
            return
        assert time.monotonic() < deadline, t
        time.sleep(0.3)


def test_dev_stack_serves_tickets_restarts_a_dead_worker_and_stops_everything_on_ctrl_c(
    database_url: str, tmp_path: Path
) -> None:
    api_port, temporal_port, ui_port = _free_port(), _free_port(), _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "DATA_DIR": str(tmp_path / "data"),
        "QDRANT_PATH": str(tmp_path / "data" / "qdrant"),
        "API_PORT": str(api_port),
        "TEMPORAL_PORT": str(temporal_port),
        "TEMPORAL_UI_PORT": str(ui_port),
        "TEMPORAL_TASK_QUEUE": f"dev-{api_port}",
        # The shared test database holds the API tests' many tickets for the same demo customers.
        "CUSTOMER_TICKETS_PER_HOUR": "0",
        "CUSTOMER_MESSAGES_PER_MINUTE": "0",
        **PAYLOAD_KEYS_ENV,  # the shared database's customer keys are sealed by the test run's master key
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "supportctl.main", "dev"],  # this tree's code, not the one .venv/bin points at
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        banner = _read_until(proc, "Press Ctrl-C", within=150)
        assert f"http://127.0.0.1:{api_port}/docs" in banner and f"http://127.0.0.1:{ui_port}" in banner
        assert f"Console:     http://127.0.0.1:{api_port}/console" in banner  # make dev prints the console
        children = psutil.Process(proc.pid).children(recursive=True)
        assert len(children) >= 3  # temporal, worker, api (and their own children)

        api = f"http://127.0.0.1:{api_port}"
        assert httpx.get(f"{api}/openapi.json", timeout=5).status_code == 200
        _answered(api, "How do I verify webhook signatures on my endpoint?")
        assert httpx.get(f"http://127.0.0.1:{ui_port}/", timeout=5).status_code == 200  # the Temporal UI

        # the worker dies hard: the stack starts it again, and tickets are answered as before
        worker = next(p for p in children if "worker.py" in " ".join(p.cmdline()))
        worker.kill()
        _read_until(proc, "worker is running again", within=120)
        _answered(api, "My dashboard shows no data since this morning")
        children = psutil.Process(proc.pid).children(recursive=True)

        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=60) == 0
        gone, alive = psutil.wait_procs(children, timeout=10)
        assert alive == [], f"orphans left behind: {[p.pid for p in alive]}"
        for port in (api_port, temporal_port, ui_port):
            with socket.socket() as s:
                assert s.connect_ex(("127.0.0.1", port)) != 0, f"port {port} still open"
    finally:  # clean up only what this test started: the stack's processes, never other fixtures' servers
        leftovers = []
        if proc.poll() is None:
            leftovers = psutil.Process(proc.pid).children(recursive=True)
            proc.kill()
        for p in leftovers:
            if p.is_running():
                p.kill()


async def test_falls_back_to_embedded_postgres_when_none_answers(tmp_path: Path) -> None:
    settings = Settings(DATABASE_URL="postgresql://postgres@127.0.0.1:1/support", DATA_DIR=tmp_path)
    messages: list[str] = []
    dsn, server = await resolve_database_url(settings, messages.append)
    assert server is not None and "pgserver" in messages[0]
    try:
        pool = await open_pool(Settings(DATABASE_URL=dsn))  # creates the database and migrates it
        try:
            assert await pool.fetchval("SELECT max(version) FROM schema_version") >= 1
        finally:
            await pool.close()
    finally:
        server.cleanup()  # type: ignore[attr-defined]  # pgserver's handle is untyped
        # pgserver also cleans up at exit, logging into pytest's stream by then closed ("Logging error")
        atexit.unregister(server._cleanup)  # type: ignore[attr-defined]


async def test_uses_the_configured_postgres_when_it_answers(database_url: str) -> None:
    dsn, server = await resolve_database_url(Settings(DATABASE_URL=database_url))
    assert (dsn, server) == (database_url, None)


def test_ctrl_c_while_a_part_is_starting_stops_at_once_and_stops_what_was_started(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # starting (or restarting) a part waits up to 2 minutes for it to be ready: Ctrl-C must not wait for that
    stopped: list[bool] = []

    async def no_database(_settings: Settings, _say: object) -> tuple[str, None]:
        return "postgresql://unused", None

    async def nothing_to_prepare(*_args: object) -> None:
        return None

    def slow_start(_stack: LocalStack, _say: object) -> None:
        os.kill(os.getpid(), signal.SIGINT)  # the operator presses Ctrl-C while a part is still starting
        time.sleep(30)
        raise AssertionError("Ctrl-C did not interrupt the start")

    monkeypatch.setattr(commands, "resolve_database_url", no_database)
    monkeypatch.setattr(prepare, "prepare", nothing_to_prepare)
    monkeypatch.setattr(LocalStack, "start_all", slow_start)
    monkeypatch.setattr(LocalStack, "stop", lambda _stack: stopped.append(True))
    before = signal.getsignal(signal.SIGINT)
    began = time.monotonic()
    assert commands.cmd_dev(argparse.Namespace(), Settings(DATA_DIR=tmp_path)) == 0
    assert time.monotonic() - began < 10 and stopped == [True]
    assert signal.getsignal(signal.SIGINT) is before  # the command's handlers do not outlive it
