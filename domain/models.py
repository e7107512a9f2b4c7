"""The ticket's vocabulary: enums and pydantic models shared by the workflow, activities and API.

Pure data, no I/O. Enum values are the strings stored in Postgres, sent over the API and written
into Temporal search attributes, so renaming a value is a migration, not a refactor.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, Field


class Priority(StrEnum):
    """SLA-bearing priority levels, lowest first (order matters for the VIP boost)."""

    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


class Category(StrEnum):
    TECHNICAL = "technical"
    BILLING = "billing"
    PRODUCT = "product"
    ACCOUNT = "account"
    GENERAL = "general"


class Sentiment(StrEnum):
    POSITIVE = "positive"
    NEUTRAL = "neutral"
    NEGATIVE = "negative"
    VERY_NEGATIVE = "very_negative"


class Status(StrEnum):
    NEW = "new"
    IN_PROGRESS = "in_progress"
    WAITING_CUSTOMER = "waiting_customer"
    ESCALATED = "escalated"
    RESOLVED = "resolved"
    CLOSED = "closed"


class Channel(StrEnum):
    CHAT = "chat"
    EMAIL = "email"
    API = "api"
    PHONE = "phone"


class Plan(StrEnum):
    FREE = "free"
    STARTER = "starter"
    PRO = "pro"
    ENTERPRISE = "enterprise"


class Sender(StrEnum):
    """Who wrote a message: the customer, an AI agent, a human agent, or the system."""

    CUSTOMER = "customer"
    AGENT = "agent"
    HUMAN = "human"
    SYSTEM = "system"


class Customer(BaseModel):
    """A customer as the CRM knows them."""

    customer_id: str
    email: str
    name: str
    company: str | None = None
    plan: Plan = Plan.FREE
    is_vip: bool = False
    lifetime_value: float = Field(default=0.0, ge=0.0)
    ticket_count: int = Field(default=0, ge=0)
    average_csat: float | None = Field(default=None, ge=1.0, le=5.0)

    @property
    def first_name(self) -> str:
        return self.name.split()[0] if self.name.strip() else "there"


class Citation(BaseModel):
    """A knowledge-base article an answer relied on."""

    article_id: str
    title: str
    url: str = ""
    score: float = 0.0


class KbHit(BaseModel):
    """One knowledge-base search result (article level)."""

    article_id: str
    title: str
    snippet: str
    score: float
    category: str = ""
    url: str = ""
    text: str = ""  # the matching chunk's full text, for answer composition
    # The article's next best-matching section, under its own "## heading" ("" when none ranks high): a
    # procedure the best chunk lacks may sit there ("Forgot password?" matches the SSO section best).
    more: str = ""
    product: str = ""  # "" when the team does not tag articles by product


def ticket_text(subject: str, body: str) -> str:
    """A new ticket as one text: what triage classifies and what the first KB search looks up.

    One string for both, so the worker embeds it once (the embedder's memory cache serves the second).
    """
    return f"{subject}\n\n{body}"


class TriageResult(BaseModel):
    sentiment: Sentiment
    polarity: float
    category: Category
    category_confidence: float = 0.0
    base_priority: Priority
    priority_reasons: list[str] = Field(default_factory=list)
    # The trained model's own label (the team's intent or queue) that ``category`` was mapped from;
    # None in results recorded before it was kept.
    label: str | None = None
    # What triage read: the customer's new words (domain.customer_text), without quoted or forwarded
    # history, signature, disclaimer or pasted instructions. None in results recorded before it was kept.
    new_text: str | None = None
    # Hand-over detectors (triage/handover.py): False in results triaged before they ran, whose
    # hand-over the workflow judges by its older rules.
    handover_checked: bool = False
    # Why a person must take the message whoever the customer is ("legal threat", ...), or None.
    handover_reason: str | None = None
    handover_reasons: list[str] = Field(default_factory=list)  # every detector that fired, most serious first
    # Unhappy with us (not with themselves): a reason to hand a VIP or enterprise customer over.
    unhappy: bool = False
    # How near the unhappy (or angry) detector came to its bar (1.0 and over: ``unhappy``); a VIP or
    # enterprise account takes a lower bar. 0.0 in results triaged before it was kept.
    unhappy_share: float = 0.0
    handover_scores: dict[str, float] = Field(default_factory=dict)  # calibrated probability per detector


class TranscriptEntry(BaseModel):
    """One message in the workflow-owned transcript (also the agents' input)."""

    seq: int
    sender: Sender
    author: str  # customer id, agent name ("TechnicalAgent"), human agent id, "system"
    body: str
    sentiment: Sentiment | None = None
    at: datetime
