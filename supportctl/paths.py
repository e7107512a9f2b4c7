"""Checks of the file arguments the knowledge, triage, eval and bench commands take, before any work."""

from __future__ import annotations

from pathlib import Path


def absent(paths: list[Path]) -> list[Path]:
    """The paths that do not exist."""
    return [p for p in paths if not p.exists()]


def not_files(paths: list[Path], kind: str) -> str | None:
    """Why ``paths`` cannot be read as ``kind`` files (missing, or a folder), or None when they can."""
    missing = absent(paths)
    if missing:
        return f"no such file: {', '.join(map(str, missing))}"
    folder = next((p for p in paths if p.is_dir()), None)
    return f"{folder} is a folder; give a {kind} file" if folder is not None else None
