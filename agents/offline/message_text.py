"""The customer's message as the reply composer reads it: their questions and their tone.

Their own new words come from `domain.customer_text` (signatures, disclaimers, quoted or forwarded
history and text pasted to talk to the assistant set aside), the same preparation triage and every
model read; none of the rest may pick the answer or be quoted back. Pure functions.
"""

from __future__ import annotations

import re

from agents.offline.article_text import terms
from domain.customer_text import prepared_text
from domain.resolution import confirms_resolution
from domain.urgency import claimed_before, says_it_can_wait, urgency_words

_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[\"'(\[A-Za-z0-9])")
_ITEM = re.compile(r"^\s*(?:\d+[.)]|[a-h]\)|\([a-h]\)|[-*•])\s+")
_QUESTION_WORD = (
    r"how|what|what's|whats|why|where|when|which|who|can|could|is|are|do|does|did|will|would|should|"
    r"may|has|have"
)
_ASKS = re.compile(rf"^(?:{_QUESTION_WORD})\b", re.IGNORECASE)
# "..., and how many cohorts can we save?" / "... and does my data get deleted?": a second question.
_SECOND_QUESTION = re.compile(
    r",?\s+(?:and|also|plus)\s+(?=(?:how|what|where|when|which|why|who|can|could|does|do|is|are|will|would)\s)",
    re.IGNORECASE,
)
_LEAD_IN = re.compile(
    r"^(?:(?:two|2|three|3|a few|some|couple of|one more|another|a|separate|different|new|other|unrelated|next)\s+)?"
    r"(?:quick\s+|separate\s+|unrelated\s+|other\s+|new\s+)?(?:questions?|things?|qs?)\s*:\s*",
    re.IGNORECASE,
)
# A lead-in announcing another topic ("other thing:", "different question:", "next q:"), not more of the same
# ("two questions:").
_ANOTHER_TOPIC = re.compile(
    r"^(?:one more|another|separate|different|new|other|unrelated|next)\s+(?:quick\s+)?(?:questions?|things?|qs?)\s*:",
    re.IGNORECASE,
)
# Something down now, in the customer's words: urgent whatever else they say ("production is down"). Not their
# office "down with a stomach virus" nor a what-if (``domain.urgency``).
_DOWN = re.compile(
    r"\b(?:(?:is|are) (?:completely |totally |all )?down(?! for| with)|went down|"
    r"(?:production|prod|checkout) (?:is )?(?:broken|down))\b",
    re.IGNORECASE,
)
# "Our webhook receiver went down (our fault: its disk filled up)": theirs, and told as over.
_SELF_INFLICTED = re.compile(r"\b(?:our|my) (?:own )?(?:fault|mistake|bad|doing)\b", re.IGNORECASE)
_HYPOTHETICAL = re.compile(r"^(?:so\s+|and\s+|but\s+)?(?:if|when|whenever|what if|in case|suppose)\b", re.I)


# "ah, unique users vs totals, got it": the last answer understood, no scene for the next question.
_ACKNOWLEDGED = re.compile(
    r"\b(?:got it|makes sense|understood|explain(?:s|ed) (?:it|that|everything)|that clears it up|gotcha|"
    r"i see now|fair enough)\b",
    re.I,
)
_GREETING = re.compile(r"^(?:hi|hello|hey|dear|good (?:morning|afternoon|evening))\b[^,.!?\n-]{0,30}[,.!-]\s*", re.I)
_CONJUNCTION = re.compile(r"^(?:and|also|plus|so|oh|ok|okay|but)\b[\s,]*", re.IGNORECASE)
_REQUEST = re.compile(
    r"\b(?:need|want|would like|'d like) to (?:know|understand|find out)\b|\bwondering\b|\blet (?:me|us) know\b|"
    r"\bplease (?:tell|confirm|explain|advise|clarify)\b|\bany (?:idea|advice|tips?)\b|"
    r"\b(?:we|i) (?:also |really |just )?(?:want|need|would like|'d like) to\b",
    re.IGNORECASE,
)


_WISH = re.compile(
    r"^(?:(?:we|i)(?:'d| would)|would)\s+(?:really\s+)?(?:love|like|be (?:nice|great|cool|good|awesome))\b"
    r"(?!\s+to\s+(?:know|understand|find out|ask|check))",
    re.IGNORECASE,
)


# "needs: (1) your SOC 2 report, (2) where our data lives, (3) how it is encrypted": each a request of its own.
_INLINE_ITEM = re.compile(r"\s*\((\d)\)\s+(?=\S)")


def _inline_items(text: str) -> str:
    """Items enumerated inline as "(1) ... (2) ..." (two or more) put on lines of their own, as a list."""
    if len(_INLINE_ITEM.findall(text)) < 2:
        return text
    listed = _INLINE_ITEM.sub(lambda m: f"\n{m.group(1)}) ", text)
    # The last item ends with its sentence: what follows on the line is the message going on.
    head, _, last = listed.rpartition("\n")
    return f"{head}\n" + re.sub(r"(?<=[.!?])\s+(?=\S)", "\n\n", last, count=1)


def _pieces(text: str, items: list[str] | None = None) -> list[str]:
    """Sentences and list items of a message (a greeting in front of them left out); `items`, when given,
    receives the list items among them."""
    out: list[str] = []
    # "1. first thing 2. second thing" on one line: items too.
    text = re.sub(r"(?<=\S)\s+(?=\d[.)]\s+[A-Za-z])", "\n", _GREETING.sub("", _inline_items(text.strip())))
    for block in re.split(r"\n\s*\n", text):
        buffer: list[str] = []
        for line in block.split("\n"):
            if _ITEM.match(line):
                if buffer:
                    out.extend(_SENTENCE.split(" ".join(buffer)))
                    buffer = []
                out.append(_ITEM.sub("", line))
                if items is not None:
                    items.append(_GREETING.sub("", out[-1].strip()))
            elif line.strip():
                buffer.append(line.strip())
        if buffer:
            out.extend(_SENTENCE.split(" ".join(buffer)))
    # "Hi," "Hello team," "Thanks!" alone are no content.
    return [_GREETING.sub("", p.strip()) for p in out if p.strip() and terms(p)]


def asks(sentence: str) -> bool:
    """A question or a request for information, however it is punctuated; a wish ("would love a dark
    mode") is neither: no help-article sentence answers it."""
    bare = _CONJUNCTION.sub("", sentence.strip())
    if not bare.endswith("?") and _WISH.match(bare):
        return False
    return bare.endswith("?") or bool(_ASKS.match(bare)) or bool(_REQUEST.search(bare))


VAGUE_TERMS = 2  # a question with fewer content terms of its own ("Any idea?") asks about the scene
# Troubleshooting words that name no topic ("any idea what to check first?", "what should we look at next?")
_NO_TOPIC = frozenset({"idea", "check", "first", "wrong", "caus", "look", "next", "try", "suggestion", "weird"})
SCENE_PIECES = 3  # how far back a vague question reaches for the scene it asks about


def _scene(before: list[str], vague: bool) -> list[str]:
    """The sentences just before a question that set its scene: the one before it, or for a vague
    question ("Both use Europe/Berlin. Any idea?") the few before it, back to an earlier question or a
    confirmed fix ("That fixed the export, thanks!" sets no scene)."""
    scene: list[str] = []
    start = max(0, len(before) - (SCENE_PIECES if vague else 1))
    for j in range(len(before) - 1, start - 1, -1):
        piece = before[j]
        # A follow-up opens with its confirmation; further on, "tracking with that same key works" is the scene.
        if asks(piece) or (j == 0 and confirms_resolution(piece)) or _ACKNOWLEDGED.search(piece):
            break
        scene.insert(0, piece)
    return scene


def questions(text: str, limit: int = 3) -> list[str]:
    """The separate questions of a message (its own words), each with the sentence before it when that
    sentence only sets the scene ("We're on Pro monthly. How much would yearly cost?"). The items of a
    numbered or bulleted list are each a request. A message without a question is one request: the
    whole of it."""
    text = _GREETING.sub("", text.strip())
    items: list[str] = []
    pieces = _pieces(text, items)
    listed = len(items)
    found: list[str] = []
    lead = ""
    for i, piece in enumerate(pieces):
        # "Next thing: ..." / "Different question: ..." opens a new topic: nothing before it sets its scene.
        new_topic = bool(_LEAD_IN.match(piece))
        is_item = piece in items
        piece = _LEAD_IN.sub("", piece)
        # "two things with invites:" introduces the list's items: it asks nothing of its own, and sets each item's
        # scene ("the one I sent 2 weeks ago doesn't work anymore" is about an invite).
        if listed >= 2 and piece.rstrip().endswith(":") and not asks(piece):
            lead = piece.rstrip().rstrip(":")
            continue
        # The items of a list are requests, asked or not; the sentences around the list only when they ask.
        if not (asks(piece) or (listed >= 2 and is_item)):
            continue
        parts = [p.strip(" ,") for p in _SECOND_QUESTION.split(piece) if p.strip(" ,")]
        # "We want to cancel our plan. How do I do it and do we lose access right away?": "how do I do it"
        # asks about what the sentence before it wants; the second question stands on its own.
        refers_back = (
            len(parts) >= 2 and i > 0 and not terms(parts[0]) and all(terms(p) for p in parts[1:]) and listed < 2
        )
        if refers_back:
            if found and found[-1].endswith(pieces[i - 1]):
                found.pop()
            parts[0] = f"{pieces[i - 1]} {parts[0]}"
        elif len(parts) < 2 or not all(terms(p) for p in parts):
            parts = [piece]
        # "That fixed the export, thanks! Separate question: ..." : a fix confirmed sets no scene.
        if not refers_back and listed < 2 and not new_topic:
            vague = len(terms(parts[0]) - _NO_TOPIC) < VAGUE_TERMS
            parts[0] = " ".join([*_scene(pieces[:i], vague=vague), parts[0]])
        found.extend(f"{lead} {p}" if lead else p for p in parts)
    if not found:
        return [text] if text else []
    # A question that adds less than two content terms ("what am I doing wrong?", "Bonjour?") is part
    # of its neighbour, not a question of its own.
    merged: list[str] = []
    for q in found:
        if merged and (len(terms(q)) < 2 or len(terms(merged[-1])) < 2):
            merged[-1] = f"{merged[-1]} {q}"
        else:
            merged.append(q)
    return merged[:limit]


def without_confirmations(text: str) -> str:
    """The message without its sentences confirming an earlier fix ("That fixed the export, thanks!"): what
    worked is no context for the new question that follows it."""
    kept = [p for p in _pieces(text) if not confirms_resolution(p)]
    return " ".join(kept) if kept else text


def moves_on(text: str) -> bool:
    """The message confirms an earlier fix and says more ("That fixed it, thanks. Next: can we ..."), or
    announces another topic ("perfect thanks. other thing: ...", "Different question: ..."): what follows is a
    new topic, and the ticket's subject names the problem already dealt with."""
    return without_confirmations(text) != text or any(_ANOTHER_TOPIC.match(p) for p in _pieces(text))


def expressed_urgency(text: str) -> bool:
    """True when the customer's own words say it is urgent ("asap", "blocking", "production is down"), and
    never when they say it can wait ("not urgent, just curious"), ask when something happens ("do we lose access
    right away?") or only name urgency ("the phone number for urgent issues"); see ``domain.urgency``."""
    own = prepared_text(text)
    if says_it_can_wait(own):
        return False
    if urgency_words(own):
        return True
    return any(
        claimed_before(_DOWN, s) and not _HYPOTHETICAL.match(s) and not _SELF_INFLICTED.search(s)
        for line in own.splitlines()
        for s in _SENTENCE.split(line)
    )
