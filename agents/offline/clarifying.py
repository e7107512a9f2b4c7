"""The one clarifying question an offline reply asks when the help centre holds no answer: the detail that
would most help answer a ticket of that category."""

from __future__ import annotations

import re

from domain.models import Category

CLARIFYING_QUESTION: dict[Category, str] = {
    Category.TECHNICAL: (
        "Could you share the exact error message or HTTP status you see, and which SDK or API endpoint "
        "(with its version) you are calling?"
    ),
    Category.BILLING: "Could you send the invoice number, or the date and amount of the charge in question?",
    Category.PRODUCT: "Which dashboard or feature is this about, and what did you expect it to do?",
    Category.ACCOUNT: "Which workspace is this about, and what exact message do you see when it fails?",
    Category.GENERAL: "Could you tell me a little more about what you are trying to do, and where in Lumora?",
}


def clarifying_question(category: Category, customer_text: str) -> str:
    """One question that would most help; never re-asks for an error code the customer already gave."""
    if category == Category.TECHNICAL and re.search(r"\b[45]\d\d\b|error", customer_text, re.IGNORECASE):
        return (
            "Which SDK or API endpoint (and version) are you calling, and could you share the request ID "
            "or timestamp of one failing call?"
        )
    return CLARIFYING_QUESTION[category]
