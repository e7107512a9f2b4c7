"""Shared by the console's tests: agents with keys and roles, a refund waiting on an approver, sign-in."""

from __future__ import annotations

import random
import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
from pydantic import SecretStr

from db.invoices import upsert_invoices
from domain.refunds import Charge
from settings import AgentKey
from tests.api_stack import Stack

KEYS = {
    "ana": ("ana-console-key-0123456789", ["agent"]),
    "lead": ("lead-console-key-0123456789", ["agent", "team-lead"]),
    "auditor": ("auditor-console-key-01234567", ["auditor"]),
}
AGENT_KEYS = [AgentKey(key=SecretStr(k), agent_id=a, roles=r) for a, (k, r) in KEYS.items()]
# What the customer's channel sends: with AGENT_KEYS set every route needs a key (api/roles.py), and an
# agent's key may open tickets and add customer messages as the integration's does.
AS_CHANNEL = {"Authorization": f"Bearer {KEYS['ana'][0]}"}
REFUND = (
    "Five days ago our card was charged $2,539.80 for the annual Pro renewal. We meant to cancel. "
    "Please refund the annual charge. Invoice number is {invoice}."
)


async def pending_refund(stack: Stack, http: httpx.AsyncClient, customer_id: str) -> tuple[str, str]:
    """A ticket whose refund above the agents' limit (an annual renewal charged five days ago, an invoice
    of its own) waits on the team lead."""
    invoice = f"LUM-{random.randrange(10**8, 10**9)}"
    charged = datetime.now(UTC) - timedelta(days=5)
    await upsert_invoices(
        stack.pool, [Charge(invoice, customer_id, Decimal("2539.80"), charged, description="Pro plan, annual renewal")]
    )
    body = {"customer_id": customer_id, "channel": "email", "subject": "Refund", "body": REFUND.format(invoice=invoice)}
    r = await http.post("/tickets", json=body, headers=AS_CHANNEL)
    assert r.status_code == 201, r.text
    tid: str = r.json()["ticket_id"]
    t = await stack.wait_ticket(tid, lambda t: bool(t["pending_actions"] and t["pending_actions"][0]["routed_to"]))
    return tid, t["pending_actions"][0]["action_request_id"]


def field(html: str, name: str) -> str:
    m = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert m, f"no {name} in the page"
    return m.group(1)


def form_fields(html: str, kind: str) -> dict[str, str]:
    """The hidden fields of the page's first form that decides `kind` (its preconditions and ids)."""
    for form in re.findall(r"<form[^>]*decide\".*?</form>", html, flags=re.S):
        if f'value="{kind}"' in form:
            return dict(re.findall(r'<input type="hidden" name="([a-z_]+)" value="([^"]*)"', form))
    raise AssertionError(f"no {kind} form in the page")


async def sign_in(http: httpx.AsyncClient, key: str = "", name: str = "") -> httpx.Response:
    page = await http.get("/console/sign-in")
    data: dict[str, Any] = {"csrf": field(page.text, "csrf"), "next": "/console/queue", "key": key, "name": name}
    return await http.post("/console/sign-in", data=data)
