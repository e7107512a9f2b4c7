"""The turn that closes a ticket when the customer confirms the fix worked, for every model.

"yep, that sorted it, ta" or "the SSO test passes now" after our answer needs no model: the ticket is
resolved with a closing line of two sentences (the survey follows, from the workflow). Deciding it here,
before any model runs, keeps the decision the same whichever model is configured, and a real model
cannot answer a confirmation with another round of instructions. What counts as a confirmation is
``domain.resolution`` (with a learned stand-in, ``triage.resolution``): a new question or a remaining
problem always keeps the ticket open, and the model answers it.
"""

from __future__ import annotations

from collections.abc import Callable

from agents.context import TicketContext
from agents.team import SPECIALIST_FOR
from domain.customer_text import prepare
from domain.models import Sender
from domain.turns import TurnOutcome, TurnRequest


def compose_closing(first_name: str) -> str:
    """Two sentences: glad it works, resolved (and how to come back)."""
    return (
        f"Hi {first_name},\n\n"
        "Great to hear it's working now, thanks for letting us know. I'm marking this ticket as resolved; "
        "if anything else comes up, just reply here."
    )


def new_customer_words(request: TurnRequest) -> str | None:
    """The customer's own words since our last reply (quotes and signatures left out); None before we replied."""
    words: list[str] = []
    for entry in reversed(request.transcript):
        if entry.sender in (Sender.AGENT, Sender.HUMAN):
            return "\n".join(words)
        if entry.sender == Sender.CUSTOMER:
            words.insert(0, prepare(entry.body).new_text)
    return None


def confirmed_fix_turn(request: TurnRequest, confirms: Callable[[str], bool]) -> TurnOutcome | None:
    """The resolving turn when the customer's new words confirm the fix (``confirms``); else None and the
    agents take the turn. Never on a ticket the workflow is handing to a person."""
    if request.handoff_reason:
        return None
    words = new_customer_words(request)
    if not words or not confirms(words):
        return None
    agent = next((e.author for e in reversed(request.transcript) if e.sender == Sender.AGENT), None)
    return TurnOutcome(
        agent=agent or SPECIALIST_FOR[request.category],
        reply=compose_closing(TicketContext.from_request(request).customer_first_name),
        decision="resolved",
    )
