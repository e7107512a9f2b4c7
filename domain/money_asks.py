"""Whether a customer asks for money back, or only asks about it: read the same way whatever model answers.

"Please refund the $49 charge" asks; "when will the $49 refund show up on my card?", "you refunded it on
Monday" and "our finance team asks whether refunds over $100 need approval" do not, and acting on them
would refund a charge twice, or unasked. The offline model reads its requests with these
(``agents.offline.intents``); the refund tool declines, for every model, a refund that no message of the
customer asked for (``domain.refunds.check_money_request``).
"""

from __future__ import annotations

import re

REFUND = re.compile(r"\b(refund(?:ed|s)?|reimburse(?:d|ment)?|money back|charge ?back|pay (?:me|us) back)\b", re.I)
CREDIT = re.compile(
    r"\b(?:(?:service|account|travel|sla) credit|credit (?:note|to (?:my|our) account)|voucher|certificate|"
    r"compensation|compensate)\b",
    re.I,
)
MONEY_BACK = re.compile(r"\b(?:get|have|want) (?:it|that|this|them|the money) back\b", re.IGNORECASE)
# A sentence about a refund that asks for none: when or where one lands, one already made, the policy in general.
ABOUT_A_REFUND = re.compile(
    r"\b(?:when|how (?:long|soon|quickly)|how many (?:business |working )?days)\s+(?:will|would|does|do|did|should|"
    r"can|could|is|are|until|till|before|for|to expect)\b"
    r"|\bwhere\s+(?:will|would|does|do|did|should|is|are|can)\b|\bwhich (?:card|account|payment method)\b"
    r"|\b(?:come|comes|go|goes|went|get|got|be|paid) back (?:to|on|onto|into)\b"
    r"|\b(?:will|would|does|do|should|did|hasn't|has not|haven't|have not|didn't|did not)\s+(?:\S+\s+){0,8}?"
    r"(?:show(?:n|ed)? up|turn(?:ed)? up|appear(?:ed)?|arrive(?:d)?|land(?:ed)?|seen it)\b"
    r"|\b(?:you|they|already|was|were|been|got|received)\s+(?:\w+\s+)?(?:refunded|reimbursed)\b"
    r"|\b(?:refund|reimbursement)s?(?: of \$?[\d.,]+)?\s+(?:was|were|has been|have been|got|is being)\b"
    r"|\b(?:whether|policy|policies|do you (?:offer|give|do)|are refunds|in case|if (?:i|we) (?:ask|request|cancel))\b",
    re.I,
)
_SENTENCE = re.compile(r"(?<=[.!?])\s+|\n+")


def asks_for_refund(text: str) -> bool:
    """Some sentence of ``text`` asks for money back, not only about a refund."""
    return any(
        (REFUND.search(s) or MONEY_BACK.search(s)) and not ABOUT_A_REFUND.search(s) for s in _SENTENCE.split(text)
    )
