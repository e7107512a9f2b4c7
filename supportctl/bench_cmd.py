"""`supportctl bench …`: kb, throughput, latency, open-tickets, chaos, console.

`bench kb` times KB searches alone (kb/benchmark.py); every other benchmark starts its own local stack
on free ports with its own database and data folder. Each reports progress on stderr, prints its
figures as one JSON object on the last stdout line and writes the same JSON under `bench/results/`.
The code lives in `bench/` (and `kb/benchmark.py`).
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import sys
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TypedDict

from settings import Settings
from supportctl.console import ProgressBar, emit, fail, note
from supportctl.paths import absent

ROOT = Path(__file__).resolve().parents[1]
if importlib.util.find_spec("bench") is None:  # `bench/` is not an installed package: use the checkout's
    sys.path.append(str(ROOT))


class _StackOptions(TypedDict):
    keep: bool
    extra_env: dict[str, str]
    server_flags: list[str]


def _stack_options(args: argparse.Namespace) -> _StackOptions:
    """What `_common`'s options ask of a benchmark's own stack: the same keywords for every stack benchmark."""
    env = {
        "WORKER_MAX_CACHED_WORKFLOWS": args.cache,
        "WORKER_MAX_CONCURRENT_WORKFLOW_TASKS": args.max_workflow_tasks,
        "WORKER_MAX_CONCURRENT_ACTIVITIES": args.max_activities,
        "WORKER_STICKY_QUEUE_TIMEOUT_S": args.sticky_timeout,
    }
    return _StackOptions(
        keep=args.keep,
        extra_env={k: str(v) for k, v in env.items() if v is not None},
        server_flags=args.server_flag,
    )


def _run(name: str, bench: Coroutine[Any, Any, dict[str, Any]]) -> int:
    """Run one benchmark; its figures become the last stdout line and a file under bench/results/."""
    from bench.common import BenchError
    from bench.common import emit as emit_figures  # console.emit's line, and the file

    try:
        figures = asyncio.run(bench)
    except BenchError as e:
        return fail(str(e))
    emit_figures(name, figures)
    return 0 if figures.get("ok", True) else 1


def cmd_bench_kb(args: argparse.Namespace, settings: Settings) -> int:
    from kb.benchmark import DEFAULT_KB, run_bench

    kb_path: Path = args.kb or DEFAULT_KB
    if absent([kb_path]):
        return fail(f"no such file: {kb_path} (pass --kb with a JSONL or Markdown knowledge base)", 2)
    result = asyncio.run(
        run_bench(kb_path, args.queries, args.out, data_dir=settings.DATA_DIR, say=note, progress=ProgressBar)
    )
    emit(result)
    return 0


def cmd_throughput(args: argparse.Namespace, settings: Settings) -> int:
    from bench.throughput import throughput

    return _run(
        "throughput",
        throughput(
            settings, n=args.n, warmup=args.warmup, concurrency=args.concurrency, profile=args.profile,
            rounds=args.rounds, **_stack_options(args),
        ),
    )  # fmt: skip


def cmd_latency(args: argparse.Namespace, settings: Settings) -> int:
    from bench.latency import latency

    return _run("latency", latency(settings, n=args.n, rate=args.rate, warmup=args.warmup, **_stack_options(args)))


def cmd_open_tickets(args: argparse.Namespace, settings: Settings) -> int:
    from bench.open_tickets import open_tickets

    return _run(
        "open-tickets",
        open_tickets(
            settings, n=args.n, in_flight=args.in_flight, timers=args.timers, remind_after_s=args.remind_after,
            query_sample=args.query_sample, in_memory=args.in_memory, **_stack_options(args),
        ),
    )  # fmt: skip


def cmd_chaos(args: argparse.Namespace, settings: Settings) -> int:
    from bench.chaos import chaos

    return _run(
        "chaos",
        chaos(
            settings, tickets=args.tickets, kills=args.kills, concurrency=args.concurrency,
            server_restarts=args.server_restarts, postgres_restarts=args.postgres_restarts, seed=args.seed,
            min_up_s=args.min_up, max_up_s=args.max_up, server_down_s=args.server_down,
            postgres_down_s=args.postgres_down, **_stack_options(args),
        ),
    )  # fmt: skip


def cmd_console(args: argparse.Namespace, settings: Settings) -> int:
    from bench.console import console

    return _run(
        "console",
        console(
            settings, tickets=args.tickets, days=args.days, samples=args.samples, warmup=args.warmup, keep=args.keep,
            extra_env=_stack_options(args)["extra_env"], server_flags=args.server_flag,
        ),
    )  # fmt: skip


def _common(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("worker tuning (default: settings / the SDK's defaults)")
    g.add_argument("--cache", type=int, default=None, help="WORKER_MAX_CACHED_WORKFLOWS (sticky cache size)")
    g.add_argument("--max-workflow-tasks", type=int, default=None, help="WORKER_MAX_CONCURRENT_WORKFLOW_TASKS")
    g.add_argument("--max-activities", type=int, default=None, help="WORKER_MAX_CONCURRENT_ACTIVITIES")
    g.add_argument("--sticky-timeout", type=float, default=None, help="WORKER_STICKY_QUEUE_TIMEOUT_S")
    p.add_argument(
        "--server-flag", action="append", default=[], metavar="FLAG",
        help="extra flag for `temporal server start-dev` (repeatable), e.g. --server-flag=--sqlite-pragma=...",
    )  # fmt: skip
    p.add_argument("--keep", action="store_true", help="keep the run's database and data folder")


def register(sub: Any) -> None:
    group = sub.add_parser("bench", help="benchmarks (figures written under bench/results/)")
    bench = group.add_subparsers(dest="bench_command", required=True)
    bkb = bench.add_parser("kb", help="KB search latency (p50/p95) on an ingested knowledge base")
    bkb.add_argument("--kb", type=Path, default=None, help="articles to ingest (default: the tau2 banking KB)")
    bkb.add_argument("--queries", type=int, default=300, help="number of timed searches")
    bkb.add_argument("--out", type=Path, default=None, help="result file (default: bench/results/kb_search.json)")
    bkb.set_defaults(func=cmd_bench_kb)

    tp = bench.add_parser(
        "throughput", help="tickets/s to the first agent reply vs bare Temporal and vs the codec off, same server"
    )
    tp.add_argument("--n", type=int, default=300, help="tickets with the codec on, as many off, and bare workflows")
    tp.add_argument("--warmup", type=int, default=10)
    tp.add_argument("--concurrency", type=int, default=20, help="requests / workflow starts in flight")
    tp.add_argument(
        "--rounds", type=int, default=2, help="alternating phases (bare, codec on, codec off, then off, on, bare, …)"
    )
    tp.add_argument("--profile", action="store_true", help="sample the worker and the API with py-spy")
    _common(tp)
    tp.set_defaults(func=cmd_throughput)

    lat = bench.add_parser("latency", help="p50/p95/p99 from POST /tickets to the first agent reply, steady load")
    lat.add_argument("--n", type=int, default=200, help="tickets to time")
    lat.add_argument("--rate", type=float, default=1.0, help="tickets per second, sent on schedule (open loop)")
    lat.add_argument("--warmup", type=int, default=10)
    _common(lat)
    lat.set_defaults(func=cmd_latency)

    ot = bench.add_parser("open-tickets", help="N tickets waiting at once: worker memory, restart, queries, timers")
    ot.add_argument("--n", type=int, default=10_000, help="tickets to open")
    ot.add_argument("--in-flight", type=int, default=100, help="tickets opening at a time")
    ot.add_argument("--timers", type=int, default=50, help="tickets with a short reminder due after the restart")
    ot.add_argument("--remind-after", type=float, default=180.0, help="their reminder delay, seconds")
    ot.add_argument("--query-sample", type=int, default=None, help="query this many tickets (default: all)")
    ot.add_argument("--in-memory", action="store_true", help="dev server without its file database (faster)")
    _common(ot)
    ot.set_defaults(func=cmd_open_tickets)

    ch = bench.add_parser("chaos", help="tickets with follow-ups under repeated kill -9: nothing lost or doubled")
    ch.add_argument("--tickets", type=int, default=200)
    ch.add_argument("--kills", type=int, default=50, help="kill -9 of the worker, each followed by a restart")
    ch.add_argument("--concurrency", type=int, default=8, help="tickets in progress at a time")
    ch.add_argument("--server-restarts", type=int, default=1, help="kill -9 and restart of the dev server")
    ch.add_argument(
        "--postgres-restarts", type=int, default=0,
        help="SIGKILL crashes of PostgreSQL (the run then uses a PostgreSQL server of its own)",
    )  # fmt: skip
    ch.add_argument("--postgres-down", type=float, default=3.0, help="seconds PostgreSQL stays down each time")
    ch.add_argument("--server-down", type=float, default=5.0, help="seconds the dev server stays down each time")
    ch.add_argument("--min-up", type=float, default=1.0, help="shortest worker uptime between kills, seconds")
    ch.add_argument("--max-up", type=float, default=6.0, help="longest worker uptime between kills, seconds")
    ch.add_argument("--seed", type=int, default=None, help="random seed for the kill moments")
    _common(ch)
    ch.set_defaults(func=cmd_chaos)

    co = bench.add_parser("console", help="console pages' p50/p95 with N tickets in the store (target p95 < 300 ms)")
    co.add_argument("--tickets", type=int, default=100_000, help="tickets written to the run's own store (COPY)")
    co.add_argument("--days", type=int, default=365, help="the span they were opened over, ending now")
    co.add_argument("--samples", type=int, default=40, help="timed requests per page")
    co.add_argument("--warmup", type=int, default=2, help="untimed requests per page first")
    _common(co)
    co.set_defaults(func=cmd_console)
