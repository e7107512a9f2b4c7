"""A reply says each sentence once and reads a vague question with the problem told before it (issue 19): a
second section whose best sentence is too short to lead it no longer quoted its next sentence twice, and "any
idea what to check first?" after a description of the failure is a question about that failure."""

from __future__ import annotations

from agents.offline.compose import Answer, _second_section
from agents.offline.message_text import questions
from agents.offline.ranking import Sentence


def _sentence(text: str, section: str, position: int, score: float) -> Sentence:
    return Sentence(text, "kb-sdk-mobile", 0, section, position, score=score, relevant=True)


def test_a_second_section_quotes_each_of_its_sentences_once() -> None:
    best = _sentence("Android 6.0 and later are supported by the current SDK.", "Install", 1, 2.0)
    found = Answer("kb-sdk-mobile", "Install", (best,))
    ranked = [
        best,
        _sentence("Check the key.", "Events missing", 5, 1.9),  # too short to lead the section
        _sentence("Enable debug logging on the device and watch what the SDK reports.", "Events missing", 4, 1.8),
        _sentence("On release builds, make sure your shrinker keeps the SDK's classes.", "Events missing", 6, 1.5),
    ]
    pair = _second_section(ranked, found)
    assert pair is not None
    texts = [s.text for s in pair[1].sentences]
    assert len(texts) == len(set(texts))


def test_a_vague_question_after_the_failure_asks_about_the_failure() -> None:
    text = (
        "Our Android release build sends nothing, while debug builds from the IDE are fine. We use our own "
        "shrinker rules. The web app works in both. Any idea what to check first?"
    )
    asked = questions(text)
    assert len(asked) == 1 and "shrinker" in asked[0] and "release build" in asked[0]
