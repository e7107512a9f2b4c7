"""TicketWorkflow's input, state and result, and the timeouts of its activities.

State lives in one model so continue-as-new can carry it whole; fields added later need defaults,
since a running ticket's state was serialised before they existed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from pydantic import BaseModel, Field
from temporalio.common import RetryPolicy

from domain.lifecycle import DecisionResult, PendingApproval, TicketPolicy
from domain.models import Category, Channel, Customer, Priority, Sentiment, Status, TranscriptEntry
from domain.sla import ClockName, SlaClock

# Patch ids live in workflows/patches.py, each with why it exists and when it can go.

# Timeouts and retries (named so the policy is visible in one place).
DB_TIMEOUT = timedelta(seconds=15)
DB_RETRY = RetryPolicy(maximum_interval=timedelta(seconds=30))
FAST_TIMEOUT = timedelta(seconds=30)
LLM_START_TO_CLOSE = timedelta(seconds=120)
LLM_SCHEDULE_TO_CLOSE = timedelta(minutes=30)
# The turn activity heartbeats every 2 s: a worker that dies mid-turn is noticed in 15 s, not 2 minutes.
LLM_HEARTBEAT = timedelta(seconds=15)
LLM_RETRY = RetryPolicy(maximum_interval=timedelta(minutes=1), non_retryable_error_types=["ModelConfigError"])
CRM_RETRY = RetryPolicy(maximum_interval=timedelta(seconds=30), non_retryable_error_types=["CustomerNotFoundError"])
ACTION_RETRY = RetryPolicy(maximum_interval=timedelta(minutes=1), non_retryable_error_types=["ActionRejectedError"])
DEFAULT_AUTO_RESOLVE_AFTER = timedelta(hours=72)


@dataclass
class CustomerMessage:
    """A customer's follow-up. `message_id` makes a re-sent message count once."""

    message_id: str
    body: str


class TicketState(BaseModel):
    """Everything the ticket knows; carried whole across continue-as-new."""

    ticket_id: str
    customer_id: str
    channel: Channel
    subject: str
    opened_at: datetime
    status: Status = Status.NEW
    customer: Customer | None = None
    category: Category | None = None
    priority: Priority | None = None
    sentiment: Sentiment | None = None
    sentiment_trend: list[Sentiment] = Field(default_factory=list)
    escalated: bool = False
    escalation_reason: str | None = None
    assigned_agent: str | None = None
    first_response_at: datetime | None = None
    first_response_due: datetime | None = None
    resolution_due: datetime | None = None
    resolved_at: datetime | None = None
    transcript: list[TranscriptEntry] = Field(default_factory=list)
    inbox: list[CustomerMessage] = Field(default_factory=list)
    seen_message_ids: list[str] = Field(default_factory=list)
    prompt_tokens: int = 0
    completion_tokens: int = 0
    # ---- v2 (lifecycle) ----
    policy: TicketPolicy | None = None
    owner: Literal["agents", "human"] = "agents"
    assigned_human: str | None = None
    clocks: dict[ClockName, SlaClock] = Field(default_factory=dict)
    sla_breached: bool = False
    last_reply_at: datetime | None = None
    reminded: bool = False
    agent_turns: int = 0  # agent replies since a human last acted: the convergence counter
    pending_approval: PendingApproval | None = None
    agent_turn_owed: bool = False  # a human handed back with the customer's last message unanswered
    # Why a human should take over, from a message of a burst not yet answered (``patches.BATCHED_MESSAGES``).
    held_handoff: str | None = None
    decisions: dict[str, DecisionResult] = Field(default_factory=dict)  # request_id -> result, for retries
    csat_requested_at: datetime | None = None
    csat_score: int | None = None
    csat_comment: str | None = None
    cost_usd: float = 0.0
    version: int = 0  # snapshot version written to Postgres
    event_seq: int = 0  # makes audit event keys unique and stable
    product: str | None = None  # from the ticket's input; None for tickets opened before it existed
    tags: list[str] = Field(default_factory=list)  # people's labels, sorted (the `tag` decision)
    # The ticket's console page (markdown link) for the UI's current details: static details are set at
    # start only and a continued run has none, so the link rides in the state. None: off, or older tickets.
    console_link: str | None = None


@dataclass
class TicketInput:
    ticket_id: str
    customer_id: str
    channel: Channel
    subject: str
    body: str
    auto_resolve_after: timedelta = DEFAULT_AUTO_RESOLVE_AFTER
    state: TicketState | None = None  # set only when continuing as new
    policy: TicketPolicy | None = None  # None: defaults (with auto_resolve_after above)
    linked_ticket_id: str | None = None  # the closed ticket this one follows up
    product: str | None = None  # what the ticket is about, when the caller knows (KB searches keep to it)
    console_link: str | None = None  # markdown link to the ticket's console page (api.service.tickets.console_link)


@dataclass
class TicketResult:
    ticket_id: str
    status: Status
    messages: int
