"""The customer told us the same thing before (``triage.handover_rules``, person): the same answer sent again, the
same problem reported over and over, written to us time and again. The help centre has nothing more to say; a
person has to read the case."""

from __future__ import annotations

import re

# Sent the same answer again ("the third time I've been sent the same page", "three answers so far, all of them
# the same article"): the help centre has nothing more to say and a person has to read the case. Not when the
# customer asks what they may do ("can I send the same article to a colleague again?").
_ANSWER_GIVEN = (
    r"(?<!on the )same (\w+ )?(help |support )?(page|article|answer|reply|response|paragraph|link|doc\w*|advice|steps|"
    r"instructions|explanation|workaround)"
)
_REPEATED_ANSWER = re.compile(
    # not "a third of those events ... on the same page"
    r"\b(again|twice|(?<!\ba )(?<!\bone )third|second|fourth|three|four|several|multiple|all of them|each of them|"
    r"every one of them|"
    rf"each time|every time|stop sending)\b[^.?!]{{0,80}}\b{_ANSWER_GIVEN}\b|"
    rf"\b{_ANSWER_GIVEN}\b[^.?!]{{0,80}}\b(again|twice|every time|each time|in a row|so far|word for word)\b|"
    # The same problem reported over and over ("the fourth time this month I am reporting", "my third ticket
    # about this"): what the help centre says has not fixed it.
    r"\b(third|fourth|fifth|sixth|\d+(rd|th)|umpteenth|nth) (time|ticket|e-?mail|message|report)\b[^.?!]{0,40}"
    r"\b(reporting|reported|raising|raised|flagging|flagged|writing|written|contacting|contacted|opening|opened|"
    r"about (this|it|the same))\b|"
    # written to us time and again ("I've written to the address in our welcome pack four times since August")
    r"\b(written|wrote|emailed|e-mailed|messaged|contacted|chased|reached out)( to)? (you|your \w+( \w+)?|support|"
    r"lumora|the (address|support \w+|account manager|team))\b[^.?!]{0,60}\b(three|four|five|six|seven|several|"
    r"many|multiple|\d+) times\b",
    re.I,
)
_ASKS_WHAT_THEY_MAY_DO = re.compile(r"\b(can|could|may|should|how (do|can|should)) (i|we)\b", re.I)


def asks_again(sentences: list[str]) -> bool:
    return any(_REPEATED_ANSWER.search(s) and not _ASKS_WHAT_THEY_MAY_DO.search(s) for s in sentences)
