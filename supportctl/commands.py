"""The core commands: the local stack (dev, demo) and data loading (migrate, seed); `kb` lives in knowledge.py."""

from __future__ import annotations

import argparse
import asyncio
import signal
import time
from types import FrameType
from typing import Any

from settings import Settings
from supportctl.console import say
from supportctl.stack import LocalStack, StackError, resolve_database_url

MAX_RESTARTS = 3  # per part of the stack, within RESTART_WINDOW_S
RESTART_WINDOW_S = 300


def cmd_dev(_args: argparse.Namespace, settings: Settings) -> int:
    dsn, keepalive = asyncio.run(resolve_database_url(settings, say))
    stack = LocalStack(settings, dsn)

    def _stop(_sig: int, _frame: FrameType | None) -> None:
        # Raised wherever the command is, even mid-start of a part (which can wait minutes for it to be ready):
        # the `finally` below stops what was started; `restart` keeps a half-started part in the stack for it.
        raise KeyboardInterrupt

    before = {sig: signal.signal(sig, _stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        from supportctl.demo import console_lines
        from supportctl.prepare import prepare

        say("==> preparing data: migrations, demo customers, knowledge base, triage model")
        asyncio.run(prepare(settings, dsn, say))
        stack.start_all(say)
        say(f"\nAPI:         {stack.api_url}  (OpenAPI docs: {stack.api_url}/docs)")
        for line in console_lines(stack.api_url, None):
            say(line)
        say(f"Temporal UI: {stack.ui_url}")
        say(f"Temporal:    127.0.0.1:{settings.TEMPORAL_PORT} (namespace {settings.TEMPORAL_NAMESPACE})")
        say(f"Logs:        {stack.log_dir}")
        say("Press Ctrl-C to stop.")
        restarts: dict[str, list[float]] = {}
        while True:
            for child in stack.exited():
                # A crashed part comes back, as under a process manager; tickets lose nothing (Temporal
                # retries what was in flight). One that keeps dying is a fault to read about, not to loop on.
                now = time.monotonic()
                recent = [t for t in restarts.get(child.name, []) if now - t < RESTART_WINDOW_S] + [now]
                restarts[child.name] = recent
                code = child.proc.returncode
                if len(recent) > MAX_RESTARTS:
                    say(f"!! {child.name} exited (code {code}) {len(recent)} times in {RESTART_WINDOW_S // 60} "
                        f"minutes; see {child.log_path}. Stopping the stack.")  # fmt: skip
                    return 1
                say(f"!! {child.name} exited (code {code}); restarting it (log: {child.log_path})")
                try:
                    stack.restart(child)
                except StackError as e:
                    say(f"!! {e}. Stopping the stack.")
                    return 1
                say(f"==> {child.name} is running again")
            time.sleep(0.5)
    except KeyboardInterrupt:
        return 0
    finally:
        for sig in before:  # a second Ctrl-C must not cut the stopping short and leave processes behind
            signal.signal(sig, signal.SIG_IGN)
        say("==> stopping the local stack")
        stack.stop()
        del keepalive
        for sig, handler in before.items():
            signal.signal(sig, handler)


def cmd_demo(_args: argparse.Namespace, settings: Settings) -> int:
    from supportctl.demo import run_demo

    return run_demo(settings)


def cmd_seed(_args: argparse.Namespace, settings: Settings) -> int:
    from supportctl.prepare import seed_customers

    n = asyncio.run(seed_customers(settings.DATABASE_URL))
    say(f"{n} demo customers added to {settings.DATABASE_URL} (those it already holds are left as they are)")
    return 0


def cmd_migrate(_args: argparse.Namespace, settings: Settings) -> int:
    from clients import open_pool

    async def run() -> None:
        pool = await open_pool(settings)
        await pool.close()

    asyncio.run(run())
    say(f"schema up to date at {settings.DATABASE_URL}")
    return 0


def register(sub: Any) -> None:
    sub.add_parser("dev", help="run the local stack (Temporal dev server, worker, API) until Ctrl-C").set_defaults(
        func=cmd_dev
    )
    sub.add_parser(
        "demo", help="start the local stack, push the sample tickets through it, print a summary"
    ).set_defaults(func=cmd_demo)
    sub.add_parser("seed", help="add the demo customers the CRM does not hold yet").set_defaults(func=cmd_seed)
    sub.add_parser("migrate", help="apply pending database migrations").set_defaults(func=cmd_migrate)
