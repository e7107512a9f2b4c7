"""The core commands: the local stack (dev, demo) and data loading (migrate, seed); `kb` lives in knowledge.py."""

from __future__ import annotations

import argparse
import asyncio
import signal
import time
from types import FrameType
from typing import Any

from settings import Settings
from supportctl.stack import LocalStack, resolve_database_url


def say(msg: str) -> None:
    print(msg, flush=True)


def cmd_dev(_args: argparse.Namespace, settings: Settings) -> int:
    dsn, keepalive = asyncio.run(resolve_database_url(settings, say))
    stack = LocalStack(settings, dsn)
    stopping = False

    def _stop(_sig: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    try:
        from supportctl.prepare import prepare

        say("==> preparing data: migrations, demo customers, knowledge base, triage model")
        asyncio.run(prepare(settings, dsn, say))
        stack.start_all(say)
        say(f"\nAPI:         {stack.api_url}  (OpenAPI docs: {stack.api_url}/docs)")
        say(f"Temporal UI: {stack.ui_url}")
        say(f"Temporal:    127.0.0.1:{settings.TEMPORAL_PORT} (namespace {settings.TEMPORAL_NAMESPACE})")
        say(f"Logs:        {stack.log_dir}")
        say("Press Ctrl-C to stop.")
        while not stopping:
            dead = [c.name for c in stack.children if c.proc.poll() is not None]
            if dead:
                say(f"!! {', '.join(dead)} exited; see {stack.log_dir}. Stopping the stack.")
                return 1
            time.sleep(0.5)
        return 0
    finally:
        say("==> stopping the local stack")
        stack.stop()
        del keepalive


def cmd_demo(_args: argparse.Namespace, settings: Settings) -> int:
    from supportctl.demo import run_demo

    return run_demo(settings)


def cmd_seed(_args: argparse.Namespace, settings: Settings) -> int:
    from supportctl.prepare import seed_customers

    n = asyncio.run(seed_customers(settings.DATABASE_URL))
    say(f"{n} demo customers upserted into {settings.DATABASE_URL}")
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
    sub.add_parser("seed", help="load the demo customers into the CRM").set_defaults(func=cmd_seed)
    sub.add_parser("migrate", help="apply pending database migrations").set_defaults(func=cmd_migrate)
