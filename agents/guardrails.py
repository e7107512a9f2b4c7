"""Output guardrail: a reply never carries personal data that is not this customer's own.

The agents' tools cannot fetch another customer's record, but text from elsewhere can still reach a
reply: a help article with someone's address in it, a model that hallucinates or was talked into
one. So every reply is filtered last, in code: e-mail addresses, phone numbers and customer ids are
kept only when they are the customer's own (their record, or something they wrote themselves in
this ticket) or Lumora's; card numbers and secret keys are never repeated, not even the customer's.

And one input guardrail: help-center passages are data. A line in an article that addresses the
assistant ("AGENT INSTRUCTIONS: ...", "ignore previous instructions") is removed before any model, or
the offline composer, reads the passage.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

OUR_EMAIL_DOMAINS = ("lumora.example", "lumora.io")
_EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_PHONE = re.compile(r"(?<![\w+])\+?\(?\d[\d ()./-]{7,}\d(?![\w])")
_CARD = re.compile(r"(?<!\w)\d(?:[ -]?\d){12,18}(?!\w)")
_SECRET = re.compile(r"\b(?:lsk|sk|pk|rk|whsec)_(?:live|test)_[A-Za-z0-9]{6,}\b|\bsk-[A-Za-z0-9_-]{16,}\b")
_CUSTOMER_ID = re.compile(r"\bcus_[A-Za-z0-9]+\b")
_INSTRUCTION = re.compile(
    r"\b(?:(?:agent|assistant|system|ai|model|llm)s?\s+(?:instructions?|note|override|prompt)|"
    r"ignore (?:all |any )?(?:the )?(?:previous|prior|above|earlier) (?:instructions?|rules?)|"
    r"system prompt|you are now|disregard (?:the|your|all) (?:rules?|instructions?|policy|limits?)|"
    r"(?:ignore|bypass|override|lift) (?:the |your |any )?(?:\$?\d+ )?(?:refund |approval |authority )?limits?)\b",
    re.IGNORECASE,
)
INSTRUCTION_REMOVED = "[text addressed to the assistant removed]"


def strip_injected_instructions(passage: str) -> str:
    """The passage without sentences that try to instruct the assistant (prompt injection in content)."""
    out: list[str] = []
    for line in passage.splitlines():
        if _INSTRUCTION.search(line):
            kept = [s for s in re.split(r"(?<=[.!?])\s+", line) if not _INSTRUCTION.search(s)]
            line = " ".join(kept) if kept else INSTRUCTION_REMOVED
        out.append(line)
    return "\n".join(out)


@dataclass
class Redaction:
    text: str
    removed: list[str] = field(default_factory=list)  # kinds removed, e.g. ["email", "phone"]


def _luhn(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch) * (2 if i % 2 else 1)
        total += d - 9 if d > 9 else d
    return total % 10 == 0


def _looks_like_phone(raw: str) -> bool:
    digits = re.sub(r"\D", "", raw)
    separators = len(re.findall(r"[ ()./-]+", raw.strip()))
    return 9 <= len(digits) <= 15 and (raw.strip().startswith("+") or separators >= 2)


def redact_foreign_pii(text: str, *, own_values: Iterable[str], own_texts: Iterable[str] = ()) -> Redaction:
    """`text` with foreign personal data replaced by placeholders.

    `own_values` are the customer's identifiers (e-mail, customer id): repeated freely. `own_texts`
    is what they wrote in this ticket: a phone number found there (a call-back number) may be repeated,
    but an e-mail or customer id they typed is not trusted to be theirs ("I'm Jane's colleague...").
    """
    own = {v.lower() for v in own_values if v}
    written = "\n".join(own_texts).lower()
    out = Redaction(text)

    def is_own(value: str, kind: str) -> bool:
        v = value.lower()
        return v in own or (kind == "phone" and bool(written) and v in written)

    def sub(pattern: re.Pattern[str], kind: str, keep: bool | None = None) -> None:
        def repl(m: re.Match[str]) -> str:
            value = m.group(0)
            if kind == "email" and value.lower().rsplit("@", 1)[-1].endswith(OUR_EMAIL_DOMAINS):
                return value
            if kind == "phone" and not _looks_like_phone(value):
                return value
            if kind == "card number" and not _luhn(re.sub(r"\D", "", value)):
                return value
            if keep is not False and is_own(value, kind):
                return value
            out.removed.append(kind)
            return f"[{kind} removed]"

        out.text = pattern.sub(repl, out.text)

    sub(_SECRET, "secret key", keep=False)
    sub(_CARD, "card number", keep=False)
    sub(_EMAIL, "email")
    sub(_CUSTOMER_ID, "customer id")
    sub(_PHONE, "phone")
    return out
