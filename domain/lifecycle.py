"""The ticket lifecycle's knobs and the human decisions that steer it.

`TicketPolicy` travels in the workflow input (the workflow cannot read settings itself); the
decision models are the payloads of the workflow's Updates and of the API's decision endpoint.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Literal

from pydantic import BaseModel, Field

from domain.models import Priority
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


HumanDecision = Annotated[
    HumanReply | ActionDecision | Reassign | ChangePriority | Resolve | HandBack, Field(discriminator="kind")
]


class DecisionResult(BaseModel):
    request_id: str
    accepted: bool
    status: str
    message: str


class CsatScore(BaseModel):
    score: int = Field(ge=1, le=5)
    comment: str = Field(default="", max_length=2_000)
