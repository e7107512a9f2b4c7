"""One place for configuration: environment variables (or a `.env` file) with working local defaults."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

ModelProvider = Literal["offline", "openai", "azure", "openai_compatible"]
_PLACEHOLDER_SECRETS = {"changeme", "your-key", "your-api-key", "sk-...", "xxx"}


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_ignore_empty=True, extra="ignore")

    # Postgres: the CRM and the ticket store. The local stack falls back to an embedded server
    # (pgserver) when nothing answers here.
    DATABASE_URL: str = "postgresql://postgres@127.0.0.1:5432/support"
    DB_POOL_MIN: int = Field(default=1, ge=0)
    DB_POOL_MAX: int = Field(default=10, ge=1)

    # Temporal.
    TEMPORAL_ADDRESS: str = "127.0.0.1:7233"
    TEMPORAL_NAMESPACE: str = "default"
    TEMPORAL_TASK_QUEUE: str = "support-tickets"
    TEMPORAL_UI_URL: str = "http://127.0.0.1:8233"

    # Knowledge base: a Qdrant server by URL in production, embedded local mode (a folder) otherwise.
    QDRANT_URL: str | None = None
    QDRANT_API_KEY: str | None = None
    QDRANT_PATH: str = "data/qdrant"
    KB_COLLECTION: str = "kb_articles"

    # Model provider for the agents: the built-in offline model unless configured otherwise.
    MODEL_PROVIDER: ModelProvider = "offline"
    MODEL_NAME: str = "gpt-4o-mini"
    OPENAI_API_KEY: str | None = None
    OPENAI_BASE_URL: str | None = None
    AZURE_OPENAI_ENDPOINT: str | None = None
    AZURE_OPENAI_DEPLOYMENT: str | None = None
    AZURE_OPENAI_API_VERSION: str = "2024-06-01"

    # Local stack (supportctl dev / demo).
    DATA_DIR: Path = Path("data")
    API_HOST: str = "127.0.0.1"
    API_PORT: int = 8000
    TEMPORAL_PORT: int = 7233
    TEMPORAL_UI_PORT: int = 8233

    # API: when set, every request except /health needs `Authorization: Bearer <API_KEY>`.
    API_KEY: str | None = None
    MAX_BODY_CHARS: int = Field(default=20_000, ge=1)

    # Waiting on the customer: after this long without a reply the ticket is resolved.
    AUTO_RESOLVE_AFTER_HOURS: float = Field(default=72.0, gt=0)

    @field_validator("OPENAI_API_KEY", "API_KEY", "QDRANT_API_KEY")
    @classmethod
    def _no_placeholder_secrets(cls, v: str | None) -> str | None:
        if v is not None and v.strip().lower() in _PLACEHOLDER_SECRETS:
            raise ValueError("is a placeholder, not a real secret; unset it or set a real value")
        return v


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
