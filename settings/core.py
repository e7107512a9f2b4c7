"""Where things are: PostgreSQL, Temporal (one address), the knowledge base, the local stack, the worker's
tuning, traces and logs."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal, Self

from pydantic import BaseModel, Field, field_validator, model_validator

PLACEHOLDER_SECRETS = {"changeme", "your-key", "your-api-key", "sk-...", "xxx"}


def refuse_placeholder(v: str | None) -> str | None:
    """A secret setting's validator: a value copied from an example is refused, not used."""
    if v is not None and v.strip().lower() in PLACEHOLDER_SECRETS:
        raise ValueError("is a placeholder, not a real secret; unset it or set a real value")
    return v


class CoreSettings(BaseModel):
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

    # Local stack (supportctl dev / demo).
    DATA_DIR: Path = Path("data")
    API_HOST: str = "127.0.0.1"
    API_PORT: int = 8000
    TEMPORAL_PORT: int = 7233
    TEMPORAL_UI_PORT: int = 8233

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

    # Observability (telemetry/, docs/operations.md). Traces go by OTLP/HTTP to this collector (e.g.
    # http://otel-collector:4318); unset = tracing off (no exporter, no instrumentation, no-op spans).
    OTEL_EXPORTER_OTLP_ENDPOINT: str | None = None
    OTEL_SERVICE_NAME: str | None = None  # unset: support-api / support-worker
    # Prompts and replies on the model-call spans: they hold customer text, so off unless set on purpose.
    OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT: bool = False
    # "json": one JSON object per log line with ticket_id and trace_id; "text": the plain format.
    LOG_FORMAT: Literal["text", "json"] = "text"

    @field_validator("KB_ARTICLE_URL")
    @classmethod
    def _an_address_per_article(cls, v: str) -> str:
        v = v.strip()
        if v and ("{id}" not in v or not v.startswith(("http://", "https://"))):
            raise ValueError("must be an http(s) address with {id} where the article id goes")
        if re.search(r"\{(?!id\})[^}]*\}", v):
            raise ValueError("only {id} is filled in; other {placeholders} would stay in every link")
        return v

    @field_validator("QDRANT_API_KEY")
    @classmethod
    def _no_placeholder_qdrant_key(cls, v: str | None) -> str | None:
        return refuse_placeholder(v)

    @model_validator(mode="after")
    def _paths_under_data_dir(self) -> Self:
        # Every local-state path lives under DATA_DIR unless set on its own: a second stack with its own
        # DATA_DIR must not share (and find locked) the first one's knowledge base.
        if not self.QDRANT_PATH:
            self.QDRANT_PATH = str(self.DATA_DIR / "qdrant")
        return self

    @model_validator(mode="after")
    def _one_temporal_address(self) -> Self:
        _check_one_temporal_address(self)  # see temporal_address() below
        self.TEMPORAL_ADDRESS = temporal_address(self)
        return self


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


def temporal_address(settings: CoreSettings) -> str:
    """The Temporal frontend this configuration talks to: TEMPORAL_ADDRESS as given, else the local
    stack's port (TEMPORAL_PORT). The one source; `Settings` applies it when it is built."""
    if "TEMPORAL_ADDRESS" in settings.model_fields_set or "TEMPORAL_PORT" not in settings.model_fields_set:
        return settings.TEMPORAL_ADDRESS
    return f"127.0.0.1:{settings.TEMPORAL_PORT}"


def _check_one_temporal_address(settings: CoreSettings) -> None:
    explicit = {"TEMPORAL_ADDRESS", "TEMPORAL_PORT"} <= settings.model_fields_set
    port = _local_port(settings.TEMPORAL_ADDRESS)
    if explicit and port is not None and port != settings.TEMPORAL_PORT:
        raise ValueError(
            f"TEMPORAL_ADDRESS {settings.TEMPORAL_ADDRESS} and TEMPORAL_PORT {settings.TEMPORAL_PORT} name two "
            "local servers; set one of them (TEMPORAL_PORT alone: the address follows it)"
        )
