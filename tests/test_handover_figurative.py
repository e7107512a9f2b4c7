"""Hand-over precision on tickets nobody tuned for (issue 19): scary words used figuratively, planning
for an incident, a request to sales or for a document, one alarming-sounding line in a long calm
mail stay with the agents; an incident or a threat in plain, casual or buried words still reaches a
person. None of these texts is a training example."""

from __future__ import annotations

import pytest

from triage.handover import HandoverDetector, load_examples, shared_detector
from triage.handover_rules import matches


@pytest.fixture(scope="module")
def detector() -> HandoverDetector:
    return shared_detector()


CALM = [
    "Setting up these funnels by hand is killing me, can I copy one to another project?",
    "Losing the old filters was a disaster for my weekly planning; how do I save a filter as a default?",
    "Our security team asked for your DPA and pen-test summary before renewal, where do I find them?",
    "Before I open a ticket next time, where is the status page?",
    "Our legal department will review the new terms next week, is there a summary of what changed?",
    "I lost my notes from the kick-off call, could you send the recording link again?",
    "Please escalate my feature request for CSV exports with custom delimiters.",
    "For our incident response plan: what happens if our API key is ever leaked?",
    "Our own web server went down last night, so a few hours of events are missing; can we backfill them?",
    "Could I talk to someone from sales about adding thirty seats?",
    "Hi Lumora team,\n\nHope you had a nice weekend. A few questions from our side.\n\nHow do I share a "
    "dashboard with a client who has no login? Can the weekly report go out on Mondays instead? Our CFO "
    "asked whether you've ever had a data breach, for the vendor file. And is SSO on the Pro plan?\n\n"
    "Thanks so much,\nIngrid",
]
ALARMING = [
    ("whole team gets a blank page on the app since 7am, every browser, every office", "outage"),
    ("Hi, quick thing. Our mobile build shipped with the live secret key hardcoded. Can you revoke it?", "security"),
    ("Thanks for the reply. Unfortunately all the funnels we built last year are gone from the project.", "data_loss"),
    ("If the double charge isn't reversed by Friday I'll be taking legal steps.", "legal"),
    ("pls can a human look at this, the automatic answers go in circles", "person"),
]

# Failures told as occasional: a question about retries, not an outage (``handover_rules._VETOES``).
OCCASIONAL = [
    "Intermittent trouble: a handful of our /v2/track calls each day come back 503 Service Unavailable and the "
    "rest are fine. Should our uploader retry them, and how often?",
    "Every now and then the ingestion endpoint answers 502 Bad Gateway, maybe twice a day. Retry or drop?",
    "Our hourly job occasionally gets a 504 gateway timeout from the Query API. What is the right retry policy?",
]


@pytest.mark.parametrize("text", OCCASIONAL)
def test_failures_told_as_occasional_are_no_outage(detector: HandoverDetector, text: str) -> None:
    found = detector.detect(text)
    assert found.reasons == [], (found.reasons, found.scores)


@pytest.mark.parametrize("text", CALM)
def test_figurative_or_planning_words_stay_with_the_agents(detector: HandoverDetector, text: str) -> None:
    found = detector.detect(text)
    assert found.reasons == [], (found.reasons, found.scores)


@pytest.mark.parametrize(("text", "reason"), ALARMING)
def test_an_incident_in_plain_or_casual_words_reaches_a_person(
    detector: HandoverDetector, text: str, reason: str
) -> None:
    assert reason in detector.detect(text).reasons


def test_a_single_sentence_must_clear_a_stricter_bar_than_the_whole_message(detector: HandoverDetector) -> None:
    assert all(detector.sentence_thresholds[r] >= t for r, t in detector.thresholds.items())


def test_these_texts_are_not_training_examples() -> None:
    trained = {e.text for e in load_examples()}
    assert not trained & {*CALM, *OCCASIONAL, *(t for t, _ in ALARMING)}


def test_an_incident_rule_skips_a_sentence_that_plans_for_one() -> None:
    assert "security" not in matches("What should we do if someone was hacked into our workspace?")
    assert "security" in matches("We were hacked into our workspace last night.")
