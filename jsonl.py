"""Reading JSON Lines: one JSON value a line, blank lines skipped, errors naming ``file:line``.

A top-level module, importing nothing of the project, so that ``kb`` (articles, retrieval qrels) and
``triage`` (labelled examples) read JSONL the same way without one reaching into the other. It
parses only: what a row must hold is the caller's to check.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any


def values(lines: Iterable[str], path: Path) -> Iterator[tuple[int, Any]]:
    """(line number, parsed value) for each non-blank line of ``lines`` (numbered from 1)."""
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as e:
            raise ValueError(f"{path}:{n}: invalid JSON: {e.msg}") from e
        yield n, value


def objects(lines: Iterable[str], path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """Like ``values``, and a line that is not a JSON object is an error."""
    for n, value in values(lines, path):
        if not isinstance(value, dict):
            raise ValueError(f"{path}:{n}: expected a JSON object")
        yield n, value
