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

# Patch ids (``workflow.patched``): the workflow's logic as it changed, so older tickets replay.
# Decision rules of 2026-11: a resolved ticket takes no reply, hand-back, reassignment or priority change
# (its survey is out; the customer's reply reopens it), nor a resolve while an action awaits approval;
# a human reply with an approval pending keeps the ticket in the queue; a reject note stays internal
# (``message`` is what the customer reads); whoever resolves owns the ticket if the customer reopens it.
# Tickets that decided before it replay with the old rules.
DECISION_RULES_V2 = "decision-rules-v2"

# Customer messages that arrive together (a chat burst, or while the agent was answering) get one agent
# turn after the last of them, not one each: five quick lines used five of MAX_AGENT_TURNS and escalated.
BATCHED_MESSAGES = "batched-messages"

# The agents' "a colleague will take over" is an acknowledgement, not a response: the first-response and
# next-reply clocks run on until a person answers, so an unanswered hand-over warns and breaches.
HANDOVER_NOT_A_RESPONSE = "handover-not-a-response"

# A customer message that arrives while an action awaits approval goes to the human queue; the approval,
# rejection or expiry used to take the ticket off the queue with that message unanswered (and the
# "approved" note stopped its reply clock). Now the agents answer it after an approval or rejection, and
# an expired approval leaves the ticket in the human queue.
ANSWER_WHAT_CAME_DURING_APPROVAL = "answer-what-came-during-approval"

# A breach at the top priority re-targeted every clock to the same priority, and the re-targeting grace
# (a quarter of the target from now) pushed a running clock near its deadline later: a critical ticket's
# first-response breach moved its next-reply deadline 3 minutes on. A breach that raises nothing now
# leaves the other clocks' deadlines alone.
BREACH_AT_TOP_KEEPS_DEADLINES = "breach-at-top-keeps-deadlines"

# "I need a human please" was answered by the agents: only "talk/speak to a human" counted as asking for
# one. The plainer phrasings (domain.policy.asks_for_a_person) now hand the ticket to a person too.
PLAIN_HUMAN_REQUEST = "plain-human-request"

# An outage or data-loss report ("the dashboard is down for all of us") was answered by the agents with
# troubleshooting tips; it now goes to a person, who can check the incident and the status page.
OUTAGE_TO_A_PERSON = "outage-to-a-person"

# A ticket kept the priority of its first message: "now it is blocking production, URGENT" on a low ticket
# left it on the low ticket's 72 h resolution target. A later message whose words triage rates high or
# critical, above the ticket's priority (with the VIP / enterprise boost, as at opening), now raises the
# priority and tightens the clocks; nothing lowers it.
REASSESS_PRIORITY = "reassess-priority"

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
    # Why a human should take over, from a message of a burst not yet answered (``BATCHED_MESSAGES``).
    held_handoff: str | None = None
    decisions: dict[str, DecisionResult] = Field(default_factory=dict)  # request_id -> result, for retries
    csat_requested_at: datetime | None = None
    csat_score: int | None = None
    csat_comment: str | None = None
    cost_usd: float = 0.0
    version: int = 0  # snapshot version written to Postgres
    event_seq: int = 0  # makes audit event keys unique and stable
    product: str | None = None  # from the ticket's input; None for tickets opened before it existed


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


@dataclass
class TicketResult:
    ticket_id: str
    status: Status
    messages: int
