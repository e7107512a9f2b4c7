"""`supportctl webhooks list|replay` on a database of its own: the operator reads the delivery log and
queues deliveries again, as `GET /webhooks/deliveries` and `POST …/replay` do."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import asyncpg
import pytest

from channels.webhooks import store
from db.pool import create_pool
from supportctl.main import main as supportctl_main

HOOK = "https://hooks.example.com/support"


@pytest.fixture
async def log(cli_database: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_pool(cli_database, min_size=1, max_size=2)
    for n, (state, status, error) in enumerate(
        [
            ("delivered", 200, None),
            ("refused", 410, "HTTP 410: gone"),
            ("refused", 422, "HTTP 422: bad"),
            ("failed", 503, "HTTP 503: busy"),
        ]  # fmt: skip
    ):
        await store.record(
            pool, webhook_id=f"n-{n}", stream="notification", endpoint=HOOK, event_type="sla_breach",
            ticket_id=None, payload={"n": n}, state=state, status=status, error=error,
        )  # fmt: skip
    yield pool
    await pool.close()


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, list[str]]:
    code = supportctl_main(["webhooks", *argv])
    return code, capsys.readouterr().out.strip().splitlines()


async def _state(pool: asyncpg.Pool, webhook_id: str) -> tuple[str, bool]:
    row = await pool.fetchrow("SELECT state, replayed_at IS NOT NULL AS replayed FROM webhook_deliveries "
                              "WHERE webhook_id = $1", webhook_id)  # fmt: skip
    assert row is not None
    return row["state"], row["replayed"]


async def test_list_and_replay(log: asyncpg.Pool, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = await asyncio.to_thread(_run, capsys, "list", "--state", "refused")
    assert code == 0 and json.loads(out[-1]) == {"deliveries": 2, "next_before_id": None}
    assert "notification sla_breach - refused after 1 attempt(s), HTTP 422: bad [n-2 to " in out[0]
    assert "HTTP 410" in out[1]
    ids = {line.split()[0].lstrip("#"): line for line in out[:-1]}

    code, out = await asyncio.to_thread(_run, capsys, "list", "--limit", "3")
    assert code == 0 and len(out) == 5 and json.loads(out[-1])["next_before_id"] is not None
    assert out[-2].startswith("older ones: supportctl webhooks list --before ")

    # One by id, then every refused one; an id nobody has is named and the exit code says so.
    first = sorted(ids, key=int)[0]
    code, out = await asyncio.to_thread(_run, capsys, "replay", first, "999999")
    assert code == 1 and json.loads(out[-1]) == {"replayed": [int(first)], "not_found": [999999]}
    assert await _state(log, "n-1") == ("pending", True)
    assert await _state(log, "n-2") == ("refused", False)
    code, out = await asyncio.to_thread(_run, capsys, "replay", "--refused")
    assert code == 0 and len(json.loads(out[-1])["replayed"]) == 1
    assert await _state(log, "n-2") == ("pending", True)
    assert await _state(log, "n-0") == ("delivered", False)  # untouched

    with pytest.raises(SystemExit) as usage:
        await asyncio.to_thread(supportctl_main, ["webhooks", "list", "--limit", "0"])
    assert usage.value.code == 2
    code = await asyncio.to_thread(supportctl_main, ["webhooks", "replay"])
    assert code == 2
