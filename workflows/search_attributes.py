"""Custom search attributes operators filter tickets by (Temporal UI, `temporal workflow list --query`).

The dev server registers them at start (`supportctl dev`); in production the compose stack's
admin-tools job does.
"""

from __future__ import annotations

from typing import Any

from temporalio.common import SearchAttributeKey

TICKET_STATUS = SearchAttributeKey.for_keyword("TicketStatus")
TICKET_PRIORITY = SearchAttributeKey.for_keyword("TicketPriority")
TICKET_CATEGORY = SearchAttributeKey.for_keyword("TicketCategory")
CUSTOMER_ID = SearchAttributeKey.for_keyword("CustomerId")
TICKET_ESCALATED = SearchAttributeKey.for_bool("TicketEscalated")
TICKET_SLA_DEADLINE = SearchAttributeKey.for_datetime("TicketSlaDeadline")
TICKET_SLA_BREACHED = SearchAttributeKey.for_bool("TicketSlaBreached")
TICKET_SENTIMENT = SearchAttributeKey.for_keyword("TicketSentiment")
TICKET_PRODUCT = SearchAttributeKey.for_keyword("TicketProduct")  # set at start, only when the ticket has one

ALL: tuple[SearchAttributeKey[Any], ...] = (
    TICKET_STATUS,
    TICKET_PRIORITY,
    TICKET_CATEGORY,
    CUSTOMER_ID,
    TICKET_ESCALATED,
    TICKET_SLA_DEADLINE,
    TICKET_SLA_BREACHED,
    TICKET_SENTIMENT,
    TICKET_PRODUCT,
)

# The dev server's `--search-attribute Name=Type` spelling.
_CLI_TYPE = {
    "KEYWORD": "Keyword",
    "BOOL": "Bool",
    "DATETIME": "Datetime",
    "TEXT": "Text",
    "INT": "Int",
    "DOUBLE": "Double",
    "KEYWORD_LIST": "KeywordList",
}


def cli_flags() -> list[str]:
    flags: list[str] = []
    for key in ALL:
        flags += [
            "--search-attribute",
            f"{key.name}={_CLI_TYPE[key.indexed_value_type.name.removeprefix('INDEXED_VALUE_TYPE_')]}",
        ]
    return flags
