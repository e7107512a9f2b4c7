"""The customer's message as the reply composer reads it: their own new words, their questions, their tone.

An e-mail arrives with a signature, a confidentiality disclaimer, quoted or forwarded history and,
now and then, text pasted to talk to the assistant ("SYSTEM NOTE: ..."). None of it is what the
customer asks, so none of it may pick the answer, and none of it is ever quoted back. Pure functions.
"""

from __future__ import annotations

import re

from agents.offline.article_text import terms

# A line from which everything below is someone else's text (quoted or forwarded history).
_HISTORY_START = re.compile(
    r"^\s*(?:-{2,}\s*(?:original message|forwarded message)\s*-{2,}|-{3,}\s*forwarded|begin forwarded message|"
    r"on .{3,80}\bwrote:\s*$|from:\s.+@|-----\s*original)",
    re.IGNORECASE,
)
# A line that is a signature, a disclaimer or mail-client boilerplate.
_BOILERPLATE = re.compile(
    r"^\s*(?:sent from my|get outlook for|disclaimer\b|confidentiality notice|this (?:e-?mail|message)\b.*"
    r"(?:confidential|intended|scanned|privileged)|please consider the environment|\*{2,}|"
    r"(?:tel|phone|mobile|m|t|p)\s*[:.]\s*\+?\d|www\.|https?://\S+\s*$)",
    re.IGNORECASE,
)
# Text addressed to the assistant, not a question for support.
_TO_THE_ASSISTANT = re.compile(
    r"^\W*(?:system|assistant|admin|developer|ai|agent)\s*(?:note|message|prompt|instructions?|override)\b|"
    r"\bignore (?:all |any )?(?:the )?(?:previous|prior|above|earlier) (?:instructions?|rules?)\b|"
    r"\b(?:the )?(?:assistant|ai|agent|model) (?:must|should|shall)\b",
    re.IGNORECASE,
)
_VALEDICTION = re.compile(
    r"^\s*(?:thanks|thank you|many thanks|thx|ta|cheers|regards|best|best regards|kind regards|warm regards|"
    r"all the best|sincerely|br|--|—)\s*[,.!]*\s*$",
    re.IGNORECASE,
)
_SIGNATURE_LINE = re.compile(r"^[^\s?!]+(?: [^\s?!]+){0,3}$")  # a name, "Head of Data", "Ember Software"
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[\"'(\[A-Za-z0-9])")
_ITEM = re.compile(r"^\s*(?:\d+[.)]|[-*•])\s+")
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
_LEAD_IN = re.compile(r"^(?:two|2|three|3|a few|some|couple of)?\s*(?:quick\s+)?questions?\s*:\s*", re.IGNORECASE)
# Words a customer uses to say it is urgent; a priority set elsewhere is not the customer saying so.
_URGENT = re.compile(
    r"\b(?:asap|urgent(?:ly)?|emergency|immediately|right away|critical|as soon as possible|blocker|"
    r"blocking (?:us|me|our (?:team|release|launch|work))|(?:is|are) (?:completely |totally |all )?down(?! for)|"
    r"went down|(?:production|prod|checkout) (?:is )?(?:broken|down))\b",
    re.IGNORECASE,
)
# "if our endpoint is down for a day, ..." asks about a what-if; it says nothing about now.
_HYPOTHETICAL = re.compile(r"^(?:so\s+|and\s+|but\s+)?(?:if|when|whenever|what if|in case|suppose)\b", re.I)


# "See below", "forwarding this from our CISO": the question is in the forwarded text.
_POINTS_BELOW = re.compile(
    r"\b(?:below|forward(?:ed|ing)?|attached|(?:see|read) (?:the |this )?(?:e-?mail|message|thread))\b", re.I
)


def own_words(text: str) -> str:
    """What the customer wrote in this message: quoted and forwarded history, signatures, disclaimers,
    mail boilerplate and text addressed to the assistant removed. When the customer's own lines point
    at the forwarded text ("See below, can you help?"), that text is what they want answered: it is
    kept, without its header lines."""
    lines = text.replace("\r\n", "\n").split("\n")
    mine: list[str] = []
    history: list[str] = []
    for line in lines:
        if history or _HISTORY_START.search(line) or line.lstrip().startswith(">"):
            history.append(line)
            continue
        mine.append(line)
    kept = _drop_signature([line for line in mine if not _noise(line)])
    own = "\n".join(kept).strip()
    if history and (not terms(own) or _POINTS_BELOW.search(own)):
        forwarded = [line.lstrip("> ").strip() for line in history]
        forwarded = [line for line in forwarded if line and not _header(line) and not _noise(line)]
        own = "\n".join([own, *forwarded]).strip()
    return own


def _header(line: str) -> bool:
    return bool(
        re.match(r"^(?:from|to|cc|date|sent|subject)\s*:", line, re.IGNORECASE)
        or _HISTORY_START.search(line)
        or re.match(r"^-+\s*$", line)
    )


def _noise(line: str) -> bool:
    return bool(_BOILERPLATE.search(line) or _TO_THE_ASSISTANT.search(line))


def _drop_signature(lines: list[str]) -> list[str]:
    """Lines without the sign-off block: a valediction ("Thanks," "Regards") and the short lines after it,
    or a bare name line closing the message."""
    while lines and not lines[-1].strip():
        lines.pop()
    for i in range(len(lines) - 1, max(-1, len(lines) - 7), -1):
        if _VALEDICTION.match(lines[i]) and all(
            not lines[j].strip() or _SIGNATURE_LINE.match(lines[j].strip()) or "|" in lines[j]
            for j in range(i + 1, len(lines))
        ):
            return lines[:i]
    # A closing name, and a company or title line, with no sentence punctuation.
    while (
        len(lines) > 1
        and (_SIGNATURE_LINE.match(lines[-1].strip()) or "|" in lines[-1])
        and not re.search(r"[.?!:]$", lines[-1].strip())
    ):
        if _ASKS.match(lines[-1].strip()) or len(lines[-1].split()) > 4:
            break
        lines.pop()
        while lines and not lines[-1].strip():
            lines.pop()
    return lines


_GREETING = re.compile(r"^(?:hi|hello|hey|dear|good (?:morning|afternoon|evening))\b[^,.!?\n-]{0,30}[,.!-]\s*", re.I)
_CONJUNCTION = re.compile(r"^(?:and|also|plus|so|oh|ok|okay|but)\b[\s,]*", re.IGNORECASE)
_REQUEST = re.compile(
    r"\b(?:need|want|would like|'d like) to (?:know|understand|find out)\b|\bwondering\b|\blet (?:me|us) know\b|"
    r"\bplease (?:tell|confirm|explain|advise|clarify)\b|\bany (?:idea|advice|tips?)\b|"
    r"\b(?:we|i) (?:also |really |just )?(?:want|need|would like|'d like) to\b",
    re.IGNORECASE,
)


def _pieces(text: str) -> list[str]:
    """Sentences and list items of a message (a greeting in front of them left out)."""
    out: list[str] = []
    # "1. first thing 2. second thing" on one line: items too.
    text = re.sub(r"(?<=\S)\s+(?=\d[.)]\s+[A-Za-z])", "\n", _GREETING.sub("", text.strip()))
    for block in re.split(r"\n\s*\n", text):
        buffer: list[str] = []
        for line in block.split("\n"):
            if _ITEM.match(line):
                if buffer:
                    out.extend(_SENTENCE.split(" ".join(buffer)))
                    buffer = []
                out.append(_ITEM.sub("", line))
            elif line.strip():
                buffer.append(line.strip())
        if buffer:
            out.extend(_SENTENCE.split(" ".join(buffer)))
    # "Hi," "Hello team," "Thanks!" alone are no content.
    return [_GREETING.sub("", p.strip()) for p in out if p.strip() and terms(p)]


def asks(sentence: str) -> bool:
    """A question or a request for information, however it is punctuated."""
    bare = _CONJUNCTION.sub("", sentence.strip())
    return bare.endswith("?") or bool(_ASKS.match(bare)) or bool(_REQUEST.search(bare))


def questions(text: str, limit: int = 3) -> list[str]:
    """The separate questions of a message (its own words), each with the sentence before it when that
    sentence only sets the scene ("We're on Pro monthly. How much would yearly cost?"). The items of a
    numbered or bulleted list are each a request. A message without a question is one request: the
    whole of it."""
    text = _GREETING.sub("", text.strip())
    pieces = _pieces(text)
    listed = len(re.findall(r"(?m)^\s*(?:\d+[.)]|[-*•])\s+", re.sub(r"(?<=\S)\s+(?=\d[.)]\s+[A-Za-z])", "\n", text)))
    found: list[str] = []
    for i, piece in enumerate(pieces):
        piece = _LEAD_IN.sub("", piece)
        if not (asks(piece) or listed >= 2):
            continue
        parts = [p.strip(" ,") for p in _SECOND_QUESTION.split(piece) if p.strip(" ,")]
        if len(parts) < 2 or not all(terms(p) for p in parts):
            parts = [piece]
        if i > 0 and not asks(pieces[i - 1]) and listed < 2:
            parts[0] = f"{pieces[i - 1]} {parts[0]}"
        found.extend(parts)
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


def expressed_urgency(text: str) -> bool:
    """True when the customer's own words say it is urgent ("asap", "blocking", "production is down")."""
    sentences = [s.strip() for line in own_words(text).splitlines() for s in _SENTENCE.split(line)]
    return any(_URGENT.search(s) and not _HYPOTHETICAL.match(s) for s in sentences)
