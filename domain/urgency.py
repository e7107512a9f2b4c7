"""Whether the customer says it is urgent, in their own words, about this ticket.

Priority (``domain.policy.priority_from_text``) and a reply's opener ("I understand this is urgent") both rest
on it, so a calm ticket is neither raised nor told it is urgent. Words that name urgency without claiming it
do not count: a kind of issue ("the phone number for urgent issues", "if something urgent isn't picked up"), a
channel ("an emergency contact"), a what-if ("if a key vendor went down"), a description of timing ("I clicked
the link right away", "events show up right away"), an ad blocker.
"""

from __future__ import annotations

import re

_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[\"'(\[A-Za-z0-9])|\n+")
# Urgency claimed outright.
_URGENT = re.compile(
    r"\b(?:asap|urgent(?:ly)?|emergency|as soon as possible|critical|blocker|"
    r"blocking (?:us|me|our (?:team|release|launch|work)))\b",
    re.I,
)
# Haste that is asked for ("please fix this immediately", "can you restore access right away?"), not timing told
# ("I clicked the reset link right away"). "Right now" is mostly "currently" ("right now it sleeps a second").
_HASTE = re.compile(r"\b(?:right away|immediately)\b", re.I)
_ASKED_FOR = re.compile(
    r"\b(?:please|pls|need|needs|needed|can you|could you|would you|fix|restore|respond|reply|get back|"
    r"look (?:at|into)|help)\b",
    re.I,
)
# Urgency named, not claimed: a kind of issue, a channel, a system's importance, an ad blocker.
_NAMED_NOT_CLAIMED = re.compile(
    r"\b(?:something|anything)\s+(?:\w+-)?(?:urgent|critical)\b|"
    r"\bfor\s+(?:an?\s+|the\s+)?(?:urgent|critical|emergency)\s+(?:issues?|matters?|cases?|requests?|tickets?|"
    r"situations?|things?|problems?|incidents?)\b|"
    r"\b(?:urgent|emergency|critical)\s+(?:line|contacts?|numbers?|phone|channels?|access|procedures?|process|path|"
    r"route|escalations?)\b|"
    r"\b(?:ad|pop-?up|content|script|tracker)[- ]?blockers?\b|"
    r"\bin (?:an?|case of) (?:emergency|urgent)\b",
    re.I,
)
# A what-if anywhere before the word: "I'm toast if I take production down", "if a key vendor went down".
_WHAT_IF_BEFORE = re.compile(r"\b(?:if|in case|whenever|suppose|supposing|imagine)\b", re.I)
# "is it deleted right away?" asks when something happens; "can you fix it right away?" asks for haste.
_ASKS_WHEN = re.compile(
    r"^(?!.*\b(?:can|could|would|will) you\b)(?!.*\bplease\b).*\b(?:right away|immediately)\b.*\?$", re.I
)
# The customer says it can wait ("not urgent", "no rush", "nothing is on fire, I'm just planning").
_CAN_WAIT = re.compile(
    r"\b(?:not urgent|nothing urgent|no (?:rush|hurry|urgency)|(?:isn'?t|is not|not) (?:an? )?(?:urgent|emergency)|"
    r"whenever (?:you|it'?s) (?:can|convenient)|when(?:ever)? you get a chance|"
    r"nothing(?:'s| is) (?:on fire|wrong|broken)|(?:just|only) planning|planning question)\b",
    re.I,
)


def says_it_can_wait(text: str) -> bool:
    """The customer negates urgency ("not urgent", "no rush", "whenever you get a chance")."""
    return bool(_CAN_WAIT.search(text))


def sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE.split(text) if s.strip()]


def claimed_before(pattern: re.Pattern[str], text: str) -> list[str]:
    """The matches of `pattern` in `text` that claim something now: none after a what-if earlier in the same
    sentence, none inside a phrase that only names urgency. (A match may run on into the next sentence: "a
    public repo. It contains our secret key".)"""
    named = [m.span() for m in _NAMED_NOT_CLAIMED.finditer(text)]
    starts = [0, *(m.end() for m in _SENTENCE.finditer(text))]
    found = []
    for m in pattern.finditer(text):
        if any(a <= m.start() < b or a < m.end() <= b for a, b in named):
            continue
        sentence_start = max(i for i in starts if i <= m.start())
        if _WHAT_IF_BEFORE.search(text[sentence_start : m.start()]):
            continue
        found.append(m.group(0).lower())
    return found


def urgency_words(text: str) -> list[str]:
    """The words in which the customer says this ticket is urgent (empty when they say it can wait)."""
    if says_it_can_wait(text):
        return []
    found = claimed_before(_URGENT, text)
    for s in sentences(text):
        if _ASKED_FOR.search(s) and not _ASKS_WHEN.search(s):
            found += claimed_before(_HASTE, s)
    return sorted(set(found))
