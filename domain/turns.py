"""What one agent turn takes and gives back.

The workflow owns the transcript and passes it in whole; the agents package rebuilds the team from
it, runs one turn and returns only what is new. Kept in `domain/` so the workflow, the activity
and the agents share one definition.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from domain.models import Category, Channel, Citation, Customer, Priority, Sentiment, TranscriptEntry

# reply: answer sent, wait for the customer. escalate: a human takes over. needs_approval: the agent
# proposed an action above its authority (`action`); the workflow holds it for a human decision.
# resolved: the agent believes the issue is solved (the workflow then asks for CSAT).
Decision = Literal["reply", "escalate", "needs_approval", "resolved"]


class ActionRequest(BaseModel):
    """An action on the customer's account that an agent proposed (e.g. a refund above its limit)."""

    request_id: str  # stable id: executing the same request twice does nothing the second time
    kind: Literal["refund", "credit"]
    amount_usd: float = Field(gt=0)
    reason: str
    reference: str | None = None  # e.g. the invoice the refund is for


class TurnRequest(BaseModel):
    ticket_id: str
    customer: Customer
    channel: Channel
    subject: str
    category: Category
    priority: Priority
    sentiment: Sentiment
    transcript: list[TranscriptEntry]
    # Set when the workflow's rules already hand the ticket to a human: the agent then writes the
    # acknowledgement the customer sees while they wait, instead of trying to solve the issue.
    handoff_reason: str | None = None
    # The ticket's product: knowledge-base searches keep to its articles and those naming no product.
    product: str | None = None


class TurnOutcome(BaseModel):
    agent: str  # e.g. "TechnicalAgent"
    reply: str
    decision: Decision = "reply"
    escalation_reason: str | None = None
    citations: list[Citation] = Field(default_factory=list)
    tool_calls: list[str] = Field(default_factory=list)
    # The proposal above the agent's authority: always set with needs_approval; also kept when the same
    # turn escalates (escalation wins the decision), so the human who takes over sees it.
    action: ActionRequest | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    # Added with the agent team (issue 5); all optional, so older histories still deserialize.
    handoffs: list[str] = Field(default_factory=list)  # "TechnicalAgent->BillingAgent", in order
    executed_actions: list[ActionRequest] = Field(default_factory=list)  # done within the agent's authority
    bug_reports: list[str] = Field(default_factory=list)  # ids of engineering bug reports filed
    # Set when the model could not do its part and the turn hands the ticket to a person instead
    # ("model_config", "model_unavailable", "model_output"); the cause is in escalation_reason.
    failure: str | None = None
