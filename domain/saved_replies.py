"""Saved replies: a team's canned answers with placeholders such as ``{{customer.name}}``, filled from
the ticket at hand when an agent inserts one into the reply box (the console).

A placeholder is ``{{name}}`` (spaces inside the braces allowed). Only the names in ``PLACEHOLDERS``
exist: a saved reply naming another is refused when it is saved, so an agent never sends a customer
a literal ``{{custmer.name}}``. A placeholder whose value the ticket does not have (no company) is
filled with an empty string, except ``customer.first_name``, which falls back to "there".
"""

from __future__ import annotations

import re
from collections.abc import Mapping

MAX_TITLE = 120
MAX_BODY = 20_000

PLACEHOLDERS: dict[str, str] = {
    "customer.name": "the customer's full name",
    "customer.first_name": 'the first word of their name ("there" when unknown)',
    "customer.email": "their e-mail address",
    "customer.company": "their company",
    "customer.plan": "their plan (free, starter, pro, enterprise)",
    "ticket.id": "the ticket's id",
    "ticket.subject": "the ticket's subject",
    "agent.name": "the signed-in person's name",
}
_PLACEHOLDER = re.compile(r"\{\{\s*([a-zA-Z_][a-zA-Z0-9_.]*)\s*\}\}")


def unknown_placeholders(body: str) -> list[str]:
    """The placeholders in `body` that are not in PLACEHOLDERS, in order of first appearance."""
    seen: list[str] = []
    for name in _PLACEHOLDER.findall(body):
        if name not in PLACEHOLDERS and name not in seen:
            seen.append(name)
    return seen


def fill(body: str, values: Mapping[str, str | None]) -> str:
    """`body` with each known placeholder replaced by its value ("" when missing); unknown ones stay."""

    def one(m: re.Match[str]) -> str:
        name = m.group(1)
        if name not in PLACEHOLDERS:
            return m.group(0)
        value = values.get(name)
        if not value and name == "customer.first_name":
            return "there"
        return value or ""

    return _PLACEHOLDER.sub(one, body)
