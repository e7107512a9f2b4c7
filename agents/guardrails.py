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


# --- The output guard: every model's reply passes here last, between the agents and the outbox. ---

# Chat-template and control tokens of the common model families (ChatML, Llama 3, Gemma, Mistral/Llama 2,
# GPT-2 style). A model that leaks one has usually gone on to write the next turn itself, so the reply
# ends at the first turn boundary; other control tokens are removed wherever they are.
_ROLE_HEADER = re.compile(
    r"^\s*(?:<\|im_start\|>|<start_of_turn>|<\|start_header_id\|>)\s*"
    r"(?:(?:system|user|assistant|model|customer|tool|ticket_system|human_agent|[A-Za-z]*Agent|EscalationManager)\b)?"
    r"\s*(?:<\|end_header_id\|>)?\s*"
)
_TURN_BOUNDARY = re.compile(
    r"<\|im_start\|>|<\|im_end\|>|<start_of_turn>|<end_of_turn>|<\|eot_id\|>|<\|start_header_id\|>|"
    r"<\|endoftext\|>|<\|end\|>|<\|user\|>|<\|assistant\|>|<\|system\|>|<eos>|</s>|\[INST\]|\[/INST\]",
    re.IGNORECASE,
)
_CONTROL_TOKEN = re.compile(
    r"<\|[A-Za-z_][A-Za-z0-9_]{0,30}\|>|</?(?:start_of_turn|end_of_turn|eos|bos|pad|unk|s)>|"
    r"\[/?INST\]|<</?SYS>>|\[/?(?:AVAILABLE_TOOLS|TOOL_CALLS|TOOL_RESULTS)\]",
    re.IGNORECASE,
)
# The internal ticket-context line (agents/context.py writes `TICKET_CONTEXT: {json}`), however a model
# re-cases or re-spaces it, and its JSON echoed on its own; and the ticket system's notes.
_CONTEXT_LINE = re.compile(
    r"ticket[\s_-]*context\s*[:=]|\"customer_first_name\"\s*:|\"handoff_reason\"\s*:|\[ticket system note\]",
    re.IGNORECASE,
)
_MORE_SECRETS = re.compile(
    r"-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?(?:-----END [A-Z ]*PRIVATE KEY-----|$)|"
    r"\beyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\b|"  # a JWT
    r"\b(?:AKIA|ASIA)[A-Z0-9]{16}\b|\bgh[pousr]_[A-Za-z0-9]{30,}\b|\bxox[abposr]-[A-Za-z0-9-]{10,}\b|"
    r"(?i:\bbearer\s+)[A-Za-z0-9_.=-]{16,}"
)
_SENTENCES = re.compile(r"(?<=[.!?])\s+|\n+")


def _squash(text: str) -> str:
    return re.sub(r"\W+", " ", text).strip().lower()


def strip_model_artifacts(text: str) -> str:
    """`text` without chat-template tokens, anything after a turn boundary, and internal context lines."""
    while True:  # leading headers and tokens open the reply: nothing before them to keep
        opened = _ROLE_HEADER.sub("", text, count=1)
        opened = re.sub(rf"^\s*(?:{_CONTROL_TOKEN.pattern})", "", opened, count=1, flags=re.IGNORECASE)
        if opened == text:
            break
        text = opened
    boundary = _TURN_BOUNDARY.search(text)
    if boundary is not None:
        text = text[: boundary.start()]
    text = _CONTROL_TOKEN.sub("", text)
    lines = [line for line in text.splitlines() if not _CONTEXT_LINE.search(line)]
    return "\n".join(lines).strip()


def _injected(customer_texts: Iterable[str], internal_texts: Iterable[str] = ()) -> list[str]:
    """The instruction-like sentences the customer wrote (prompt injection), and every sentence of our
    own instructions to the model, squashed for comparison."""
    found: list[str] = []
    for text, every in [*((t, False) for t in customer_texts), *((t, True) for t in internal_texts)]:
        for sentence in _SENTENCES.split(_CONTEXT_LINE.sub("", text)):
            if every or _INSTRUCTION.search(sentence) or _CONTEXT_LINE.search(sentence):
                squashed = _squash(sentence)
                if len(squashed) >= 12:
                    found.append(squashed)
    return found


def _repeats(sentence: str, injected: list[str]) -> bool:
    return any(i in sentence or (len(sentence) >= 20 and sentence in i) for i in injected)


def guard_reply(
    text: str, *, own_values: Iterable[str], own_texts: Iterable[str] = (), internal_texts: Iterable[str] = ()
) -> Redaction:
    """The reply as it may reach the customer, whichever model wrote it.

    Removes chat-template and control tokens (and whatever the model wrote past a turn boundary), the
    internal ticket-context line and system notes, secrets, other customers' personal data
    (`redact_foreign_pii`), and sentences that repeat instructions the customer tried to inject or our
    own instructions to the model (`internal_texts`, which a weak model parrots). The result may be
    empty: the caller must not send an empty reply.
    """
    written = list(own_texts)
    removed: list[str] = []
    clean = strip_model_artifacts(text)
    if clean != text.strip():
        removed.append("model artifact")
    clean, secrets = _MORE_SECRETS.subn("[secret removed]", clean)
    removed += ["secret key"] * secrets
    injected = _injected(written, internal_texts)
    if injected:
        kept: list[str] = []
        for line in clean.split("\n"):
            parts = re.split(r"(?<=[.!?])\s+", line)
            keep = [p for p in parts if not _repeats(_squash(p), injected)]
            if len(keep) < len(parts):
                removed.append("injected or internal text")
            if keep or not line.strip():
                kept.append(" ".join(keep))
        clean = "\n".join(kept).strip()
    result = redact_foreign_pii(clean, own_values=own_values, own_texts=written)
    result.removed = removed + result.removed
    return result
