"""What every `supportctl` command shows the operator, in one place.

stdout is the result: lines for people (`say`) and, for the commands that measure or count, one JSON
object as the last line (`emit`), which scripts and graders read. stderr is everything else: progress
(`note`, `ProgressBar`) and one-line errors (`fail`), so a redirect of stdout keeps only the result.
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any


def say(msg: str) -> None:
    """A result line: stdout."""
    print(msg, flush=True)


def note(msg: str) -> None:
    """Progress and diagnostics: stderr, so stdout stays the result."""
    print(msg, file=sys.stderr, flush=True)


def fail(msg: str, code: int = 1) -> int:
    """A one-line error on stderr (`error: MSG`); returns the command's exit code."""
    note(f"error: {msg}")
    return code


def emit(result: Any) -> None:
    """The JSON last line of stdout: the fixed interface that scripts and graders read."""
    say(json.dumps(result))


class ProgressBar:
    """A one-line progress bar on stderr (a plain line per update when stderr is not a terminal)."""

    def __init__(self, label: str, every: float = 1.0) -> None:
        self._label = label
        self._every = every
        self._last = 0.0
        self._started = time.monotonic()
        self._tty = sys.stderr.isatty()

    def __call__(self, done: int, total: int) -> None:
        now = time.monotonic()
        if done < total and now - self._last < self._every:
            return
        self._last = now
        if total <= 0:
            return
        width = 30
        filled = int(width * done / total)
        line = f"{self._label} [{'#' * filled}{'.' * (width - filled)}] {done}/{total} {now - self._started:.0f}s"
        if self._tty:
            end = "\n" if done >= total else ""
            print(f"\r{line}", end=end, file=sys.stderr, flush=True)
        else:
            print(line, file=sys.stderr, flush=True)
