"""One place for configuration: environment variables (or a `.env` file) with working local defaults.

`Settings` is one pydantic-settings class made of one piece per area, each a module of this package
with its fields, their comments and validators:

- `core.py`: PostgreSQL, Temporal (and the one address every process uses), the knowledge base, the
  local stack's ports and DATA_DIR, worker tuning, traces and logs;
- `model.py`: the agents' model (provider, capabilities and limits, prices) and the code sandbox;
- `service.py`: the API's keys (`AgentKey`) and waits, per-customer limits, the ticket lifecycle,
  staff notifications and the customer outbox;
- `channels.py`: e-mail, signed webhooks and ticket events, the chat widget;
- `security.py`: payload encryption, the codec endpoint, the console's sessions.

The checks that span areas (the codec key against the API keys, the codec's default origins) are here,
and the console's public address (derived from the API's when unset).
Every name stays importable from `settings` (`from settings import Settings, AgentKey, get_settings`).

Imports: domain (the lifecycle's types); inside validators and methods only, so that importing the
settings stays light: codec.keys, channels.webhooks.signing, agents.model_settings. Never api,
workflows, activities, db or supportctl.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Self

from pydantic import model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from settings.channels import ChannelSettings
from settings.core import PLACEHOLDER_SECRETS, CoreSettings, temporal_address
from settings.model import AgentModelSettings, ModelProvider
from settings.security import SecuritySettings
from settings.service import AgentKey, ServiceSettings


class Settings(SecuritySettings, ChannelSettings, ServiceSettings, AgentModelSettings, CoreSettings, BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_ignore_empty=True, extra="ignore")

    @model_validator(mode="after")
    def _codec_key_is_its_own(self) -> Self:
        key = self.CODEC_KEY.get_secret_value() if self.CODEC_KEY else None
        if key is not None and (len(key) < 16 or key.strip().lower() in PLACEHOLDER_SECRETS):
            raise ValueError("CODEC_KEY: a placeholder or shorter than 16 characters; set a real secret")
        if key is not None and key in {self.API_KEY, *(k.key.get_secret_value() for k in self.AGENT_KEYS or [])}:
            raise ValueError("CODEC_KEY must differ from API_KEY and every agent key: it decrypts every payload")
        if not self.CODEC_CORS_ORIGINS:
            port = self.TEMPORAL_UI_PORT
            self.CODEC_CORS_ORIGINS = [f"http://127.0.0.1:{port}", f"http://localhost:{port}"]
        return self

    @model_validator(mode="after")
    def _console_public_url_is_an_address(self) -> Self:
        url = self.CONSOLE_PUBLIC_URL
        if url is not None and url.strip().lower() != "off" and not url.startswith(("http://", "https://")):
            raise ValueError("CONSOLE_PUBLIC_URL: an http(s):// address of the console, or `off` for no link")
        return self

    def console_url(self) -> str | None:
        """The console's public address (no trailing slash), or None when CONSOLE_PUBLIC_URL is `off`."""
        url = self.CONSOLE_PUBLIC_URL
        if url is None:
            host = "127.0.0.1" if self.API_HOST in ("0.0.0.0", "::", "") else self.API_HOST
            host = f"[{host}]" if ":" in host else host
            return f"http://{host}:{self.API_PORT}/console"
        return None if url.strip().lower() == "off" else url.rstrip("/")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()


__all__ = ["AgentKey", "ModelProvider", "Settings", "get_settings", "temporal_address"]
