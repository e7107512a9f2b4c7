"""The acknowledgement a customer reads while a human specialist picks the ticket up.

Every model path sends it: the team writes it itself when the agents cannot settle who handles a
ticket, the prompts promise the same response windows, and the offline model words its own handoff
replies with it. So it lives here, beside the team, and not in the offline model (`agents.offline`).
"""

from __future__ import annotations

from datetime import timedelta

from agents.context import TicketContext
from domain.models import Category, Channel, Priority, Sentiment
from domain.policy import RESOLUTION_TARGET


def humanize(delta: timedelta) -> str:
    """`timedelta(hours=4)` -> "4 hours" (minutes below an hour)."""
    minutes = int(delta.total_seconds() // 60)
    value, unit = (minutes // 60, "hour") if minutes >= 60 and minutes % 60 == 0 else (minutes, "minute")
    return f"{value} {unit}{'' if value == 1 else 's'}"


# A human specialist's reply after a handoff falls under the ticket's resolution clock (the
# acknowledgement itself is the first response), so the promise comes from the policy's table.
RESPONSE_WINDOW: dict[Priority, str] = {p: humanize(t) for p, t in RESOLUTION_TARGET.items()}

TEAM_NAME: dict[Category, str] = {
    Category.TECHNICAL: "technical support",
    Category.BILLING: "billing",
    Category.PRODUCT: "product",
    Category.ACCOUNT: "account",
    Category.GENERAL: "customer support",
}


def sign_off(ctx: TicketContext) -> str:
    """The closing lines of an email reply; a chat reply has none."""
    return "Best regards,\nLumora Support" if ctx.channel == Channel.EMAIL else ""


def compose_handoff(ctx: TicketContext) -> str:
    """The acknowledgement a customer sees while a human specialist picks the ticket up."""
    upset = ctx.sentiment in (Sentiment.NEGATIVE, Sentiment.VERY_NEGATIVE)
    empathy = "I'm really sorry for the frustration this has caused." if upset else "Thank you for your patience."
    window = RESPONSE_WINDOW[ctx.priority]
    vip = " As one of our priority customers, your ticket is at the front of the queue." if ctx.vip else ""
    parts = [
        f"Hi {ctx.customer_first_name},",
        f"{empathy} I've passed your ticket to a human specialist on our {TEAM_NAME[ctx.category]} team, "
        f"who will take it from here. Because it is marked {ctx.priority.value} priority, a specialist "
        f"will reply within {window}.{vip}",
        "You don't need to do anything else: we'll keep you updated right here. If you have more details "
        "to share in the meantime, such as screenshots, request IDs or timestamps, just reply to this "
        "message.",
    ]
    closing = sign_off(ctx)
    return "\n\n".join(parts + ([closing] if closing else []))
