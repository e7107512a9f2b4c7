"""What a customer reads: the offline model's replies to real-world messages, beyond the happy path.

Each test is a message a customer actually sent to the local stack, whose reply was wrong: a search
label quoted as a fact, the same facts sent back to "that didn't help", a "?" answered with a
billing question, a clock time matched to an unrelated article.
"""

from __future__ import annotations

from agents.offline.article_text import split_sentences
from agents.offline.client import OfflineChatCompletionClient
from agents.team import run_turn
from domain.models import Category, KbHit, Sender, TranscriptEntry
from tests.test_agents import AT, RATE_LIMIT_HITS, FakeKb, make_request

# A hit as kb.search returns it: the chunk text starts with "Title > Heading" (kb/chunking.py).
PASSWORD_HIT = KbHit(
    article_id="kb-password-reset",
    title="Resetting your password",
    url="https://help.lumora.example/articles/kb-password-reset",
    score=0.8,
    snippet="Go to app.lumora.example/login and click Forgot password?",
    text=(
        "Resetting your password > Resetting a forgotten password\n\n"
        "1. Go to **app.lumora.example/login** and click **Forgot password?**\n"
        "2. Enter the email address you sign in with.\n"
        '3. Open the email *"Reset your Lumora password"* and click the link. The link is valid for '
        "**60 minutes** and can be used once.\n\n"
        "## The reset email does not arrive\n\n"
        "- Wait a few minutes and check spam or quarantine folders for the reset email from no-reply@lumora.example.\n"
        "- You can request a new reset link every 2 minutes; only the newest link works."
    ),
)


def _exchange(question: str, answer: str) -> list[TranscriptEntry]:
    """The ticket so far: the customer's first message and our reply to it."""
    return [
        TranscriptEntry(seq=1, sender=Sender.CUSTOMER, author="cus-42", body=question, at=AT),
        TranscriptEntry(seq=2, sender=Sender.AGENT, author="TechnicalAgent", body=answer, at=AT),
    ]


async def _reply(body: str, hits: list[KbHit], **kwargs: object) -> str:
    request = make_request(body, **kwargs)  # type: ignore[arg-type]
    outcome = await run_turn(request, model_client=OfflineChatCompletionClient(), kb_search=FakeKb(hits))
    return outcome.reply


async def test_the_chunks_title_and_heading_line_is_never_quoted_as_a_fact() -> None:
    reply = await _reply("How do I reset my password? I forgot it.", [PASSWORD_HIT], subject="Reset password")
    assert "Resetting your password > Resetting a forgotten password" not in reply
    assert "Forgot password?" in reply  # the actual first step is quoted instead
    assert "[Resetting your password](" in reply  # the title still names the cited article


async def test_a_follow_up_gets_new_facts_not_the_same_ones_again() -> None:
    first_body = "How do I reset my password? I forgot it."
    first = await _reply(first_body, [PASSWORD_HIT], subject="Reset password")
    earlier = _exchange(first_body, first)
    follow_up = "No, that didn't help: the reset email never arrives."
    second = await _reply(follow_up, [PASSWORD_HIT], subject="Reset password", earlier=earlier)
    quoted_before = [s for s in split_sentences(PASSWORD_HIT.text) if s in first]
    assert quoted_before
    assert not [s for s in quoted_before if s in second]
    assert "Thanks for reaching out" not in second  # they did, a turn ago


async def test_a_follow_up_with_nothing_new_to_quote_says_so_instead_of_repeating() -> None:
    burst = RATE_LIMIT_HITS[0].model_copy(
        update={"text": "Pro plans allow a burst of 300 requests per minute; above it the event API returns HTTP 429."}
    )
    body = "We get HTTP 429 from the event API although we send 3,000 requests per hour."
    first = await _reply(body, [burst])
    earlier = _exchange(body, first)
    second = await _reply(body, [burst], earlier=earlier)  # the same message, sent again
    assert "burst of 300" in first and "burst of 300" not in second
    assert "shared earlier" in second and "couldn't find a documented answer" not in second
    assert second.count("?") == 1  # one question that moves the ticket on


async def test_a_message_without_words_is_asked_what_it_is_about() -> None:
    reply = await _reply("?", RATE_LIMIT_HITS, subject="?", category=Category.BILLING)
    assert 'writing about "?"' not in reply
    assert "invoice number" not in reply  # the triage guess of an empty message is no reason to ask this
    assert "Helpful articles" not in reply and "couldn't find" not in reply
    assert "what you are trying to do" in reply


async def test_an_emoji_after_an_answer_asks_whether_anything_else_is_needed() -> None:
    first = await _reply(PASSWORD_HIT.snippet, [PASSWORD_HIT], subject="Reset password")
    earlier = _exchange("Forgot my password", first)
    reply = await _reply("👍", [PASSWORD_HIT], subject="Reset password", earlier=earlier)
    assert "anything else" in reply and "Helpful articles" not in reply


async def test_a_clock_time_does_not_match_an_article_about_another_time_of_day() -> None:
    exports = KbHit(
        article_id="kb-data-export-failures",
        title="Troubleshooting data exports",
        score=0.5,
        snippet="Exports run once a day at 02:00 UTC on Pro and every hour on Enterprise.",
        text="Exports run once a day at 02:00 UTC on Pro and every hour on Enterprise.",
    )
    reply = await _reply("Our dashboards show a blank page since 10:00 UTC for everyone.", [exports])
    assert "02:00" not in reply and "Troubleshooting data exports" not in reply


async def test_a_how_to_question_gets_every_step_of_the_procedure_in_order() -> None:
    reply = await _reply("I forgot my password, how can I reset it?", [PASSWORD_HIT], subject="Reset password")
    steps = [
        "1. Go to app.lumora.example/login and click Forgot password?",
        "2. Enter the email address you sign in with.",  # shares no word with the question: was left out
        '3. Open the email "Reset your Lumora password" and click the link.',
    ]
    lines = reply.splitlines()
    positions = [next(i for i, line in enumerate(lines) if line.startswith(step)) for step in steps]
    assert positions == sorted(positions) and positions[-1] - positions[0] == 2


LOCKOUT_HIT = KbHit(
    article_id="kb-locked-account",
    title="Locked or suspended accounts",
    score=0.7,
    snippet="After 10 failed sign-in attempts within 15 minutes, the account is locked for 30 minutes.",
    text=(
        "Locked or suspended accounts > Temporary lockout after failed sign-ins\n\n"
        "After **10 failed sign-in attempts** (wrong password or wrong 2FA codes) within 15 minutes, the account "
        'is\nlocked for **30 minutes**. You will see *"Too many attempts. Try again later."*. During the lockout:\n\n'
        "- Waiting 30 minutes unlocks the account automatically.\n"
        "- Resetting your password with **Forgot password?** also unlocks it right away.\n\n"
        "## Locked by your organization\n\n"
        "An **Owner** or **Admin** can deactivate a member under **Settings → Organization → Members**."
    ),
)


async def test_the_list_a_sentence_introduces_is_quoted_with_it() -> None:
    reply = await _reply(
        "I'm locked out of my account, it says too many attempts. How do I get back in?", [LOCKOUT_HIT]
    )
    assert "During the lockout:\n- Waiting 30 minutes unlocks the account automatically.\n- Resetting" in reply


async def test_a_message_that_asks_nothing_how_gets_no_procedure() -> None:
    complaint = "Third password reset this month. Your login page is a disgrace and I'm tired of it."
    reply = await _reply(complaint, [PASSWORD_HIT], subject="Password reset again")
    assert "1. Go to" not in reply and "2. Enter" not in reply


async def test_steps_sent_once_are_not_sent_again() -> None:
    body = "I forgot my password, how can I reset it?"
    first = await _reply(body, [PASSWORD_HIT], subject="Reset password")
    earlier = _exchange(body, first)
    second = await _reply(
        "How do I reset it? I still can't.", [PASSWORD_HIT], subject="Reset password", earlier=earlier
    )
    assert "2. Enter the email address" in first and "Enter the email address" not in second


async def test_a_lead_in_sentence_is_not_quoted_without_its_list() -> None:
    keys = KbHit(
        article_id="kb-api-keys",
        title="API keys",
        score=0.6,
        snippet="Each Lumora project has two kinds of API keys, found under Settings → Project → API keys:",
        text=(
            "API keys > Kinds of keys\n\n"
            "Each Lumora project has two kinds of API keys, found under Settings → Project → API keys:\n\n"
            "- Write keys send events from browsers and apps.\n"
            "- Secret API keys read data and manage the project; keep them on your servers."
        ),
    )
    reply = await _reply("Which API keys does my project have? Our secret API keys get rejected.", [keys])
    assert "Secret API keys read data" in reply
    # A list's lead-in, quoted alone, points at nothing: it comes with its list or not at all.
    if "two kinds of API keys, found under" in reply:
        assert "Settings → Project → API keys:\n- Write keys send events" in reply


async def test_a_procedure_in_the_articles_next_section_is_quoted() -> None:
    """kb.search returns one hit per article with its best chunk; the steps may be in `more`."""
    sso_first = PASSWORD_HIT.model_copy(
        update={
            "text": (
                "Resetting your password > Your organization uses SSO\n\n"
                "If your organization signs in with SSO, the Forgot password? link will tell you to use SSO."
            ),
            "more": PASSWORD_HIT.text.partition("\n\n")[2].replace(
                "1. Go to", "## Resetting a forgotten password\n\n1. Go to", 1
            ),
        }
    )
    reply = await _reply("I forgot my password, how can I reset it?", [sso_first], subject="Reset password")
    assert "1. Go to app.lumora.example/login" in reply and "2. Enter the email address" in reply
