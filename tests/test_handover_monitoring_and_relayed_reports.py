"""Must-reach tickets told the way monitors, portals and tidy-up lists tell them reach a person (issue 19, every
must-reach ticket handed over), and calm ones that borrow an incident's words stay with the agents: a monitor's
"no change on our side, status page shows all components operational", a portal relaying "a staff member on your
side, please", someone removed who still sees the customer's figures, an integration nobody connected; and on the
calm side a report that "doesn't count" some users (is that expected?), a server that "is up again", the company's
own legal entity, a phone suspected of refusing codes. None of these texts is a training example or a ticket of an
eval set."""

from __future__ import annotations

import pytest

from demo.customers import demo_customers
from domain.models import Customer
from domain.resolution import confirms_resolution
from evals.handover_check import handover_reasons
from triage.handover import HandoverDetector, shared_detector
from triage.handover_rules import matches


@pytest.fixture(scope="module")
def detector() -> HandoverDetector:
    return shared_detector()


def plain_customer() -> Customer:
    return next(c for c in demo_customers() if not c.is_vip and c.plan.value == "pro")


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        (
            "Query API latency\n\nRaised by our uptime checker. Since 09:40 UTC each call to /v2/query from our two "
            "regions waits 40 seconds or more before it fails. No changes on our side this week; the status page "
            "shows every component operational.",
            "outage",
        ),
        (
            "Exports: automated check\n\nCheck: nightly export delivered. Result: FAIL for all 4 projects, the files "
            "stop after the header line. Status page checked: no incident listed.",
            "outage",
        ),
        (
            "Ticket 5521 from our helpdesk portal. The requester wants a support engineer from Lumora to review "
            "the retention settings with her before the audit.",
            "person",
        ),
        ("Please can a staff member on your side take this one over? A member of staff from Lumora, please.", "person"),
        (
            "Quick one. An agency we let go in March shared a slide with our weekly signups from last Monday. We "
            "removed all of their logins in March. I have no idea how they're still seeing it.",
            "security",
        ),
        (
            "The GitHub integration now points at an organisation called 'acme-tools-ci'. Nobody on our team "
            "installed anything, and that organisation is not one we know.",
            "security",
        ),
        (
            "Forwarding my lead's note. She wants an actual support rep, not the auto-responder, to look over our "
            "event plan before launch. Could you assign this to one of your team?",
            "person",
        ),
        (
            "the roles page changed overnight: someone removed our billing admin and turned off SSO enforcement. "
            "none of us did that.",
            "security",
        ),
        (
            "We found a malicious package in our build that exfiltrated the environment variables of our workers. "
            "That environment included our Lumora secret key.",
            "security",
        ),
        (
            "There is a second organisation in my switcher called 'Harbor Dental' and I can open its dashboards. "
            "None of us has ever been invited to that organisation.",
            "security",
        ),
        (
            "Case relayed from our IT desk. The requester has opted out of automated replies. Please assign to a "
            "named support representative and reply with their name.",
            "person",
        ),
        (
            "you billed our card twice for the same month. if the second charge isnt back by monday im filing it "
            "through money claim online.",
            "legal",
        ),
        (
            "Automated case from our SOC: anomalous Lumora API usage overnight, 9,000 export calls with our key "
            "from an unrecognised network.",
            "security",
        ),
        (
            "Automated reconciliation alert. The Query API now returns 0 events for every day before March for our "
            "main project; last week the same query returned about 40,000 a day. No retention change recorded on "
            "our side.",
            "data_loss",
        ),
        (
            "your sdk sent every signup twice for two months and we planned our budget on it. if you won't cover "
            "the extra ad spend, a judge can decide. our general counsel is already drafting.",
            "legal",
        ),
        (
            "We got your notice that SSO enforcement was switched off at 02:40. None of our four admins changed "
            "that setting. Who did this?",
            "security",
        ),
        (
            "when i edit the id in a shared report link i get somebody else's report, not ours. a bank's weekly "
            "numbers, by the look of it.",
            "security",
        ),
    ],
)
def test_a_calmly_told_incident_reaches_a_person(detector: HandoverDetector, text: str, reason: str) -> None:
    assert reason in handover_reasons(detector, text, plain_customer())


def test_a_report_told_after_just_in_case_is_still_a_report() -> None:
    text = (
        "Probably our mistake, but just in case: since noon every chart on every dashboard shows 'No access' for "
        "everyone in the company. We haven't changed any roles today."
    )
    assert "outage" in matches(text)


@pytest.mark.parametrize(
    "text",
    [
        "In our trial funnel a handful of people who definitely upgraded last month are not counted. They signed up "
        "the month before. Is that expected?",
        "Our API box was rebooted over the weekend. The server is up again and answers fine. How do we resume the "
        "paused webhook?",
        "Our legal entity is now called Northwind Holdings Ltd. Where do we change the company name on invoices?",
        "Since I moved to the new office every code from my authenticator app is refused at login. My password is "
        "fine. Is it something with my phone?",
        "Our Compliance team is doing its annual vendor review. Where do you list the subprocessors?",
        "I joined a client's Lumora last week and can log in fine, but every project I see is empty. Did something "
        "go wrong with my account?",
        "We moved our nightly export job to Cloud Run last week. Since then only part of the rows arrive. The logs "
        "show the calls for every user, no errors at all. Does the SDK need something else there?",
        "The weekly Slack digest stopped a month ago. Nothing changed in Lumora as far as I know; our old growth "
        "lead left the company around then. How do we reconnect it?",
        "I pasted our secret key into a scratch file on my laptop, which then died. Nobody else saw it. Where can "
        "I see the key again?",
        "Our security lead runs a drill next month: we pretend one of our services has been compromised and "
        "rotate its Lumora secret key. Nothing has leaked. How does rotation work?",
        "Our legal team (one very thorough lawyer) asked me to find out whether we need a separate data processing "
        "agreement. Nothing is wrong, they just want it on file.",
        "Thanks, the invite worked. Our data protection officer now asks whether we need to sign a separate data "
        "processing agreement with you.",
    ],
)
def test_calm_questions_with_an_incidents_words_stay_with_the_agents(detector: HandoverDetector, text: str) -> None:
    assert handover_reasons(detector, text, plain_customer()) == []


def test_a_fix_promised_or_a_disowned_act_is_no_confirmation() -> None:
    assert not confirms_resolution("You promised this would be fixed by Monday and it's Friday.")
    assert not confirms_resolution("someone signed into our workspace last night and none of us did it")
    assert confirms_resolution("Did what you suggested and redeployed. All sorted, thanks!")
