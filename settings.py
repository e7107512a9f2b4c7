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
    from agents.model_settings import ModelSettings

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

    # Payload encryption (codec/, docs/security.md). Every payload Temporal stores is AES-256-GCM
    # encrypted; a ticket's with its customer's data key (kept in Postgres, sealed by a master key), so
    # erasing the customer makes every copy of their histories unreadable. PAYLOAD_KEYS: master keys as
    # JSON {"<id>": "<base64 of 32 random bytes>", ...}, all readable (rotation: add a new one, make it
    # PAYLOAD_KEY_ID, keep the old until `db.data_keys.rewrap` ran); PAYLOAD_KEY_ID: the one that writes
    # (may be omitted with a single key). Unset: the local stack's key, generated once into
    # DATA_DIR/payload-keys.json with a warning. PAYLOAD_ENCRYPTION=false turns the codec off (benchmarks).
    PAYLOAD_ENCRYPTION: bool = True
    PAYLOAD_KEYS: dict[str, SecretStr] | None = Field(default=None, min_length=1)
    PAYLOAD_KEY_ID: str | None = None
    # How long a process keeps a customer's unwrapped data key: after an erasure elsewhere, a worker or
    # client stops using it within this. The codec endpoint never caches one.
    PAYLOAD_KEY_CACHE_S: float = Field(default=60.0, ge=0)
    # The codec endpoint (/codec/encode, /codec/decode) for the Temporal UI and `temporal --codec-endpoint`:
    # `Authorization: Bearer <CODEC_KEY>`. Unset: open only while the API itself is (no API_KEY, no
    # AGENT_KEYS: the local stack); otherwise refused until a CODEC_KEY is set.
    CODEC_KEY: SecretStr | None = None
    # Browser origins allowed to call it (the Temporal UI); unset = the local UI on TEMPORAL_UI_PORT.
    CODEC_CORS_ORIGINS: list[str] = Field(default_factory=list)
    # Observability (telemetry/, docs/operations.md). Traces go by OTLP/HTTP to this collector (e.g.
    # http://otel-collector:4318); unset = tracing off (no exporter, no instrumentation, no-op spans).
    OTEL_EXPORTER_OTLP_ENDPOINT: str | None = None
    OTEL_SERVICE_NAME: str | None = None  # unset: support-api / support-worker
    # Prompts and replies on the model-call spans: they hold customer text, so off unless set on purpose.
    OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT: bool = False
    # "json": one JSON object per log line with ticket_id and trace_id; "text": the plain format.
    LOG_FORMAT: Literal["text", "json"] = "text"
    # E-mail channel (channels/email, docs/channels.md). EMAIL_ADDRESS is the support address: our From,
    # the base of each ticket's reply address (support+<token>@…), and mail from it is never answered.
    EMAIL_ADDRESS: str | None = None
    EMAIL_FROM_NAME: str = "Support"
    # Inbound by IMAP polling (the worker): unset host = off.
    EMAIL_IMAP_HOST: str | None = None
    EMAIL_IMAP_PORT: int = Field(default=993, ge=1, le=65535)
    EMAIL_IMAP_SECURITY: Literal["tls", "starttls", "none"] = "tls"
    EMAIL_IMAP_USER: str | None = None
    EMAIL_IMAP_PASSWORD: SecretStr | None = None
    EMAIL_IMAP_MAILBOX: str = "INBOX"
    EMAIL_IMAP_POLL_S: float = Field(default=30.0, gt=0)
    # Outbound by SMTP from the customer outbox (the worker), for channel=email tickets: unset host = off
    # (e-mail rows then go to CUSTOMER_WEBHOOK_URL like every other channel's).
    EMAIL_SMTP_HOST: str | None = None
    EMAIL_SMTP_PORT: int = Field(default=587, ge=1, le=65535)
    EMAIL_SMTP_SECURITY: Literal["tls", "starttls", "none"] = "starttls"
    EMAIL_SMTP_USER: str | None = None
    EMAIL_SMTP_PASSWORD: SecretStr | None = None
    # Wait for new mail in IMAP IDLE where the server offers it (EMAIL_IMAP_POLL_S stays the safety net);
    # the IDLE is re-issued every EMAIL_IMAP_IDLE_RENEW_S, before servers drop an idle client (RFC 2177:
    # at 30 minutes at the earliest).
    EMAIL_IMAP_IDLE: bool = True
    EMAIL_IMAP_IDLE_RENEW_S: float = Field(default=29 * 60.0, gt=0, le=29 * 60.0)
    # The largest raw mail POST /inbound/email takes (every other endpoint keeps the API's 256 KiB): a mail
    # is base64, so 30 MiB carries about 22 MiB of attachments. Larger: 413 payload_too_large.
    INBOUND_EMAIL_MAX_BYTES: int = Field(default=30 * 1024 * 1024, ge=256 * 1024)
    # Attachments bigger than this are recorded (name, type, size, hash) but their bytes are not kept.
    EMAIL_ATTACHMENT_MAX_BYTES: int = Field(default=25 * 1024 * 1024, ge=0)
    # Automatic answers (agent and system messages) to one address per hour; past it they are set aside
    # (refused in the outbox), so an auto-responder we failed to recognise cannot loop with us. 0 = no cap.
    EMAIL_AUTO_REPLIES_PER_HOUR: int = Field(default=10, ge=0)

    # Signed webhooks (channels/webhooks, docs/channels.md). Ticket events (ticket.opened, .replied,
    # .handed_over, .sla_warning, .sla_breached, .resolved, .reopened, .csat) are POSTed here by the
    # worker's webhook dispatcher, in order, retried with backoff up to EVENT_WEBHOOK_MAX_BACKOFF_S.
    EVENT_WEBHOOK_URL: str | None = None
    EVENT_WEBHOOK_POLL_S: float = Field(default=1.0, gt=0)
    EVENT_WEBHOOK_MAX_BACKOFF_S: float = Field(default=300.0, ge=1)
    # Standard Webhooks secrets (`whsec_<base64>`, space- or comma-separated) signing every webhook we
    # send (events, notifications, customer messages); several during a rotation, each adds a signature.
    # `supportctl webhooks secret` makes one. Unset = webhooks are sent unsigned.
    WEBHOOK_SECRETS: SecretStr | None = None
    # The chat widget (channels/chat): the host site signs each visitor's token with this secret
    # (HMAC-SHA256; at least 32 characters). Unset = the chat endpoints answer 503.
    CHAT_SIGNING_SECRET: SecretStr | None = None
    # How often a chat stream looks for new messages, and how long one stream stays open (the browser
    # reconnects and resumes from the last message it saw).
    CHAT_POLL_S: float = Field(default=0.5, gt=0)
    CHAT_STREAM_MAX_S: float = Field(default=300.0, gt=0)

    # The support console (console/, docs/console.md): signs its session cookies with this secret; unset =
    # a random secret per API process (sessions end when it restarts; several API processes need it set).
    CONSOLE_SECRET: SecretStr | None = None
    CONSOLE_SESSION_HOURS: float = Field(default=12.0, gt=0)  # a sign-in lasts this long
    # The Temporal UI's address for the console's link from a ticket to its workflow; unset =
    # http://127.0.0.1:<TEMPORAL_UI_PORT>.
    CONSOLE_TEMPORAL_UI_URL: str | None = None

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

    @field_validator("WEBHOOK_SECRETS")
    @classmethod
    def _standard_webhook_secrets(cls, v: SecretStr | None) -> SecretStr | None:
        from channels.webhooks.signing import InvalidSecret, parse_secrets

        try:
            parse_secrets(v.get_secret_value() if v is not None else None)
        except InvalidSecret as e:
            raise ValueError(str(e)) from None
        return v

    @field_validator("CHAT_SIGNING_SECRET")
    @classmethod
    def _chat_secret_strong_enough(cls, v: SecretStr | None) -> SecretStr | None:
        if v is not None and len(v.get_secret_value()) < 32:
            raise ValueError("must be at least 32 characters (it signs every visitor's chat token)")
        return v

    def webhook_secrets(self) -> list[str]:
        from channels.webhooks.signing import parse_secrets

        return parse_secrets(self.WEBHOOK_SECRETS.get_secret_value() if self.WEBHOOK_SECRETS else None)

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
    def _payload_keys_are_keys(self) -> Settings:
        from codec.keys import KeyRing

        if self.PAYLOAD_KEYS is not None:
            try:
                KeyRing.from_base64(
                    {k: v.get_secret_value() for k, v in self.PAYLOAD_KEYS.items()}, self.PAYLOAD_KEY_ID
                )
            except ValueError as e:
                raise ValueError(f"PAYLOAD_KEYS: {e}") from None
        elif self.PAYLOAD_KEY_ID is not None:
            raise ValueError("PAYLOAD_KEY_ID is set but PAYLOAD_KEYS is not")
        key = self.CODEC_KEY.get_secret_value() if self.CODEC_KEY else None
        if key is not None and (len(key) < 16 or key.strip().lower() in _PLACEHOLDER_SECRETS):
            raise ValueError("CODEC_KEY: a placeholder or shorter than 16 characters; set a real secret")
        if key is not None and key in {self.API_KEY, *(k.key.get_secret_value() for k in self.AGENT_KEYS or [])}:
            raise ValueError("CODEC_KEY must differ from API_KEY and every agent key: it decrypts every payload")
        if not self.CODEC_CORS_ORIGINS:
            port = self.TEMPORAL_UI_PORT
            self.CODEC_CORS_ORIGINS = [f"http://127.0.0.1:{port}", f"http://localhost:{port}"]
        return self

    @model_validator(mode="after")
    def _paths_under_data_dir(self) -> Settings:
        # Every local-state path lives under DATA_DIR unless set on its own: a second stack with its own
        # DATA_DIR must not share (and find locked) the first one's knowledge base.
        if not self.QDRANT_PATH:
            self.QDRANT_PATH = str(self.DATA_DIR / "qdrant")
        return self

    @model_validator(mode="after")
    def _one_temporal_address(self) -> Settings:
        _check_one_temporal_address(self)  # see temporal_address() at the end of this file
        self.TEMPORAL_ADDRESS = temporal_address(self)
        return self

    def model_settings(self) -> ModelSettings:
        """What the operator declared about the model, for agents.model_client.build_model_client."""
        from agents.model_settings import ModelSettings  # here: AutoGen loads in ~1 s; the API never needs it

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


# ---- one Temporal address -------------------------------------------------------------------------
# Every process (API, worker, each supportctl command) connects to `Settings.TEMPORAL_ADDRESS`, and the
# local stack serves its dev server on TEMPORAL_PORT: with only TEMPORAL_PORT set (a second stack on one
# machine) the address follows it, so `supportctl tickets reconcile` and `customers erase` talk to that
# stack's server and never to 7233. An address given explicitly wins (compose: `temporal:7233`); a
# loopback address whose port contradicts an explicit TEMPORAL_PORT is refused as ambiguous.
_LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1", "[::1]"}


def _local_port(address: str) -> int | None:
    host, _, port = address.rpartition(":")
    return int(port) if host in _LOOPBACK_HOSTS and port.isdigit() else None


def temporal_address(settings: Settings) -> str:
    """The Temporal frontend this configuration talks to: TEMPORAL_ADDRESS as given, else the local
    stack's port (TEMPORAL_PORT). The one source; `Settings` applies it when it is built."""
    if "TEMPORAL_ADDRESS" in settings.model_fields_set or "TEMPORAL_PORT" not in settings.model_fields_set:
        return settings.TEMPORAL_ADDRESS
    return f"127.0.0.1:{settings.TEMPORAL_PORT}"


def _check_one_temporal_address(settings: Settings) -> None:
    explicit = {"TEMPORAL_ADDRESS", "TEMPORAL_PORT"} <= settings.model_fields_set
    port = _local_port(settings.TEMPORAL_ADDRESS)
    if explicit and port is not None and port != settings.TEMPORAL_PORT:
        raise ValueError(
            f"TEMPORAL_ADDRESS {settings.TEMPORAL_ADDRESS} and TEMPORAL_PORT {settings.TEMPORAL_PORT} name two "
            "local servers; set one of them (TEMPORAL_PORT alone: the address follows it)"
        )
