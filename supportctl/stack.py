"""The local stack: Temporal dev server, worker and API as child processes, stopped together.

Each child runs in its own session (process group) so stopping the stack stops everything it
started, grandchildren included; nothing is left behind after Ctrl-C. A child that dies can be
started again in its place (`restart`): `supportctl dev` does so, as a process manager would.
"""

from __future__ import annotations

import asyncio
import functools
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import httpx

from settings import Settings
from workflows.search_attributes import cli_flags

BIN = Path(sys.executable).parent
ROOT = Path(__file__).resolve().parents[1]


class StackError(RuntimeError):
    """The stack could not start; the message says which part and where its log is."""


@dataclass
class _Child:
    name: str
    proc: subprocess.Popen[bytes]
    log_path: Path
    log: IO[bytes]
    again: Callable[[], None]  # starts this part of the stack anew (and waits until it is ready)


def port_open(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(0.3)
        return s.connect_ex((host, port)) == 0


async def postgres_answers(dsn: str) -> bool:
    try:
        conn = await asyncpg.connect(dsn, timeout=3)
    except (TimeoutError, OSError, asyncpg.PostgresError):
        return False
    await conn.close()
    return True


def _admin_dsn(dsn: str) -> str:
    return urlunsplit(urlsplit(dsn)._replace(path="/postgres"))


async def resolve_database_url(
    settings: Settings, say: Callable[[str], None] | None = None
) -> tuple[str, object | None]:
    """DATABASE_URL when its server answers; otherwise an embedded PostgreSQL from `pgserver`.

    Returns the DSN and, for the embedded server, the handle that keeps it running: hold it for as
    long as the stack runs.
    """
    if await postgres_answers(_admin_dsn(settings.DATABASE_URL)):
        return settings.DATABASE_URL, None
    if say:
        say(f"no PostgreSQL answers at {settings.DATABASE_URL}; starting an embedded one (pgserver)")
    import pgserver

    pgdata = (settings.DATA_DIR / "pgdata").resolve()
    pgdata.mkdir(parents=True, exist_ok=True)
    server = await asyncio.to_thread(pgserver.get_server, str(pgdata), cleanup_mode="stop")  # type: ignore[attr-defined]
    uri: str = server.get_uri("support")
    return uri, server


def dev_server_argv(settings: Settings, db_file: Path | None, extra_flags: Sequence[str] = ()) -> list[str]:
    """The `temporal server start-dev` command line of a local stack (`supportctl dev`, the benchmarks).

    ``db_file`` None keeps the server's state in memory; ``extra_flags`` go last, after the search attributes.
    """
    db = [] if db_file is None else ["--db-filename", str(db_file)]
    return [
        str(BIN / "temporal"), "server", "start-dev", *db,
        "--ip", "127.0.0.1",
        "--port", str(settings.TEMPORAL_PORT),
        "--ui-port", str(settings.TEMPORAL_UI_PORT),
        "--http-port", str(settings.TEMPORAL_PORT + 10),
        "--namespace", settings.TEMPORAL_NAMESPACE,
        "--log-level", "warn",
        *ui_codec_flags(settings),
        *cli_flags(),
        *extra_flags,
    ]  # fmt: skip


def codec_endpoint(settings: Settings) -> str:
    """The API's codec endpoint as the browser reaches it (api/routes/codec.py)."""
    host = "127.0.0.1" if settings.API_HOST in ("0.0.0.0", "::", "") else settings.API_HOST
    return f"http://{host}:{settings.API_PORT}/codec"


def ui_codec_flags(settings: Settings) -> list[str]:
    """The UI decrypts payloads through the API's codec endpoint; without it, it shows ciphertext."""
    return ["--ui-codec-endpoint", codec_endpoint(settings)] if settings.PAYLOAD_ENCRYPTION else []


@dataclass
class LocalStack:
    settings: Settings
    database_url: str
    children: list[_Child] = field(default_factory=list)

    @property
    def log_dir(self) -> Path:
        d = (self.settings.DATA_DIR / "logs").resolve()
        d.mkdir(parents=True, exist_ok=True)
        return d

    def child_env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            DATABASE_URL=self.database_url,
            TEMPORAL_ADDRESS=f"127.0.0.1:{self.settings.TEMPORAL_PORT}",
            TEMPORAL_NAMESPACE=self.settings.TEMPORAL_NAMESPACE,
            TEMPORAL_TASK_QUEUE=self.settings.TEMPORAL_TASK_QUEUE,
            QDRANT_PATH=str(Path(self.settings.QDRANT_PATH).resolve()),
            DATA_DIR=str(self.settings.DATA_DIR.resolve()),
            PYTHONUNBUFFERED="1",
        )
        return env

    def _spawn(
        self, name: str, argv: list[str], again: Callable[[], None], env: Mapping[str, str] | None = None
    ) -> _Child:
        """Start one part; `env` overrides `child_env()` for this part alone (a second worker's queue)."""
        log_path = self.log_dir / f"{name}.log"
        log = log_path.open("ab")
        proc = subprocess.Popen(
            argv,
            cwd=ROOT,
            env={**self.child_env(), **(env or {})},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        child = _Child(name, proc, log_path, log, again)
        self.children.append(child)
        return child

    def _wait(self, child: _Child, ready: Callable[[], bool], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if child.proc.poll() is not None:
                raise StackError(f"{child.name} exited with code {child.proc.returncode}; see {child.log_path}")
            if ready():
                return
            time.sleep(0.2)
        raise StackError(f"{child.name} not ready after {timeout:.0f}s; see {child.log_path}")

    def start_temporal(self) -> None:
        s = self.settings
        if port_open("127.0.0.1", s.TEMPORAL_PORT):
            raise StackError(f"port {s.TEMPORAL_PORT} is taken: is another Temporal server running?")
        db_file = (s.DATA_DIR / "temporal.db").resolve()
        db_file.parent.mkdir(parents=True, exist_ok=True)
        self._run_temporal(dev_server_argv(s, db_file))

    def _run_temporal(self, argv: list[str]) -> None:
        """Start the dev server from ``argv`` (`dev_server_argv`) and wait until its port answers."""
        child = self._spawn("temporal", argv, self.start_temporal)
        self._wait(child, lambda: port_open("127.0.0.1", self.settings.TEMPORAL_PORT), 60)

    def start_worker(self, *, name: str = "worker", env: Mapping[str, str] | None = None) -> None:
        again = functools.partial(self.start_worker, name=name, env=env)
        child = self._spawn(name, [sys.executable, str(ROOT / "worker.py")], again, env)
        log = child.log_path
        start = log.stat().st_size if log.exists() else 0

        def polling() -> bool:
            with log.open("rb") as f:
                f.seek(start)
                return b"polling task queue" in f.read()

        self._wait(child, polling, 120)

    def start_api(self, *, name: str = "api", port: int | None = None, env: Mapping[str, str] | None = None) -> None:
        """The API under uvicorn on `port` (default API_PORT); ready when /health answers 200."""
        s = self.settings
        port = port or s.API_PORT
        if port_open(s.API_HOST, port):
            raise StackError(f"port {port} is taken: is another API running?")
        argv = [
            sys.executable,
            "-m",
            "uvicorn",
            "api.main:app",
            "--host",
            s.API_HOST,
            "--port",
            str(port),
            "--log-level",
            "warning",
        ]
        child = self._spawn(name, argv, functools.partial(self.start_api, name=name, port=port, env=env), env)
        url = f"http://{s.API_HOST}:{port}"

        def healthy() -> bool:
            try:
                return httpx.get(f"{url}/health", timeout=1).status_code == 200
            except httpx.HTTPError:
                return False

        self._wait(child, healthy, 60)

    def start_all(self, say: Callable[[str], None]) -> None:
        """Temporal first (the others connect to it), then the worker, then the API."""
        say(f"==> starting Temporal dev server on 127.0.0.1:{self.settings.TEMPORAL_PORT} (UI {self.ui_url})")
        self.start_temporal()
        say("==> starting worker")
        self.start_worker()
        say(f"==> starting API on {self.api_url}")
        self.start_api()

    @property
    def api_url(self) -> str:
        return f"http://{self.settings.API_HOST}:{self.settings.API_PORT}"

    @property
    def ui_url(self) -> str:
        return f"http://127.0.0.1:{self.settings.TEMPORAL_UI_PORT}"

    def alive(self) -> list[str]:
        return [c.name for c in self.children if c.proc.poll() is None]

    def exited(self) -> list[_Child]:
        return [c for c in self.children if c.proc.poll() is not None]

    def restart(self, child: _Child) -> None:
        """Start an exited child again, in its place in the stop order; its log goes on in the same file.

        Raises StackError when it does not come back (the replacement is then stopped with the stack)."""
        at = self.children.index(child)
        self.children.remove(child)
        _signal_group(child.proc, signal.SIGKILL)  # what the dead process left running in its group
        child.log.close()
        others = len(self.children)
        try:
            child.again()
        finally:
            if len(self.children) > others:  # spawned, ready or not
                self.children.insert(at, self.children.pop())

    def stop(self) -> None:
        """SIGTERM every child's process group (API and worker first), then SIGKILL what lingers."""
        for child in reversed(self.children):
            if child.proc.poll() is None:
                _signal_group(child.proc, signal.SIGTERM)
        deadline = time.monotonic() + 15
        for child in reversed(self.children):
            try:
                child.proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                _signal_group(child.proc, signal.SIGKILL)
                child.proc.wait(timeout=5)
            child.log.close()
        self.children.clear()


def _signal_group(proc: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    try:
        os.killpg(proc.pid, sig)
    except ProcessLookupError:
        pass
