"""A PostgreSQL server of the chaos run's own, so it can be crashed without touching anyone else's.

`bench chaos --postgres-restarts N` kills this server with SIGKILL (a crash: no shutdown checkpoint,
every connection cut mid-query) and starts it again on the same data folder, where PostgreSQL runs
crash recovery. The machine's PostgreSQL, which other people's tests use, is never restarted.
The binaries come from `pgserver` (a project dependency: the local stack's embedded fallback); the
server listens on a Unix socket in the run's folder only.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.common import process_tree


@dataclass
class PrivatePostgres:
    pgdata: Path
    _server: Any = None
    _socket_dir: str = ""

    def start(self, timeout: float = 120.0) -> str:
        """Start the server (initialising the folder the first time) and wait until it accepts
        connections; its admin DSN."""
        import pgserver

        self.pgdata.mkdir(parents=True, exist_ok=True)
        if self._server is None:
            self._server = pgserver.get_server(str(self.pgdata), cleanup_mode=None)  # type: ignore[attr-defined]
            self._socket_dir = (self.pgdata / "postmaster.pid").read_text().splitlines()[4]
        else:
            # pgserver hands out one handle per folder per process and would not start it again:
            # start it the way it does (pg_ctl as its system user, Unix socket only).
            from pgserver._commands import pg_ctl  # type: ignore[attr-defined]  # made at import time

            pg_ctl(
                ["-w", "-o", '-h ""', "-o", f"-k {self._socket_dir}", "-l", str(self._server.log), "start"],
                pgdata=self.pgdata, user=self._server.system_user, timeout=timeout,
            )  # fmt: skip
        self._wait_ready(timeout)
        uri: str = self._server.get_uri()
        return uri

    def _wait_ready(self, timeout: float) -> None:
        from pgserver._commands import POSTGRES_BIN_PATH

        deadline = time.monotonic() + timeout
        ready = [str(POSTGRES_BIN_PATH / "pg_isready"), "-q", "-h", self._socket_dir, "-U", "postgres"]
        while subprocess.run(ready, check=False).returncode != 0:
            if time.monotonic() > deadline:
                raise RuntimeError(f"PostgreSQL in {self.pgdata} not ready after {timeout:.0f}s")
            time.sleep(0.1)

    def postmaster_pid(self) -> int | None:
        try:
            return int((self.pgdata / "postmaster.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def crash_and_restart(self, down_s: float) -> float:
        """SIGKILL the postmaster, leave it down `down_s` seconds, start it again; seconds it was away."""
        t0 = time.monotonic()
        self._kill(signal.SIGKILL)
        time.sleep(down_s)
        self.start()
        return time.monotonic() - t0

    def stop(self) -> None:
        self._kill(signal.SIGTERM)  # a "smart" shutdown is not needed: the run is over

    def _kill(self, sig: signal.Signals) -> None:
        """Signal the postmaster and, with SIGKILL, its backends too (a whole-server crash: otherwise
        orphaned backends hold the shared memory and the new server refuses to start)."""
        pid = self.postmaster_pid()
        if pid is None:
            return
        victims = process_tree(pid) if sig == signal.SIGKILL else [pid]
        for victim in victims:
            try:
                os.kill(victim, sig)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and any(_alive(v) for v in victims):
            time.sleep(0.05)
        if not _alive(pid):
            # A killed postmaster may linger as a zombie (nobody reaps orphans in some containers); the new
            # server would take its pid file for a live server's. It is dead: its lock file is stale.
            (self.pgdata / "postmaster.pid").unlink(missing_ok=True)
            for lock in Path(self._socket_dir or self.pgdata).glob(".s.PGSQL.*.lock"):
                lock.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A killed child of ours lingers as a zombie until reaped; it holds nothing.
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False
