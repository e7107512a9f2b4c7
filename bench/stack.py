"""An isolated local stack for one benchmark run.

The same processes `supportctl dev` runs (`LocalStack`: the CLI dev server with a file database, one
`python worker.py`, the API under uvicorn), but on free ports, with their own data folder under
`DATA_DIR/bench/<run>` and their own Postgres database (`support_bench_<run>` on the configured
server), so a run can count every row it finds and never disturbs `make dev` or the tests. The
database and folder are removed afterwards unless the run failed or `keep` is set.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
from temporalio.client import Client

from bench.common import note
from clients import connect_temporal
from settings import Settings
from supportctl.prepare import prepare
from supportctl.stack import (
    ROOT,
    LocalStack,
    StackError,
    _Child,
    dev_server_argv,
    port_open,
    resolve_database_url,
)

TICKET_QUEUE = "bench-tickets"
BARE_QUEUE = "bench-bare"
PLAIN_QUEUE = "bench-tickets-plain"  # the codec-off ticket worker's queue (`plain-worker`, `plain-api`)


def free_port() -> int:
    """A free TCP port whose +10 neighbour (the dev server's HTTP API) is in range."""
    while True:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port: int = s.getsockname()[1]
        if port + 10 < 65535 and not port_open("127.0.0.1", port + 10):
            return port


def _with_db(dsn: str, name: str) -> str:
    return urlunsplit(urlsplit(dsn)._replace(path=f"/{name}"))


@dataclass
class BenchStack(LocalStack):
    """`LocalStack` plus what a benchmark needs: kill and restart any part, an in-memory server option,
    worker tuning through the environment, a bare-Temporal worker for comparison, and a second ticket
    worker and API with the payload codec off (`plain-worker`, `plain-api`: same server, same database,
    their own task queue) so a run can compare codec on and off."""

    run_dir: Path = Path("data/bench/run")
    extra_env: dict[str, str] = field(default_factory=dict)
    in_memory: bool = False  # the dev server without --db-filename (its state dies with it)
    server_flags: list[str] = field(default_factory=list)
    keepalive: object | None = None  # an embedded Postgres handle, held for the run
    plain_api_port: int = 0  # the codec-off API's port (free_port() at create)

    # ---- lifecycle -------------------------------------------------------------------------------

    @classmethod
    async def create(
        cls,
        base: Settings,
        name: str,
        *,
        extra_env: dict[str, str] | None = None,
        in_memory: bool = False,
        server_flags: list[str] | None = None,
        cache_dir: Path | None = None,
    ) -> BenchStack:
        run = f"{name}-{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:4]}"
        run_dir = (base.DATA_DIR / "bench" / run).resolve()
        run_dir.mkdir(parents=True, exist_ok=True)
        server_dsn, keepalive = await resolve_database_url(base, note)
        dsn = _with_db(server_dsn, f"support_bench_{run.replace('-', '_')}")
        api_port, temporal_port, ui_port = free_port(), free_port(), free_port()
        settings = base.model_copy(
            update={
                "DATABASE_URL": dsn,
                "DATA_DIR": run_dir,
                "QDRANT_PATH": str(run_dir / "qdrant"),
                "API_HOST": "127.0.0.1",
                "API_PORT": api_port,
                "TEMPORAL_PORT": temporal_port,
                "TEMPORAL_UI_PORT": ui_port,
                "TEMPORAL_ADDRESS": f"127.0.0.1:{temporal_port}",
                "TEMPORAL_TASK_QUEUE": TICKET_QUEUE,
                "API_KEY": None,
            }
        )
        stack = cls(
            settings,
            dsn,
            run_dir=run_dir,
            extra_env=dict(extra_env or {}),
            in_memory=in_memory,
            server_flags=list(server_flags or []),
            keepalive=keepalive,
            plain_api_port=free_port(),
        )
        note(f"==> bench run {run}: data {run_dir}, database {urlsplit(dsn).path.lstrip('/')}")
        # The triage model is trained and the KB embedded once per cache folder: copies save each run
        # the training and the embedding (ingest still re-embeds changed articles; an outdated model
        # is retrained by load_or_train).
        cache = (cache_dir or base.DATA_DIR / "bench" / "cache").resolve()
        trained = base.DATA_DIR / "models" / "triage.pkl"
        for source in (trained, cache / "triage.pkl"):
            if source.exists():
                (run_dir / "models").mkdir(exist_ok=True)
                shutil.copy2(source, run_dir / "models" / "triage.pkl")
                break
        if (cache / "qdrant").is_dir():
            shutil.copytree(cache / "qdrant", run_dir / "qdrant")
        await prepare(settings, dsn, lambda m: note(m.strip()))
        _fill_cache(cache, run_dir, run)
        return stack

    def start(self, parts: tuple[str, ...] = ("temporal", "worker", "api")) -> None:
        """Start the dev server first (the others connect to it), then the rest side by side."""
        if "temporal" in parts:
            note(f"==> starting Temporal dev server on 127.0.0.1:{self.settings.TEMPORAL_PORT}")
            self.start_temporal()
        starters = {
            "worker": self.start_worker,
            "api": self.start_api,
            "bare-worker": self.start_bare_worker,
            "plain-worker": self.start_plain_worker,
            "plain-api": self.start_plain_api,
        }
        rest = [p for p in parts if p in starters]
        if rest:
            note(f"==> starting {', '.join(rest)}")
        failures: list[BaseException] = []
        threads = []
        for part in rest:
            t = threading.Thread(target=_capture, args=(starters[part], failures), daemon=True)
            t.start()
            threads.append(t)
        for t in threads:
            t.join()
        if failures:
            raise failures[0]

    def child_env(self) -> dict[str, str]:
        env = super().child_env()
        # Load is the point of a bench: its few sample customers open thousands of tickets an hour.
        env.update(API_KEY="", CUSTOMER_TICKETS_PER_HOUR="0", CUSTOMER_MESSAGES_PER_MINUTE="0", **self.extra_env)
        return env

    def start_temporal(self) -> None:
        s = self.settings
        if port_open("127.0.0.1", s.TEMPORAL_PORT):
            raise StackError(f"port {s.TEMPORAL_PORT} is taken")
        db_file = None if self.in_memory else self.run_dir / "temporal.db"
        self._run_temporal(dev_server_argv(s, db_file, self.server_flags))

    def start_bare_worker(self) -> None:
        """The comparison worker: bare workflows with no-op activities (bench/bare.py), one process."""
        if any(c.name == "bare-worker" and c.proc.poll() is None for c in self.children):
            return
        child = self._spawn("bare-worker", [sys.executable, "-m", "bench.bare"], self.start_bare_worker)
        self._wait(child, lambda: b"polling" in child.log_path.read_bytes().split(b"==start==")[-1], 60)

    def codec_off_env(self) -> dict[str, str]:
        """The codec-off parts' settings: no encryption, their own task queue, their own copy of the
        embedded KB (Qdrant local mode admits one process per folder)."""
        return {
            "PAYLOAD_ENCRYPTION": "false",
            "TEMPORAL_TASK_QUEUE": PLAIN_QUEUE,
            "QDRANT_PATH": str(self.run_dir / "qdrant-plain"),
            "API_PORT": str(self.plain_api_port),
        }

    def start_plain_worker(self) -> None:
        """A second ticket worker, the codec off, on PLAIN_QUEUE (the same code, tuning and database)."""
        if any(c.name == "plain-worker" and c.proc.poll() is None for c in self.children):
            return
        kb, copy = Path(self.settings.QDRANT_PATH), self.run_dir / "qdrant-plain"
        if not copy.exists() and kb.is_dir():
            shutil.copytree(kb, copy, ignore=shutil.ignore_patterns(".lock"))
        self.start_worker(name="plain-worker", env=self.codec_off_env())

    def start_plain_api(self) -> None:
        """A second API, the codec off, starting its tickets on PLAIN_QUEUE, at `plain_api_url`."""
        if any(c.name == "plain-api" and c.proc.poll() is None for c in self.children):
            return
        self.start_api(name="plain-api", port=self.plain_api_port, env=self.codec_off_env())

    @property
    def plain_api_url(self) -> str:
        return f"http://{self.settings.API_HOST}:{self.plain_api_port}"

    async def client(self) -> Client:
        return await connect_temporal(self.settings)

    async def pool(self) -> asyncpg.Pool:
        pool = await asyncpg.create_pool(self.database_url, min_size=1, max_size=4)
        if pool is None:
            raise RuntimeError("asyncpg.create_pool returned no pool")
        return pool

    # ---- processes ------------------------------------------------------------------------------

    def child(self, name: str) -> _Child:
        for c in reversed(self.children):
            if c.name == name and c.proc.poll() is None:
                return c
        raise StackError(f"no running {name}")

    def pid(self, name: str) -> int:
        return self.child(name).proc.pid

    def pids(self) -> dict[str, int]:
        return {c.name: c.proc.pid for c in self.children if c.proc.poll() is None}

    def kill(self, name: str, sig: signal.Signals = signal.SIGKILL, timeout: float = 30) -> None:
        """Signal one part (its whole process group) and wait until it is gone (a no-op if it died)."""
        dead = [c for c in self.children if c.name == name and c.proc.poll() is not None]
        for c in dead:  # it exited by itself: forget it, so a restart starts a fresh one
            c.log.close()
            self.children.remove(c)
        if not any(c.name == name for c in self.children):
            return
        c = self.child(name)
        try:
            os.killpg(c.proc.pid, sig)
        except ProcessLookupError:
            pass
        try:
            c.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(c.proc.pid, signal.SIGKILL)
            c.proc.wait(timeout=10)
        c.log.write(b"\n==start==\n")
        c.log.flush()
        c.log.close()
        self.children.remove(c)

    def restart_worker(self, sig: signal.Signals = signal.SIGKILL) -> float:
        """Kill the ticket worker and start a fresh one; seconds until the new one polls."""
        self.kill("worker", sig)
        t0 = time.monotonic()
        self.start_worker()
        return time.monotonic() - t0

    def restart_temporal(self, sig: signal.Signals = signal.SIGKILL, down_s: float = 0.0) -> float:
        """Kill the dev server, leave it down `down_s` seconds, start it again on the same file database;
        seconds it was away."""
        t0 = time.monotonic()
        self.kill("temporal", sig)
        while port_open("127.0.0.1", self.settings.TEMPORAL_PORT):
            time.sleep(0.1)
        time.sleep(down_s)
        self.start_temporal()
        return time.monotonic() - t0

    def logs(self) -> Path:
        return self.log_dir

    async def close(self, *, keep: bool, say: Callable[[str], None] = note) -> None:
        """Stop every process; drop the database and the data folder unless `keep`."""
        self.stop()
        if keep:
            say(f"kept: data {self.run_dir}, database {self.database_url}")
        else:
            await drop_database(self.database_url)
            shutil.rmtree(self.run_dir, ignore_errors=True)
        keepalive = self.keepalive
        self.keepalive = None
        del keepalive


def _fill_cache(cache: Path, run_dir: Path, run: str) -> None:
    """Keep this run's embedded KB and trained model for the next runs (first writer wins)."""
    cache.mkdir(parents=True, exist_ok=True)
    if not (cache / "triage.pkl").exists() and (run_dir / "models" / "triage.pkl").exists():
        shutil.copy2(run_dir / "models" / "triage.pkl", cache / f"triage-{run}.pkl")
        (cache / f"triage-{run}.pkl").replace(cache / "triage.pkl")
    if not (cache / "qdrant").is_dir():
        tmp = cache / f"qdrant-{run}"
        shutil.copytree(run_dir / "qdrant", tmp)
        try:
            tmp.rename(cache / "qdrant")
        except OSError:  # another run filled the cache meanwhile
            shutil.rmtree(tmp, ignore_errors=True)


def _capture(fn: Callable[[], None], failures: list[BaseException]) -> None:
    try:
        fn()
    except BaseException as e:  # re-raised by the starting thread
        failures.append(e)


@asynccontextmanager
async def bench_stack(
    base: Settings,
    name: str,
    stack: BenchStack | None = None,
    *,
    parts: tuple[str, ...] = ("temporal", "worker", "api"),
    keep: bool = False,
    extra_env: dict[str, str] | None = None,
    in_memory: bool = False,
    server_flags: list[str] | None = None,
) -> AsyncIterator[BenchStack]:
    """A started stack for one benchmark: `stack` itself when given (several benchmarks sharing one,
    as the smoke test does), else a new one, stopped and removed afterwards (kept if the run failed)."""
    if stack is not None:
        stack.start(tuple(p for p in parts if p not in stack.pids()))
        yield stack
        return
    own = await BenchStack.create(base, name, extra_env=extra_env, in_memory=in_memory, server_flags=server_flags)
    ok = False
    try:
        own.start(parts)
        yield own
        ok = True
    finally:
        await own.close(keep=keep or not ok)


async def drop_database(dsn: str) -> None:
    admin = await asyncpg.connect(_with_db(dsn, "postgres"))
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{urlsplit(dsn).path.lstrip("/")}" WITH (FORCE)')
    finally:
        await admin.close()


__all__ = [
    "BARE_QUEUE",
    "PLAIN_QUEUE",
    "ROOT",
    "TICKET_QUEUE",
    "BenchStack",
    "bench_stack",
    "drop_database",
    "free_port",
]
