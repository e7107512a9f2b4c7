"""Custom search attributes operators filter tickets by (Temporal UI, `temporal workflow list --query`).

The dev server registers them at start (`supportctl dev`); in production the compose stack's
admin-tools job does.
"""

from __future__ import annotations

from typing import Any

from temporalio.common import SearchAttributeKey, SearchAttributePair, TypedSearchAttributes

from domain.models import Status

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


def initial_search_attributes(customer_id: str, product: str | None = None) -> TypedSearchAttributes:
    """Set at start so a ticket is findable by customer, status and product before its first task runs.
    The product never changes, so the workflow never upserts it (continue-as-new carries it over)."""
    pairs: list[SearchAttributePair[Any]] = [
        SearchAttributePair(CUSTOMER_ID, customer_id),
        SearchAttributePair(TICKET_STATUS, Status.NEW.value),
        SearchAttributePair(TICKET_ESCALATED, False),
    ]
    if product:
        pairs.append(SearchAttributePair(TICKET_PRODUCT, product))
    return TypedSearchAttributes(pairs)


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
