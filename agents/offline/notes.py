"""The offline model's sentences about what its tools did: refunds, credits, approvals, bug reports,
calculations, and the closing message of a resolved ticket.

Each sentence states only what a tool result says (amount, reference, status), so the customer is
never promised more than the ledger recorded. Pure functions of the tool results' JSON.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from agents.context import TicketContext


@dataclass(frozen=True)
class ToolNote:
    """One tool result the reply must mention."""

    tool: str
    data: dict[str, Any]


def parse_result(tool: str, content: str) -> ToolNote | None:
    try:
        data = json.loads(content)
    except json.JSONDecodeError:
        return ToolNote(tool, {"output": content})
    return ToolNote(tool, data) if isinstance(data, dict) else ToolNote(tool, {"output": content})


def _money(value: Any) -> str:
    try:
        return f"${Decimal(str(value)).quantize(Decimal('0.01')):,}"
    except ArithmeticError:
        return f"${value}"


def action_note(data: dict[str, Any]) -> str | None:
    kind = str(data.get("kind", "refund"))
    money = _money(data.get("amount_usd"))
    ref = f" for {data['reference']}" if data.get("reference") else ""
    rid = data.get("request_id", "")
    status = data.get("status")
    if status == "executed":
        if kind == "credit":
            return f"I've added a credit of {money}{ref} to your account (reference {rid})."
        return f"I've issued a refund of {money}{ref} to your original payment method (reference {rid})."
    if status == "pending_approval":
        limit = _money(data.get("authority_limit_usd", 100))
        return (
            f"A {kind} of {money}{ref} is more than I can approve myself (my limit is {limit} per ticket), so "
            f"I've forwarded your request to a billing manager for approval (reference {rid}). You don't need "
            "to do anything else: we'll confirm the decision right here."
        )
    if status == "rejected":
        return (
            f"Your request for a {kind} of {money}{ref} was already reviewed by a billing manager and declined "
            f"(reference {rid}). I'm sorry I can't offer more on this one."
        )
    return None


def bug_note(data: dict[str, Any]) -> str | None:
    rid = data.get("report_id")
    if not rid:
        return None
    return (
        f"I've filed a bug report with our engineering team with the details you gave (reference {rid}), so "
        "they can reproduce it. I can't promise a fix date, but we'll post updates here."
    )


def calculation_note(code: str, data: dict[str, Any]) -> str | None:
    output = str(data.get("output", "")).strip()
    expr = code.removeprefix("print(").removesuffix(")")
    if not output or "\n" in output or len(output) > 60 or not any(c.isdigit() for c in output):
        return None
    try:
        shown = f"{Decimal(output):,}"
    except ArithmeticError:
        shown = output
    return f"I ran the numbers for you: {expr} = {shown}."


def resolved_closing(ctx: TicketContext) -> str:
    return (
        f"Hi {ctx.customer_first_name},\n\n"
        "Great to hear it's working now, thanks for letting us know. I'm marking this ticket as resolved; "
        "if anything else comes up, just reply here."
    )
