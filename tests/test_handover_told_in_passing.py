"""Incidents told in passing or in a customer's own words reach a person (issue 19): an integration delivering to a
workspace that is not theirs, a feature failing for everyone with the status page silent, records turned back to an
old state with nothing changed on their side, the same problem reported for the fourth time, someone asked for who
can find the cause. Their calm look-alikes stay with the agents."""

from __future__ import annotations

import pytest

from domain.policy import IMPORTANT_UNHAPPY_SHARE
from triage.handover import HandoverDetector, shared_detector
from triage.handover_rules import matches


@pytest.fixture(scope="module")
def detector() -> HandoverDetector:
    return shared_detector()


def test_our_integration_posting_into_a_stranger_workspace_is_a_security_incident(detector: HandoverDetector) -> None:
    text = (
        "Hello, two quick ones. First, where do I change the invoice address? Second, our weekly digest stopped "
        "arriving in Teams, and the integration settings now show it linked to an organisation named "
        "'northwind-contractors', which is not ours. Nobody on our side set that up. The digest has our churn numbers."
    )
    assert "security" in matches(text)
    assert "security" in detector.detect(text).reasons


def test_asking_whether_a_workspace_is_theirs_reports_nothing() -> None:
    assert "security" not in matches("How do I tell which Slack workspace is ours if we have two with similar names?")


def test_a_silent_status_page_with_a_feature_failing_everywhere_is_an_outage(detector: HandoverDetector) -> None:
    text = (
        "Since about 9:40 this morning every embedded chart on our intranet shows 'failed to load'. We haven't "
        "changed the embed code, new embeds fail the same way, and I couldn't see anything on your status page."
    )
    assert "outage" in matches(text)
    assert "outage" in detector.detect(text).reasons


def test_a_status_page_question_is_not_an_outage() -> None:
    assert "outage" not in matches("Where is your status page? I couldn't find a link to it in the help centre.")


def test_records_turned_back_with_nothing_changed_is_data_loss(detector: HandoverDetector) -> None:
    text = (
        "all our saved segments reverted to the versions from last spring overnight - the filters we edited in "
        "october are just not there. we didnt change anything. can you restore them?"
    )
    assert "data_loss" in matches(text)
    assert "data_loss" in detector.detect(text).reasons


def test_their_own_rollback_is_not_a_loss() -> None:
    assert "data_loss" not in matches("We rolled back our app release yesterday. Do events from the old version count?")


@pytest.mark.parametrize(
    "text",
    [
        "This is my fifth ticket about the same sync failure this quarter, and the answer is always the same.",
        "Third time this month I'm reporting that the nightly export fails, with nothing changed on our side.",
        "Each time I get the same friendly instructions about re-authorising the connector.",
        "I'd like someone who can actually investigate why the retention numbers differ from our warehouse.",
    ],
)
def test_the_same_problem_again_or_a_plea_for_someone_to_find_the_cause_reaches_a_person(text: str) -> None:
    assert "person" in matches(text)


@pytest.mark.parametrize(
    "text",
    [
        "This is the third time I've used the funnel builder and I love it.",
        "We need someone who can set up SSO on our side; which role should they have?",
        "Is the same article available in German?",
    ],
)
def test_a_third_use_a_task_for_their_own_staff_or_the_same_article_stay_with_the_agents(text: str) -> None:
    assert "person" not in matches(text)


def test_joining_a_class_action_against_us_is_legal(detector: HandoverDetector) -> None:
    text = "a friend of mine is a solicitor and is organising a class action over your renewals. who gets the claim?"
    assert "legal" in matches(text)
    assert "legal" in detector.detect(text).reasons


def test_a_competitor_sued_over_cookies_is_a_question_about_consent(detector: HandoverDetector) -> None:
    text = (
        "One of our competitors was sued in a class action over tracking before consent. How do we make the "
        "JavaScript SDK wait until a visitor accepts our banner?"
    )
    assert "legal" not in matches(text)
    assert "legal" not in detector.detect(text).reasons


def test_a_heated_discussion_among_their_own_teams_is_not_unhappiness_with_us(detector: HandoverDetector) -> None:
    text = (
        "After a long and slightly heated discussion, our design and engineering teams have reached a compromise: "
        "engineering gets to see the Retention dashboard, but only design edits it. How do I set that up?"
    )
    assert detector.detect(text).unhappy_share < IMPORTANT_UNHAPPY_SHARE


def test_a_language_whose_word_an_is_not_english_is_told() -> None:
    from triage.language import other_language

    text = (
        "Moien! Mir hunn en neit Team an der Firma. Wéi kann ech dräi Kollegen an eise Projet invitéieren? An ass "
        "et méiglech, hinnen just Lieserechter ze ginn? Merci villmools!"
    )
    assert other_language(text) is not None


def test_someone_removed_still_signing_in_is_a_security_incident(detector: HandoverDetector) -> None:
    text = (
        "Three small things. Can we rename a project safely? Also, we offboarded a freelancer last month, yet the "
        "audit log shows her account logging in on Sunday and exporting a cohort. Lastly, where is the DPA?"
    )
    assert "security" in matches(text)
    assert "security" in detector.detect(text).reasons


def test_nobody_re_inviting_a_member_disowns_the_change() -> None:
    assert "security" in matches("An ex-employee is back in our member list. Nobody re-invited him to the org.")


@pytest.mark.parametrize(
    "text",
    [
        "A clinic in our town was fined by the regulator over its cookie banner, and our lawyers are nervous now. "
        "How do we delay tracking until a visitor consents?",
        "One of our app's users says she will sue us unless we erase her data. How do we delete a user in Lumora?",
    ],
)
def test_a_third_party_fined_or_their_own_customer_threatening_them_is_not_legal(
    text: str, detector: HandoverDetector
) -> None:
    assert "legal" not in matches(text)
    assert "legal" not in detector.detect(text).reasons


def test_saying_nobody_complained_is_no_unhappiness() -> None:
    from triage.handover_rules import unit_vetoes

    assert {"angry", "unhappy"} <= unit_vetoes("To be clear, nobody has complained about us yet.")


def test_private_figures_in_a_rivals_hands_are_a_leak(detector: HandoverDetector) -> None:
    text = (
        "Odd one. At a trade fair a competitor's founder mentioned our churn rate for last quarter, to the decimal. "
        "That number only lives on one Lumora dashboard. Can we see who opened it recently?"
    )
    assert "security" in matches(text)
    assert "security" in detector.detect(text).reasons


def test_every_dashboard_flat_at_zero_is_an_outage() -> None:
    text = "since 4am every dashboard in both projects shows zero, our own logs show orders coming in as usual"
    assert "outage" in matches(text)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("Our blog (a WordPress site, nothing to do with Lumora) was hacked in May. Can you send your SOC 2 report?",
         "security"),
        ("A former tenant is threatening to sue us unless we erase his data. How do I delete a user's events?",
         "legal"),
        ("Our webhook endpoint shows Disabled. We had a DNS problem on that host on Monday, which is fixed now. How "
         "do we turn it back on?", "outage"),
        ("Legal is updating its supplier file. They also asked whether a charge from March could still be refunded.",
         "legal"),
    ],
)  # fmt: skip
def test_an_incident_they_disown_or_that_is_over_and_a_relayed_question_are_answered(
    text: str, reason: str, detector: HandoverDetector
) -> None:
    assert reason not in detector.detect(text).reasons


def test_asking_how_to_check_a_request_really_comes_from_us_is_no_intrusion() -> None:
    from triage.not_ours import asks_how_to_verify

    assert asks_how_to_verify("We want to check that webhook calls really come from you and not from a stranger.")
    assert not asks_how_to_verify("Can you check where it came from?")


def test_a_fix_confirmed_in_a_follow_up_is_no_loss() -> None:
    from triage.not_an_incident import says_it_works

    assert says_it_works("Switched to the import endpoint and they're all there now, thanks.")
    assert not says_it_works("Most are back now but March is still missing.")


def test_a_language_lingua_has_no_model_of_is_told_by_having_no_english_word() -> None:
    from triage.language import other_language

    assert other_language("Sannu! Ta yaya zan goge dashboard a cikin project dinmu na Lumora? Na gode sosai.")
    assert other_language("Sannu! Don Allah ina son sabon API key don project dinmu na staging a Lumora.")
    assert other_language("locked out, says too many attempts try again later. demo in an hour") is None


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("The Slack connection now points to a workspace called 'ops-hq-x'. That's not a workspace anyone here has "
         "heard of, and nobody on our side was working at 4am.", "security"),
        ("just got a mail saying ownership of our org was accepted by j.doe. i never started a transfer and no idea "
         "who that is.", "security"),
        ("The revoked key still shows calls in Usage, so either it was not revoked or somebody is using it.",
         "security"),
        ("since monday all of september in our shop project reads zero. nobody touched the snippet. where has the "
         "data gone?", "data_loss"),
        ("Is there someone in your team who could run a short training session with our sales staff next week?",
         "person"),
    ],
)  # fmt: skip
def test_incidents_and_requests_in_words_of_their_own_reach_a_person(text: str, reason: str) -> None:
    assert reason in matches(text)


def test_a_contract_lost_is_business_news_not_legal(detector: HandoverDetector) -> None:
    text = "We lost our largest client in October, so we're cutting costs. How do we move from Pro to Starter?"
    assert "legal" not in detector.detect(text).reasons


def test_a_community_garden_is_no_community_forum(detector: HandoverDetector) -> None:
    text = (
        "I've read the articles twice and I'm still unsure about our community garden's sign-up page. I would be "
        "grateful if one of your colleagues could look at my account and write to me personally."
    )
    assert "person" in detector.detect(text).reasons


def test_as_if_nothing_happened_declares_no_incident_away() -> None:
    from triage.not_an_incident import declares_no_incident

    assert not declares_no_incident("Every report starts three weeks ago, as if nothing happened before that.")
    assert declares_no_incident("To be clear, nothing has happened yet, we are only planning.")


@pytest.mark.parametrize(
    "text",
    [
        "On the office PC the dashboard just spins forever. At home on my own laptop it loads fine. Any idea?",
        "Our export shows Failed with EXPORT_PERMISSION_DENIED. Which roles does it need, and do we lose the night?",
        "our webhook endpoint shows disabled. server was broken most of last week, fixed now. how do I re-enable it?",
    ],
)
def test_their_own_machine_a_permission_error_or_a_problem_over_now_is_answered(
    text: str, detector: HandoverDetector
) -> None:
    assert not {"outage", "data_loss"} & set(detector.detect(text).reasons)


def test_a_disowned_it_refers_to_the_access_named_just_before() -> None:
    text = (
        "there is a webhook in our live project sending to a host called dump-77.example since last night. none of "
        "us created it, nobody here knows that host"
    )
    assert "security" in matches(text)


def test_a_data_protection_officer_asking_for_the_dpa_is_a_request(detector: HandoverDetector) -> None:
    text = "Our data protection officer has asked for a signed copy of your DPA. Can we download one?"
    assert "legal" not in detector.detect(text).reasons


def test_what_a_breach_would_do_to_them_reports_none() -> None:
    text = "A data breach would basically end us, so before we start: which properties should we never send?"
    assert "security" not in matches(text)
