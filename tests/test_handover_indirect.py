"""Hand-over recall on indirect wordings without new false alarms (issue 19): the customer's own endpoint
or server going down plus a how-to, and their legal team asking for a document, stay with the agents;
a complaint to a regulator, an outage behind a green status page, a call asked for and an unhappy
renewal still reach a person. None of these texts is a training example."""

from __future__ import annotations

import pytest

from triage.handover import HandoverDetector, load_examples, shared_detector
from triage.handover_rules import describes_setup, matches, unit_vetoes
from triage.language import other_language


@pytest.fixture(scope="module")
def detector() -> HandoverDetector:
    return shared_detector()


CALM = [
    "Our webhook endpoint stopped receiving events yesterday. How do webhook retries work?",
    "Our web server was down for two hours after a bad deploy on our end. Will the SDK resend what it could not send?",
    "Our compliance team wants your DPA and the subprocessor list, where are they?",
    "Our staging server is down so I am testing against production; can I tag test events?",
]
ALARMING = [
    ("If nobody answers by Friday I will file a complaint with the ICO.", "legal"),
    ("Since 10am the app shows an error page for all of us and your status page is green.", "outage"),
    ("Can someone on your team call me about our invoices? The assistant is not getting it.", "person"),
]


@pytest.mark.parametrize("text", CALM)
def test_the_customers_own_outage_or_a_document_request_stays_with_the_agents(
    detector: HandoverDetector, text: str
) -> None:
    found = detector.detect(text)
    assert found.reasons == [], (found.reasons, found.scores)


@pytest.mark.parametrize(("text", "reason"), ALARMING)
def test_an_indirect_incident_or_request_reaches_a_person(detector: HandoverDetector, text: str, reason: str) -> None:
    assert reason in detector.detect(text).reasons


def test_an_unhappy_renewal_in_plain_words_is_unhappy(detector: HandoverDetector) -> None:
    text = "My team is not happy: the renewal is next month and we keep hitting the same export bug."
    assert detector.detect(text).unhappy


def test_a_unit_veto_names_whose_system_it_is_and_yields_to_a_threat() -> None:
    assert "outage" in unit_vetoes("Our webhook receiver was down during a deploy.")
    assert "outage" not in unit_vetoes("Your API has been down since noon.")
    assert "legal" in unit_vetoes("Our lawyer asked whether the terms allow reselling reports.")
    assert "legal" not in unit_vetoes("Our lawyer asked us to send you a notice of breach.")


def test_a_complaint_to_a_regulator_is_a_legal_threat_by_rule() -> None:
    assert "legal" in matches("I am lodging a complaint with the data protection authority.")
    assert "legal" not in matches("Which regulator do you report incidents to?")


def test_these_texts_are_not_training_examples() -> None:
    trained = {e.text for e in load_examples()}
    assert not trained & {*CALM, *(t for t, _ in ALARMING)}


@pytest.mark.parametrize(
    "text",
    [
        "All good on our side this week. Could an alert tell us when signups look unusual?",
        "Everything has been great since the upgrade, thanks. Where do I change the reporting timezone?",
    ],
)
def test_a_plainly_content_sentence_is_no_unhappiness(detector: HandoverDetector, text: str) -> None:
    """A VIP's "All good on our side this week." read as unhappy by the tone model sent a calm question to a
    person: a clearly positive sentence without a complaint cannot carry anger or unhappiness."""
    assert {"angry", "unhappy"} <= unit_vetoes(text.split(". ")[0] + ".")
    assert not detector.detect(text).unhappy


def test_unhappiness_said_plainly_still_counts(detector: HandoverDetector) -> None:
    assert not {"angry", "unhappy"} & unit_vetoes("I am, frankly, disappointed with how this renewal went.")
    assert not {"angry", "unhappy"} & unit_vetoes("Great, another week of broken dashboards.")


def test_every_request_failing_is_an_outage_however_long_the_sentence_between() -> None:
    text = "Since this morning every single request our three ingestion workers send to /v2/track comes back 502."
    assert "outage" in matches(text)


@pytest.mark.parametrize(
    "text",
    [
        "Hi team,\n\nA few admin things for the quarter: please update our billing contact to finance@acme.example "
        "and add PO 7781 to the next invoice. Also, our audit log shows someone signed in as our owner from an IP "
        "in another country at 3am and changed the export destination, none of us did that. Lastly, could you "
        "confirm our renewal date?\n\nThanks, Jo",
        "Hello, quick note among other things: we noticed an admin account we never created in the members list "
        "yesterday. Also can you resend last month's invoice? Thanks",
    ],
)
def test_a_security_incident_buried_in_routine_admin_still_reaches_a_person(
    detector: HandoverDetector, text: str
) -> None:
    """The message as a whole reads as admin (its security score is near zero); the one sentence reporting the
    incident is what hands it over. A precision fix that asks the whole message to agree loses these."""
    assert "security" in detector.detect(text).reasons


@pytest.mark.parametrize(
    "text",
    [
        "Before our renewal in March we are exploring alternatives; the hourly exports have been unreliable.",
        "Quick admin note: new PO is 5521. Separately, after this quarter's incidents my team has lost a good "
        "deal of confidence, and I was asked to price a migration to another vendor.",
        "Honestly I can't recommend that we renew at this point.",
    ],
)
def test_a_customer_weighing_whether_to_stay_is_unhappy(detector: HandoverDetector, text: str) -> None:
    """Churn said politely (renewal doubts, other vendors, lost confidence) is unhappiness: a VIP or enterprise
    customer saying it reaches a person, even in the middle of an admin e-mail."""
    assert detector.detect(text).unhappy


def test_a_renewal_question_is_not_unhappiness(detector: HandoverDetector) -> None:
    assert not detector.detect("Our renewal is in March; can we move to annual billing and add two seats?").unhappy
    assert not detector.detect("What are we paying for on invoice LUM-100101? The line items are unclear.").unhappy


@pytest.mark.parametrize(
    "text",
    [
        "Dobrý deň, chcel by som vedieť, ako pozvať nových kolegov do našej organizácie. Ďakujem.",  # Slovak
        "Bok, kako mogu promijeniti vremensku zonu izvještaja za cijeli tim? Hvala unaprijed.",  # Croatian
        "Bună ziua, cum pot exporta datele brute în BigQuery pentru proiectul nostru? Mulțumesc.",  # Romanian
    ],
)
def test_a_language_outside_the_usual_few_is_not_english(text: str) -> None:
    """lingua restricted to English and six languages called the Slovak and Romanian ones English (none of the
    six fitted better); the question is "not English?", asked of all its languages."""
    assert other_language(text) is not None


@pytest.mark.parametrize("text", ["can i upload a csv as a cohort", "webhook retries how many times max?"])
def test_terse_english_chat_stays_english(text: str) -> None:
    assert other_language(text) is None


@pytest.mark.parametrize(
    "text",
    [
        "Please assign this case to a named engineer who keeps it until it is fixed; I keep re-explaining it.",
        "Could one of your engineers sit in on our Friday standup while we migrate to the batch endpoint?",
        "ok can you pass me to whoever is around today, the automated answers are going in circles",
        "Our ticket bridge asks that a member of your staff take ownership of this case.",
    ],
)
def test_asking_for_one_person_to_own_it_or_join_us_reaches_a_person(detector: HandoverDetector, text: str) -> None:
    """A named owner, someone of theirs on our call or channel, whoever is on shift: each asks for a person
    without the words "human" or "talk to"."""
    assert "person" in detector.detect(text).reasons


@pytest.mark.parametrize(
    "text",
    [
        "Lovely to see the dashboards timing out again on the morning of our board review.",
        "Great, the export failed again, just in time for the quarterly review.",
    ],
)
def test_praise_beside_a_problem_is_read_as_sarcasm_not_contentment(detector: HandoverDetector, text: str) -> None:
    """The tone veto for plainly content sentences must not silence sarcasm: the praise sits beside a failure."""
    assert not {"angry", "unhappy"} & unit_vetoes(text)
    assert detector.detect(text).unhappy


def test_a_problem_said_to_be_gone_is_no_complaint() -> None:
    assert {"angry", "unhappy"} <= unit_vetoes("Wonderful, everything works now and no more errors. Great job!")


def test_sarcasm_about_what_the_account_pays_for_is_unhappiness(detector: HandoverDetector) -> None:
    sarcasm = "I suppose this is what the enterprise tier buys us now: a ticket number and a shrug."
    assert detector.detect(sarcasm).unhappy


@pytest.mark.parametrize(
    "text",
    [
        "Nobody deleted anything but our Marketing dashboard is gone from the sidebar this morning, and so are its "
        "reports.",
        "Our cohort of trial users shows 0 people. I didn't touch it. What happened?",
        "The Users page lists about 9,000 people instead of 31,000 today; we haven't deleted or archived anyone.",
        "Her saved reports are not anywhere since the transfer, and she says she didn't delete anything.",
        "Fourteen members are missing from our list this morning; nobody here removed them.",
    ],
)
def test_data_gone_that_nobody_removed_is_a_data_loss(text: str) -> None:
    """Loss said by what is missing, with the customer ruling out their own deletion, and no word like "lost"."""
    assert "data_loss" in matches(text)


@pytest.mark.parametrize(
    "text",
    [
        "I deleted a dashboard by mistake yesterday, can I get it back?",
        "We didn't change anything, but the funnel shows 0 conversions since we renamed the event.",
        "If nobody deleted a project, can it still disappear after a downgrade?",
        "We didn't delete anything, but where do I find archived dashboards?",
        "Events from the cron job are missing. What am I doing wrong?",
    ],
)
def test_a_gap_alone_or_a_deletion_of_our_own_is_no_data_loss(text: str) -> None:
    assert "data_loss" not in matches(text)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("Since your maintenance window last night every batch from our iOS app is rejected with 401.", "outage"),
        ("After Sunday's maintenance our saved funnels list is empty.", "data_loss"),
    ],
)
def test_something_broken_or_gone_since_our_maintenance_is_an_incident(text: str, reason: str) -> None:
    assert reason in matches(text)


@pytest.mark.parametrize(
    "text",
    [
        "Our receiving server was down for maintenance over the weekend; the endpoint shows as disabled.",
        "Since the maintenance on Tuesday, can we turn the old exports back on?",
        "I see the maintenance notice on your status page for tonight. Should we pause our imports during it?",
    ],
)
def test_their_own_maintenance_or_a_question_about_ours_is_no_incident(text: str) -> None:
    assert not matches(text) & {"outage", "data_loss"}


def test_a_browser_capture_posted_publicly_is_a_security_incident_one_sent_to_us_is_not() -> None:
    # A HAR file holds the session's cookies: whoever downloads it from a public page can be signed in.
    assert "security" in matches("A colleague shared a HAR file of our Lumora session on a public GitHub issue.")
    assert "security" not in matches("I attached a HAR file to this ticket so you can see the slow requests.")


@pytest.mark.parametrize(
    "text",
    [
        "This is the second time you have sent me the same article about webhooks, and it does not cover retries.",
        "Three replies so far, every one of them the same help page. The export is still failing.",
        "That is the same answer I got yesterday, word for word.",
    ],
)
def test_being_sent_the_same_answer_again_asks_for_a_person(text: str) -> None:
    """No word like "human" or "talk to": the customer says the help centre has nothing more for them."""
    assert "person" in matches(text)


@pytest.mark.parametrize(
    "text",
    [
        "Do all plans use the same page for billing?",
        "Can I send the same article to my colleague again?",
        "Will retrying send the same event again?",
    ],
)
def test_the_same_page_or_event_without_a_repeated_answer_asks_for_no_one(text: str) -> None:
    assert "person" not in matches(text)


@pytest.mark.parametrize(
    "text",
    [
        "Our SSO role mapping now gives everyone Owner, and nobody in our IT team made that change.",
        "There is a webhook sending our users' emails to some server, and none of us added it.",
        "Three colleagues got sign-in alerts at 4am; none of them was awake.",
        "The audit log shows a new API key created by a user that we don't have.",
    ],
)
def test_a_change_to_access_nobody_on_the_customers_side_made_is_a_security_incident(text: str) -> None:
    """Told politely, in the middle of something else, with no word like "hacked" or "breach"."""
    assert "security" in matches(text)


@pytest.mark.parametrize(
    "text",
    [
        "Nobody on our team made the funnel, so who can edit it?",
        "Which role can create API keys? Nobody here remembers.",
        "If nobody on the team changed the password, can the account still get locked?",
        "Nobody here changed the chart settings but the colours are different.",
    ],
)
def test_disowning_a_change_that_touches_no_access_or_asking_about_one_is_no_incident(text: str) -> None:
    assert "security" not in matches(text)


@pytest.mark.parametrize(
    "text",
    [
        "Since lunch every dashboard we open says 'Something went wrong', in both offices.",
        "None of our alerts has run since 07:00; each check in the history says internal error.",
        "Our reports are all blank and two other customers we know are seeing the same.",
    ],
)
def test_every_chart_or_alert_failing_or_others_affected_is_an_outage(text: str) -> None:
    assert "outage" in matches(text)


@pytest.mark.parametrize(
    "text",
    [
        "Every request from our backfill script gets a 429 after the first minute. How do we slow it down?",
        "Our own site was down, and every page of it timed out for an hour; does the SDK resend?",
        "What happens if every chart times out during an incident on your side?",
    ],
)
def test_rate_limits_our_own_site_or_a_what_if_is_no_outage(text: str) -> None:
    assert "outage" not in matches(text)


SETUP = (
    "Hi, a question about webhooks. We store the webhook signing secret in our vault. How often should we rotate it?"
)
INCIDENTS = [
    "Hi, two things. Please add PO 4471 to our next invoice. Also, someone created an API key named 'tmp' last "
    "night and none of us did that.",
    "Hello. A contractor committed our secret key to a public GitHub repository this morning. Please advise, and "
    "can you send last month's invoice?",
]


def test_a_sentence_on_how_security_is_set_up_is_no_incident(detector: HandoverDetector) -> None:
    """Security words in a calm set-up sentence (a secret kept in a vault, a bucket's encryption key) scored over
    the sentence bar: without an actor, a time or an exposure, a sentence alone needs near-certainty."""
    assert describes_setup("We store the webhook signing secret in our vault.")
    assert "security" not in detector.detect(SETUP).reasons


@pytest.mark.parametrize("text", INCIDENTS)
def test_an_incident_in_one_sentence_of_an_admin_email_still_reaches_a_person(
    detector: HandoverDetector, text: str
) -> None:
    assert "security" in detector.detect(text).reasons


def test_a_live_secret_key_written_out_is_a_security_incident() -> None:
    assert "security" in matches("our intern's blog post has Client(secret='lsk_live_Q3wErTy7uIoP') in it, fix?")
    assert "security" not in matches("Which key goes in the Authorization header, lsk_live_… or lk_live_…?")


def test_asking_who_is_on_shift_to_take_over_is_asking_for_a_person() -> None:
    assert "person" in matches("this is going nowhere. who is on shift today? put them on please.")
    assert "person" not in matches("Can you put them on the Viewer role instead of Member?")
