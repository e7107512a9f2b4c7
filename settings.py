"""One place for configuration: environment variables (or a `.env` file) with working local defaults."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from domain.lifecycle import TicketPolicy
from domain.sla import BusinessCalendar

if TYPE_CHECKING:
    from agents.model_client import ModelSettings

ModelProvider = Literal["offline", "openai", "azure", "openai_compatible"]
_PLACEHOLDER_SECRETS = {"changeme", "your-key", "your-api-key", "sk-...", "xxx"}


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


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_ignore_empty=True, extra="ignore")

    # Postgres: the CRM and the ticket store. The local stack falls back to an embedded server
    # (pgserver) when nothing answers here.
    DATABASE_URL: str = "postgresql://postgres@127.0.0.1:5432/support"
    DB_POOL_MIN: int = Field(default=1, ge=0)
    DB_POOL_MAX: int = Field(default=10, ge=1)
    # How long a starting worker or API waits for PostgreSQL (restarting, failing over) before giving up.
    DB_CONNECT_WAIT_S: float = Field(default=120.0, ge=0)

    # Temporal.
    TEMPORAL_ADDRESS: str = "127.0.0.1:7233"
    TEMPORAL_NAMESPACE: str = "default"
    TEMPORAL_TASK_QUEUE: str = "support-tickets"

    # Knowledge base: a Qdrant server by URL in production, embedded local mode (a folder) otherwise.
    QDRANT_URL: str | None = None
    QDRANT_API_KEY: str | None = None
    QDRANT_PATH: str = ""  # unset: DATA_DIR/qdrant (see _paths_under_data_dir)
    KB_COLLECTION: str = "kb_articles"
    # Where an article without its own `url` lives: a template with {id} (e.g.
    # https://help.example.com/articles/{id}); unset, such an article is cited by title, without a link.
    KB_ARTICLE_URL: str = ""

    # Model provider for the agents: the built-in offline model unless configured otherwise.
    MODEL_PROVIDER: ModelProvider = "offline"
    MODEL_NAME: str = "gpt-4o-mini"
    OPENAI_API_KEY: str | None = None
    OPENAI_BASE_URL: str | None = None
    AZURE_OPENAI_ENDPOINT: str | None = None
    AZURE_OPENAI_DEPLOYMENT: str | None = None
    AZURE_OPENAI_API_VERSION: str = "2024-06-01"
    # What the model can do and what it may be sent (docs/agents.md, "Model configuration"). Unset, a
    # model AutoGen knows (gpt-4o-mini, ...) keeps its own capabilities and context window; any other
    # model is assumed to call tools and nothing more, with a context window of 8192 tokens.
    MODEL_FAMILY: str | None = None  # e.g. "gpt-4o", "llama-3.3-8b", "unknown"
    MODEL_FUNCTION_CALLING: bool | None = None  # the agents need it (handoffs and tools are tool calls)
    MODEL_STRUCTURED_OUTPUT: bool | None = None
    MODEL_JSON_OUTPUT: bool | None = None
    MODEL_VISION: bool | None = None
    MODEL_CONTEXT_WINDOW: int | None = Field(default=None, ge=1024)  # prompt + reply, in tokens
    # Sent with every request as max_tokens: a model that never stops cannot fill its context for minutes.
    MODEL_MAX_OUTPUT_TOKENS: int = Field(default=1024, ge=16)
    # One request; below the turn's 120 s start-to-close, so a hung request fails first.
    MODEL_TIMEOUT_S: float = Field(default=60.0, gt=0, le=110)
    # USD per 1,000 tokens; unset = the price table in agents/cost.py (0 for models not in it).
    MODEL_PRICE_IN_PER_1K: Decimal | None = Field(default=None, ge=0)
    MODEL_PRICE_OUT_PER_1K: Decimal | None = Field(default=None, ge=0)
    # A model that keeps failing (down, rate limited, timing out) hands the ticket to a person after
    # this long, instead of the turn's 30-minute schedule-to-close.
    MODEL_FAILURE_BUDGET_S: float = Field(default=180.0, ge=10, le=1500)
    # Streamed replies where a channel can show them (the server must stream usage too).
    MODEL_STREAMING: bool = False

    # Local stack (supportctl dev / demo).
    DATA_DIR: Path = Path("data")
    API_HOST: str = "127.0.0.1"
    API_PORT: int = 8000
    TEMPORAL_PORT: int = 7233
    TEMPORAL_UI_PORT: int = 8233

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

    # The TechnicalAgent's sandboxed Python (diagnostics, calculations); off unless enabled.
    AGENT_CODE_EXECUTION: bool = False

    # Worker tuning (worker.py; `supportctl bench` measures the effect). The sticky cache keeps recently
    # active tickets in memory so their next task needs no replay. A cached ticket costs the worker about
    # 0.35 MiB (bench open-tickets) on top of ~0.5 GiB for models and libraries, so 500 keeps a worker
    # near 0.7 GiB however many tickets are open, and is still far more than the tickets a worker has
    # mid-turn at once (a waiting ticket's next task comes hours later and replays either way).
    # None = the SDK's default.
    WORKER_MAX_CACHED_WORKFLOWS: int = Field(default=500, ge=0)
    WORKER_MAX_CONCURRENT_WORKFLOW_TASKS: int | None = Field(default=None, ge=2)
    WORKER_MAX_CONCURRENT_ACTIVITIES: int | None = Field(default=None, ge=1)
    # How long a ticket's next task waits for the worker that cached it before any worker may take it
    # (after a crash, every ticket that worker held waits this long once).
    WORKER_STICKY_QUEUE_TIMEOUT_S: float = Field(default=10.0, gt=0)
    # host:port for the Temporal SDK's Prometheus metrics (cache size, task latencies); unset = off.
    WORKER_METRICS_BIND: str | None = None

    @field_validator("KB_ARTICLE_URL")
    @classmethod
    def _an_address_per_article(cls, v: str) -> str:
        v = v.strip()
        if v and ("{id}" not in v or not v.startswith(("http://", "https://"))):
            raise ValueError("must be an http(s) address with {id} where the article id goes")
        if re.search(r"\{(?!id\})[^}]*\}", v):
            raise ValueError("only {id} is filled in; other {placeholders} would stay in every link")
        return v

    @field_validator("OPENAI_API_KEY", "API_KEY", "QDRANT_API_KEY")
    @classmethod
    def _no_placeholder_secrets(cls, v: str | None) -> str | None:
        if v is not None and v.strip().lower() in _PLACEHOLDER_SECRETS:
            raise ValueError("is a placeholder, not a real secret; unset it or set a real value")
        return v

    @model_validator(mode="after")
    def _agent_keys_are_distinct(self) -> Settings:
        keys = [k.key.get_secret_value() for k in self.AGENT_KEYS or []]
        if len(set(keys)) != len(keys):
            raise ValueError("AGENT_KEYS: two entries share a key; each key must name one agent")
        if self.API_KEY is not None and self.API_KEY in keys:
            raise ValueError("AGENT_KEYS: a key equals API_KEY; the shared key must not also be an agent's")
        if any(k.strip().lower() in _PLACEHOLDER_SECRETS for k in keys):
            raise ValueError("AGENT_KEYS: a key is a placeholder, not a real secret")
        return self

    @field_validator("MODEL_FAMILY")
    @classmethod
    def _a_family_name(cls, v: str | None) -> str | None:
        if v is not None and not re.fullmatch(r"[a-z0-9][a-z0-9._-]*", v.strip().lower()):
            raise ValueError("must be a model family name such as gpt-4o, llama-3.3-8b or unknown")
        return v.strip().lower() if v is not None else None

    @model_validator(mode="after")
    def _model_limits_fit(self) -> Settings:
        if self.MODEL_FUNCTION_CALLING is False:
            raise ValueError(
                "MODEL_FUNCTION_CALLING=false: the agents search, act and hand off through tool calls; "
                "configure a model that can call tools"
            )
        window, out = self.MODEL_CONTEXT_WINDOW, self.MODEL_MAX_OUTPUT_TOKENS
        if window is not None and out > window // 2:
            raise ValueError(
                f"MODEL_MAX_OUTPUT_TOKENS ({out}) must be at most half of MODEL_CONTEXT_WINDOW ({window}), "
                "leaving room for the prompt"
            )
        if (self.MODEL_PRICE_IN_PER_1K is None) != (self.MODEL_PRICE_OUT_PER_1K is None):
            raise ValueError("MODEL_PRICE_IN_PER_1K and MODEL_PRICE_OUT_PER_1K are set together, or neither")
        return self

    @model_validator(mode="after")
    def _paths_under_data_dir(self) -> Settings:
        # Every local-state path lives under DATA_DIR unless set on its own: a second stack with its own
        # DATA_DIR must not share (and find locked) the first one's knowledge base.
        if not self.QDRANT_PATH:
            self.QDRANT_PATH = str(self.DATA_DIR / "qdrant")
        return self

    def model_settings(self) -> ModelSettings:
        """What the operator declared about the model, for agents.model_client.build_model_client."""
        from agents.model_client import ModelSettings  # here: AutoGen loads in ~1 s; the API never needs it

        return ModelSettings(
            family=self.MODEL_FAMILY,
            function_calling=self.MODEL_FUNCTION_CALLING,
            structured_output=self.MODEL_STRUCTURED_OUTPUT,
            json_output=self.MODEL_JSON_OUTPUT,
            vision=self.MODEL_VISION,
            context_window=self.MODEL_CONTEXT_WINDOW,
            max_output_tokens=self.MODEL_MAX_OUTPUT_TOKENS,
            timeout_s=self.MODEL_TIMEOUT_S,
            price_in_per_1k=self.MODEL_PRICE_IN_PER_1K,
            price_out_per_1k=self.MODEL_PRICE_OUT_PER_1K,
            failure_budget_s=self.MODEL_FAILURE_BUDGET_S,
            streaming=self.MODEL_STREAMING,
        )

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


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
