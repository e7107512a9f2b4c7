"""`supportctl`: the operators' command line (local stack, demo, data loading)."""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
import time
from pathlib import Path
from types import FrameType

from settings import Settings, get_settings
from supportctl.stack import LocalStack, StackError, resolve_database_url


def say(msg: str) -> None:
    print(msg, flush=True)


def cmd_dev(settings: Settings) -> int:
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


def cmd_demo(settings: Settings) -> int:
    from supportctl.demo import run_demo

    return run_demo(settings)


def cmd_seed(settings: Settings) -> int:
    from supportctl.prepare import seed_customers

    n = asyncio.run(seed_customers(settings.DATABASE_URL))
    say(f"{n} demo customers upserted into {settings.DATABASE_URL}")
    return 0


def cmd_kb_ingest(settings: Settings, paths: list[Path]) -> int:
    from supportctl.prepare import DEMO_KB, ingest_kb

    missing = [p for p in paths if not p.exists()]
    if missing:
        say(f"error: no such file or folder: {', '.join(map(str, missing))}")
        return 2
    asyncio.run(ingest_kb(settings, paths or [DEMO_KB], say))
    return 0


def cmd_migrate(settings: Settings) -> int:
    from clients import open_pool

    async def run() -> None:
        pool = await open_pool(settings)
        await pool.close()

    asyncio.run(run())
    say(f"schema up to date at {settings.DATABASE_URL}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="supportctl", description="Durable AI customer support: operator commands.")
    sub = p.add_subparsers(dest="command", required=True)
    sub.add_parser("dev", help="run the local stack (Temporal dev server, worker, API) until Ctrl-C")
    sub.add_parser("demo", help="start the local stack, push the sample tickets through it, print a summary")
    sub.add_parser("seed", help="load the demo customers into the CRM")
    sub.add_parser("migrate", help="apply pending database migrations")
    kb = sub.add_parser("kb", help="knowledge base")
    kb_sub = kb.add_subparsers(dest="kb_command", required=True)
    ingest = kb_sub.add_parser("ingest", help="load help articles (Markdown, JSONL, folders) into Qdrant")
    ingest.add_argument("paths", nargs="*", type=Path, help="files or folders (default: the demo articles)")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    settings = get_settings()
    try:
        if args.command == "dev":
            return cmd_dev(settings)
        if args.command == "demo":
            return cmd_demo(settings)
        if args.command == "seed":
            return cmd_seed(settings)
        if args.command == "migrate":
            return cmd_migrate(settings)
        if args.command == "kb":
            return cmd_kb_ingest(settings, args.paths)
    except StackError as e:
        say(f"error: {e}")
        return 1
    except (OSError, ValueError) as e:
        say(f"error: {e}")
        return 1
    return 2


if __name__ == "__main__":
    sys.exit(main())
