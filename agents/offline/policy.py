"""How the offline model reads a conversation and decides its next step.

A real LLM reads its system prompt, the conversation and the tool results, then either asks for
tools or writes the reply. The offline model does the same, by rules a human support lead would
apply, in three steps per agent and turn:

1. look things up: search the KB and look up the customer; or, instead, mark the ticket resolved
   when the customer clearly confirms the fix, or hand the ticket to a human when the customer
   wants a call or their account manager;
2. act: request the refund or credit the customer explicitly asked for (one unambiguous amount),
   file a bug report for a reported defect, run an explicit calculation; then a non-billing agent
   hands a billing request over to the BillingAgent (and the BillingAgent a purely technical one to
   the TechnicalAgent), never back to the agent that handed the turn over;
3. write the one reply, from the retrieved passages and what the tools did.

It knows which agent it is speaking as from the system prompt ("You are Lumora's BillingAgent").
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from autogen_core import FunctionCall
from autogen_core.models import AssistantMessage, FunctionExecutionResultMessage, LLMMessage, SystemMessage, UserMessage

from agents.context import (
    BUG_TOOL,
    CODE_TOOL,
    CREDIT_TOOL,
    CUSTOMER_SOURCE,
    ESCALATE_HANDOFF,
    INVOICES_TOOL,
    LOOKUP_TOOL,
    REFUND_TOOL,
    RESOLVE_TOOL,
    SEARCH_TOOL,
    SYSTEM_SOURCE,
    TicketContext,
    parse_kb_results,
    parse_ticket_context,
    strip_ticket_context,
)
from agents.handoff_reply import compose_handoff
from agents.offline import intents
from agents.offline.compose import compose_answer
from agents.offline.message_text import moves_on, without_confirmations
from agents.offline.notes import ToolNote, action_note, bug_note, calculation_note, parse_result, resolved_closing
from agents.prompts import BILLING_AGENT, ESCALATION_MANAGER, TECHNICAL_AGENT
from domain.models import KbHit, Priority, ticket_text
from domain.money_asks import ABOUT_A_REFUND
from domain.refunds import OTHER_CUSTOMER_EXPLANATION

MAX_QUERY_CHARS = 1000
_IDENTITY = re.compile(r"\bYou are Lumora's (\w+)")
_SEVERITY = {Priority.LOW: "low", Priority.MEDIUM: "medium", Priority.HIGH: "high", Priority.CRITICAL: "critical"}


def handoff_tool_name(target: str) -> str:
    """AutoGen's default handoff tool name for a target agent."""
    return f"transfer_to_{target}".lower()


@dataclass
class Turn:
    """What the offline model understands of the conversation it was handed."""

    me: str | None
    ctx: TicketContext
    customer_text: str
    prior_replies: list[str] = field(default_factory=list)
    my_calls: list[str] = field(default_factory=list)  # tools this agent already called this turn
    handed_from: str | None = None  # the agent that handed this turn over
    hits: list[KbHit] = field(default_factory=list)
    notes: list[ToolNote] = field(default_factory=list)
    calls_by_id: dict[str, FunctionCall] = field(default_factory=dict)
    # What the customer asks about another customer's account (the lookup tool's detector), if anything.
    other_customer: str | None = None
    invoices: list[dict[str, Any]] | None = None  # the customer's invoices, once list_invoices answered


def _text(message: LLMMessage) -> str:
    # Shaped like tokens.message_text but not the same: an image part reads here as its str(), where the
    # token estimate leaves it out; sharing one would change what the model reads or what it counts.
    if isinstance(message, FunctionExecutionResultMessage):
        return "\n".join(r.content for r in message.content)
    content = message.content
    if isinstance(content, str):
        return content
    return "\n".join(f"{c.name}({c.arguments})" if isinstance(c, FunctionCall) else str(c) for c in content)


def _dedupe(hits: list[KbHit]) -> list[KbHit]:
    best: dict[str, KbHit] = {}
    for hit in hits:
        if hit.article_id not in best or hit.score > best[hit.article_id].score:
            best[hit.article_id] = hit
    return sorted(best.values(), key=lambda h: -h.score)


def _context_from_lookup(content: str) -> TicketContext | None:
    try:
        data = json.loads(content)
        return TicketContext(customer_first_name=data["first_name"], plan=data["plan"], vip=data["vip"])
    except (json.JSONDecodeError, KeyError, TypeError, ValueError):
        return None


def _lookup_field(content: str, key: str) -> str | None:
    try:
        value = json.loads(content).get(key)
    except (json.JSONDecodeError, AttributeError):
        return None
    return str(value) if value else None


def _invoices(content: str) -> list[dict[str, Any]]:
    try:
        found = json.loads(content).get("invoices")
    except (json.JSONDecodeError, AttributeError):
        return []
    return [i for i in found if isinstance(i, dict)] if isinstance(found, list) else []


_REFUND_OF = re.compile(r"\brefund(?: of)?\s+(?:\$|USD\s?)(\d{1,3}(?:,\d{3})+(?:\.\d{1,2})?|\d+(?:\.\d{1,2})?)", re.I)


def _named_refund(text: str) -> intents.MoneyAsk | None:
    """ "Refund $500 for LUM-1 (we were charged $249)": two amounts, but one follows the word refund and an
    invoice is named. The policy check then tells the customer what the charge allows."""
    asking = [s for s in re.split(r"(?<=[.!?])\s+", text) if _REFUND_OF.search(s) and not ABOUT_A_REFUND.search(s)]
    found = {m.group(1).replace(",", "") for s in asking for m in _REFUND_OF.finditer(s)}
    reference = intents.reference_in(text)
    if len(found) != 1 or reference is None:
        return None
    amount = Decimal(found.pop())
    sentence = asking[0]
    return intents.MoneyAsk("refund", amount, reference, sentence.strip()[:300]) if amount > 0 else None


def _invoice_for(amount: Decimal, invoices: list[dict[str, Any]]) -> str | None:
    """The one invoice that may still be refunded and was for exactly `amount` (the customer named none)."""
    matches = [
        str(i["invoice"])
        for i in invoices
        if Decimal(str(i.get("refundable_now_usd", "0"))) > 0 and Decimal(str(i.get("amount_usd", "0"))) == amount
    ]
    return matches[0] if len(set(matches)) == 1 else None


def read_turn(messages: Sequence[LLMMessage]) -> Turn:
    me: str | None = None
    start, ctx = -1, None
    for i, message in enumerate(messages):
        if isinstance(message, SystemMessage) and me is None:
            found = _IDENTITY.search(message.content)
            me = found.group(1) if found else None
        # Only our own ticket-system messages carry the context; a customer cannot write one.
        if isinstance(message, SystemMessage | UserMessage) and isinstance(message.content, str):
            if isinstance(message, SystemMessage) or message.source == SYSTEM_SOURCE:
                parsed = parse_ticket_context(message.content)
                if parsed is not None:
                    start, ctx = i, parsed
    customers = [
        (i, _text(m)) for i, m in enumerate(messages) if isinstance(m, UserMessage) and m.source == CUSTOMER_SOURCE
    ]
    if start < 0:  # called without a ticket context: the turn is the latest customer message
        start = customers[-1][0] - 1 if customers else len(messages) - 1
    current = [text for i, text in customers if i > start]
    fallback = [strip_ticket_context(_text(m)) for m in messages[start:] if isinstance(m, UserMessage)]
    turn = Turn(
        me=me,
        ctx=ctx or TicketContext(),
        customer_text="\n\n".join(current) or (customers[-1][1] if customers else "\n".join(filter(None, fallback))),
        prior_replies=[
            m.content for m in messages[:start] if isinstance(m, AssistantMessage) and isinstance(m.content, str)
        ],
    )
    hits: list[KbHit] = []
    for message in messages[start + 1 :]:
        if isinstance(message, AssistantMessage) and isinstance(message.content, list):
            for call in message.content:
                turn.calls_by_id[call.id] = call
                if message.source == me:
                    turn.my_calls.append(call.name)
        elif isinstance(message, UserMessage) and message.source not in (CUSTOMER_SOURCE, SYSTEM_SOURCE):
            turn.handed_from = message.source
        elif isinstance(message, FunctionExecutionResultMessage):
            for result in message.content:
                if result.is_error:
                    continue
                if result.name == SEARCH_TOOL:
                    hits.extend(parse_kb_results(result.content))
                elif result.name == LOOKUP_TOOL:
                    if ctx is None:
                        turn.ctx = _context_from_lookup(result.content) or turn.ctx
                    about = _lookup_field(result.content, "request_about_another_customer")
                    turn.other_customer = turn.other_customer or about
                elif result.name == INVOICES_TOOL:
                    turn.invoices = _invoices(result.content)
                elif result.name in (REFUND_TOOL, CREDIT_TOOL, BUG_TOOL, RESOLVE_TOOL, CODE_TOOL):
                    note = parse_result(result.name, result.content)
                    if note is not None:
                        origin = turn.calls_by_id.get(result.call_id)
                        note.data.setdefault("_arguments", origin.arguments if origin else "{}")
                        turn.notes.append(note)
    turn.hits = _dedupe(hits)
    return turn


def make_call(name: str, arguments: dict[str, Any], seq: int) -> FunctionCall:
    """A function call with an id that is unique within the turn and the same on every run."""
    args = json.dumps(arguments, ensure_ascii=False, sort_keys=True)
    return FunctionCall(id=f"call_{seq}_{name}"[:64], name=name, arguments=args)


def plan_calls(turn: Turn, offered: set[str]) -> list[FunctionCall]:
    """The tool calls for this step, or [] when it is time to write the reply."""
    if turn.me == ESCALATION_MANAGER or turn.ctx.handoff_reason:
        return []  # the acknowledgement of a human handoff needs no tools
    text, seq = turn.customer_text, len(turn.my_calls) + len(turn.calls_by_id)
    if not turn.my_calls:
        return _first_step(turn, offered, seq)
    if RESOLVE_TOOL in turn.my_calls or SEARCH_TOOL not in turn.my_calls:
        return []
    acts: list[FunctionCall] = []
    # A request about another customer's account is declined in the reply: no money moves for it.
    ask = (intents.money_ask(text) or _named_refund(text)) if turn.other_customer is None else None
    tool = CREDIT_TOOL if ask is not None and ask.kind == "credit" else REFUND_TOOL
    if ask is not None and tool in offered and tool not in turn.my_calls:
        reference = ask.reference
        if tool == REFUND_TOOL and reference is None:
            # No invoice named: look at the customer's invoices first, as a person would.
            if INVOICES_TOOL in offered and INVOICES_TOOL not in turn.my_calls:
                return [make_call(INVOICES_TOOL, {}, seq)]
            reference = _invoice_for(ask.amount_usd, turn.invoices or [])
        ref_key = "reference" if tool == CREDIT_TOOL else "invoice"
        args = {"amount_usd": float(ask.amount_usd), "reason": ask.reason, ref_key: reference}
        acts.append(make_call(tool, args, seq))
    if BUG_TOOL in offered and BUG_TOOL not in turn.my_calls and intents.reports_bug(text):
        title = turn.ctx.subject or text.split("\n")[0][:120]
        severity = _SEVERITY[turn.ctx.priority]
        acts.append(make_call(BUG_TOOL, {"title": title, "details": text[:4000], "severity": severity}, seq + 1))
    expr = intents.calculation(text)
    if CODE_TOOL in offered and CODE_TOOL not in turn.my_calls and expr is not None:
        acts.append(make_call(CODE_TOOL, {"code": f"print({expr})"}, seq + 2))
    # Having done its own part, an agent hands what is another specialist's over (the results of its
    # tools travel with the handoff), but never back to the agent that handed the turn to it.
    if turn.handed_from is None and not any(c.startswith("transfer_to_") for c in turn.my_calls):
        to_billing, to_technical = handoff_tool_name(BILLING_AGENT), handoff_tool_name(TECHNICAL_AGENT)
        if turn.me != BILLING_AGENT and to_billing in offered and intents.asks_billing(text):
            acts.append(make_call(to_billing, {}, seq + 3))
        elif turn.me == BILLING_AGENT and to_technical in offered and intents.purely_technical(text):
            acts.append(make_call(to_technical, {}, seq + 3))
    return acts


def _first_step(turn: Turn, offered: set[str], seq: int) -> list[FunctionCall]:
    text = turn.customer_text
    # Only after an answer of ours is there a fix to confirm: an opening message that reads like a confirmation
    # ("We're in Germany.") is a question.
    if RESOLVE_TOOL in offered and turn.prior_replies and intents.confirms_resolution(text):
        return [make_call(RESOLVE_TOOL, {"summary": f"Customer confirmed: {text.strip()[:200]}"}, seq)]
    # (A conversation that doesn't converge is the workflow's call: it counts agent turns.)
    if ESCALATE_HANDOFF in offered and intents.wants_call_or_manager(text):
        return [make_call(ESCALATE_HANDOFF, {"reason": "customer asked for a call or their account manager"}, seq)]
    # The built-in model reads and writes English only: a customer writing in another language gets a
    # person (or a configured LLM, which answers in their language), not English sentences that miss
    # what they asked.
    if ESCALATE_HANDOFF in offered and (language := intents.foreign_language(text)) is not None:
        return [make_call(ESCALATE_HANDOFF, {"reason": f"the customer writes in {language}"}, seq)]
    query = search_query(turn)
    calls = [make_call(SEARCH_TOOL, {"query": query}, seq)] if SEARCH_TOOL in offered else []
    if LOOKUP_TOOL in offered:
        calls.append(make_call(LOOKUP_TOOL, {}, seq + 1))
    return calls


def search_query(turn: Turn) -> str:
    """What the turn looks up: the ticket worded as triage worded it (so it is embedded once, see
    domain.models.ticket_text). But a follow-up that confirms the earlier fix and asks something new
    ("That fixed it, thanks. Next: can we ...") looks up the new question alone: the subject and the
    confirmation name the problem already solved, and would pull its articles back."""
    if turn.prior_replies and moves_on(turn.customer_text):
        return without_confirmations(turn.customer_text)[:MAX_QUERY_CHARS]
    query = ticket_text(turn.ctx.subject, turn.customer_text)
    if intents.suggests_feature(query):
        query = f"{intents.FEATURE_QUESTION}\n{query}"  # see intents.suggests_feature
    return query[:MAX_QUERY_CHARS]


def compose_text(turn: Turn) -> str:
    """The one reply of this turn, from the passages and the tool results."""
    if turn.me == ESCALATION_MANAGER or turn.ctx.handoff_reason:
        return compose_handoff(turn.ctx)
    if any(n.tool == RESOLVE_TOOL for n in turn.notes):
        return resolved_closing(turn.ctx)
    sentences: list[str] = []
    declined = [n for n in turn.notes if n.tool in (REFUND_TOOL, CREDIT_TOOL) and n.data.get("status") == "declined"]
    if turn.other_customer is not None and not any(n.data.get("rule") == "other_customer" for n in declined):
        sentences.append(OTHER_CUSTOMER_EXPLANATION)
    for note in turn.notes:
        if note in declined:
            sentence = str(note.data.get("explain_to_customer") or "") or None  # the policy, in plain words
        elif note.tool in (REFUND_TOOL, CREDIT_TOOL):
            sentence = action_note(note.data)
        elif note.tool == BUG_TOOL:
            sentence = bug_note(note.data)
        elif note.tool == CODE_TOOL:
            code = json.loads(str(note.data.get("_arguments", "{}"))).get("code", "")
            sentence = calculation_note(str(code), note.data)
        else:
            sentence = None
        if sentence:
            sentences.append(sentence)
    return compose_answer(
        turn.ctx, turn.customer_text, turn.hits, sentences, turn.prior_replies, implied_questions(turn, declined)
    )


# What a customer asks next once a refund is under way: when the money is back, or when it is decided.
REFUND_ARRIVES = "How long until the refund shows up on my card or account?"
REFUND_DECIDED = "When will a manager decide on my refund request?"


def implied_questions(turn: Turn, declined: list[ToolNote]) -> list[str]:
    """Questions the customer will ask next whatever they wrote: a refund asked for, issued or forwarded
    raises when it arrives (or when it is decided). Not for a refund our policy declined."""
    statuses = {
        str(n.data.get("status")) for n in turn.notes if n.tool in (REFUND_TOOL, CREDIT_TOOL) and n not in declined
    }
    if declined or turn.other_customer is not None:
        return []
    if "pending_approval" in statuses:
        return [REFUND_DECIDED]
    if "executed" in statuses or intents.mentions_refund(f"{turn.ctx.subject}\n{turn.customer_text}"):
        return [REFUND_ARRIVES]
    return []
