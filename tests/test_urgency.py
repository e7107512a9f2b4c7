"""Urgency is the customer's claim about this ticket (issue 19, "urgency invented"): words that only name urgency
(a kind of issue, a channel, a what-if, timing told, an ad blocker) neither raise the priority nor make a reply
say "I understand this is urgent"."""

from __future__ import annotations

import pytest

from agents.offline.message_text import expressed_urgency
from domain.models import Priority
from domain.policy import priority_from_text
from domain.urgency import urgency_words

NAMED_NOT_CLAIMED = [
    "We're updating our runbook. Where do we find the phone number for urgent issues, and what response times apply?",
    "Our risk team wants to know how fast you respond to something production-critical.",
    "If a key vendor went down in peak season, how would we find out and how quickly would you answer?",
    "I clicked the reset link right away and it says it has expired.",
    "Events show up in Live events right away, but the dashboard lags. Why?",
    "My ad blocker was eating the requests, sorted now. One more: how do I rename a project?",
    "Half our office is down with the flu this week, so I'm covering billing. Where are the invoices?",
    "Is this an emergency?\n\nNothing is on fire, I'm just planning: how do we reach you out of hours?",
    "Right now our importer sleeps a second between retries. What backoff do you recommend?",
    "I'm toast if I take production down rotating the key. What's the safe way to do it?",
    "Not urgent at all, but could you fix the typo on invoice LUM-1001 immediately when you get to it?",
]


@pytest.mark.parametrize("text", NAMED_NOT_CLAIMED)
def test_urgency_named_but_not_claimed_is_not_urgency(text: str) -> None:
    assert not expressed_urgency(text)
    assert priority_from_text(text)[0] in (Priority.LOW, Priority.MEDIUM), priority_from_text(text)


@pytest.mark.parametrize(
    "text",
    [
        "This is urgent: checkout fails for our customers.",
        "Please restore our admin's access immediately.",
        "Can you look at this ASAP? Exports fail.",
        "It's a blocker for our launch tomorrow.",
        "We need this fixed right away, invoices go out tonight.",
    ],
)
def test_urgency_the_customer_claims_raises_the_priority_and_is_acknowledged(text: str) -> None:
    assert urgency_words(text)
    assert expressed_urgency(text)
    assert priority_from_text(text)[0] == Priority.HIGH


def test_something_down_now_is_acknowledged_as_urgent() -> None:
    assert expressed_urgency("Our checkout is down since 09:00 and every call fails.")
    assert not expressed_urgency("Our webhook receiver went down on Saturday (our fault: the disk filled up).")


def test_a_secret_exposed_across_two_sentences_is_still_critical() -> None:
    text = "A developer pushed our .env file to a public gist this morning. It contained our live secret key."
    assert priority_from_text(text)[0] == Priority.CRITICAL
