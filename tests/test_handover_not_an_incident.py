"""Calm tickets whose topic sounds like an incident stay with the agents (issue 19: calm tickets handed over
at most one in 20): a question about what would happen, a customer who says nothing happened, a sentence
saying something works, a customer asking what they are doing wrong, a third party's wobble, a signature
check of their own failing. Real reports told beside such words still reach a person. None of these texts is
a training example or an eval ticket."""

from __future__ import annotations

import pytest

from triage import not_an_incident
from triage.handover import HandoverDetector, load_examples, shared_detector
from triage.handover_rules import matches, unit_vetoes, vetoes


@pytest.fixture(scope="module")
def detector() -> HandoverDetector:
    return shared_detector()


CALM = [
    "Tabletop exercise next week, nothing has actually happened. The scenario: a secret key pushed to a public "
    "repo. What would your response be?",
    "Our worker jobs call track() and the logs show the call, but only some of the events reach you. Events from "
    "our web servers arrive fine. What are we missing?",
    "We're importing last year's orders with their original timestamps through the batch endpoint. The calls "
    "succeed, but the old months stay empty in every chart while this week's events show up fine. What are we "
    "doing wrong?",
    "Our Flask route verifies the webhook HMAC with the secret from settings and every call fails the check. "
    "Any idea what's off?",
    "No complaint here, I promise. We're writing our internal runbook: if something urgent goes unanswered, how do "
    "we escalate, and what response times apply on Pro?",
    "Embarrassing: our own firewall rule blocked your webhooks for four hours last night. A completely "
    "self-inflicted outage, nothing to do with you. Will the webhooks be retried?",
]


@pytest.mark.parametrize("text", CALM)
def test_a_calm_message_that_sounds_like_an_incident_stays_with_the_agents(
    detector: HandoverDetector, text: str
) -> None:
    found = detector.detect(text)
    assert found.reasons == [], (found.reasons, found.scores)


ALARMING = [
    ("Every API call has returned 503 since 11:00 and the status page shows no incident. What happens now?", "outage"),
    ("Our dashboards from last year are gone and nobody here deleted them. Will they come back?", "data_loss"),
    ("Someone signed in to our admin account at 4am from an address we don't know. What should we do?", "security"),
]


@pytest.mark.parametrize(("text", "reason"), ALARMING)
def test_a_report_beside_a_what_if_question_still_reaches_a_person(
    detector: HandoverDetector, text: str, reason: str
) -> None:
    assert reason in detector.detect(text).reasons


def test_a_what_if_question_reports_nothing_and_a_why_question_may() -> None:
    assert not_an_incident.asks_what_if("And what should happen if a visitor withdraws consent later?")
    assert not_an_incident.asks_what_if("How can our server check that a request really came from you?")
    assert not not_an_incident.asks_what_if("Why is every call a 503 since noon?")
    assert not not_an_incident.asks_what_if("What happens next is up to you.")  # no question


def test_a_green_status_page_is_no_declaration_that_nothing_happened() -> None:
    assert not not_an_incident.declares_no_incident("The status page shows no incident.")
    assert not_an_incident.declares_no_incident("To be clear, there is no incident: nothing has leaked.")
    assert not not_an_incident.declares_no_incident("This is not a drill, our data is gone.")


def test_a_sentence_that_names_a_failure_is_not_one_that_works() -> None:
    assert not_an_incident.says_it_works("Events from the web servers arrive fine.")
    assert not not_an_incident.says_it_works("The reset e-mail arrives fine but the login still fails with a 500.")


def test_the_rules_still_hand_over_a_plain_report_whatever_else_is_said() -> None:
    text = "Your API is down for all of us. What are we doing wrong?"
    assert "outage" in matches(text)


def test_not_angry_may_still_be_unhappy_and_not_my_fault_is_no_self_blame() -> None:
    assert "unhappy" not in vetoes("Not angry, just disappointed: three weeks on the same bug.")
    assert "angry" not in vetoes("This is not my fault, your export broke again.")
    assert {"angry", "unhappy"} <= vetoes("Totally self-inflicted, our firewall rule blocked you.")


def test_no_written_incident_example_is_vetoed() -> None:
    """The vetoes take away no example written as an incident (each file's positives, about 640)."""
    positives = [e for e in load_examples() if e.reasons & not_an_incident.INCIDENTS]
    vetoed = [
        e.text
        for e in positives
        if e.reasons & (not_an_incident.message_vetoes(e.text) | not_an_incident.unit_vetoes(e.text))
    ]
    assert len(positives) > 500 and vetoed == []


# Must-reach wordings the rules now name (issue 19: every must-reach ticket handed over). Each is checked
# against the rules alone, so it holds whatever the learned detectors make of it.
MUST_REACH = [
    ("Heads up: our counsel is preparing a demand letter over last month's lost campaign data.", "legal"),
    ("We have been served with a claim, and our attorneys plan to name you as a third-party defendant.", "legal"),
    ("Relayed from our service desk. Request type: vendor callback. Please phone her back before Friday.", "person"),
    ("Our audit feed flagged 9 anomalous sign-ins for a user who left in June.", "security"),
    ("For about a minute the report listed customer names that aren't ours, then it went back to normal.", "security"),
    ("Someone signed in on Saturday from an address we don't know and changed the owner e-mail.", "security"),
    ("Since 10:00 a banner says exports are paused for everyone in our company. Nothing can be downloaded.", "outage"),
]


@pytest.mark.parametrize(("text", "reason"), MUST_REACH)
def test_a_must_reach_wording_is_handed_over_by_rule(text: str, reason: str) -> None:
    assert reason in matches(text)


@pytest.mark.parametrize(
    "text",
    [
        "Can we make two-factor sign-in mandatory for everyone in our organization?",
        "How do we spot suspicious logins in the audit log?",
        "I work in our Legal & Litigation Support group; where is your DPA?",
        "Can I call you back after lunch about the invoice address?",
    ],
)
def test_a_calm_question_with_the_same_words_is_not(text: str) -> None:
    assert not matches(text)


def test_not_thrilled_is_unhappy_by_rule() -> None:
    assert "unhappy" in matches("Not thrilled tbh, the export has failed three weeks running.")


def test_the_new_words_pointing_at_a_forwarded_note_bring_it_in() -> None:
    from domain.customer_text import prepared_text

    text = (
        "Hi,\n\nSharing this from our COO so you have the context.\n\nAmir\n\n"
        "> From: Dana, COO\n> Amir, we're not renewing unless Lumora fixes the export bug this month.\n"
    )
    assert "not renewing" in prepared_text(text)


def test_a_figure_of_speech_taken_back_is_no_unhappiness() -> None:
    taken_back = "A make-or-break question for our renewal (not really, but finance says so)."
    assert {"angry", "unhappy"} <= unit_vetoes(taken_back)
    assert not {"angry", "unhappy"} & unit_vetoes("Is it fixed? Not really. Third week of broken exports.")


def test_sarcastic_praise_beside_something_that_broke_keeps_its_unhappiness() -> None:
    assert not {"angry", "unhappy"} & unit_vetoes("Great job, another update that broke our funnels. Impressive.")


def test_their_own_gateway_falling_over_and_nothing_broken_on_ours_is_no_outage() -> None:
    assert "outage" in unit_vetoes("Our own API gateway fell over for ten minutes last night.")
    assert not_an_incident.declares_no_incident("Nothing broke on your side as far as I can tell.")


def test_access_removed_by_an_admin_is_explained_not_an_unexplained_fault() -> None:
    from triage.unexplained_fault import unexplained_fault

    text = "Since this morning it says my access to the organization was removed. Nothing changed for me."
    assert unexplained_fault(text) is None
    assert unexplained_fault("Since this morning every export fails. Nothing changed on our side.") == "outage"
