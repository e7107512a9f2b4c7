"""Sentiment of one customer message: textblob's polarity, corrected for what it misses in support text.

textblob scores words; angry support messages often carry their anger in shouting (ALL CAPS),
exclamation runs and complaints about waiting, which it scores as neutral.
"""

from __future__ import annotations

import re

from textblob import TextBlob

from domain.models import Sentiment

_SHOUTED_WORD = re.compile(r"\b[A-Z]{3,}\b")
_EXCLAMATION_RUN = re.compile(r"!{2,}")
_FRUSTRATION = re.compile(
    r"\b(ridiculous|unacceptable|terrible|awful|worst|useless|furious|angry|fed up|sick of|"
    r"waste of|still (not|broken|waiting)|no one|nobody (has )?(helped|answered|responded)|"
    r"cancel my|switching to|again and again|third time|days? (now|already))\b",
    re.I,
)
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


def polarity(text: str) -> float:
    """textblob polarity in [-1, 1], pushed down by shouting, exclamation runs and frustration words."""
    score = float(TextBlob(text).sentiment.polarity)
    shouted = [w for w in _SHOUTED_WORD.findall(text) if w not in _IGNORED_CAPS]
    if len(shouted) >= 2:
        score -= 0.25
    if _EXCLAMATION_RUN.search(text):
        score -= 0.15
    score -= 0.2 * min(len(_FRUSTRATION.findall(text)), 3)
    return max(-1.0, min(1.0, score))


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
