"""The brief's policy (SLA table, VIP boost, escalation rules) and the triage signals."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from domain.models import Customer, Plan, Priority, Sentiment
from domain.policy import (
    asks_for_a_person,
    effective_priority,
    escalation_reason,
    priority_from_text,
    reports_outage,
    sla_deadlines,
)
from triage import sentiment


def _c(plan: Plan = Plan.FREE, vip: bool = False) -> Customer:
    return Customer(customer_id="c", email="c@example.com", name="Sam Lee", plan=plan, is_vip=vip)


@pytest.mark.parametrize(
    ("priority", "hours"),
    [(Priority.CRITICAL, 1), (Priority.HIGH, 4), (Priority.MEDIUM, 24), (Priority.LOW, 72)],
)
def test_resolution_targets_follow_the_brief(priority: Priority, hours: int) -> None:
    t0 = datetime(2026, 1, 5, 12, tzinfo=UTC)
    due = sla_deadlines(priority, t0)
    assert due.resolution_due == t0 + timedelta(hours=hours)
    assert t0 < due.first_response_due < due.resolution_due


def test_vip_and_enterprise_get_one_level_not_two() -> None:
    assert effective_priority(Priority.LOW, _c()) == Priority.LOW
    assert effective_priority(Priority.LOW, _c(vip=True)) == Priority.MEDIUM
    assert effective_priority(Priority.MEDIUM, _c(Plan.ENTERPRISE)) == Priority.HIGH
    assert effective_priority(Priority.HIGH, _c(Plan.ENTERPRISE, vip=True)) == Priority.CRITICAL
    assert effective_priority(Priority.CRITICAL, _c(vip=True)) == Priority.CRITICAL


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Our whole dashboard is down, nobody can log in", Priority.CRITICAL),
        ("I think our API key was leaked on GitHub", Priority.CRITICAL),
        ("Getting 429 errors, this is blocking our production deploy, ASAP", Priority.HIGH),
        ("Feature request: dark mode for dashboards", Priority.LOW),
        ("How do I export a funnel to CSV?", Priority.LOW),
        ("The chart colours look odd since yesterday", Priority.MEDIUM),
        ("A contractor pushed our live secret key to a public GitHub repo", Priority.CRITICAL),
        ("The export endpoint returns HTTP 503 every time", Priority.HIGH),
        ("We were charged $2,539.80 for the renewal, please refund", Priority.MEDIUM),  # not an HTTP 5xx
        ("Nobody can change billing settings since our admin left", Priority.MEDIUM),
    ],
)
def test_priority_from_the_customers_words(text: str, expected: Priority) -> None:
    assert priority_from_text(text)[0] == expected


def test_a_plainly_worded_request_for_a_person_is_recognised() -> None:
    for asks in ("I need a human please", "We want a person, not a bot.", "Get me a live agent"):
        assert asks_for_a_person(asks), asks
    assert not asks_for_a_person("We need a person to own the SSO setup, how do we assign one?")  # a task
    assert not asks_for_a_person("How do I add a user?")


def test_an_outage_or_data_loss_report_is_recognised() -> None:
    for report in ("The dashboard is down for all of us", "Is there an outage?", "We lost all data from May",
                   "Nobody can log in since 9am"):  # fmt: skip
        assert reports_outage(report), report
    for other in ("Download the export", "The chart went downhill", "How do I add a user?"):
        assert not reports_outage(other), other


def test_escalation_rules() -> None:
    assert escalation_reason("I will contact my lawyer", Sentiment.NEUTRAL, _c()) == "legal or security concern"
    assert escalation_reason("Can I talk to a human?", Sentiment.NEUTRAL, _c()) == "customer asked for a human"
    assert escalation_reason("bad", Sentiment.VERY_NEGATIVE, _c()) == "very negative sentiment"
    assert escalation_reason("meh", Sentiment.NEGATIVE, _c(vip=True)) == "VIP or enterprise customer unhappy"
    assert escalation_reason("meh", Sentiment.NEGATIVE, _c()) is None
    assert escalation_reason("How do I add a user?", Sentiment.NEUTRAL, _c(Plan.ENTERPRISE)) is None
    assert escalation_reason("Our API key was pasted in a public Slack", Sentiment.NEUTRAL, _c()) == (
        "legal or security concern"
    )
    # an enterprise account gets a human before it turns openly negative
    assert escalation_reason("third outage", Sentiment.NEUTRAL, _c(Plan.ENTERPRISE), polarity=-0.25) == (
        "VIP or enterprise customer unhappy"
    )
    assert escalation_reason("third outage", Sentiment.NEUTRAL, _c(), polarity=-0.25) is None


def test_sentiment_catches_what_textblob_misses() -> None:
    angry = "This is RIDICULOUS! I've been waiting 3 days and NO ONE has helped me!!!"
    assert sentiment.analyze(angry)[0] == Sentiment.VERY_NEGATIVE
    assert sentiment.analyze("Thanks, that worked perfectly, great support!")[0] == Sentiment.POSITIVE
    assert sentiment.analyze("How do I reset my API key?")[0] == Sentiment.NEUTRAL
    shouting = "YOU CHARGED MY CARD TWICE THIS MONTH!!! I WANT THE DUPLICATE REFUNDED TODAY!!!"
    assert sentiment.analyze(shouting)[0] == Sentiment.VERY_NEGATIVE
    # politeness inside a problem report is not a happy customer
    assert sentiment.analyze("Great product, but the API keeps failing with 500 errors. Please help!")[0] == (
        Sentiment.NEUTRAL
    )
    # acronyms are not shouting
    assert sentiment.analyze("The API returns JSON over HTTPS with SSO enabled")[0] == Sentiment.NEUTRAL
