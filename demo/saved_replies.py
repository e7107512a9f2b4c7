"""The demo team's saved replies: what agents at Lumora insert from the console's reply box. Placeholders
are those of ``domain.saved_replies``; ``supportctl`` seeds the ones whose title is not taken yet."""

from __future__ import annotations

from typing import Final

DEMO_SAVED_REPLIES: Final[tuple[tuple[str, str], ...]] = (
    (
        "Greeting",
        "Hi {{customer.first_name}},\n\nThanks for getting in touch about “{{ticket.subject}}”. "
        "I'm {{agent.name}} and I'll be looking after this for you.",
    ),
    (
        "Refund approved",
        "Hi {{customer.first_name}},\n\nI've approved your refund. It goes back to the card you paid with and "
        "usually shows on your statement within 5–10 business days.\n\nBest,\n{{agent.name}}",
    ),
    (
        "Need more details",
        "Hi {{customer.first_name}},\n\nTo look into this I need a little more: the steps you took, what you "
        "expected and what happened instead, and a screenshot if you have one. Reply here and it reaches me "
        "directly (ticket {{ticket.id}}).",
    ),
    (
        "Passed to engineering",
        "Hi {{customer.first_name}},\n\nI've reproduced the problem and passed it to our engineers with your "
        "details. I'll update you here as soon as there is a fix or a workaround.",
    ),
    (
        "Closing check-in",
        "Hi {{customer.first_name}},\n\nI'm marking this as resolved. If anything about “{{ticket.subject}}” "
        "still isn't right, just reply and the ticket opens again.\n\nThanks for using Lumora,\n{{agent.name}}",
    ),
)
