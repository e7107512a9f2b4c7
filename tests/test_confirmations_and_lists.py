"""Two everyday shapes of a customer message (issue 19): a follow-up that confirms the fix in words of its own
or asks us to close ("that was it: the policy didn't include your role ... thanks, please close"), and a
message whose requests are enumerated inline ("needs: (1) ..., (2) ..., (3) ...") or under a lead-in
("two things with invites: 1) ... 2) ..."). None of these texts is an eval ticket."""

from __future__ import annotations

import pytest

from agents.offline.intents import suggests_feature
from agents.offline.message_text import questions
from domain.resolution import confirms_resolution

CONFIRMED = [
    "That was it: our firewall didn't allow your IP range. We added it and the sync is green again. Thanks, please "
    "close.",
    "Moved the webhook handler onto a queue as suggested. Consider this closed, thank you!",
    "We added the missing scope and now it works. Cheers.",
    "switched the reporting timezone, all matching now, thx",
    "Updated the card and the invoice went through. Thanks!",
]
STILL_OPEN = [
    "That fixed the export, but please don't close it yet, I want to watch tonight's run.",
    "Thanks, please close. Oh, and how do I add a second billing contact?",
    "now the codes work on my laptop only",
    "It didn't work, we still get the 403. Please close this one and I'll open a new ticket when I've checked.",
]


@pytest.mark.parametrize("text", CONFIRMED)
def test_a_confirmation_in_words_of_its_own_or_a_request_to_close_closes(text: str) -> None:
    assert confirms_resolution(text)


@pytest.mark.parametrize("text", STILL_OPEN)
def test_a_question_a_kept_open_ticket_a_hedge_or_a_fix_that_failed_stays_open(text: str) -> None:
    assert not confirms_resolution(text)


def test_requests_enumerated_inline_are_each_a_question() -> None:
    text = (
        "Our auditor needs: (1) your SOC 2 report, (2) the region our data is stored in, (3) how backups are "
        "encrypted. We're on Pro.\n\nWhere do I get the report?"
    )
    asked = questions(text)
    assert len(asked) == 3
    assert "SOC 2 report" in asked[0] and "region" in asked[1] and "backups" in asked[2]


def test_a_lead_in_sets_the_scene_of_each_listed_item() -> None:
    asked = questions("two things with invites: 1) the one I sent last month has stopped working, 2) can I resend it?")
    assert len(asked) == 2 and all("invites" in q for q in asked)


def test_asking_where_to_ask_for_a_feature_is_a_feature_suggestion() -> None:
    assert suggests_feature("I'd love a heatmap view. Is there somewhere I can ask for it properly?")
    assert not suggests_feature("Is there somewhere I can see the heatmap?")
    assert suggests_feature("Would love weekday breakdowns. Where's the best place to suggest that?")
    assert not suggests_feature("Where is the best place to start with the SDK?")


def test_what_works_in_the_middle_of_a_report_is_the_scene_of_a_vague_question() -> None:
    text = (
        "Our nightly job calls the Query API with our tracking key and every call gets a 403. Sending events with "
        "that same key works fine. What are we missing?"
    )
    assert "403" in questions(text)[0]
    # a follow-up that opens with its confirmation sets no scene for the next question
    follow_up = "That fixed it, thanks! What are the export limits?"
    assert "fixed" not in questions(follow_up)[-1]


def test_the_sentences_before_a_list_set_no_requests_of_their_own() -> None:
    text = (
        "We run a fleet of delivery vans. Each van's tablet posts every stop as its own call today. Two questions:\n\n"
        "1. Can we send the stops in one request instead?\n2. Is there a size limit per request?\n"
    )
    asked = questions(text)
    assert len(asked) == 2 and all("fleet" not in q for q in asked)


def test_lettered_items_are_requests_each() -> None:
    text = "Two things for our shop:\na) a list of people who bought twice and then stopped\nb) hide test users"
    asked = questions(text)
    assert len(asked) == 2 and "bought twice" in asked[0] and "test users" in asked[1]
