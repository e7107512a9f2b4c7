"""The ticket lifecycle's knobs and the human decisions that steer it.

`TicketPolicy` travels in the workflow input (the workflow cannot read settings itself); the
decision models are the payloads of the workflow's Updates and of the API's decision endpoint.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, Field, WithJsonSchema, model_validator

from domain.models import Category, Priority
from domain.sla import BusinessCalendar
from domain.turns import ActionRequest


class TicketPolicy(BaseModel):
    remind_after: timedelta = timedelta(hours=24)  # silence after our reply before a reminder
    auto_resolve_after: timedelta = timedelta(hours=72)  # silence before the ticket is resolved
    approval_timeout: timedelta = timedelta(hours=4)  # per approver, before it moves up the chain
    approvers: list[str] = Field(default_factory=lambda: ["team-lead", "support-manager"])
    csat_timeout: timedelta = timedelta(days=3)  # how long the CSAT survey stays open
    max_agent_turns: int = Field(default=6, ge=1)  # agent replies without convergence before a human
    token_budget: int = Field(default=60_000, ge=1)  # tokens per ticket before a human takes over
    calendar: BusinessCalendar | None = None  # business hours; None = SLAs run around the clock


class PendingApproval(BaseModel):
    action: ActionRequest
    requested_at: datetime
    proposed_by: str
    level: int = 0  # index into TicketPolicy.approvers
    level_since: datetime


class _Decision(BaseModel):
    request_id: str = Field(min_length=1, max_length=200)  # idempotency: a repeat is answered, not redone
    agent_id: str = Field(min_length=1, max_length=100)  # who decided (kept in the audit trail)
    # Optional preconditions, so two agents working one ticket don't act over each other (refused with
    # TicketChangedError): the newest message (transcript seq) the agent has read, and who the agent
    # believes holds the ticket ("" for nobody).
    seen_seq: int | None = Field(default=None, ge=0)
    expect_assignee: str | None = Field(default=None, max_length=100)


class HumanReply(_Decision):
    kind: Literal["reply"] = "reply"
    body: str = Field(min_length=1, max_length=20_000)


class ActionDecision(_Decision):
    kind: Literal["approve", "reject"]
    action_request_id: str
    note: str = Field(default="", max_length=2_000)  # internal: the audit trail, never the customer
    message: str = Field(default="", max_length=2_000)  # added to what the customer is told


class Reassign(_Decision):
    kind: Literal["reassign"] = "reassign"
    to: str = Field(min_length=1, max_length=100)


class ChangePriority(_Decision):
    kind: Literal["priority"] = "priority"
    priority: Priority
    reason: str = Field(default="", max_length=2_000)


class Resolve(_Decision):
    kind: Literal["resolve"] = "resolve"
    note: str = Field(default="", max_length=2_000)


class HandBack(_Decision):
    kind: Literal["hand_back"] = "hand_back"
    note: str = Field(default="", max_length=2_000)


class InternalNote(_Decision):
    """A note for colleagues, kept in the audit trail: never a message, so never sent to the customer."""

    kind: Literal["note"] = "note"
    body: str = Field(min_length=1, max_length=10_000)


MAX_TAGS = 20  # on one ticket
_TAG = re.compile(r"[a-z0-9][a-z0-9_-]{0,39}")


def _tag(value: str) -> str:
    if not _TAG.fullmatch(value):
        raise ValueError("a tag is 1-40 of a-z, 0-9, '-' and '_', starting with a letter or digit")
    return value


# A tag as people type it: case and surrounding spaces do not make another tag ("VIP-Renewal" is "vip-renewal").
# The JSON schema says exactly what is accepted (the API's contract test fuzzes it).
Tag = Annotated[
    str,
    BeforeValidator(lambda v: v.strip().lower() if isinstance(v, str) else v),
    AfterValidator(_tag),
    WithJsonSchema({"type": "string", "pattern": r"^\s*[A-Za-z0-9][A-Za-z0-9_-]{0,39}\s*$"}),
]


class Retag(_Decision):
    """Tags to add to the ticket and tags to take off it (either may be empty, not both)."""

    kind: Literal["tag"] = "tag"
    add: list[Tag] = Field(default_factory=list, max_length=MAX_TAGS)
    remove: list[Tag] = Field(default_factory=list, max_length=MAX_TAGS)

    @model_validator(mode="after")
    def _something_to_do(self) -> Retag:
        if not self.add and not self.remove:
            raise ValueError("name a tag to add or to remove")
        if set(self.add) & set(self.remove):
            raise ValueError(f"a tag both added and removed: {sorted(set(self.add) & set(self.remove))}")
        return self


class Recategorise(_Decision):
    """The ticket's category as a person sees it; the agents' next turn starts with its specialist."""

    kind: Literal["recategorise"] = "recategorise"
    category: Category
    reason: str = Field(default="", max_length=2_000)


HumanDecision = Annotated[
    HumanReply | ActionDecision | Reassign | ChangePriority | Resolve | HandBack | InternalNote | Retag | Recategorise,
    Field(discriminator="kind"),
]
# Decisions about the ticket's record, not its conversation: nothing reaches the customer, the ticket keeps
# its owner and status, and the agents' convergence counter is not reset (``patches.NOTES_AND_TAGS``).
RECORD_ONLY = (InternalNote, Retag, Recategorise)


class DecisionResult(BaseModel):
    request_id: str
    accepted: bool
    status: str
    message: str


class CsatScore(BaseModel):
    score: int = Field(ge=1, le=5)
    comment: str = Field(default="", max_length=2_000)
