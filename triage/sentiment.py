"""Sentiment of one customer message: textblob's polarity, corrected for what it misses in support text.

textblob scores words; angry support messages often carry their anger in shouting (ALL CAPS),
exclamation runs and complaints about waiting, which it scores as neutral. Its negation handling
only knows a bare "not" right before a sentiment word, so "didn't help", "isn't helpful",
"not the best", "hardly useful" and "nothing works" come out neutral or even positive: contractions
are expanded before scoring, and a negated positive word within a few words counts against.
"""

from __future__ import annotations

import re

from textblob import TextBlob

from domain.models import Sentiment

_WORD = re.compile(r"\b[A-Za-z]+\b")
_EXCLAMATION_RUN = re.compile(r"!{2,}")
# "so far" tells time, yet textblob scores "far" as praise and averages it in: "Love the product so far" came out
# 0.3, below a content sentence's bar, where "Love the product" is 0.5.
_SO_FAR = re.compile(r"\b(so|thus) far\b", re.I)
FRUSTRATION = re.compile(
    r"\b(ridiculous|unacceptable|terrible|awful|worst|useless|furious|angry|fed up|sick of|"
    r"waste of|still (not|broken|waiting)|no one|nobody (has )?(helped|answered|responded)|"
    r"cancel my|switching to|again and again|(second|third|fourth) time|days? (now|already)|"
    r"right choice|reconsider|alternatives|not what (we|i) (pay|paid|signed up)|supposed to)\b",
    re.I,
)
_PROBLEM = re.compile(
    r"\b([45]\d\d|error|errors|fail(s|ed|ing|ure)?|broken|not working|doesn'?t work|blocking|blocked|"
    r"keeps? getting|can'?t|cannot|unable|crash(es|ed|ing)?|tim(es?|ed|ing) out|outage|down|missing|wrong|"
    r"problem|issue|broke|breaks|died|dies|(gone|going|went) downhill|"
    r"locked|lockout|too many attempts|charged twice|double charged|overcharged)\b",
    re.I,
)
_CONTRACTION = re.compile(
    r"\b(ca|wo|do|does|did|is|are|was|were|has|have|had|could|would|should|must|need)n['’]t\b", re.I
)
_CANNOT = re.compile(r"\bcannot\b", re.I)
# A negator, at most three words (no punctuation in between), then a word of praise or success.
_NEGATED_POSITIVE = re.compile(
    r"\b(not|never|hardly|barely|nothing|nobody|none|neither|nor|without)\b(\s+[\w'’]+){0,3}?\s+"
    r"(help|helps|helped|helpful|work|works|worked|working|fix|fixes|fixed|solve|solved|resolve|resolved|"
    r"recommend|love|like|liked|pleased|satisfied|happy|useful|best|great|good|impressed|easy|fast|clear|"
    r"answer|answered|respond|responded|reply|replied)\b",
    re.I,
)
_NEGATION_PENALTY = 0.25
_IGNORED_CAPS = {
    "API",
    "SDK",
    "SSO",
    "SAML",
    "URL",
    "HTTP",
    "HTTPS",
    "JSON",
    "CSV",
    "VAT",
    "GDPR",
    "SOC",
    "ASAP",
    "CORS",
    "IOS",
    "PDF",
    "USD",
    "EUR",
    "CEO",
    "CTO",
    "FAQ",
    "UTC",
    "ID",
    "IDS",
}

# A problem said to be gone is none: "no errors since", "not a single failure", "no more 403s".
_SOLVED = re.compile(
    r"\b(?:no|without|zero|not (?:a|one) single|never (?:an?|any))\s+(?:more\s+|further\s+)?(?:\w+\s+)?"
    r"(?:errors?|issues?|problems?|crash(?:es)?|failures?|timeouts?|[45]\d\d\w*)\b",
    re.I,
)


def reports_problem(text: str) -> bool:
    """Whether the text reports something wrong (an error, a failure, a lockout), not one said to be gone."""
    return _PROBLEM.search(_SOLVED.sub(" ", text)) is not None


def polarity(text: str) -> float:
    """textblob polarity in [-1, 1], corrected for shouting, exclamation runs, frustration, problem
    reports and negation."""
    expanded = expand_negations(text)
    score = float(TextBlob(_SO_FAR.sub("", expanded)).sentiment.polarity)
    negated = len(_NEGATED_POSITIVE.findall(expanded))
    if negated and score > -_NEGATION_PENALTY:
        # "not the best", "didn't help": textblob missed the negation (when it caught it, as in
        # "not happy", the score is already negative and stays as it is).
        score = min(score, 0.0) - _NEGATION_PENALTY * min(negated, 2)
    if reports_problem(text):
        # Politeness inside a problem report ("please help, great product") is not a happy customer.
        score = min(score, 0.1)
    words = [w for w in _WORD.findall(text) if len(w) >= 3]
    shouted = [w for w in words if w.isupper() and w not in _IGNORED_CAPS]
    if words and len(shouted) / len(words) > 0.3:
        score -= 0.5  # most of the message in capitals
    elif len(shouted) >= 2:
        score -= 0.25
    if _EXCLAMATION_RUN.search(text):
        score -= 0.15
    score -= 0.2 * min(len(FRUSTRATION.findall(text)), 3)
    return max(-1.0, min(1.0, score))


def expand_negations(text: str) -> str:
    """ "didn't" → "did not", "can't" → "ca not", "cannot" → "can not": textblob negates only "not"."""
    return _CANNOT.sub("can not", _CONTRACTION.sub(lambda m: f"{m.group(1)} not", text))


def classify(p: float) -> Sentiment:
    """The brief's thresholds."""
    if p > 0.3:
        return Sentiment.POSITIVE
    if p < -0.6:
        return Sentiment.VERY_NEGATIVE
    if p < -0.3:
        return Sentiment.NEGATIVE
    return Sentiment.NEUTRAL


def analyze(text: str) -> tuple[Sentiment, float]:
    p = polarity(text)
    return classify(p), round(p, 4)
