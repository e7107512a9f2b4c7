"""Asking for a person names one (issue 19, hand-over precision): a request to us ("please process it
today", "how do you communicate incidents?") is not a request for a human, whatever its embedding is
close to; every way of asking for one in the examples still counts."""

from __future__ import annotations

import pytest

from triage.handover import HandoverDetector, load_examples, shared_detector
from triage.handover_rules import vetoes


@pytest.fixture(scope="module")
def detector() -> HandoverDetector:
    return shared_detector()


@pytest.mark.parametrize(
    "text",
    [
        "I want a refund of $400 for all the trouble. Please process it today.",
        "We moved to you after an outage at our previous analytics vendor. How do you communicate incidents?",
        "Could you send the March invoice again, please? Our finance department needs it today.",
    ],
)
def test_a_request_to_us_is_not_a_request_for_a_person(detector: HandoverDetector, text: str) -> None:
    assert "person" not in detector.detect(text).reasons


@pytest.mark.parametrize(
    "text",
    [
        "Can a colleague of yours ring me this afternoon?",
        "I'd like to speak to someone about this invoice.",
        "Please escalate this, the assistant is not getting it.",
    ],
)
def test_asking_for_a_person_in_any_words_still_counts(detector: HandoverDetector, text: str) -> None:
    assert "person" in detector.detect(text).reasons


def test_no_example_of_asking_for_a_person_lacks_the_cue() -> None:
    asking = [e.text for e in load_examples() if "person" in e.reasons]
    assert asking and not [text for text in asking if "person" in vetoes(text)]
