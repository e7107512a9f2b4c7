"""Which plans a help-article sentence says a feature needs, read from the sentence itself.

Articles mark plan-only features in a few recurring ways: "(Pro and Enterprise)", "On **Pro** and
**Enterprise**, ...", "part of the Enterprise plan", "available on all paid plans", "webhooks (Starter
and up)", "Pro and Enterprise plans can ...". A sentence that lists what each plan gets ("3 on Free,
5 on Starter") gates nothing: every plan has its own number. Also how much a sentence about the customer's
own plan, or another one, weighs when choosing the answer (plan_bonus). Pure functions.
"""

from __future__ import annotations

import re

from domain.models import Plan

ORDER = [Plan.FREE, Plan.STARTER, Plan.PRO, Plan.ENTERPRISE]
_NAME = r"(?:\*\*)?(?:Free|Starter|Pro|Enterprise)(?:\*\*)?"
_LIST = rf"{_NAME}(?:\s*(?:,|and|or|&)\s*{_NAME})*"
_UP = r"(?:\s+(?:and|or)\s+(?:up|above|higher))"
_GATES = [
    re.compile(rf"\(\s*(?P<plans>{_LIST}){_UP}?(?:\s+only)?(?:\s+plans?)?\s*\)"),
    re.compile(rf"^(?:On|With|In)\s+(?:the\s+)?(?P<plans>{_LIST})(?:\s+plans?)?,"),
    re.compile(
        rf"\b(?:part of|included (?:in|on)|available (?:on|in|with)|supported on|requires?|needs?|only on|"
        rf"limited to)\s+(?:the\s+)?(?P<plans>{_LIST}){_UP}?(?:\s+plans?)?\b"
    ),  # fmt: skip
    re.compile(
        rf"^(?P<plans>{_LIST})\s+(?:plans?|customers|organizations|projects|owners|admins)\s+(?:can|get|have)\b"
    ),
    re.compile(rf"\b(?P<plans>{_NAME}){_UP}\b"),
]
_ALL_PAID = re.compile(r"\b(?:on|in|with|for|to) (?:all|every) paid plans?\b|\bpaid plans? only\b", re.IGNORECASE)


def _plans_in(text: str) -> set[Plan]:
    return {Plan(name.lower()) for name in re.findall(r"Free|Starter|Pro|Enterprise", text)}


def required_plans(sentence: str) -> set[Plan]:
    """The plans the sentence says something is limited to; empty when it limits nothing."""
    if _ALL_PAID.search(sentence):
        return {Plan.STARTER, Plan.PRO, Plan.ENTERPRISE}
    for gate in _GATES:
        found = gate.search(sentence)
        if found is None:
            continue
        plans = _plans_in(found.group("plans"))
        if _plans_in(sentence[: found.start()] + sentence[found.end() :]) - plans:
            return set()  # several plans, each with its own limit or feature: a comparison, no gate
        if re.search(_UP, found.group(0)):
            lowest = min(ORDER.index(p) for p in plans)
            plans = set(ORDER[lowest:])
        if plans and plans != set(ORDER) and plans != {Plan.FREE}:
            return plans
    return set()


def plan_note(sentences: list[str], plan: Plan) -> str | None:
    """One sentence telling the customer a feature in `sentences` needs another plan than theirs, or None.

    A sentence that names the customer's own plan is about them and gates nothing for them."""
    needed: set[Plan] = set()
    for sentence in sentences:
        plans = required_plans(sentence)
        if plans and plan not in plans and plan not in _plans_in(sentence):
            needed = plans if not needed else needed & plans or needed
    if not needed:
        return None
    ranked = sorted(needed, key=ORDER.index)
    lowest = ranked[0].value.capitalize()
    higher = " or higher" if len(ranked) > 1 and ranked[-1] == Plan.ENTERPRISE and ranked[0] != Plan.ENTERPRISE else ""
    return f"Note: this needs the {lowest} plan{higher}; you're on the {plan.value.capitalize()} plan."


def mentions_plan(sentence: str, plan: Plan) -> bool:
    name = plan.value
    return bool(
        re.search(rf"\b{name.capitalize()}\b", sentence)
        or re.search(rf"\b{name}\s+(?:plan|plans|tier|tiers)\b", sentence, re.IGNORECASE)
    )


def plan_bonus(sentence: str, plan: Plan, amount: bool = True, availability: bool = False) -> float:
    """The customer's own plan's limits are the most concrete answer (when the question asks an amount);
    another plan's would mislead. Unless the question asks whether something exists on a plan ("can I add
    it on the free plan?"): then the sentence saying which plans have it answers, whichever it names."""
    others = any(mentions_plan(sentence, other) for other in Plan if other != plan)
    if availability and (others or mentions_plan(sentence, plan)) and not _PLAN_ROW.match(sentence):
        return 0.15
    if mentions_plan(sentence, plan):
        own_row = sentence.startswith(f"{plan.value.capitalize()} plan — ")
        return 0.15 + (0.2 if own_row and amount else 0.0)
    if others:
        return -0.25 if _PLAN_ROW.match(sentence) else -0.05
    return 0.0


_PLAN_ROW = re.compile(r"^(?P<plan>Free|Starter|Pro|Enterprise) plan — ")
# The same in prose: one plan's figure ("Free plans allow 1,000 requests per hour.").
_PLAN_FIGURE = re.compile(
    r"^(?P<plan>Free|Starter|Pro|Enterprise) plans? (?:allows?|gets?|has|have|includes?)\b(?=.*\d)"
)


def another_plans_row(sentence: str, plan: Plan, question: str) -> bool:
    """A table row, or a sentence giving one plan's figure, of a plan the customer is not on and does not ask
    about ("Free plan — Requests per hour: 500" to a Starter customer asking why they get 429s): a number
    that is not theirs, never an answer."""
    found = _PLAN_ROW.match(sentence) or _PLAN_FIGURE.match(sentence)
    if found is None or asks_availability(question):
        return False
    row = Plan(found.group("plan").lower())
    return row != plan and not mentions_plan(question, row) and not re.search(rf"\b{row.value}\b", question, re.I)


# "can I add it on the free plan", "is SSO included in Pro?", "do we need Enterprise for this?"
_ASKS_AVAILABILITY = re.compile(
    r"\b(?:on|in|with|for|need|needs|require|requires|included in|part of) (?:the |our |a |my )?"
    r"(?:free|starter|pro|enterprise|paid|higher|other|another|which)(?: plans?| tiers?)?\b|\bwhich plans?\b",
    re.IGNORECASE,
)


def asks_availability(question: str) -> bool:
    return bool(_ASKS_AVAILABILITY.search(question))
