"""Request and response bodies of the HTTP API."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Annotated, Any, Literal

from annotated_types import MaxLen
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    WithJsonSchema,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from db.tickets import TicketFields
from domain.contacts import Contact
from domain.lifecycle import (
    ActionDecision,
    ChangePriority,
    CsatScore,
    HandBack,
    HumanReply,
    InternalNote,
    Reassign,
    Recategorise,
    Resolve,
    Retag,
    Tag,
)
from domain.models import Category, Channel, Citation, Plan, Priority, Status

MAX_SUBJECT = 300
MAX_BODY = 20_000
MAX_OFFSET = 1_000_000


def no_nul(value: str) -> str:
    """Refuse a NUL character: PostgreSQL text cannot hold one, so it would stop the ticket's store writes."""
    if "\x00" in value:
        raise PydanticCustomError(
            "nul_character", "contains a NUL character (\\u0000), which the ticket store cannot hold; remove it"
        )
    return value


_NUMBER = re.compile(r"\s*[-+]?[\d.]+([eE][-+]?\d+)?\s*")


def _iso_only(value: object) -> object:
    """A date or time as ISO 8601 text, never a number: pydantic reads `0.5` as a Unix time (1970)."""
    if isinstance(value, int | float) or (
        isinstance(value, str) and re.fullmatch(r"\s*[-+]?[\d.]+([eE][-+]?\d+)?\s*", value)
    ):
        raise PydanticCustomError(
            "iso_datetime", "an ISO 8601 date or time (2026-01-31 or 2026-01-31T09:00:00Z), not a number"
        )
    return value


# A date or time parameter: ISO 8601 only (a date alone is its midnight, UTC without a zone).
IsoDateTime = Annotated[
    datetime,
    BeforeValidator(_iso_only),
    WithJsonSchema({"anyOf": [{"type": "string", "format": "date-time"}, {"type": "string", "format": "date"}]}),
]

# A free-text query parameter or field checked like every field of an `ApiModel`.
Text = Annotated[str, AfterValidator(no_nul)]


class ApiModel(BaseModel):
    """A request body: surrounding whitespace stripped, unknown fields refused, no NUL in any text."""

    model_config = ConfigDict(str_strip_whitespace=True, extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _length_as_sent(cls, data: Any) -> Any:
        """A text's length limit holds for what was sent, as the OpenAPI document says, not for what is left
        once its surrounding whitespace is stripped (found by schemathesis: 121 characters were accepted)."""
        if isinstance(data, Mapping):
            for name, value in data.items():
                field = cls.model_fields.get(str(name))
                if not isinstance(value, str) or field is None:
                    continue
                limit = next((m.max_length for m in field.metadata if isinstance(m, MaxLen)), None)
                if limit is not None and len(value) > limit:
                    raise PydanticCustomError(
                        "string_too_long",
                        "{field}: String should have at most {max_length} characters",
                        {"field": name, "max_length": limit},
                    )
        return data

    @field_validator("*", mode="after")
    @classmethod
    def _no_nul_in_text(cls, value: object) -> object:
        return no_nul(value) if isinstance(value, str) else value


class QueryModel(ApiModel):
    """A GET's query parameters: one it does not take is refused by name (it used to be ignored, so
    `GET /tickets?q=refund` listed every ticket)."""

    @model_validator(mode="before")
    @classmethod
    def _known_parameters_only(cls, data: Any) -> Any:
        if isinstance(data, Mapping):
            unknown = sorted(str(k) for k in data if k not in cls.model_fields)
            if unknown:
                raise PydanticCustomError(
                    "unknown_parameter", "unknown query parameter {names}; this endpoint takes {known}",
                    {"names": ", ".join(unknown), "known": ", ".join(cls.model_fields)},
                )  # fmt: skip
            # Whitespace alone (`?product=%0A`) is an absent parameter, not a 422 for a value the document allows;
            # an empty one (`?product=`) is still refused, as its minimum length says.
            text = {name for name, f in cls.model_fields.items() if f.annotation in (str, str | None)}
            return {k: v for k, v in data.items() if not (k in text and isinstance(v, str) and v and not v.strip())}
        return data


class TicketFilters(QueryModel):
    status: Status | None = None
    priority: Priority | None = None
    customer_id: str | None = Field(default=None, max_length=64)
    product: str | None = Field(default=None, min_length=1, max_length=100)
    category: Category | None = None
    tag: Tag | None = None  # tickets carrying this tag
    limit: int = Field(default=50, ge=1, le=500)
    offset: int = Field(default=0, ge=0, le=MAX_OFFSET)  # bounded: 2**63 was a 500 (Postgres bigint)


class QueueFilters(QueryModel):
    priority: Priority | None = None
    product: str | None = Field(default=None, min_length=1, max_length=100)  # a team of agents per product
    assignee: str | None = Field(default=None, min_length=1, max_length=100)  # "mine": held by this agent
    unassigned: bool = False  # held by nobody: what is free to pick up
    category: Category | None = None
    tag: Tag | None = None  # tickets carrying this tag
    limit: int = Field(default=100, ge=1, le=500)


class MessagesAfter(QueryModel):
    """An adapter's incremental read: the messages after the last one it has seen."""

    after_seq: int = Field(default=0, ge=0, le=2**31 - 1)
    limit: int = Field(default=500, ge=1, le=500)


class TicketIn(ApiModel):
    customer_id: str | None = Field(default=None, max_length=64)
    customer_email: str | None = Field(default=None, max_length=320)
    # The sender's name, for a contact made from a new email (AUTO_CREATE_CUSTOMERS); otherwise unused.
    customer_name: str | None = Field(default=None, min_length=1, max_length=200)
    channel: Channel = Channel.API
    subject: str = Field(min_length=1, max_length=MAX_SUBJECT)
    body: str = Field(min_length=1, max_length=MAX_BODY)
    idempotency_key: str | None = Field(default=None, min_length=1, max_length=200)
    # What the ticket is about (a product of the team's, as its help articles name it in `product`);
    # the agents then search that product's articles and those that name none.
    product: str | None = Field(default=None, min_length=1, max_length=100)

    @model_validator(mode="after")
    def _one_customer_reference(self) -> TicketIn:
        if not self.customer_id and not self.customer_email:
            raise ValueError("give customer_id or customer_email")
        return self


class CustomerIn(ApiModel, Contact):
    """`PUT /customers/{customer_id}`: the whole customer as the team keeps it (omitted fields: defaults)."""


class CustomerLookup(QueryModel):
    email: str = Field(min_length=3, max_length=320)


class CustomerOut(BaseModel):
    customer_id: str
    email: str
    name: str
    company: str | None
    plan: Plan
    is_vip: bool
    lifetime_value: float
    ticket_count: int  # tickets in the ticket store
    average_csat: float | None  # mean of their CSAT scores, None before the first


class MessageIn(ApiModel):
    body: str = Field(min_length=1, max_length=MAX_BODY)
    message_id: str | None = Field(default=None, min_length=1, max_length=200)


def _kind_required(schema: dict[str, Any]) -> None:
    """`kind` picks the decision (the union's discriminator): required in the request, default or not."""
    schema["required"] = sorted({*schema.get("required", []), "kind"})


class DecisionModel(BaseModel):
    model_config = ConfigDict(json_schema_extra=_kind_required)


# Human decisions as the API takes them: the workflow's own models (what the Update carries), checked
# like every other request body. Subclasses, so what reaches the workflow is exactly its own type.
class HumanReplyIn(ApiModel, DecisionModel, HumanReply):
    pass


class ActionDecisionIn(ApiModel, DecisionModel, ActionDecision):
    action_request_id: str = Field(min_length=1, max_length=200)


class ReassignIn(ApiModel, DecisionModel, Reassign):
    pass


class ChangePriorityIn(ApiModel, DecisionModel, ChangePriority):
    pass


class ResolveIn(ApiModel, DecisionModel, Resolve):
    pass


class HandBackIn(ApiModel, DecisionModel, HandBack):
    pass


class InternalNoteIn(ApiModel, DecisionModel, InternalNote):
    pass


class RetagIn(ApiModel, DecisionModel, Retag):
    pass


class RecategoriseIn(ApiModel, DecisionModel, Recategorise):
    pass


DecisionIn = Annotated[
    HumanReplyIn
    | ActionDecisionIn
    | ReassignIn
    | ChangePriorityIn
    | ResolveIn
    | HandBackIn
    | InternalNoteIn
    | RetagIn
    | RecategoriseIn,
    Field(discriminator="kind"),
]


class CsatIn(ApiModel, CsatScore):
    # Strict: `true`, `"5"` and `4.0` are not scores (lax pydantic would store them as 1, 5 and 4).
    score: int = Field(strict=True, ge=1, le=5)


class CsatAccepted(BaseModel):
    ticket_id: str
    status: Literal["accepted"] = "accepted"


class HealthOut(BaseModel):
    """`200 ok` when Postgres and Temporal answer, `503 degraded` (with each check) when one does not."""

    status: Literal["ok", "degraded"]
    postgres: str
    temporal: str


class CustomerExport(BaseModel):
    """Everything the service holds on one person (the right of access), as the store holds it."""

    customer: CustomerOut
    tickets: list[dict[str, Any]]
    messages: list[dict[str, Any]]
    events: list[dict[str, Any]]
    ledger: list[dict[str, Any]]  # refunds and credits (agent_actions)
    bug_reports: list[dict[str, Any]]  # filed from their tickets
    outbox: list[dict[str, Any]]  # messages sent (or to send) to them
    notifications: list[dict[str, Any]]  # staff alerts about their tickets
    erasures: list[dict[str, Any]]  # erasures done on them (who, when, counts)
    invoices: list[dict[str, Any]]  # their charges (what refunds are checked against)
    email_threads: list[dict[str, Any]]  # their e-mail tickets' threads (reply token, subject)
    email_messages: list[dict[str, Any]]  # Message-IDs in and out on those threads
    email_inbound: list[dict[str, Any]]  # every mail taken from them or their threads, with its outcome
    email_attachments: list[dict[str, Any]]  # attachments of those mails, by reference
    email_participants: list[dict[str, Any]]  # people on their e-mail threads
    email_suppressions: list[dict[str, Any]] = []  # their address, if not mailed after a hard bounce
    webhook_deliveries: list[dict[str, Any]]  # ticket events about them sent to webhooks
    exported_at: datetime


class TicketCreated(BaseModel):
    ticket_id: str
    workflow_id: str
    status: str
    created: bool  # False when an earlier request with the same idempotency key made this ticket


class MessageAccepted(BaseModel):
    ticket_id: str  # the ticket the message went to
    message_id: str
    accepted: bool = True
    follows_up: str | None = None  # set when the message opened a new ticket after a closed one


class MessageOut(BaseModel):
    seq: int
    sender: str
    author: str
    body: str
    sentiment: str | None
    citations: list[Citation]
    created_at: datetime


class PendingActionOut(BaseModel):
    """A proposed action waiting for a human: approve or reject it with `action_request_id`."""

    action_request_id: str
    kind: str  # refund | credit
    amount_usd: float
    summary: str  # the agent's reason
    reference: str | None = None  # invoice or charge it is about
    requested_by: str  # the agent that proposed it
    requested_at: datetime
    routed_to: str | None = None  # the approver it waits on (APPROVERS), when known


# A ticket: its row's fields (db.tickets owns that list and its order), then what the API adds. A comment,
# not a docstring: a docstring would become the schema's description in the OpenAPI document.
class TicketOut(TicketFields):
    time_to_first_response_s: float | None = None
    pending_actions: list[PendingActionOut] = Field(default_factory=list)
    messages: list[MessageOut] = Field(default_factory=list)


class TicketSummary(BaseModel):
    ticket_id: str
    customer_id: str
    channel: str
    subject: str
    status: str
    category: str | None
    priority: str | None
    sentiment: str | None
    escalated: bool
    escalation_reason: str | None = None
    product: str | None = None
    triage_label: str | None = None
    owner: str = "agents"
    assigned_human: str | None = None
    sla_breached: bool = False
    first_response_due: datetime | None = None
    resolution_due: datetime | None = None
    next_reply_due: datetime | None = None
    sla_due: datetime | None = None  # the nearest running SLA deadline; the queue's order within a priority
    tags: list[str] = Field(default_factory=list)
    created_at: datetime
    time_to_first_response_s: float | None
    pending_actions: list[PendingActionOut] = Field(default_factory=list)


class ErrorBody(BaseModel):
    code: str
    message: str


class ErasureOut(BaseModel):
    """What `DELETE /customers/{id}` erased (the last line of `supportctl customers erase`)."""

    customer_id: str
    tickets: int
    messages: int
    workflows_deleted: int
    dry_run: bool


class ErrorOut(BaseModel):
    error: ErrorBody


class EventOut(BaseModel):
    kind: str
    actor: str | None
    data: dict[str, Any]
    created_at: datetime
