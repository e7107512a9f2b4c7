"""`GET /metrics`: the support floor as Prometheus reads it, parsed with Prometheus' own parser."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest
from prometheus_client.parser import text_string_to_metric_families

from api.routes.metrics import SERIES, render
from db.live import live_samples
from tests.api_stack import Stack
from tests.store_rows import add_ticket, open_store

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
async def store(own_database: str) -> AsyncIterator[asyncpg.Pool]:
    """A store of the test's own: the gauges count every open row."""
    pool = await open_store(own_database)
    yield pool
    await pool.close()


def _parse(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    samples = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            samples[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return samples


async def test_the_floor_right_now(store: asyncpg.Pool) -> None:
    hour = timedelta(hours=1)
    # a person owes two high-priority tickets; one has breached its SLA
    await add_ticket(store, opened=NOW - 3 * hour, status="escalated", priority="high", escalated=True,
                     events=("opened", "escalated"), first_response_at=NOW - 2 * hour)  # fmt: skip
    await add_ticket(store, opened=NOW - 5 * hour, status="escalated", priority="high", escalated=True,
                     events=("opened", "escalated"), sla_breached=True, first_response_due=NOW - hour)  # fmt: skip
    # nobody has answered this one for 40 minutes and its first response was due 10 minutes ago
    await add_ticket(store, opened=NOW - 40 * timedelta(minutes=1), status="in_progress", priority="medium",
                     channel="chat", first_response_due=NOW - 10 * timedelta(minutes=1), senders=())  # fmt: skip
    # waiting on the customer, our next reply is not owed
    await add_ticket(store, opened=NOW - 2 * hour, status="waiting_customer", priority="low", channel="chat",
                     first_response_at=NOW - hour, next_reply_due=NOW + hour)  # fmt: skip
    # done: resolved by the agents, a 5 on the survey, $0.04 of model time
    await add_ticket(store, opened=NOW - 9 * hour, status="closed", priority="low", resolved_after_h=1,
                     events=("opened", "agent_replied", "resolved", "closed"), csat_score=5, cost_usd=0.04)  # fmt: skip

    text = render(await live_samples(store, NOW))
    m = _parse(text)

    assert m[("support_open_tickets", (("priority", "high"), ("status", "escalated")))] == 2
    assert m[("support_open_tickets", (("priority", "medium"), ("status", "in_progress")))] == 1
    assert ("support_open_tickets", (("priority", "low"), ("status", "closed"))) not in m
    assert m[("support_human_queue_tickets", (("priority", "high"),))] == 2
    assert m[("support_open_sla_breached_tickets", ())] == 1
    assert m[("support_overdue_tickets", (("clock", "first_response"),))] == 2  # the breached one and the new one
    assert m[("support_overdue_tickets", (("clock", "next_reply"),))] == 0
    assert m[("support_oldest_unanswered_seconds", ())] == 5 * 3600  # the breached one was never answered
    assert m[("support_tickets_total", (("channel", "email"),))] == 3
    assert m[("support_tickets_total", (("channel", "chat"),))] == 2
    assert m[("support_model_cost_usd_total", (("channel", "email"),))] == pytest.approx(0.04)
    assert m[("support_ticket_events_total", (("kind", "resolved"),))] == 1
    assert m[("support_ticket_events_total", (("kind", "escalated"),))] == 2
    assert m[("support_ticket_events_total", (("kind", "reopened"),))] == 0  # present from the start, for rate()
    assert m[("support_csat_responses_total", (("score", "5"),))] == 1
    assert m[("support_csat_responses_total", (("score", "1"),))] == 0
    for name, (kind, _) in SERIES.items():
        assert f"# TYPE {name} {kind}" in text


async def test_an_empty_store_still_exposes_every_series_prometheus_can_rate(store: asyncpg.Pool) -> None:
    m = _parse(render(await live_samples(store, NOW)))

    assert m[("support_open_sla_breached_tickets", ())] == 0
    assert m[("support_oldest_unanswered_seconds", ())] == 0
    assert m[("support_csat_responses_total", (("score", "3"),))] == 0


async def test_metrics_are_served_as_prometheus_text(stack: Stack) -> None:
    r = await stack.http.get("/metrics")

    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain; version=0.0.4")
    families = {f.name for f in text_string_to_metric_families(r.text)}
    assert {"support_open_tickets", "support_tickets", "support_csat_responses"} <= families
