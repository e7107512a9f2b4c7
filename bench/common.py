"""What every benchmark shares: the result file and last-line JSON, percentiles, and CPU/memory accounting.

CPU and memory are read from /proc (Linux), so a run can say how much of the machine it had: the CPU
seconds each of its processes used, and what everything else on the machine used meanwhile
(`other_cpu_s`: other engineers' test runs on a shared box), next to the load average.
"""

from __future__ import annotations

import json
import math
import os
import sys
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS_DIR = ROOT / "bench" / "results"
_TICK = os.sysconf("SC_CLK_TCK")
_PAGE = os.sysconf("SC_PAGE_SIZE")


class BenchError(RuntimeError):
    """The run could not finish (a part failed or stalled); the message says where to look."""


_T0 = time.monotonic()


def note(msg: str) -> None:
    """Progress: stderr (seconds since start first), so stdout's last line stays the result."""
    print(f"[{time.monotonic() - _T0:6.1f}s] {msg}", file=sys.stderr, flush=True)


def emit(name: str, figures: Mapping[str, Any], results_dir: Path | None = None) -> Path:
    """Write the figures to `<results_dir>/<name>-<timestamp>.json` and print them as the last stdout line."""
    out_dir = results_dir or Path(os.environ.get("BENCH_RESULTS_DIR") or RESULTS_DIR)
    out_dir.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = out_dir / f"{name}-{stamp}.json"
    n = 1
    while path.exists():  # two runs in the same second keep both files
        path = out_dir / f"{name}-{stamp}-{n}.json"
        n += 1
    text = json.dumps(dict(figures), default=str)
    path.write_text(text + "\n")
    note(f"figures written to {path}")
    print(text, flush=True)
    return path


def percentiles(values: Iterable[float], digits: int = 3) -> dict[str, float | None]:
    """p50/p95/p99 (nearest rank), mean and max of `values`; None when there are none."""
    xs = sorted(values)
    if not xs:
        return {"p50": None, "p95": None, "p99": None, "mean": None, "max": None}

    def rank(p: float) -> float:
        return xs[max(0, math.ceil(p / 100 * len(xs)) - 1)]

    return {
        "p50": round(rank(50), digits),
        "p95": round(rank(95), digits),
        "p99": round(rank(99), digits),
        "mean": round(sum(xs) / len(xs), digits),
        "max": round(xs[-1], digits),
    }


# ---- /proc -------------------------------------------------------------------------------------


def _children(pid: int) -> list[int]:
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return []
    out: list[int] = []
    for tid in tasks:
        try:
            out += [int(c) for c in Path(f"/proc/{pid}/task/{tid}/children").read_text().split()]
        except OSError:
            continue
    return out


def process_tree(pid: int) -> list[int]:
    """`pid` and all its descendants that are alive now."""
    seen, todo = [], [pid]
    while todo:
        p = todo.pop()
        if p in seen or not Path(f"/proc/{p}").exists():
            continue
        seen.append(p)
        todo += _children(p)
    return seen


def cpu_seconds(pid: int) -> float:
    """User + system CPU of `pid` and its descendants (0 when it is gone)."""
    total = 0
    for p in process_tree(pid):
        try:
            stat = Path(f"/proc/{p}/stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)
    return total / _TICK


def rss_bytes(pid: int) -> int:
    """Resident memory of `pid` and its descendants."""
    total = 0
    for p in process_tree(pid):
        try:
            total += int(Path(f"/proc/{p}/statm").read_text().split()[1]) * _PAGE
        except (OSError, IndexError, ValueError):
            continue
    return total


def machine_busy_seconds() -> float:
    """CPU seconds all cores spent not idle since boot."""
    parts = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    ticks = [int(x) for x in parts]
    idle = ticks[3] + (ticks[4] if len(ticks) > 4 else 0)  # idle + iowait
    return (sum(ticks[:8]) - idle) / _TICK


def machine_state() -> dict[str, Any]:
    load1, load5, _ = os.getloadavg()
    return {"cpus": os.cpu_count(), "load_1m": round(load1, 2), "load_5m": round(load5, 2)}


@dataclass
class CpuMeter:
    """CPU used by each named process of a run, and by the rest of the machine, between start() and stop()."""

    pids: dict[str, int] = field(default_factory=dict)
    _start: dict[str, float] = field(default_factory=dict)
    _machine: float = 0.0
    _t0: float = 0.0

    def start(self, pids: Mapping[str, int]) -> None:
        self.pids = dict(pids)
        self._t0 = time.monotonic()
        self._machine = machine_busy_seconds()
        self._start = {name: cpu_seconds(pid) for name, pid in self.pids.items()}

    def stop(self) -> dict[str, Any]:
        wall = time.monotonic() - self._t0
        used = {name: round(cpu_seconds(pid) - self._start[name], 2) for name, pid in self.pids.items()}
        machine = machine_busy_seconds() - self._machine
        ours = sum(used.values())
        return {
            "wall_s": round(wall, 2),
            "cpu_s": used,
            # Everything else that ran meanwhile: Postgres, this driver, and other people's work.
            "other_cpu_s": round(max(0.0, machine - ours), 2),
            "machine_busy_pct": round(100 * machine / (wall * (os.cpu_count() or 1)), 1) if wall > 0 else None,
        }
