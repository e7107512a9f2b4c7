"""What the offline model reads in a customer's message: plain, deterministic pattern rules.

These are the cues a careful human lead uses before acting: an explicit refund or credit request
with one unambiguous amount, a customer confirming the fix, a reported defect, a billing question
inside a technical ticket (and the reverse), an explicit calculation. Each rule errs on the side of
not acting: an ambiguous message gets a reply (and a question), never an action.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Literal

from domain import resolution
from domain.money_asks import ABOUT_A_REFUND, CREDIT, MONEY_BACK, REFUND

_AMOUNT = re.compile(
    r"(?:\$|\bUSD\s?)\s?(\d{1,3}(?:,\d{3})+(?:\.\d{1,2})?|\d+(?:\.\d{1,2})?)"
    r"|\b(\d{1,3}(?:,\d{3})+(?:\.\d{1,2})?|\d+(?:\.\d{1,2})?)\s?(?:USD|dollars)\b",
    re.IGNORECASE,
)
_INVOICE = re.compile(r"\bLUM-\d{3,}\b", re.I)
# Other billing systems' numbers: "INV-2291" anywhere, or what follows "invoice" / "receipt" / "bill"
# ("invoice no. 88213", "receipt #R-7731"): a code with digits, never a plain word or an amount.
_ANY_INVOICE = re.compile(r"\bINV[-_ ]?\d{3,}\b", re.I)
_NAMED_INVOICE = re.compile(
    r"\b(?:invoice|receipt|bill)\s*(?:(?:no\.?|number|nr\.?|id|ref(?:erence)?)\s*)?(?:is\s*)?[:#]?\s*"
    r"([A-Z]{0,5}[-_]?\d{4,}(?:-\d+)*)\b",
    re.I,
)
_ORDER = re.compile(r"#W\d{5,}\b")
_RESERVATION = re.compile(r"\breservation(?: id| code| number)?(?: is)?[\s:#]*([A-Z0-9]{6})\b")
_SENTENCE = re.compile(r"(?<=[.!?])\s+|\n+")

_BILLING_ASK = re.compile(
    r"\b(refund|reimburse|invoice|receipt|charged|double charge|charge on|billing|credit card|vat|"
    r"purchase order|payment)\b|\bLUM-\d{3,}\b",
    re.I,
)
_TECHNICAL = re.compile(
    r"\b(?:HTTP|status|error)\s?[45]\d\d\b|\b[45]\d\d (?:error|errors|response)\b|\b(api|sdk|webhook|endpoint|"
    r"ingestion|integration|timeout|exception|stack trace|cors|lambda)\b",
    re.I,
)
_BUG = re.compile(
    r"\b(bug|crash(?:es|ed|ing)?|regression|broke(?:n)? (?:after|since|with) (?:the|your|version|v?\d)|"
    r"stopped working (?:after|since) (?:the|your|yesterday's|today's) ?(?:update|upgrade|release|deploy|"
    r"version)?|since (?:the|your) (?:latest|last|new|recent) (?:release|version|update|upgrade))\b",
    re.I,
)
_CALL_OR_MANAGER = re.compile(
    r"\b(account manager|(?:a|phone) call with|call (?:me|us) back|schedule a call|on the phone with)\b", re.I
)
_NUM = r"\d[\d,]*(?:\.\d+)?"
_EXPRESSION = re.compile(rf"(?<![\w.]){_NUM}(?:\s*(?:[*×/+]|x)\s*{_NUM})+(?![\w.])")

ActionKind = Literal["refund", "credit"]


@dataclass(frozen=True)
class MoneyAsk:
    """An explicit refund or credit request with one unambiguous amount."""

    kind: ActionKind
    amount_usd: Decimal
    reference: str | None
    reason: str


def amounts(text: str) -> list[Decimal]:
    found: list[Decimal] = []
    for m in _AMOUNT.finditer(text):
        raw = (m.group(1) or m.group(2)).replace(",", "")
        try:
            value = Decimal(raw)
        except InvalidOperation:
            continue
        if value > 0:
            found.append(value)
    return found


def reference_in(text: str) -> str | None:
    """The invoice, order or reservation the customer names, as written (upper case), if any."""
    for pattern in (_INVOICE, _ORDER, _ANY_INVOICE):
        m = pattern.search(text)
        if m:
            return m.group(0).upper()
    m = _NAMED_INVOICE.search(text)
    if m:
        return m.group(1).upper()
    m = _RESERVATION.search(text)
    return m.group(1) if m else None


def money_ask(text: str) -> MoneyAsk | None:
    """The refund or credit the customer explicitly asks for, if it names exactly one amount.

    Amounts in the sentences that ask win over amounts elsewhere in the message; the same amount
    repeated (a double charge of $49 and $49) is one amount; two different ones are ambiguous. A message
    whose every mention of money back only asks about a refund (``domain.money_asks``) asks for none.
    """
    credit = bool(CREDIT.search(text))
    if not (REFUND.search(text) or credit):
        return None
    sentences = [s for s in _SENTENCE.split(text) if s.strip()]
    asking = [s for s in sentences if (REFUND.search(s) or CREDIT.search(s)) and not ABOUT_A_REFUND.search(s)]
    if not asking:
        return None
    candidates = sorted(set(amounts(" ".join(asking)))) or sorted(set(amounts(text)))
    if len(candidates) != 1:
        return None
    kind: ActionKind = "credit" if credit and not REFUND.search(text) else "refund"
    reason_src = (asking or sentences)[0].strip()
    return MoneyAsk(kind, candidates[0], reference_in(text), reason_src[:300])


def mentions_refund(text: str) -> bool:
    """The customer asks about a refund (or getting money back), whether or not with an amount."""
    return bool(REFUND.search(text) or MONEY_BACK.search(text))


def confirms_resolution(text: str) -> bool:
    """A confirmation that the fix worked with nothing left open (`domain.resolution`, shared by every model)."""
    return resolution.confirms_resolution(text)


# Asking where or how to suggest something the product lacks ("where do I put that request so someone reads
# it?", "could you pass that on?", "is it on your roadmap?"): the answer is how requests are made, whatever the
# feature wished for, which otherwise pulls the search towards its own topic's articles.
_SUGGESTS_FEATURE = re.compile(
    r"\b(?:where|how) (?:do|can|should|would) (?:i|we|you) (?:\w+ ){0,2}(?:suggest|propose|pitch|vote|"
    r"submit (?:it|that|this|ideas?|an idea|suggestions?|a suggestion|features?|a feature))\b|"
    r"\b(?:where|how) (?:do|can|should|would) (?:i|we) (?:\w+ ){0,2}(?:put|send|log|file|raise|make) "
    r"(?:that|this|a|the|my|our) (?:request|suggestion|idea|wish)\b|"
    r"\b(?:somewhere|anywhere|a place|where) (?:i|we) (?:can |could |should )?(?:ask for|request|suggest|propose|"
    r"vote for|submit) (?:it|that|this|them|(?:new )?features?|things like (?:this|that))\b|"
    r"\bwhere(?:'s| is| would be) (?:the )?(?:best |right |proper )?(?:place|way|spot|channel) to (?:suggest|request|"
    r"propose|submit|send|put|log|raise|ask for|leave) "
    r"(?:it|that|this|ideas?|an idea|features?|feedback|suggestions?)\b|"
    r"\bwhere (?:can|do|should) (?:i|we) (?:send|submit|post|leave|share) (?:product )?(?:ideas?|suggestions?|"
    r"feature (?:ideas?|wishes))\b|"
    r"\brequest (?:a|this|that|the|new) feature\b|\bfeature (?:request|suggestion|idea)s?\b|"
    r"\b(?:on|to) (?:the|your) (?:product )?roadmap\b|"
    # "is that planned? where do i push for it?", "Is something like that on the way?"
    r"\b(?:is|are) (?:that|this|it|they|something like (?:this|that)|anything like (?:this|that)) (?:planned|coming|"
    r"on the way|in the works|in the pipeline|being worked on)\s*(?:\?|,|!|$| at some point| soon| anytime soon)|"
    r"\bwhere (?:do|can|should) (?:i|we) (?:\w+ ){0,2}(?:push|lobby|campaign|advocate|upvote) for "
    r"(?:it|that|this|them)\b|"
    r"\b(?:pass|forward|send) (?:it|that|this|the idea|the request|my request|our request)(?: on| along)? to "
    r"(?:the|your) (?:product|dev|development|engineering) team\b|"
    r"\bcould you (?:pass|forward|send) (?:it|that|this)(?: on| along)\b",
    re.IGNORECASE,
)


# What such a message asks, in the help centre's words: looked up and answered instead of the wish's topic.
FEATURE_QUESTION = "How do I suggest a feature request, and what happens to it?"


def suggests_feature(text: str) -> bool:
    return bool(_SUGGESTS_FEATURE.search(text))


def as_feature_suggestion(asked: Sequence[str], limit: int = 3) -> list[str]:
    """The questions of a message that suggests a feature: where to suggest it is the question, not the feature
    wished for; the question asking it gives way to ``FEATURE_QUESTION``, and the scene it carried ("Funnels break
    down by the current plan. Is this on the roadmap,") passes to the question after it ("and is there a
    workaround?")."""
    kept: list[str] = []
    scene = ""
    for question in asked:
        if suggests_feature(question):
            scene = " ".join(s for s in _SENTENCE.split(question) if s and not suggests_feature(s))
        else:
            kept.append(f"{scene} {question}".strip())
            scene = ""
    return [FEATURE_QUESTION, *kept][:limit]


def reports_bug(text: str) -> bool:
    return bool(_BUG.search(text))


def asks_billing(text: str) -> bool:
    return bool(_BILLING_ASK.search(text)) and (money_ask(text) is not None or bool(_INVOICE.search(text)))


def purely_technical(text: str) -> bool:
    return bool(_TECHNICAL.search(text)) and not _BILLING_ASK.search(text)


# What the customer does themselves with their account manager ("Thanks, I've pinged our account manager", "we'll
# raise it with our account manager"): told, not asked of us.
_OWN_STEP_WITH_MANAGER = re.compile(
    r"\b(?:i|we)(?:'ll|'ve| will| have| already| just| can| could)* (?:\w+ )?(?:pinged|ping|raised?|asked?|contacted|"
    r"contact|e-?mailed|e-?mail|messaged|message|spoke|speak|talked|talk|checked|check|take|took|went|go|reached out|"
    r"reach out|looped in|loop in|cc'?d|copied)\b[^.?!]{0,40}\baccount manager\b",
    re.I,
)
_ASKS = re.compile(r"\b(?:please|could you|can you|would you|we'?d like|i'?d like|want|need)\b", re.I)


def wants_call_or_manager(text: str) -> bool:
    sentences = [s for s in re.split(r"(?<=[.!?])\s+|\n+", text) if _CALL_OR_MANAGER.search(s)]
    return any(
        not (_OWN_STEP_WITH_MANAGER.search(s) and not s.rstrip().endswith("?") and not _ASKS.search(s))
        for s in sentences
    )


# Function words, the surest sign of a language in a few lines (names and product words are not).
_FUNCTION_WORDS: dict[str, frozenset[str]] = {
    "English": frozenset("the and is are was to of for my your our you we it this that with not have has can "
                         "please what how why do does on in at be".split()),
    "French": frozenset("le la les des est et je j ai mon ma mes vous nous pour pas une un du avec sur qui que "
                        "ne ce cette votre merci bonjour".split()),
    "German": frozenset("der das und ist ich nicht ein eine mein meine sie wir mit für auf zu dem des bitte "
                        "danke hallo habe kann".split()),
    "Spanish": frozenset("el los las es y yo mi mis un una para con por que en del usted gracias hola tengo "
                         "puede puedo pueden desde pero ayuda".split()),
    "Italian": frozenset("il lo gli è io mio mia non un una per con che di del grazie ciao sono ho può".split()),
    "Portuguese": frozenset("os é eu meu minha não um uma para com que em da obrigado olá tenho pode "
                            "você".split()),
    "Dutch": frozenset("het een en ik mijn niet voor met op van dat u wij bedankt hallo heb kan".split()),
}  # fmt: skip
_SCRIPTS = (
    ("Cyrillic script", 0x0400, 0x04FF), ("Greek", 0x0370, 0x03FF), ("Arabic script", 0x0600, 0x06FF),
    ("Hebrew", 0x0590, 0x05FF), ("Devanagari script", 0x0900, 0x097F), ("Thai", 0x0E00, 0x0E7F),
    ("Korean", 0xAC00, 0xD7AF), ("Japanese", 0x3040, 0x30FF), ("Chinese", 0x4E00, 0x9FFF),
)  # fmt: skip


def foreign_language(text: str) -> str | None:
    """The language (or script) a message is written in when it is clearly not English, else None.

    Function-word counts for a handful of European languages, and the script for the others; a
    foreign name or greeting inside English text does not count (it must outweigh English twice)."""
    letters = [c for c in text if c.isalpha()]
    if len(letters) < 12:
        return None
    for script, low, high in _SCRIPTS:
        if sum(low <= ord(c) <= high for c in letters) > len(letters) / 2:
            return script
    words = re.findall(r"[^\W\d_]+", text.lower())
    counts = {lang: sum(w in vocab for w in words) for lang, vocab in _FUNCTION_WORDS.items()}
    distinct = {lang: len(vocab.intersection(words)) for lang, vocab in _FUNCTION_WORDS.items()}
    english = counts.pop("English")
    lang, found = max(counts.items(), key=lambda kv: kv[1])
    # Prose, not a stray phrase: several different function words, a sixth of the words, twice English's.
    return lang if distinct[lang] >= 3 and found >= len(words) / 6 and found > 2 * english else None


def calculation(text: str) -> str | None:
    """An explicit multiplication-style expression ("40 x 90 x 60"), as Python source; None if absent."""
    for m in _EXPRESSION.finditer(text):
        expr = m.group(0)
        if not re.search(r"[*×x]", expr):
            continue  # "24/7" or "1+1" alone is not a calculation request
        py = re.sub(r"(?<=\d),(?=\d{3})", "", expr).replace("×", "*")
        py = re.sub(r"\s*x\s*", " * ", py)
        return py.strip()
    return None
