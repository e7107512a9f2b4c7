"""The brief's success metrics (`GET /reports/summary`, `supportctl report`).

The counting runs in a store of the test's own, with ticket rows written as the workflow writes them
(snapshot columns, messages, audit events), so every figure can be checked by hand. The API test runs
real tickets through the whole stack (agents, a person, surveys) and reads their report back.
"""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest

from db import tickets
from db.reports import PERSON_EVENTS, support_report
from domain.lifecycle import TicketPolicy
from domain.models import Channel
from domain.success import SupportReport
from supportctl.main import main as supportctl_main
from tests.api_stack import Stack, agent_replies
from tests.store_rows import add_ticket, open_store
from workflows.ticket import TicketInput, TicketWorkflow

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
WEEK = (NOW - timedelta(days=7), NOW)


@pytest.fixture
async def store(own_database: str) -> AsyncIterator[asyncpg.Pool]:
    """A store of the test's own: the report counts every row in its window."""
    pool = await open_store(own_database)
    yield pool
    await pool.close()


def _metric(report: SupportReport, name: str) -> tuple[float | None, bool | None]:
    (m,) = [m for m in report.metrics if m.name == name]
    return m.value, m.met


async def test_each_metric_counts_what_the_brief_says(store: asyncpg.Pool) -> None:
    day = NOW - timedelta(days=2)
    # answered and resolved by the agents, a happy customer: the automated case
    await add_ticket(
        store, opened=day, status="closed", events=("opened", "agent_replied", "resolved", "closed"),
        senders=(("customer", "negative"), ("agent", None), ("customer", "positive")),
        resolved_after_h=2, csat_score=5, cost_usd=0.03,
    )  # fmt: skip
    # handed to a person, who replied and resolved it (owner human): resolved, not automated
    await add_ticket(
        store, opened=day, status="closed", events=("opened", "escalated", "human_replied", "resolved", "closed"),
        senders=(("customer", "very_negative"), ("agent", None), ("human", None)),
        resolved_after_h=20, csat_score=3, cost_usd=0.01, owner="human", assigned_human="ana",
    )  # fmt: skip
    # the agents answered; the customer has not written back yet: open with the agents, outcome unknown
    await add_ticket(store, opened=day, status="waiting_customer", events=("opened", "agent_replied"), cost_usd=0.02)
    # nobody answered in time: the SLA breach hands it over (no 'escalated' event of its own)
    await add_ticket(
        store, opened=day, status="escalated", events=("opened", "sla_breach:first_response"),
        senders=(("customer", "neutral"),), sla_breached=True,
    )  # fmt: skip
    # its workflow was terminated and `tickets reconcile` closed the row: not a resolution
    await add_ticket(
        store, opened=day, status="closed", events=("opened", "workflow_ended"), senders=(), resolved_after_h=30
    )
    # outside the week, and another channel inside it
    await add_ticket(store, opened=NOW - timedelta(days=9), status="closed", resolved_after_h=1, csat_score=1)
    chat = await add_ticket(store, opened=day, status="waiting_customer", channel="chat")

    r = await support_report(store, *WEEK, channel="email")

    assert (r.tickets, r.resolved, r.reached_person, r.open_with_agents) == (5, 2, 2, 1)
    assert _metric(r, "automation_rate") == (0.25, False)  # 1 of the 4 tickets whose outcome is known
    assert _metric(r, "resolution_hours_mean") == (11.0, True)  # (2 h + 20 h) / 2; the reconciled row is not in it
    assert (r.resolution_hours_median, r.resolution_hours_p90) == (11.0, 18.2)
    assert _metric(r, "sla_compliance") == (0.8, False)
    assert _metric(r, "csat_mean") == (4.0, False)
    assert _metric(r, "cost_per_resolved_usd") == (0.03, True)  # $0.06 of model time over 2 resolved tickets
    assert _metric(r, "escalation_rate") == (0.4, False)  # the brief's target is under 40 %
    # last customer message: positive, very negative, neutral (the agents' ticket), neutral
    assert _metric(r, "calm_end_rate") == (0.75, False)
    assert (r.met, r.missed) == (2, 5)

    everything = await support_report(store, *WEEK)
    assert everything.tickets == 6 and chat  # the chat ticket too, once no channel is asked for


async def test_a_ticket_handed_back_to_the_agents_still_reached_a_person(store: asyncpg.Pool) -> None:
    """A refund went to an approver, who approved it and handed the ticket back; the agents then resolved
    it. Nothing on the row says a person took part (owner agents, nobody assigned): only its events do."""
    await add_ticket(
        store, opened=NOW - timedelta(days=1), status="closed", resolved_after_h=5,
        events=("opened", "agent_replied", "escalated", "action_approved", "handed_back", "agent_replied", "resolved"),
    )  # fmt: skip

    r = await support_report(store, *WEEK)

    assert (r.resolved, r.reached_person) == (1, 1)
    assert _metric(r, "automation_rate") == (0.0, False)


async def test_an_auto_resolved_ticket_counts_its_time_to_our_last_answer(store: asyncpg.Pool) -> None:
    """The customer never wrote back and the workflow resolved the ticket after days of silence (as
    "system"): its resolution time is the 2 minutes to the agents' answer, not the silence, which
    measures the auto-resolve setting. A ticket the agents resolved keeps its whole time."""
    day = NOW - timedelta(days=5)
    await add_ticket(
        store, opened=day, status="closed", events=("opened", "agent_replied", "reminder_sent", "resolved", "closed"),
        senders=(("customer", "neutral"), ("agent", None), ("system", None)),  # the reminder is no answer
        resolved_after_h=96, actors={"resolved": "system"},
    )  # fmt: skip
    await add_ticket(
        store, opened=day, status="closed", events=("opened", "agent_replied", "resolved", "closed"),
        senders=(("customer", "neutral"), ("agent", None), ("customer", "positive")),
        resolved_after_h=4, actors={"resolved": "TechnicalAgent"},
    )  # fmt: skip

    r = await support_report(store, *WEEK)

    assert (r.resolved, r.resolved_by_silence) == (2, 1)
    assert _metric(r, "automation_rate") == (1.0, True)
    hours, met = _metric(r, "resolution_hours_mean")
    assert hours == pytest.approx((2 / 60 + 4) / 2, abs=1e-3) and met


async def test_resolved_tickets_the_customer_came_back_to_are_counted(store: asyncpg.Pool) -> None:
    """Reopened during the survey, or written to after closing (a linked follow-up ticket): the lead sees how
    many resolutions did not hold."""
    day = NOW - timedelta(days=3)
    resolved = ("opened", "agent_replied", "resolved", "closed")
    first = await add_ticket(store, opened=day, status="closed", events=resolved, resolved_after_h=1)
    reopened = ("opened", "agent_replied", "resolved", "reopened", "agent_replied", "resolved")
    await add_ticket(store, opened=day, status="resolved", events=reopened, resolved_after_h=5)
    await add_ticket(store, opened=day, status="closed", events=resolved, resolved_after_h=1)
    await add_ticket(store, opened=day + timedelta(days=1), status="waiting_customer", linked_ticket_id=first)

    r = await support_report(store, *WEEK)

    assert (r.tickets, r.resolved, r.came_back) == (4, 3, 2)


async def test_a_priority_the_workflow_raised_is_no_persons_decision(store: asyncpg.Pool) -> None:
    """A later "urgent" raises the priority as "system"; a person changing it is a person taking part."""
    day = NOW - timedelta(days=1)
    events = ("opened", "agent_replied", "priority_changed", "agent_replied", "resolved")
    await add_ticket(store, opened=day, status="resolved", resolved_after_h=1, events=events,
                     actors={"priority_changed": "system"})  # fmt: skip
    await add_ticket(store, opened=day, status="resolved", resolved_after_h=1, events=events,
                     actors={"priority_changed": "ana"})  # fmt: skip

    r = await support_report(store, *WEEK)

    assert (r.resolved, r.reached_person) == (2, 1)
    assert _metric(r, "automation_rate") == (0.5, False)


async def test_a_window_with_nothing_to_measure_claims_nothing(store: asyncpg.Pool) -> None:
    await add_ticket(store, opened=NOW - timedelta(days=1), status="waiting_customer", senders=())

    r = await support_report(store, *WEEK)

    assert r.tickets == 1 and r.open_with_agents == 1
    for name in ("automation_rate", "resolution_hours_mean", "csat_mean", "cost_per_resolved_usd", "calm_end_rate"):
        assert _metric(r, name) == (None, None), name
    assert _metric(r, "sla_compliance") == (1.0, True) and _metric(r, "escalation_rate") == (0.0, True)
    assert (r.met, r.missed) == (2, 0)


async def test_breakdowns_csat_and_each_persons_figures(store: asyncpg.Pool) -> None:
    """Each breakdown's groups are the report of that group alone, the chart's periods are the report of each
    period, the survey's answers spread over 1-5, and each person's figures count what they did."""
    day = NOW - timedelta(days=2)
    # the agents answered and resolved it; a 5 on the survey
    await add_ticket(
        store, opened=day, status="closed", events=("opened", "agent_replied", "resolved"), resolved_after_h=2,
        csat_score=5, priority="low", category="how_to",
    )  # fmt: skip
    # handed over; ana answered 30 minutes after the hand-over and resolved it; a 2 on the survey
    await add_ticket(
        store, opened=day, status="closed", channel="chat", priority="high", category="billing",
        events=("opened", "escalated", "human_replied", "resolved"), actors={"human_replied": "ana", "resolved": "ana"},
        senders=(("customer", "negative"), ("human", None)), authors={2: "ana"}, message_minutes={2: 30},
        resolved_after_h=3, csat_score=2, owner="human", assigned_human="ana",
    )  # fmt: skip
    # handed over; bo reassigned it to ana, who has not answered yet; an earlier day
    await add_ticket(
        store, opened=day - timedelta(days=1), status="escalated", channel="chat", priority="high",
        events=("opened", "escalated", "reassigned"), actors={"reassigned": "bo"}, assigned_human="ana",
        owner="human", escalated=True,
    )  # fmt: skip

    r = await support_report(store, *WEEK, by=["channel", "priority", "category", "product", "period", "agent"])

    assert r.csat.distribution == {"1": 0, "2": 1, "3": 0, "4": 0, "5": 1}
    assert (r.csat.mean, r.csat.responses, r.csat.response_rate) == (3.5, 2, 1.0)
    channels = {g.value: g for g in r.breakdowns["channel"]}
    assert [g.value for g in r.breakdowns["channel"]] == ["chat", "email"]  # most tickets first
    for value, g in channels.items():
        alone = await support_report(store, *WEEK, channel=value)
        assert (g.tickets, g.metrics, g.csat) == (alone.tickets, alone.metrics, alone.csat), value
    assert {g.value: g.tickets for g in r.breakdowns["priority"]} == {"high": 2, "low": 1}
    assert {g.value: g.tickets for g in r.breakdowns["product"]} == {None: 3}  # no product named
    periods = r.breakdowns["period"]
    assert len(periods) == 2 and [p.tickets for p in periods] == [1, 2]  # in time order
    for p in periods:
        start = datetime.fromisoformat(p.value or "")
        alone = await support_report(store, start, start + timedelta(days=1))
        assert (p.tickets, p.metrics) == (alone.tickets, alone.metrics)
    agents = {a.agent: a for a in r.agents or []}
    assert set(agents) == {"ana", "bo"}
    ana, bo = agents["ana"], agents["bo"]
    assert (ana.tickets_handled, ana.replies, ana.resolved, ana.csat_mean, ana.csat_responses) == (1, 1, 1, 2.0, 1)
    assert ana.first_response_hours_mean is not None and 0.4 < ana.first_response_hours_mean < 0.6
    assert (bo.tickets_handled, bo.replies, bo.first_response_hours_mean, bo.csat_responses) == (1, 0, None, 0)


async def test_the_stored_flags_know_the_same_person_events_as_the_report(store: asyncpg.Pool) -> None:
    """Migration V20's trigger keeps `report_person_event` on the ticket row; its kinds are PERSON_EVENTS."""
    source = await store.fetchval("SELECT prosrc FROM pg_proc WHERE proname = 'ticket_report_event'")
    listed = re.search(r"NEW.kind IN \(([^)]*)\)", source)
    assert listed and sorted(re.findall(r"'([^']+)'", listed[1])) == sorted(PERSON_EVENTS)
    # a bulk load that skipped the triggers is put right by the refresh
    tid = await add_ticket(store, opened=NOW - timedelta(days=1), status="escalated", events=("opened", "reassigned"))
    await store.execute("UPDATE tickets SET report_person_event = false WHERE ticket_id = $1", tid)
    await store.execute("SELECT refresh_ticket_report_flags()")
    assert await store.fetchval("SELECT report_person_event FROM tickets WHERE ticket_id = $1", tid)


def test_the_command_prints_each_metric_then_the_report_as_json(
    cli_database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    async def seed() -> None:  # the command runs its own event loop, so the test has none running
        pool = await open_store(cli_database)
        try:
            await add_ticket(pool, opened=datetime.now(UTC) - timedelta(days=1), status="closed",
                          events=("opened", "agent_replied", "resolved"), resolved_after_h=3, csat_score=5)  # fmt: skip
        finally:
            await pool.close()

    asyncio.run(seed())
    assert supportctl_main(["report", "--days", "7", "--channel", "email"]) == 0

    lines = capsys.readouterr().out.strip().splitlines()
    assert "1 (1 resolved, 0 of them by silence, 0 came back; 0 reached a person; 0 open with the agents)" in lines[0]
    assert any(line.split()[:2] == ["automation_rate", "100.0%"] and "met" in line for line in lines)
    assert any(line.split()[:3] == ["resolution_hours_mean", "3.0", "h"] for line in lines)
    report = json.loads(lines[-1])
    assert report["tickets"] == 1 and report["channel"] == "email" and len(report["metrics"]) == 7


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["report", "--days", "0"], "at least 1"),
        (["report", "--since", "2026-13-01"], "not an ISO 8601 date"),
        (["report", "--since", "2026-12-01", "--until", "2026-11-01"], "must be before until"),
        (["report", "--since", "2026-12-01", "--days", "3"], "not allowed with argument"),
        (["report", "--days", "999999999"], "outside the years 1 to 9999"),
        (["report", "--days", "99999999999"], "outside the years 1 to 9999"),
        (["report", "--since", "0001-01-01T00:00+14:00"], "outside the years 1 to 9999"),
        (["report", "--until", "0001-01-02"], "outside the years 1 to 9999"),
    ],
)
def test_the_command_refuses_a_window_that_makes_no_sense(
    argv: list[str], message: str, cli_database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as stop:
        supportctl_main(argv)
    assert stop.value.code == 2  # a usage error, as the README says
    assert message in capsys.readouterr().err


async def test_tickets_run_through_the_stack_are_reported(stack: Stack) -> None:
    """One ticket the agents resolve, one a person resolves; both answer the survey."""
    product = f"Reports {uuid.uuid4().hex[:6]}"
    ticket = {"customer_id": "cus_1004", "channel": "email", "subject": "Help", "product": product}
    r = await stack.http.post("/tickets", json={**ticket, "body": "How do I rotate an API key?"})
    by_agents = r.json()["ticket_id"]
    r = await stack.http.post("/tickets", json={**ticket, "body": "Can I talk to a person? Exports fail daily."})
    by_person = r.json()["ticket_id"]

    opened = await stack.wait_ticket(by_agents, agent_replies(1))
    thanks = {"body": "Thanks, that worked!", "message_id": "m-thanks"}
    assert (await stack.http.post(f"/tickets/{by_agents}/messages", json=thanks)).status_code == 202
    await stack.wait_ticket(by_agents, lambda t: t["status"] == "resolved")
    await stack.wait_ticket(by_person, lambda t: t["status"] == "escalated")
    resolve = {"kind": "resolve", "request_id": uuid.uuid4().hex, "agent_id": "ana", "note": "exports fixed"}
    assert (await stack.http.post(f"/tickets/{by_person}/decisions", json=resolve)).status_code == 200
    for tid, score in ((by_agents, 5), (by_person, 2)):
        assert (await stack.http.post(f"/tickets/{tid}/csat", json={"score": score})).status_code == 202
        await stack.wait_ticket(tid, lambda t: t["status"] == "closed")

    # "Thanks, that worked!" asks for no speed: the workflow leaves the priority where triage put it
    assert (await stack.http.get(f"/tickets/{by_agents}")).json()["priority"] == opened["priority"]
    r = await stack.http.get("/reports/summary", params={"product": product, "days": 1})

    assert r.status_code == 200, r.text
    report = r.json()
    assert (report["tickets"], report["resolved"], report["reached_person"]) == (2, 2, 1)
    metrics = {m["name"]: m for m in report["metrics"]}
    assert metrics["automation_rate"]["value"] == 0.5 and metrics["automation_rate"]["met"] is False
    assert metrics["csat_mean"]["value"] == 3.5 and metrics["escalation_rate"]["value"] == 0.5
    assert metrics["resolution_hours_mean"]["met"] is True  # minutes, not hours

    # the same window broken down: by channel, and the person who resolved one of them
    r = await stack.http.get("/reports/summary", params={"product": product, "days": 1, "by": ["channel", "agent"]})
    assert r.status_code == 200, r.text
    broken = r.json()
    assert [(g["value"], g["tickets"]) for g in broken["breakdowns"]["channel"]] == [("email", 2)]
    assert broken["breakdowns"]["channel"][0]["metrics"] == report["metrics"]
    assert [(a["agent"], a["tickets_handled"], a["resolved"], a["csat_mean"]) for a in broken["agents"]] == [
        ("ana", 1, 1, 2.0)
    ]
    assert broken["csat"]["distribution"] == {"1": 0, "2": 1, "3": 0, "4": 0, "5": 1}


async def test_a_ticket_the_workflow_auto_resolves_is_reported_as_resolved_by_silence(stack: Stack) -> None:
    """The real workflow's auto-resolve (a second of silence here) is what the report calls resolved by silence."""
    product = f"Silence {uuid.uuid4().hex[:6]}"
    tid = f"tkt_{uuid.uuid4().hex[:16]}"
    quick = TicketPolicy(auto_resolve_after=timedelta(seconds=1), csat_timeout=timedelta(seconds=1))
    inp = TicketInput(tid, "cus_1003", Channel.EMAIL, "Invoice copy", "Can you resend my last invoice?", policy=quick,
                      product=product)  # fmt: skip
    h = await stack.client.start_workflow(TicketWorkflow.run, inp, id=f"ticket-{tid}", task_queue=stack.task_queue)
    await h.result()  # answered, auto-resolved after a second of silence, closed when the survey expired

    report = (await stack.http.get("/reports/summary", params={"product": product, "days": 1})).json()

    assert (report["tickets"], report["resolved"], report["resolved_by_silence"]) == (1, 1, 1)


@pytest.mark.parametrize(
    "params",
    [
        {"since": "2026-12-01", "until": "2026-11-01"},
        {"since": "2026-12-01", "days": 3},
        {"days": 0},
        {"days": 3660, "until": "0001-01-05"},
        {"since": "0001-01-01T00:00:00+14:00"},
        {"until": "9999-12-31T23:00:00-05:00"},
        {"since": "yesterday"},
        {"channel": "fax"},
        {"q": "refunds"},
        {"by": "team"},
    ],
)
async def test_a_report_request_that_makes_no_sense_is_a_422_with_a_reason(
    stack: Stack, params: dict[str, Any]
) -> None:
    r = await stack.http.get("/reports/summary", params=params)
    assert r.status_code == 422, r.text
    assert r.json()["error"]["message"]


async def test_a_ticket_of_the_v1_workflow_handed_to_a_person_reached_a_person(store: asyncpg.Pool) -> None:
    """Tickets opened before the lifecycle (workflow v1) have no owner, no decisions and no `escalated`
    event: a hand-over is `status:escalated` and the sticky `escalated` column. One still waits in the
    queue; the other's workflow was terminated and `tickets reconcile` closed it (clearing the column)."""
    v1 = ("created", "triaged", "status:in_progress")
    await add_ticket(
        store, opened=NOW - timedelta(days=2), status="escalated", events=(*v1, "status:escalated"), escalated=True
    )
    await add_ticket(
        store, opened=NOW - timedelta(days=2), status="closed", resolved_after_h=40,
        events=(*v1, "status:escalated", "workflow_ended"),
    )  # fmt: skip

    r = await support_report(store, *WEEK)

    assert (r.tickets, r.resolved, r.reached_person, r.open_with_agents) == (2, 0, 2, 0)
    assert _metric(r, "escalation_rate") == (1.0, False)


async def test_a_resolved_ticket_closed_by_reconcile_stays_resolved(store: asyncpg.Pool) -> None:
    """The agents resolved it; its workflow was terminated while the survey was out, and `tickets
    reconcile` closed the row (keeping its resolved_at). It was resolved: only a row that was not is
    'ended without a resolution'."""
    opened = NOW - timedelta(days=2)
    resolved = await add_ticket(
        store, opened=opened, status="closed", resolved_after_h=4, events=("opened", "agent_replied", "resolved")
    )
    waiting = await add_ticket(store, opened=opened, status="closed", resolved_after_h=50, events=("opened",))
    for tid, previous in ((resolved, "resolved"), (waiting, "waiting_customer")):
        await tickets.insert_event(
            store, tid, event_key="reconciled:terminated", kind="workflow_ended", created_at=opened,
            data={"temporal_status": "terminated", "previous_status": previous},
        )  # fmt: skip

    r = await support_report(store, *WEEK)

    assert (r.tickets, r.resolved, r.reached_person, r.open_with_agents) == (2, 1, 0, 0)
    assert _metric(r, "automation_rate") == (0.5, False)  # the resolved one, of both (the other ended unresolved)
    assert _metric(r, "resolution_hours_mean") == (4.0, True)
