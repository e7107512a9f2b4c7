"""What kind of answer a question wants, and whether a sentence is that kind: a time, a frequency, an
amount of money, a place in the app.

"How long should I wait?" is answered by the sentence with a duration ("usually queryable within 60
seconds"), "will it keep updating?" by the one saying how often ("recalculated every hour"), "where do I
find it?" by the one naming a path ("Settings → Billing"), whatever words the two share. Question
answering has long typed its questions this way; the sentence of the expected type gets a bonus in the
ranking, on top of meaning and words. Pure functions.
"""

from __future__ import annotations

import re
from collections.abc import Callable

TYPE_BONUS = 0.2

_UNIT = r"(?:seconds?|minutes?|hours?|days?|business days?|weeks?|months?|years?)"
_DURATION = re.compile(
    rf"\b\d[\d,.]*\s*(?:(?:-|–|to|or)\s*\d[\d,.]*\s*)?{_UNIT}\b|\buntil the end of\b|\bimmediately\b|"
    rf"\bright away\b|\bstraight away\b|\binstantly\b|\bwithin (?:a|an|one) {_UNIT}\b",
    re.IGNORECASE,
)
_FREQUENCY = re.compile(
    rf"\bevery (?:\d[\d,.]*\s*)?{_UNIT}\b|\b(?:hourly|daily|weekly|monthly)\b|\bonce (?:a|an|per) \w+\b|"
    rf"\b\d+ times (?:a|an|per) \w+\b|\bon a schedule\b|\bin real time\b|\bcontinuously\b",
    re.IGNORECASE,
)
_MONEY = re.compile(r"[$€£]\s?\d|\b\d+(?:\.\d+)?\s?%|\b\d+(?:\.\d\d)\b|\bfree of charge\b|\bno charge\b", re.I)
_PLACE = re.compile(r"→|->|\bSettings\b|\bmenu\b|\btab\b|\bpage\b", re.IGNORECASE)

_ASKS_TIME = re.compile(
    r"\bhow (?:long|soon|quickly|fast)\b|\bwhen (?:will|would|does|do|is|are|can|should)\b|\bstraight away\b|"
    r"\bright away\b|\bimmediately\b|\bhow much time\b|\bwait\b|\bexpire|\bdeadline\b|\bturnaround\b",
    re.IGNORECASE,
)
_ASKS_FREQUENCY = re.compile(
    r"\bhow often\b|\bhow frequently\b|\bkeep(?:s)? (?:updating|up to date|refreshing|in sync)\b|"
    r"\b(?:updated?|refreshe?[sd]?|recalculated?|synced?) (?:automatically|regularly)\b|"
    r"\bstay(?:s)? (?:current|up to date)\b",
    re.IGNORECASE,
)
_ASKS_MONEY = re.compile(
    r"\bhow much\b|\bwhat (?:does|would|will) (?:it|that|this) cost\b|\bcosts?\b|\bprice\b|\bpay\b|\bcharged?\b|"
    r"\bdiscount\b|\bsave (?:money|on)\b|\bsavings\b",
    re.IGNORECASE,
)
_ASKS_PLACE = re.compile(
    r"^where\b|\bwhere (?:do|can|is|are|would|should|did)\b|\bwhere's\b|"
    r"\bhow (?:do|can) (?:i|we) (?:find|get to|see)\b",
    re.IGNORECASE,
)

_KINDS: tuple[tuple[re.Pattern[str], re.Pattern[str]], ...] = (
    (_ASKS_TIME, _DURATION),
    (_ASKS_FREQUENCY, _FREQUENCY),
    (_ASKS_MONEY, _MONEY),
    (_ASKS_PLACE, _PLACE),
)


# A question about an amount: a limit, a price, how many or how often. Only then is the customer's row
# of a plan table ("Starter plan — Requests per hour: 2,000; ...") the answer itself; otherwise ("we keep
# getting 429 although we're under 2000/h") the sentence explaining it is, and the row at most backs it.
_ASKS_AMOUNT = re.compile(
    r"\bhow (?:many|much|often|long|fast|big|large|high)\b|\blimits?\b|\bquotas?\b|\bmax(?:imum)?\b|"
    r"\bprices?\b|\bpricing\b|\bcosts?\b|\bcaps?\b|\ballowance\b|\bincluded\b|\bper (?:month|year|hour|minute)\b",
    re.IGNORECASE,
)


def asks_amount(question: str) -> bool:
    return bool(_ASKS_AMOUNT.search(question))


def wanted_types(question: str) -> list[re.Pattern[str]]:
    """The kinds of answer the question asks for (none: any sentence may answer)."""
    return [answer for asks, answer in _KINDS if asks.search(question)]


def type_bonus(question: str) -> Callable[[str], float]:
    """A sentence's bonus for being the kind of answer the question wants."""
    wanted = wanted_types(question)

    def bonus(sentence: str) -> float:
        return TYPE_BONUS if any(kind.search(sentence) for kind in wanted) else 0.0

    return bonus
