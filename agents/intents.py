"""What the offline model reads in a customer's message: plain, deterministic pattern rules.

These are the cues a careful human lead uses before acting: an explicit refund or credit request
with one unambiguous amount, a customer confirming the fix, a reported defect, a billing question
inside a technical ticket (and the reverse), an explicit calculation. Each rule errs on the side of
not acting: an ambiguous message gets a reply (and a question), never an action.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Literal

_AMOUNT = re.compile(
    r"(?:\$|\bUSD\s?)\s?(\d{1,3}(?:,\d{3})+(?:\.\d{1,2})?|\d+(?:\.\d{1,2})?)"
    r"|\b(\d{1,3}(?:,\d{3})+(?:\.\d{1,2})?|\d+(?:\.\d{1,2})?)\s?(?:USD|dollars)\b",
    re.IGNORECASE,
)
_REFUND = re.compile(r"\b(refund(?:ed|s)?|reimburse(?:d|ment)?|money back|charge ?back|pay (?:me|us) back)\b", re.I)
_CREDIT = re.compile(
    r"\b(?:(?:service|account|travel|sla) credit|credit (?:note|to (?:my|our) account)|voucher|certificate|"
    r"compensation|compensate)\b",
    re.I,
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
_RESOLVED = re.compile(
    r"\b(?:that|this|it|everything|the fix|your fix|the (?:steps|workaround|change))(?:'s| is| has| has been)?"
    r" (?:worked|works|working|fixed|solved|resolved|sorted)\b|"
    r"\b(?:works|working) (?:now|again|fine|perfectly|great)\b|"
    r"\b(?:problem|issue|error)(?:'s| is| has been)? (?:solved|resolved|fixed|gone)\b|"
    r"\ball (?:good|set|sorted) now\b|\bthat did (?:it|the trick)\b|"
    r"\byou can close (?:this|the ticket|it)\b",
    re.I,
)
# Anything that hedges or asks for more means the customer is not done.
_NOT_DONE = re.compile(r"\?|\b(not|no|never|still|but|however|although|except|unless|anymore)\b|n't\b", re.I)
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
    repeated (a double charge of $49 and $49) is one amount; two different ones are ambiguous.
    """
    credit = bool(_CREDIT.search(text))
    if not (_REFUND.search(text) or credit):
        return None
    sentences = [s for s in _SENTENCE.split(text) if s.strip()]
    asking = [s for s in sentences if _REFUND.search(s) or _CREDIT.search(s)]
    candidates = sorted(set(amounts(" ".join(asking)))) or sorted(set(amounts(text)))
    if len(candidates) != 1:
        return None
    kind: ActionKind = "credit" if credit and not _REFUND.search(text) else "refund"
    reason_src = (asking or sentences)[0].strip()
    return MoneyAsk(kind, candidates[0], reference_in(text), reason_src[:300])


def confirms_resolution(text: str) -> bool:
    """True only for a clear, unhedged "it works now / solved, thanks" with no new question."""
    latest = text.strip()
    return bool(latest) and bool(_RESOLVED.search(latest)) and not _NOT_DONE.search(latest)


def reports_bug(text: str) -> bool:
    return bool(_BUG.search(text))


def asks_billing(text: str) -> bool:
    return bool(_BILLING_ASK.search(text)) and (money_ask(text) is not None or bool(_INVOICE.search(text)))


def purely_technical(text: str) -> bool:
    return bool(_TECHNICAL.search(text)) and not _BILLING_ASK.search(text)


def wants_call_or_manager(text: str) -> bool:
    return bool(_CALL_OR_MANAGER.search(text))


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
