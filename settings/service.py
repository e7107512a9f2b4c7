"""The ticket service: who may call the API and how long it waits, per-customer limits, the ticket
lifecycle's clocks, staff notifications and the customer outbox."""

from __future__ import annotations

from datetime import timedelta
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from domain.lifecycle import TicketPolicy
from domain.sla import BusinessCalendar
from settings.core import PLACEHOLDER_SECRETS, refuse_placeholder


class AgentKey(BaseModel):
    """One person's API key (AGENT_KEYS): decisions made with it are that agent's, within its roles."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    key: SecretStr = Field(min_length=16)  # SecretStr: never printed with the settings
    agent_id: str = Field(min_length=1, max_length=100)  # what the decision's agent_id must be
    # "agent" for ordinary decisions (reply, reassign, priority, resolve, hand back); APPROVERS names
    # for approve / reject of the actions routed to them (a role later in APPROVERS may decide too).
    roles: list[str] = Field(default_factory=lambda: ["agent"])

    @field_validator("agent_id")
    @classmethod
    def _a_real_agent(cls, v: str) -> str:
        if v != v.strip() or not v:
            raise ValueError("must not start or end with whitespace (a decision's agent_id is stripped)")
        return v


class ServiceSettings(BaseModel):
    # API: when set, every request except /health needs `Authorization: Bearer <API_KEY>`.
    API_KEY: str | None = None
    # Per-agent keys, JSON: [{"key": "...", "agent_id": "ana", "roles": ["agent", "team-lead"]}, ...].
    # Set, a decision needs one of them (its agent_id, its roles; API_KEY then makes no decisions), and
    # they are accepted wherever API_KEY is. Unset = decisions as every other route (API_KEY, or open).
    AGENT_KEYS: list[AgentKey] | None = Field(default=None, min_length=1)
    # How long the API waits for a ticket's workflow (its worker) before answering 503: a decision (an
    # Update, which waits for the worker to take it and the ticket to be free) and a read of a ticket
    # not yet in the store (a Query). Without a bound a decision on a stuck ticket never returned.
    API_DECISION_TIMEOUT_S: float = Field(default=30.0, gt=0)
    API_QUERY_TIMEOUT_S: float = Field(default=10.0, gt=0)
    # A ticket from an email the CRM does not know: when true, `POST /tickets` makes the sender a free
    # contact (id derived from the email) and answers; when false it is refused (422 unknown_customer).
    AUTO_CREATE_CUSTOMERS: bool = False
    # Per customer, counted in Postgres (every API replica agrees): tickets opened in the last hour and
    # customer messages in the last minute; over either, new work is `429 rate_limited`. A runaway
    # integration or a mail loop must not open thousands of tickets (each a workflow and agent turns).
    # 0 = no limit.
    CUSTOMER_TICKETS_PER_HOUR: int = Field(default=30, ge=0)
    CUSTOMER_MESSAGES_PER_MINUTE: int = Field(default=20, ge=0)

    # The ticket lifecycle (see domain/lifecycle.TicketPolicy).
    AUTO_RESOLVE_AFTER_HOURS: float = Field(default=72.0, gt=0)  # silence after our reply → resolved
    REMIND_AFTER_HOURS: float = Field(default=24.0, gt=0)  # silence after our reply → a reminder
    APPROVAL_TIMEOUT_HOURS: float = Field(default=4.0, gt=0)  # per approver, then up the chain
    APPROVERS: list[str] = Field(default_factory=lambda: ["team-lead", "support-manager"], min_length=1)
    CSAT_TIMEOUT_HOURS: float = Field(default=72.0, gt=0)
    MAX_AGENT_TURNS: int = Field(default=6, ge=1)  # agent replies without convergence → a human
    TICKET_TOKEN_BUDGET: int = Field(default=60_000, ge=1)
    # Business hours as JSON ({"utc_offset_minutes": 60, "hours": {"0": {"start": "09:00", "end": "17:00"}, ...},
    # "holidays": ["2026-12-25"]}); unset = SLAs run around the clock.
    BUSINESS_CALENDAR: BusinessCalendar | None = None

    # Notifications (SLA warnings/breaches, escalations, approvals): POSTed here when set; always
    # recorded in the notifications table.
    NOTIFY_WEBHOOK_URL: str | None = None
    # Messages to customers (replies, reminders, the survey) go to this channel gateway, POSTed by the
    # worker's outbox dispatcher (activities/outbox.py) with an Idempotency-Key; unset = they stay in the
    # customer_outbox table for an adapter to read. Retries back off to at most CUSTOMER_OUTBOX_MAX_BACKOFF_S;
    # with nothing to send the dispatcher looks again every CUSTOMER_OUTBOX_POLL_S.
    CUSTOMER_WEBHOOK_URL: str | None = None
    CUSTOMER_OUTBOX_POLL_S: float = Field(default=1.0, gt=0)
    CUSTOMER_OUTBOX_MAX_BACKOFF_S: float = Field(default=300.0, ge=1)
    # The worker refreshes the report's rollup (days written to since) every REPORT_REFRESH_S, straight on
    # while days wait (activities/report_refresh.py); reports also refresh a few days before they read.
    REPORT_REFRESH_S: float = Field(default=60.0, gt=0)

    @field_validator("API_KEY")
    @classmethod
    def _no_placeholder_api_key(cls, v: str | None) -> str | None:
        return refuse_placeholder(v)

    @model_validator(mode="after")
    def _agent_keys_are_distinct(self) -> Self:
        keys = [k.key.get_secret_value() for k in self.AGENT_KEYS or []]
        if len(set(keys)) != len(keys):
            raise ValueError("AGENT_KEYS: two entries share a key; each key must name one agent")
        if self.API_KEY is not None and self.API_KEY in keys:
            raise ValueError("AGENT_KEYS: a key equals API_KEY; the shared key must not also be an agent's")
        if any(k.strip().lower() in PLACEHOLDER_SECRETS for k in keys):
            raise ValueError("AGENT_KEYS: a key is a placeholder, not a real secret")
        return self

    def ticket_policy(self) -> TicketPolicy:
        return TicketPolicy(
            remind_after=timedelta(hours=self.REMIND_AFTER_HOURS),
            auto_resolve_after=timedelta(hours=self.AUTO_RESOLVE_AFTER_HOURS),
            approval_timeout=timedelta(hours=self.APPROVAL_TIMEOUT_HOURS),
            approvers=self.APPROVERS,
            csat_timeout=timedelta(hours=self.CSAT_TIMEOUT_HOURS),
            max_agent_turns=self.MAX_AGENT_TURNS,
            token_budget=self.TICKET_TOKEN_BUDGET,
            calendar=self.BUSINESS_CALENDAR,
        )
