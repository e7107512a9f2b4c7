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


@pytest.mark.parametrize(
    "text",
    [
        "Hi, last spring Tomas from your side set up our warehouse export. It broke after our schema change. "
        "Could you pass this ticket to Tomas, or to whoever looks after his accounts now?",
        "Please route it to the engineer who handled our SSO rollout; she already knows our tenant.",
        "Your colleague promised to get back to me in person. Could you make sure this lands on their desk?",
    ],
)
def test_asking_for_one_of_our_staff_in_particular_is_asking_for_a_person(
    detector: HandoverDetector, text: str
) -> None:
    assert "person" in detector.detect(text).reasons


@pytest.mark.parametrize(
    "text",
    [
        "Can you forward this ticket to Sue in our accounts team once the invoice is fixed?",
        "Please transfer it to Priya, she is our new Owner. How do I change the Owner of the organization?",
        "Could you send the receipt to Marco, our finance lead?",
    ],
)
def test_a_colleague_of_theirs_is_not_one_of_our_staff(detector: HandoverDetector, text: str) -> None:
    assert "person" not in detector.detect(text).reasons
