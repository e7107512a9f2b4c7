"""Is a message written in a language other than English? lingua's packaged n-gram models, no download.

All of lingua's languages, in its low-accuracy mode (trigrams only): each language's model loads lazily, a
few tenths of a second and 15-50 MB in all. The question is "not English?", so a message counts as foreign when
lingua gives English almost no chance. Restricted to English and six languages, Slovak and Romanian
came out English, since none of the six fitted them better. Other scripts
(Cyrillic, CJK, Arabic ...) are told by their letters. Short texts ("Merci!", "ok thx", "503 since
noon") are never called foreign: lingua guesses on them, and a hand-over for a word of French would be
wrong far more often than right.
"""

from __future__ import annotations

import json
import re
import threading
from functools import cache
from typing import Any

from kb.embeddings import tokenizer_file

MIN_WORDS = 5
NO_ENGLISH_WORDS = 10
MAX_ENGLISH = 0.2  # lingua's confidence in English below which the message is another language
# English words that hardly occur in other languages written in Latin letters: a message where they are common is
# English, whatever a trigram model says about its product names.
_ENGLISH = frozenset(
    "the and is it you we my our of for with this that how have what please thanks can not your are was "
    "to from get there would could should been has do does as if me us be any just why when where which "
    "who will they their them".split()
)
_WORD = re.compile(r"[^\W\d_]+", re.U)
# A language lingua has no model of can still get English as its best guess (Corsican: "Vulemu mandà i nostri dati
# versu BigQuery ogni ghjornu" came out 0.98 English). Our embedding model's English WordPiece vocabulary tells it
# apart: of the words of three letters or more, English tickets of twelve or more such words had at least 0.6 of
# them in it over every written set, other languages at most 0.5.
MIN_KNOWN_WORDS = 12
MIN_KNOWN_SHARE = 0.35
_LONG_WORD = re.compile(r"[^\W\d_]{3,}", re.U)
_lock = threading.Lock()
_detector: Any = None


def _lingua() -> Any:
    global _detector
    with _lock:
        if _detector is None:
            from lingua import LanguageDetectorBuilder

            _detector = LanguageDetectorBuilder.from_all_languages().with_low_accuracy_mode().build()
        return _detector


@cache
def _english_vocabulary() -> frozenset[str]:
    vocab = json.loads(tokenizer_file().read_text(encoding="utf-8"))["model"]["vocab"]
    return frozenset(w for w in vocab if w.isalpha())


def _mostly_unknown_words(text: str) -> bool:
    words = [w.lower() for w in _LONG_WORD.findall(text)]
    if len(words) < MIN_KNOWN_WORDS:
        return False
    vocabulary = _english_vocabulary()
    return sum(1 for w in words if w in vocabulary) / len(words) < MIN_KNOWN_SHARE


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
    values = _lingua().compute_language_confidence_values(text)
    chance = next((v.value for v in values if v.language.name == "ENGLISH"), 0.0)
    top = str(values[0].language.name).lower()
    # Ten words and not one English word: a language lingua has no model of (Hausa, Luxembourgish) spreads its
    # chances, English among them, yet English is not its best guess.
    if english == 0 and len(words) >= NO_ENGLISH_WORDS and top != "english":
        return top
    if chance < MAX_ENGLISH:
        return top
    return "unrecognised" if _mostly_unknown_words(text) else None
