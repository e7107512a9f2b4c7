"""A BM25 sparse encoder of our own: no model, no download, the same output on every machine.

Documents get BM25's saturated term frequency, queries their raw term counts, and Qdrant
multiplies in the IDF at query time (the collection's sparse vector uses ``Modifier.IDF``, which
qdrant-client's local mode honours too). The dot product of the two is then the BM25 score, and
IDF stays right as articles come and go without re-encoding anything.

Terms map to vector indices through a stable, unsalted hash (BLAKE2b), never Python's ``hash()``,
which is salted per process: indices written today must match queries encoded next year.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from dataclasses import dataclass

K1 = 1.2
B = 0.75
# Typical number of terms in a chunk after stop-word removal (chunks are 120-250 words plus
# their title line). A constant rather than the live corpus average, so a chunk's vector never
# depends on the other articles and unchanged articles never need re-encoding.
DEFAULT_AVG_LEN = 100.0

_TOKEN = re.compile(r"[a-z0-9]+")
_VOWELS = frozenset("aeiouy")
_INDEX_MASK = 0x7FFF_FFFF  # 31 bits: fits Qdrant's u32 indices and any signed-int consumer

STOPWORDS = frozenset(
    """
    a about above after again against all am an and any are as at be because been before being
    below between both but by can could did do does doing down during each few for from further
    had has have having he her here hers herself him himself his how i if in into is it its itself
    just me more most my myself no nor not now of off on once only or other our ours ourselves out
    over own same she should so some such than that the their theirs them themselves then there
    these they this those through to too under until up very was we were what when where which
    while who whom why will with would you your yours yourself yourselves also get got keep kept
    please hi hello thanks thank
    """.split()
)


@dataclass(frozen=True)
class SparseVec:
    """Sorted, distinct indices and their weights."""

    indices: list[int]
    values: list[float]

    def __bool__(self) -> bool:
        return bool(self.indices)


def tokenize(text: str) -> list[str]:
    """Lower-case word and number tokens, stop words removed, lightly stemmed."""
    terms = []
    for token in _TOKEN.findall(text.lower()):
        if token in STOPWORDS or (len(token) == 1 and not token.isdigit()):
            continue
        term = stem(token)
        if term not in STOPWORDS:  # "getting" stems to "get"
            terms.append(term)
    return terms


def stem(token: str) -> str:
    """Strip plural -s/-es/-ies, then -ing/-ed, then a final -e, so "charges", "charged",
    "charging" and "charge" meet at "charg". Deliberately crude; numbers pass through."""
    if not token.isalpha() or len(token) <= 3:
        return token
    word = token
    if word.endswith("ies") and len(word) > 4:
        word = word[:-3] + "y"
    elif word.endswith("sses"):
        word = word[:-2]
    elif word.endswith("s") and not word.endswith(("ss", "us", "sis")):
        word = word[:-1]
    for suffix in ("ing", "ed"):
        base = word[: -len(suffix)]
        if word.endswith(suffix) and not word.endswith("eed") and len(base) >= 3 and _VOWELS & set(base):
            word = base
            if word[-1] == word[-2] and word[-1] not in "lsz":  # running -> run, but billing -> bill
                word = word[:-1]
            break
    if word.endswith("e") and len(word) >= 4:
        word = word[:-1]
    return word


def term_index(term: str) -> int:
    """Stable 31-bit index of a term."""
    digest = hashlib.blake2b(term.encode("utf-8"), digest_size=4).digest()
    return int.from_bytes(digest, "big") & _INDEX_MASK


def encode_document(text: str, avg_len: float = DEFAULT_AVG_LEN, k1: float = K1, b: float = B) -> SparseVec:
    """BM25 document side: ``tf * (k1 + 1) / (tf + k1 * (1 - b + b * len / avg_len))`` per term."""
    terms = tokenize(text)
    norm = k1 * (1.0 - b + b * len(terms) / avg_len)
    frequencies: Counter[int] = Counter(term_index(term) for term in terms)  # a hash clash just merges
    weights = {index: tf * (k1 + 1.0) / (tf + norm) for index, tf in frequencies.items()}
    return _sorted(weights)


def encode_query(text: str) -> SparseVec:
    """Query side: each term weighted by how often the query says it (Qdrant supplies the IDF).

    BM25's query-term factor with k3 = infinity. A one-line question is unchanged (every term once);
    a customer's long story weighs what it keeps coming back to ("card", "refund") above words it
    says once in passing.
    """
    return _sorted(dict(Counter(term_index(term) for term in tokenize(text))))


def _sorted(weights: dict[int, float] | dict[int, int]) -> SparseVec:
    indices = sorted(weights)
    return SparseVec(indices, [float(weights[index]) for index in indices])
