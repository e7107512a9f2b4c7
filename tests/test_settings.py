"""Settings: local state follows DATA_DIR, and a bad or clashing setup is one line, not a traceback."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest
from qdrant_client import AsyncQdrantClient

from settings import Settings, get_settings
from supportctl.main import main as supportctl_main

ROOT = Path(__file__).resolve().parents[1]


def test_the_knowledge_base_lives_under_data_dir_unless_set(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """QDRANT_PATH defaulted to the working directory's data/qdrant whatever DATA_DIR said, so a second
    stack with its own DATA_DIR found the first one's knowledge base locked."""
    monkeypatch.delenv("QDRANT_PATH", raising=False)
    assert Settings(DATA_DIR=tmp_path / "a").QDRANT_PATH == str(tmp_path / "a" / "qdrant")
    monkeypatch.setenv("DATA_DIR", str(tmp_path / "b"))
    assert Settings().QDRANT_PATH == str(tmp_path / "b" / "qdrant")
    assert Settings(QDRANT_PATH=str(tmp_path / "own")).QDRANT_PATH == str(tmp_path / "own")


def test_a_list_setting_that_is_not_json_is_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("APPROVERS", "team-lead")
    get_settings.cache_clear()
    try:
        assert supportctl_main(["kb", "sources"]) == 2
    finally:
        get_settings.cache_clear()
    err = capsys.readouterr().err
    assert err.startswith("error: APPROVERS: not valid JSON") and err.count("\n") == 1, err


def test_a_knowledge_base_in_use_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "qdrant"
    holder = AsyncQdrantClient(path=str(folder))  # another stack's worker, say
    monkeypatch.setenv("QDRANT_PATH", str(folder))
    monkeypatch.setenv("QDRANT_URL", "")
    get_settings.cache_clear()
    try:
        assert supportctl_main(["kb", "sources"]) == 1
    finally:
        get_settings.cache_clear()
        asyncio.run(holder.close())
    err = capsys.readouterr().err
    assert err == f"error: another process uses the knowledge base at {folder}: is another stack running? " + (
        "(local Qdrant takes one process per folder: give this one its own DATA_DIR, or use QDRANT_URL)\n"
    )


def test_a_worker_whose_knowledge_base_is_in_use_says_so_in_one_line(database_url: str, tmp_path: Path) -> None:
    folder = tmp_path / "qdrant"
    holder = AsyncQdrantClient(path=str(folder))
    env = {**os.environ, "DATABASE_URL": database_url, "QDRANT_PATH": str(folder), "QDRANT_URL": "",
           "DATA_DIR": str(tmp_path)}  # fmt: skip
    try:
        done = subprocess.run(
            [sys.executable, str(ROOT / "worker.py")], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
        )
    finally:
        asyncio.run(holder.close())
    assert done.returncode == 1
    assert "Traceback" not in done.stderr, done.stderr
    assert f"another process uses the knowledge base at {folder}" in done.stderr.strip().splitlines()[-1]
