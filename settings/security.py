"""Payload encryption and its keys, the codec endpoint, the console's sessions (docs/security.md,
docs/console.md)."""

from __future__ import annotations

from typing import Self

from pydantic import BaseModel, Field, SecretStr, model_validator


class SecuritySettings(BaseModel):
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
    # AGENT_KEYS: the local stack); otherwise refused until a CODEC_KEY is set (Settings checks that it
    # is no API key; the default origins follow TEMPORAL_UI_PORT).
    CODEC_KEY: SecretStr | None = None
    # Browser origins allowed to call it (the Temporal UI); unset = the local UI on TEMPORAL_UI_PORT.
    CODEC_CORS_ORIGINS: list[str] = Field(default_factory=list)

    # The support console (console/, docs/console.md): signs its session cookies with this secret; unset =
    # a random secret per API process (sessions end when it restarts; several API processes need it set).
    CONSOLE_SECRET: SecretStr | None = None
    CONSOLE_SESSION_HOURS: float = Field(default=12.0, gt=0)  # a sign-in lasts this long
    # The Temporal UI's address for the console's link from a ticket to its workflow; unset =
    # http://127.0.0.1:<TEMPORAL_UI_PORT>.
    CONSOLE_TEMPORAL_UI_URL: str | None = None
    # The console's address as the Temporal UI's users reach it, for the link back from a ticket's
    # workflow (its Details panel) to the ticket's console page; unset = the API's own address
    # (http://<API_HOST>:<API_PORT>/console, 127.0.0.1 for a wildcard host); `off` = no link.
    CONSOLE_PUBLIC_URL: str | None = None
    # OIDC sign-in to the console (console/oidc.py, docs/console.md#oidc-sign-in): the authorization-code
    # flow with PKCE against this issuer (its /.well-known/openid-configuration); unset = off. A person
    # is let in when their ID token's e-mail is in OIDC_EMAIL_DOMAINS (roles: OIDC_DEFAULT_ROLES) or its
    # OIDC_ROLES_CLAIM lists roles (those roles); the agent id is the e-mail.
    OIDC_ISSUER: str | None = None
    OIDC_CLIENT_ID: str | None = None
    OIDC_CLIENT_SECRET: SecretStr | None = None
    OIDC_PROVIDER_NAME: str = "single sign-on"  # the button: "Sign in with <name>"
    OIDC_EMAIL_DOMAINS: list[str] = Field(default_factory=list)
    OIDC_ROLES_CLAIM: str = "support_roles"
    OIDC_DEFAULT_ROLES: list[str] = Field(default_factory=lambda: ["agent"])

    @model_validator(mode="after")
    def _payload_keys_are_keys(self) -> Self:
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
        return self

    @model_validator(mode="after")
    def _oidc_is_whole(self) -> Self:
        if self.OIDC_ISSUER is None:
            return self
        if not self.OIDC_ISSUER.startswith(("https://", "http://")):
            raise ValueError("OIDC_ISSUER: the issuer's https:// address")
        if not self.OIDC_CLIENT_ID:
            raise ValueError("OIDC_ISSUER is set but OIDC_CLIENT_ID is not")
        self.OIDC_EMAIL_DOMAINS = [d.strip().lower().lstrip("@") for d in self.OIDC_EMAIL_DOMAINS if d.strip()]
        return self
