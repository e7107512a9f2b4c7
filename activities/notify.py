"""Notifications to the support team (SLA warnings and breaches, escalations, approvals waiting).

Every notification is first written to the `notifications` table under its key (the outbox: also
the log sink when no webhook is configured), then POSTed to the webhook with the key as
`Idempotency-Key`. A retry after a crash re-sends only what was not delivered.

The POST is signed per the Standard Webhooks specification (`webhook-id` = the key; see
`channels/webhooks/signing.py`) and every try is recorded in the webhook delivery log, where an operator
can read and replay it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import asyncpg
import httpx
from temporalio import activity

from channels.webhooks import store as delivery_log
from channels.webhooks.sender import post_signed
from channels.webhooks.signing import Signer
from db import notifications

log = logging.getLogger("notify")


@dataclass
class Notification:
    key: str  # unique: "<ticket>:<kind>:<discriminator>"
    ticket_id: str
    kind: str  # sla_warning, sla_breach, escalated, approval_requested, approval_timeout, reminder_sent, ...
    message: str
    at: datetime
    data: dict[str, Any] = field(default_factory=dict)


class NotifyActivities:
    def __init__(
        self,
        pool: asyncpg.Pool,
        webhook_url: str | None = None,
        http: httpx.AsyncClient | None = None,
        signer: Signer | None = None,
    ) -> None:
        self._pool = pool
        self._webhook_url = webhook_url
        self._http = http
        self._signer = signer or Signer()

    @activity.defn(name="notify.send")
    async def send(self, n: Notification) -> bool:
        """Record and deliver; True when delivered to the webhook (False when only logged)."""
        payload = {"ticket_id": n.ticket_id, "kind": n.kind, "message": n.message, **n.data}
        async with self._pool.acquire() as conn:
            await notifications.insert_notification(conn, n.key, n.ticket_id, n.kind, payload, n.at)
            if await notifications.notification_delivered(conn, n.key):
                return True
        if not self._webhook_url:
            log.info("notification %s [%s] %s", n.key, n.kind, n.message)
            return False
        http = self._http or httpx.AsyncClient(timeout=10)
        body = {"key": n.key, **payload}
        try:
            o = await post_signed(http, self._webhook_url, self._signer, n.key, body, {"Idempotency-Key": n.key})
        finally:
            if self._http is None:
                await http.aclose()
        async with self._pool.acquire() as conn:
            await notifications.mark_notification(conn, n.key, o.delivered)
            await delivery_log.record(
                conn, webhook_id=n.key, stream="notification", endpoint=self._webhook_url,
                event_type=f"notification.{n.kind}", ticket_id=n.ticket_id, payload=body,
                state="delivered" if o.delivered else "failed", status=o.status, error=o.error,
            )  # fmt: skip
        if (
            not o.delivered
        ):  # retried by Temporal with backoff; 4xx too, since the receiver may be misconfigured briefly
            raise RuntimeError(f"webhook answered {o.error} for notification {n.key}")
        return True
