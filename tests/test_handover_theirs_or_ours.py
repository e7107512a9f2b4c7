"""Whose problem it is decides a hand-over (issue 19): a loss told calmly with the customer's own change ruled out,
or a high-value customer asking what they are paying for, reaches a person; a blip of a few minutes, a setup that
works in one of the customer's environments and not another, or a client's procurement team asking for evidence
stays with the agents."""

from __future__ import annotations

import pytest

from domain.policy import important_and_unhappy
from triage.handover import HandoverDetector, shared_detector
from triage.handover_rules import matches


@pytest.fixture(scope="module")
def detector() -> HandoverDetector:
    return shared_detector()


def test_data_gone_with_no_release_of_theirs_to_blame_reaches_a_person(detector: HandoverDetector) -> None:
    text = (
        "hey, since last tuesday every iOS event in our reports has empty properties, the live view shows them "
        "fine. we didnt ship a new app version in that time. a week of breakdowns gone - can you reprocess it?"
    )
    assert "data_loss" in matches(text)
    assert "data_loss" in detector.detect(text).reasons


def test_a_question_about_shipping_an_update_is_not_a_loss() -> None:
    assert "data_loss" not in matches("We didn't ship the SDK update yet. Will our events be lost when we do?")


@pytest.mark.parametrize(
    "text",
    [
        "Honestly, what are we even paying for? The export has been wrong for a week.",
        "If this isn't fixed before our renewal, I'd like to see the alternatives.",
    ],
)
def test_asking_what_they_pay_for_or_for_the_alternatives_is_unhappy_by_rule(text: str) -> None:
    assert "unhappy" in matches(text)


def test_alternatives_to_a_feature_are_a_product_question() -> None:
    assert "unhappy" not in matches("Could we see the alternatives to the iframe embed for our intranet?")


def test_a_forwarded_complaint_from_a_vip_reaches_a_person(detector: HandoverDetector) -> None:
    from demo.customers import demo_customers

    vip = next(c for c in demo_customers() if c.is_vip)
    text = (
        "Forwarding this from our CFO, as she asked.\n\nShe writes: the renewal is next month and the dashboards "
        "were wrong twice this quarter. What are we paying for? Otherwise I'd like to compare the alternatives."
    )
    found = detector.detect(text)
    assert important_and_unhappy(vip, found.unhappy, found.unhappy_share)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        (
            "A client's procurement team, who want evidence of how our analytics vendor protects data, has been "
            "grilling us all week - there's no other word for it. Can we have your SOC 2 report?",
            "legal",
        ),
        (
            "a radio ad sent a flood of signups our way this morning and our backend got 429s from you for a few "
            "mins. we're way under the hourly limit though?",
            "outage",
        ),
        (
            "We send events from a Gunicorn app. Locally the event shows up in Live events right away. In production "
            "(4 workers) nothing arrives and the logs show no errors. The client is created when the module loads.",
            "outage",
        ),
    ],
)
def test_theirs_not_ours_stays_with_the_agents(detector: HandoverDetector, text: str, reason: str) -> None:
    assert reason not in detector.detect(text).reasons


def test_a_report_that_fails_everywhere_still_reaches_a_person(detector: HandoverDetector) -> None:
    text = "Since 10:00 every call to /v2/track returns 503, from production and from my laptop. Nothing changed."
    assert "outage" in detector.detect(text).reasons


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        # a third party's security incident is why they write, not ours
        (
            "The payment widget vendor we embed got hacked last week (it's all over the news), so we're replacing "
            "it. Nothing to do with Lumora, but how do we make your script wait for consent?",
            "security",
        ),
        (
            "A competitor of ours suffered a nasty data breach last month, and our board now wants to know how "
            "each vendor protects our data. Is data encrypted between our apps and you?",
            "security",
        ),
        # a permission error the help centre explains
        (
            "Our new BigQuery export fails every run with EXPORT_PERMISSION_DENIED. The service account you showed "
            "us was added to the GCP project as a plain Viewer. What exactly does it need?",
            "security",
        ),
        # a change of their own beside the failure
        (
            "Since this morning every sign-in through our identity provider fails with 'SAML response signature "
            "invalid'. Our identity team rotated the SAML signing certificate last night. Nothing was changed in "
            "Lumora.",
            "outage",
        ),
        # everyone writing to support wants help; a runbook asks how to reach support one day
        (
            "Hi support, forwarding this from our front-end dev, can you help?\n\nThe dashboard he builds gets a "
            "CORS error from /v2/query in the browser.",
            "person",
        ),
        (
            "Our DPO has two requests before the audit: 1. a signed DPA, 2. whether we can stop you storing full IP "
            "addresses. Can you help with both?",
            "person",
        ),
        (
            "We're onboarding new on-call engineers. Who do we yell at at 3am when something on your side breaks, "
            "and what's the quickest route to you outside office hours?",
            "person",
        ),
    ],
)
def test_not_ours_or_no_request_for_a_person_stays_with_the_agents(
    detector: HandoverDetector, text: str, reason: str
) -> None:
    assert reason not in detector.detect(text).reasons


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("Our Lumora account got hacked last night: someone added an admin we never invited.", "security"),
        ("Every call to /v2/track returns 503 since 09:00 and nothing changed on our side.", "outage"),
        ("I've asked twice now. Can you help me by putting me through to a person on your team?", "person"),
    ],
)
def test_the_same_kinds_of_report_of_ours_still_reach_a_person(
    detector: HandoverDetector, text: str, reason: str
) -> None:
    assert reason in detector.detect(text).reasons


def test_a_failure_tried_everywhere_on_their_side_is_ours(detector: HandoverDetector) -> None:
    text = (
        "Weekly notes:\n- the new Signup event is live, thanks!\n- Since about 09:00 today every PDF export from "
        "any dashboard downloads as an empty file. It's not one dashboard: we tried across all four of our projects, "
        "three different people in two offices. Payroll needs them today.\n- We'd love dark mode one day."
    )
    assert "outage" in detector.detect(text).reasons
