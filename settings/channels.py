"""The channels: e-mail in and out, signed webhooks and ticket events, the chat widget (docs/channels.md)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, SecretStr, field_validator


class ChannelSettings(BaseModel):
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
    # .handed_over, .sla_warning, .sla_breached, .resolved, .reopened, .csat; email.bounced, .suppressed)
    # are POSTed here by the worker's webhook dispatcher, in order, retried with backoff up to
    # EVENT_WEBHOOK_MAX_BACKOFF_S.
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
