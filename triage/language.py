"""Is a message written in a language other than English? lingua's packaged n-gram models, no download.

Restricted to English and six languages our customers write in, in lingua's low-accuracy mode
(trigrams only): its models load lazily in about 0.3 s and 25 MB on first use, against 7 s and
250 MB for the full models of seven languages. Other scripts (Cyrillic, CJK, Arabic ...) are told by
their letters. Short texts ("Merci!", "ok thx", "503 since noon") are never called foreign: lingua
guesses on them, and a hand-over for a word of French would be wrong far more often than right.
"""

from __future__ import annotations

import re
import threading
from typing import Any

OTHERS = ("PORTUGUESE", "SPANISH", "FRENCH", "GERMAN", "ITALIAN", "DUTCH")
MIN_WORDS = 5
MIN_CONFIDENCE = 0.8
# English words that hardly occur in the other six languages: a message where they are common is
# English, whatever a trigram model says about its product names.
_ENGLISH = frozenset(
    "the and is it you we my our of for with this that how have what please thanks can not your are was "
    "to from get there would could should been has do does".split()
)
_WORD = re.compile(r"[^\W\d_]+", re.U)
_lock = threading.Lock()
_detector: Any = None


def _lingua() -> Any:
    global _detector
    with _lock:
        if _detector is None:
            from lingua import Language, LanguageDetectorBuilder

            languages = [Language.ENGLISH, *(getattr(Language, name) for name in OTHERS)]
            _detector = LanguageDetectorBuilder.from_languages(*languages).with_low_accuracy_mode().build()
        return _detector


def other_language(text: str) -> str | None:
    """The language's name when the message is clearly not English, else None."""
    words = _WORD.findall(text)
    letters = "".join(words)
    if not letters:
        return None
    latin = sum(1 for ch in letters if ch.isascii() or "\u00c0" <= ch <= "\u024f")
    if latin / len(letters) < 0.5:
        return "non-Latin script"
    if len(words) < MIN_WORDS:
        return None
    english = sum(1 for w in words if w.lower() in _ENGLISH) / len(words)
    if english >= 0.12:
        return None
    best = _lingua().compute_language_confidence_values(text)[0]
    name = str(best.language.name)
    return name.lower() if name != "ENGLISH" and best.value >= MIN_CONFIDENCE else None
