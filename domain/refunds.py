"""The refund policy, in code: which refunds and credits an agent may carry out or forward at all.

The help center's refund policy (demo/kb/kb-refund-policy.md) says a charge can be refunded in full
within 14 days, never later (SLA credits excepted), that downgrades are credited, not refunded, and
that the request comes from the account that was charged, naming the invoice. The prompt tells a
model so; this module makes it hold whatever the model decides: the agents' refund and credit tools
call `check_money_request` before the ledger is touched, and a request outside the policy is neither
executed nor forwarded for approval. Only inside the policy does the authority limit (agents.actions)
decide between "executed" and "needs a manager".

Also here: `about_another_customer`, which recognises a customer asking for someone else's data
(their invoices, e-mail, plan, usage), so the tools and the offline model decline it with the reason.

Pure functions, amounts in Decimal cents, no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Literal

from domain.models import Customer

REFUND_WINDOW = timedelta(days=14)
REFUND_WINDOW_DAYS = 14

InvoiceStatus = Literal["paid", "open", "failed"]
Rule = Literal[
    "other_customer",
    "not_requested",
    "no_invoice",
    "invoice_not_found",
    "foreign_invoice",
    "not_paid",
    "outside_window",
    "downgrade",
    "above_charge",
    "already_refunded",
]


def cents(amount: Decimal | float | str) -> Decimal:
    return Decimal(str(amount)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def _usd(amount: Decimal) -> str:
    return f"${cents(amount):,}"


@dataclass(frozen=True)
class Charge:
    """One invoice (charge) on a customer's account, as far as refunds are concerned."""

    invoice_id: str
    customer_id: str
    amount_usd: Decimal
    charged_at: datetime
    status: InvoiceStatus = "paid"
    description: str = ""
    # Refunded already (by billing, outside the agents) plus the agents' refunds on it that were
    # executed or are waiting for a manager: what is left to refund is amount_usd minus this.
    refunded_usd: Decimal = Decimal(0)

    @property
    def remaining_usd(self) -> Decimal:
        return max(Decimal(0), cents(self.amount_usd) - cents(self.refunded_usd))

    def refundable_until(self) -> datetime:
        return self.charged_at + REFUND_WINDOW

    def in_window(self, now: datetime) -> bool:
        """Within 14 days of the charge, the 14th day's last instant included."""
        return self.charged_at <= now + timedelta(minutes=5) and now - self.charged_at <= REFUND_WINDOW


@dataclass(frozen=True)
class PolicyCheck:
    """The verdict on one requested refund or credit."""

    allowed: bool
    rule: Rule | None = None  # which rule failed (None when allowed)
    reason: str = ""  # for the agent: what failed and what to do instead
    explanation: str = ""  # for the customer: the policy in plain words (what the reply should say)
    charge: Charge | None = None


_DOWNGRADE = re.compile(r"\bdown-?grad(?:e|ed|ing)\b", re.IGNORECASE)


def _ok(charge: Charge | None) -> PolicyCheck:
    return PolicyCheck(True, charge=charge)


def _no(rule: Rule, reason: str, explanation: str, charge: Charge | None = None) -> PolicyCheck:
    return PolicyCheck(False, rule, reason, explanation, charge)


def check_money_request(
    *,
    kind: Literal["refund", "credit"],
    amount_usd: Decimal,
    reference: str | None,
    reason: str,
    customer_id: str,
    charge: Charge | None,
    now: datetime,
    about_other_customer: str | None = None,
    customer_asked: bool = True,
) -> PolicyCheck:
    """Whether a refund or credit of `amount_usd` may go on (to the authority limit) at all.

    `charge` is the invoice `reference` names, looked up among ALL customers' invoices (None when no
    such invoice exists), so an invoice of another customer is told apart from a mistyped one.

    Refunds: the invoice is named, exists, belongs to this customer and was paid; it was charged at
    most 14 days ago; the reason is not a downgrade (credited automatically); the amount is at most
    the charge minus what was already refunded on it. Credits: an account credit needs no invoice
    (goodwill, SLA credits: the authority limit governs them); one that names an invoice must name
    one of this customer's, and not exceed it. Nobody acts on a request about another customer, and no
    refund goes out that the customer never asked for (``customer_asked``, ``domain.money_asks``): a
    question about a refund ("when will it show up?") is answered, not refunded again.
    """
    amount = cents(amount_usd)
    if about_other_customer:
        return _no(
            "other_customer",
            f"The customer asks about another customer ({about_other_customer}). Nothing was done. Do not act on "
            "or share another account's data; explain that only that account's Owner or Billing members can.",
            OTHER_CUSTOMER_EXPLANATION,
        )
    if kind == "refund" and not customer_asked:
        return _no(
            "not_requested",
            "The customer has not asked for a refund in this conversation, only about one (when or where it "
            "lands, one already made, the policy). Nothing was executed or forwarded; answer their question.",
            "",
        )
    if reference is None:
        if kind == "credit":
            return _ok(None)
        return _no(
            "no_invoice",
            "No invoice number was given. A refund must name the charge's invoice (LUM-...). Nothing was "
            "executed or forwarded; ask the customer for the invoice number (or use list_invoices).",
            f"To refund a charge I need the invoice it appeared on (its number starts with LUM-; you'll find it "
            f"under Settings → Billing → Invoices). Charges can be refunded within {REFUND_WINDOW_DAYS} days; "
            "I haven't issued or forwarded any refund yet.",
        )
    if charge is None:
        if kind == "credit" and not reference.upper().startswith("LUM-"):
            return _ok(None)  # a credit's reference may be an incident or contract number, not an invoice
        return _no(
            "invoice_not_found",
            f"There is no invoice {reference} on record. Nothing was executed or forwarded; ask the customer "
            "to check the number (list_invoices shows theirs).",
            f"I can't find an invoice {reference} on your account, so I haven't issued or forwarded a refund. "
            "Could you check the invoice number (it starts with LUM-) under Settings → Billing → Invoices?",
        )
    if charge.customer_id != customer_id:
        return _no(
            "foreign_invoice",
            f"Invoice {reference} belongs to another customer. Nothing was executed or forwarded; do not "
            "reveal anything about that invoice or its account.",
            f"Invoice {reference} isn't on your account, so I can't {kind} it or share anything about it. "
            "Refunds can only be requested for your own charges, by the account's Owner or a member with the "
            "Billing permission of the account that was charged.",
        )
    if charge.status != "paid":
        return _no(
            "not_paid",
            f"Invoice {reference} is {charge.status}, not paid: there is nothing to refund.",
            f"Invoice {reference} was not paid (its status is {charge.status}), so there is nothing to refund.",
            charge,
        )
    if kind == "refund" and not charge.in_window(now):
        day = charge.charged_at.date().isoformat()
        return _no(
            "outside_window",
            f"Invoice {reference} was charged on {day}, more than {REFUND_WINDOW_DAYS} days ago: outside the "
            "refund window. Nothing was executed or forwarded. Explain the policy; offer to cancel so they "
            "are not charged again. Do not offer a credit in its place.",
            f"Invoice {reference} ({_usd(charge.amount_usd)}, charged on {day}) is more than {REFUND_WINDOW_DAYS} "
            f"days old. Our refund policy allows refunds within {REFUND_WINDOW_DAYS} days of a charge; older "
            "charges can't be refunded, so I haven't issued or forwarded a refund. You can cancel or change "
            "your plan at any time so you aren't charged again.",
            charge,
        )
    if kind == "refund" and _DOWNGRADE.search(reason):
        return _no(
            "downgrade",
            "Downgrades are not refunded: the unused part becomes a prorated credit automatically. Nothing was "
            "executed or forwarded.",
            "Downgrades are not refunded in cash: the unused part of the higher plan becomes a prorated credit "
            "that is applied automatically to your next invoices, so I haven't issued a refund.",
            charge,
        )
    if charge.remaining_usd <= 0:
        return _no(
            "already_refunded",
            f"Invoice {reference} ({_usd(charge.amount_usd)}) is already refunded in full (or its refund awaits "
            "approval). Nothing was executed or forwarded.",
            f"Invoice {reference} ({_usd(charge.amount_usd)}) has already been refunded in full (or its refund is "
            "already with a manager), so there is nothing left to refund on it.",
            charge,
        )
    if amount > charge.remaining_usd:
        already = cents(charge.refunded_usd)
        left = _usd(charge.remaining_usd)
        part = f", of which {_usd(already)} was already refunded," if already > 0 else ""
        return _no(
            "above_charge",
            f"{_usd(amount)} is more than invoice {reference} allows: it was {_usd(charge.amount_usd)}{part} so "
            f"at most {left} can be refunded. Nothing was executed or forwarded; you may offer {left}.",
            f"Invoice {reference} was for {_usd(charge.amount_usd)}{part} so I can refund at most {left} on it, "
            f"not {_usd(amount)}. I haven't issued or forwarded the {_usd(amount)} refund; tell me if you'd like "
            f"the {left} instead.",
            charge,
        )
    return _ok(charge)


OTHER_CUSTOMER_EXPLANATION = (
    "I can't share or act on another customer's account: their invoices, contact details, plan or usage stay "
    "private to them. Only that account's Owner or a member with the Billing permission can see its invoices "
    "or ask for a refund, so please ask them to contact us from their own account."
)


def refundable_summary(charges: Sequence[Charge], now: datetime) -> list[dict[str, object]]:
    """The customer's invoices as the agents see them (newest first), with what policy allows on each."""
    out: list[dict[str, object]] = []
    for c in sorted(charges, key=lambda c: c.charged_at, reverse=True):
        refundable = c.status == "paid" and c.in_window(now) and c.remaining_usd > 0
        out.append(
            {
                "invoice": c.invoice_id,
                "charged_on": c.charged_at.date().isoformat(),
                "amount_usd": str(cents(c.amount_usd)),
                "description": c.description,
                "status": c.status,
                "refunded_usd": str(cents(c.refunded_usd)),
                "refundable_until": c.refundable_until().date().isoformat(),
                "refundable_now_usd": str(c.remaining_usd if refundable else Decimal("0.00")),
            }
        )
    return out


# --- requests about another customer -----------------------------------------------------------

_DATA = (
    r"(?i:(?P<what>invoices?|receipts?|billing(?: contact| details| e-?mail| address| history)?|e-?mail(?: address)?|"
    r"account(?: details)?|plan|subscription|usage|payments?|charges?|card|phone(?: number)?|address|"
    r"contact(?: details| info)?|api keys?|password|data))\b"
)
_FILLER = r"(?:[\w-]+\s+){0,3}?"
# "Priya's e-mail", "Tallberg Games' last invoice", "Corvane Retail Group's plan"
_NAMED_POSSESSIVE = re.compile(
    r"\b(?P<who>[A-Z][\w&.-]*(?:\s+(?:and\s+|&\s+)?[A-Z][\w&.-]*){0,3})(?:'s|’s|(?<=s)'|(?<=s)’)\s+" + _FILLER + _DATA
)
# "my colleague's e-mail", "someone else's account", "another customer's invoices"
_RELATION_POSSESSIVE = re.compile(
    r"\b(?P<who>(?:my|our|a) (?:client|friend|neighbou?r|ex|brother|sister|wife|husband|"
    r"former employer|old company)|another (?:customer|company|user|account|person)|"
    r"someone else|somebody else|other (?:customer|company))(?:'s|’s|s'|s’)\s+" + _FILLER + _DATA,
    re.IGNORECASE,
)
# "email me their last three invoices", "send us their billing contact"
_THEIR = re.compile(
    r"\b(?:send|e-?mail|give|share|forward|show|tell|provide|get)\s+(?:me|us)\s+(?:\w+\s+){0,2}?their\s+"
    + _FILLER
    + _DATA,
    re.IGNORECASE,
)
# "what plan is Fernway Logistics on", "which plan does Tallberg Games use"
_WHOSE_PLAN = re.compile(
    r"\b[Ww](?:hat|hich) plan (?:is|are|does|do) "
    r"(?P<who>[A-Z][\w&.-]*(?:\s+[A-Z][\w&.-]*){0,3}) (?:on|using|use|have)\b"
)
# "about another customer's", "on behalf of another company": said outright
_OUTRIGHT = re.compile(
    r"\b(?:another|a different|other) (?:customer|company|organi[sz]ation)'?s? (?:account|invoices?|data|details)\b",
    re.IGNORECASE,
)
_NOT_A_PERSON = frozenset(
    "i it it's that this what who where when why how there here he she they we you let lumora today yesterday "
    "tomorrow everyone everybody nobody someone somebody anyone monday tuesday wednesday thursday friday saturday "
    "sunday january february march april may june july august september october november december last next "
    "this month year week team company account the our my your their pro starter free enterprise".split()
)


def _own_words(customer: Customer | None) -> set[str]:
    if customer is None:
        return set()
    words = f"{customer.name} {customer.company or ''} {customer.email.split('@')[0]}"
    return {w.lower() for w in re.findall(r"[\w&.-]+", words)} | {"and", "&"}


def _foreign(who: str, own: set[str]) -> bool:
    tokens = [t.lower() for t in re.findall(r"[\w&.-]+", who)]
    if not tokens or all(t in _NOT_A_PERSON for t in tokens) or tokens[0] in _NOT_A_PERSON and len(tokens) == 1:
        return False
    significant = [t for t in tokens if t not in _NOT_A_PERSON]
    return not all(t in own for t in significant)


def about_another_customer(text: str, customer: Customer | None = None) -> str | None:
    """What the customer asks about someone else's account, or None.

    Reads the customer's own words (name, company) as their own: "Maple and Finch's invoices" from
    Chloé of Maple and Finch is hers. Conservative: a lower-case possessive ("a user's events", "our
    customer's data") is the analytics the customer owns, not another Lumora customer.
    """
    own = _own_words(customer)
    for m in _NAMED_POSSESSIVE.finditer(text):
        who = m.group("who")
        # "Please refund Tallberg Games'": the capitalised run may start with a sentence's first word.
        words = who.split()
        while len(words) > 1 and words[0].lower() in _NOT_A_PERSON | {"please", "hi", "hello", "can", "could"}:
            words = words[1:]
        who = " ".join(words)
        if _foreign(who, own):
            return f"{who}{'' if who.endswith('s') else chr(39) + 's'} {m.group('what').lower()}"
    for m in _WHOSE_PLAN.finditer(text):
        if _foreign(m.group("who"), own):
            return f"the plan of {m.group('who')}"
    for pattern in (_RELATION_POSSESSIVE, _THEIR, _OUTRIGHT):
        found = pattern.search(text)
        if found is not None:
            return found.group(0).strip()
    return None
