"""Sampling profiles of the stack's processes with py-spy (`pip install py-spy`; optional).

`Profiler.start(pid)` attaches py-spy to a running process; `stop()` ends the recording and returns
a summary: the functions where the process spent its samples (self time, own code and the libraries)
and the call paths that hold most samples (inclusive), so a run can say where the hot path goes.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PY_SPY = Path(sys.executable).parent / "py-spy"


def available() -> bool:
    return PY_SPY.exists() or shutil.which("py-spy") is not None


@dataclass
class Profiler:
    name: str
    out: Path
    rate: int = 100
    _proc: subprocess.Popen[bytes] | None = None

    def start(self, pid: int) -> None:
        exe = str(PY_SPY) if PY_SPY.exists() else "py-spy"
        self.out.parent.mkdir(parents=True, exist_ok=True)
        self._proc = subprocess.Popen(
            [exe, "record", "--pid", str(pid), "--rate", str(self.rate), "--format", "raw", "--nonblocking",
             "--output", str(self.out)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        time.sleep(0.5)

    def stop(self, top: int = 25) -> dict[str, Any]:
        if self._proc is None:
            return {}
        self._proc.send_signal(signal.SIGINT)
        try:
            self._proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self._proc.kill()
        self._proc = None
        return summarize(self.out, top)


def _frame(f: str) -> str:
    # py-spy raw frames look like "run_turn (agents/team.py:212)"; keep function and file, drop the line.
    name, _, where = f.partition(" (")
    path = where.rstrip(")").rsplit(":", 1)[0]
    for marker in ("site-packages/", "/work/main/", "lib/python3"):
        if marker in path:
            path = path.split(marker, 1)[1]
    return f"{name} ({path})" if path else name


def summarize(raw: Path, top: int = 25) -> dict[str, Any]:
    """Self and inclusive sample shares per function from py-spy's collapsed-stack output."""
    if not raw.exists():
        return {"error": f"no profile written to {raw}"}
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        total += n
        frames = [_frame(f) for f in stack.split(";")]
        own[frames[-1]] += n
        for f in set(frames):
            inclusive[f] += n
    if total == 0:
        return {"samples": 0}

    def share(c: Counter[str]) -> list[tuple[str, float]]:
        return [(f, round(100 * n / total, 1)) for f, n in c.most_common(top)]

    return {"samples": total, "self_pct": share(own), "inclusive_pct": share(inclusive), "raw": str(raw)}
