"""The benchmark harness keeps its promises, at a tiny size (the full runs are `supportctl bench …`, on demand).

One local stack (dev server with a file database, worker, API, bare worker, and the codec-off worker and
API the throughput run compares with) serves all five benchmarks in turn (the console's last: it fills
the store with tickets of its own), so the test pays for one start-up: each must return its fixed keys,
the chaos run (a kill -9 of the dev server mid-run) must lose and double nothing, and the checker must
notice a duplicate when there is one. The CLI contract (figures as the last stdout line and a file) is
checked on `emit` and on the parser.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bench.chaos import chaos
from bench.common import emit, percentiles
from bench.console import QUEUE_PAGES, console
from bench.latency import latency
from bench.open_tickets import open_tickets
from bench.stack import BenchStack
from bench.throughput import throughput
from bench.verify import Expected, verify
from settings import Settings
from supportctl.main import build_parser


# Every benchmark on one stack, at a tiny size: a few minutes of real processes on a busy machine. The
# timeout guards against a hang; the figures themselves are never asserted (bench/RESULTS.md has them).
@pytest.mark.timeout(420)
async def test_harness_smoke_all_benchmarks_on_one_stack(
    database_url: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    base = Settings(DATABASE_URL=database_url, DATA_DIR=tmp_path / "data", API_KEY=None)
    cache = Path(request.config.cache.mkdir("bench"))  # KB embedded and model trained once per checkout
    stack = await BenchStack.create(base, "smoke", extra_env={"WORKER_STICKY_QUEUE_TIMEOUT_S": "1"}, cache_dir=cache)
    try:
        stack.start(("temporal", "worker", "api", "bare-worker", "plain-worker", "plain-api"))
        tp = await throughput(base, n=2, warmup=1, concurrency=2, stack=stack)
        lat = await latency(base, n=2, rate=4.0, warmup=0, stack=stack)
        ot = await open_tickets(base, n=3, in_flight=3, timers=1, remind_after_s=15, stack=stack)
        # kills=0 here: a kill -9 mid-activity costs that activity's start-to-close timeout (up to two
        # minutes for an agent turn) before its retry, too slow for the suite. The dev server's kill -9
        # still runs; tests/test_worker_crash.py covers a worker's, and `bench chaos` does both at scale.
        ch = await chaos(
            base, tickets=3, kills=0, concurrency=3, server_restarts=1, server_down_s=1.0, min_up_s=1.0,
            max_up_s=1.5, stack=stack,
        )  # fmt: skip

        # The checker is not blind: a customer message stored twice is a duplicate.
        pool = await stack.pool()
        try:
            tid = await pool.fetchval("SELECT ticket_id FROM tickets ORDER BY created_at DESC LIMIT 1")
            body = await pool.fetchval("SELECT body FROM messages WHERE ticket_id = $1 AND seq = 1", tid)
            await pool.execute(
                "INSERT INTO messages (ticket_id, seq, sender, author, body, created_at) "
                "SELECT ticket_id, 99, sender, author, body, created_at FROM messages WHERE ticket_id = $1 AND seq = 1",
                tid,
            )
            report = await verify(await stack.client(), pool, [Expected(tid, [body])], since=_far_future())
        finally:
            await pool.close()
        # last: it writes its own tickets (opened over the past days) into the shared store
        co = await console(base, tickets=300, days=30, samples=2, warmup=0, stack=stack)
    finally:
        await stack.close(keep=False)

    assert {"tickets_per_s", "bare_per_s", "ratio", "activities_per_ticket", "n"} <= tp.keys()
    assert tp["n"] == 2 and tp["activities_per_ticket"] >= 3 and tp["tickets_per_s"] > 0 and tp["bare_per_s"] > 0
    # the codec comparison: the same tickets through the codec-off worker and API, in the same run
    assert tp["codec_on_tickets_per_s"] == tp["tickets_per_s"] and tp["codec_off_tickets_per_s"] > 0
    assert tp["codec_ratio"] > 0 and tp["codec_cpu_ratio"] > 0 and len(tp["codec_ratio_per_round"]) == 2
    assert {"worker", "api", "temporal", "all"} <= tp["codec_cpu_ms_per_ticket"].keys()
    assert {"p50", "p95", "p99"} <= lat["first_reply_s"].keys() and lat["n"] == 2
    assert ot["ok"], ot
    assert ot["n"] == 3 and ot["queries"]["answered"] == 3 and ot["timers"]["fired_after_restart"] == 1
    assert ot["worker_rss_mib"] > 0
    assert {"tickets", "kills", "lost", "duplicates"} <= ch.keys()
    assert ch["tickets"] == 3 and ch["kills"] == 0 and ch["server_restarts"] == 1
    assert ch["lost"] == 0 and ch["duplicates"] == 0 and ch["not_settled"] == 0, (ch["problem_kinds"], ch["problems"])
    assert report.duplicates >= 1 and "stored_customer_twice" in report.kinds
    assert co["tickets"] == 300 and co["messages"] > 300 and co["events"] > 300
    assert set(QUEUE_PAGES) | {"ticket page", "dashboard 30 days"} <= co["pages_ms"].keys()
    assert all(p["p95"] is not None and p["bytes"] > 0 for p in co["pages_ms"].values())


def _far_future() -> datetime:
    return datetime.now(UTC) + timedelta(days=1)


def test_figures_are_the_last_stdout_line_and_a_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("BENCH_RESULTS_DIR", str(tmp_path))
    path = emit("latency", {"bench": "latency", "first_reply_s": percentiles([0.2, 0.4, 1.0])})
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert json.loads(last) == json.loads(path.read_text())
    assert path.parent == tmp_path and path.name.startswith("latency-") and path.suffix == ".json"
    assert json.loads(last)["first_reply_s"] == {"p50": 0.4, "p95": 1.0, "p99": 1.0, "mean": 0.533, "max": 1.0}


def test_bench_commands_are_registered_once() -> None:
    parser = build_parser()
    for name in ("throughput", "latency", "open-tickets", "chaos", "kb", "console"):
        args = parser.parse_args(["bench", name])
        assert callable(args.func)
    args = parser.parse_args(["bench", "chaos", "--kills", "3", "--cache", "200", "--sticky-timeout", "2"])
    assert (args.kills, args.cache, args.sticky_timeout) == (3, 200, 2.0)
    args = parser.parse_args(["bench", "console", "--tickets", "1000", "--samples", "5"])
    assert (args.tickets, args.days, args.samples) == (1000, 365, 5)
