"""Account actions an agent may take, and the authority it has to take them.

The authority limit is enforced here, in code, not by the prompt: whatever the customer writes, a
help article says, or a model decides, a refund or credit above what is left of the agent's limit on
the ticket becomes an approval request for a human. Request ids are derived from the ticket, the
kind, the amount and the reference, so a retried turn proposes (or executes) the very same request
and the ledger stores it once.

The ledger itself is a protocol: Postgres in the worker (`activities.actions.PgActionLedger`), an
in-memory one (`MemoryLedger`) for tests and offline evaluation.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field, replace
from decimal import ROUND_HALF_UP, Decimal
from typing import Literal, Protocol

from pydantic import BaseModel, Field

from agents.prompts import REFUND_LIMIT_USD
from domain.refunds import Charge
from domain.turns import ActionRequest

# The refund / credit authority of an AI agent per ticket (the policy the prompts state and the help
# center's refund article). Amounts are compared in cents so floats never decide a limit.
AUTHORITY_LIMIT_USD = Decimal(REFUND_LIMIT_USD)
MAX_ACTION_USD = Decimal(1_000_000)  # anything larger is a typo or an attack, never a request
Severity = Literal["low", "medium", "high", "critical"]
LedgerStatus = Literal["executed", "pending_approval", "rejected"]


class ActionConflictError(Exception):
    """The same request id was used for a different action (ticket, kind or amount)."""


def to_cents(amount: float | Decimal) -> Decimal:
    return Decimal(str(amount)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def normalize_reference(reference: str | None) -> str | None:
    """`" lum-20931 "` -> `"LUM-20931"`; empty -> None. Case and spacing never change an id."""
    if reference is None:
        return None
    cleaned = re.sub(r"\s+", "", reference).upper()
    return cleaned or None


def action_request_id(ticket_id: str, kind: str, amount_usd: float | Decimal, reference: str | None) -> str:
    """A stable id: the same ticket, kind, amount (in cents) and reference always give the same id."""
    key = f"{ticket_id}|{kind}|{to_cents(amount_usd)}|{normalize_reference(reference) or ''}"
    return "act_" + hashlib.sha256(key.encode()).hexdigest()[:24]


def make_action(
    ticket_id: str, kind: Literal["refund", "credit"], amount_usd: float, reason: str, reference: str | None
) -> ActionRequest:
    ref = normalize_reference(reference)
    amount = float(to_cents(amount_usd))
    return ActionRequest(
        request_id=action_request_id(ticket_id, kind, amount, ref),
        kind=kind,
        amount_usd=amount,
        reason=reason.strip()[:500] or f"{kind} requested by the customer",
        reference=ref,
    )


def bug_report_id(ticket_id: str, turn_seq: int, index: int) -> str:
    """Keyed by the turn (the transcript's last seq), not the wording: a retried turn files the same id."""
    return "bug_" + hashlib.sha256(f"{ticket_id}|{turn_seq}|{index}".encode()).hexdigest()[:20]


@dataclass(frozen=True)
class LedgerResult:
    request_id: str
    status: LedgerStatus
    amount_usd: float
    replayed: bool  # the request was already on file (a retried turn): nothing new was written
    agent_total_usd: float  # executed under agent authority on this ticket, this request included


class BugReport(BaseModel):
    report_id: str
    ticket_id: str
    title: str = Field(min_length=1, max_length=200)
    details: str = Field(min_length=1, max_length=4000)
    severity: Severity
    reported_by: str


class ActionLedger(Protocol):
    async def apply_within_authority(
        self, ticket_id: str, action: ActionRequest, *, agent: str, limit_usd: Decimal
    ) -> LedgerResult:
        """Execute `action` if the agent's remaining authority covers it, else file it for approval."""
        ...

    async def record_bug_report(self, report: BugReport) -> bool:
        """Store the report once; True when it is new."""
        ...

    async def get_charge(self, invoice_id: str, *, excluding: str | None = None) -> Charge | None:
        """The invoice `invoice_id`, whoever's it is, with all that was refunded (or awaits approval) on it,
        except by the request `excluding` (a retried turn's own refund does not count against itself)."""
        ...

    async def list_charges(self, customer_id: str) -> list[Charge]:
        """The customer's latest invoices, newest first, each with what was refunded on it."""
        ...


@dataclass
class _Entry:
    ticket_id: str
    action: ActionRequest
    status: LedgerStatus
    agent_authority: bool


@dataclass
class MemoryLedger:
    """The ledger's rules without a database (same semantics as the Postgres ledger)."""

    entries: dict[str, _Entry] = field(default_factory=dict)
    bug_reports: dict[str, BugReport] = field(default_factory=dict)
    invoices: dict[str, Charge] = field(default_factory=dict)  # by invoice id; refunded_usd: by billing

    def add_invoices(self, *charges: Charge) -> MemoryLedger:
        for charge in charges:
            self.invoices[normalize_reference(charge.invoice_id) or charge.invoice_id] = charge
        return self

    def _with_refunds(self, charge: Charge, excluding: str | None = None) -> Charge:
        ref = normalize_reference(charge.invoice_id)
        claimed = sum(
            (
                to_cents(e.action.amount_usd)
                for e in self.entries.values()
                if e.action.kind == "refund"
                and e.action.reference == ref
                and e.status != "rejected"
                and e.action.request_id != excluding
            ),
            Decimal(0),
        )
        return replace(charge, refunded_usd=to_cents(charge.refunded_usd) + claimed)

    async def get_charge(self, invoice_id: str, *, excluding: str | None = None) -> Charge | None:
        found = self.invoices.get(normalize_reference(invoice_id) or "")
        return None if found is None else self._with_refunds(found, excluding)

    async def list_charges(self, customer_id: str) -> list[Charge]:
        mine = [self._with_refunds(c) for c in self.invoices.values() if c.customer_id == customer_id]
        return sorted(mine, key=lambda c: c.charged_at, reverse=True)

    def agent_total(self, ticket_id: str) -> Decimal:
        return sum(
            (
                to_cents(e.action.amount_usd)
                for e in self.entries.values()
                if e.ticket_id == ticket_id and e.status == "executed" and e.agent_authority
            ),
            Decimal(0),
        )

    async def apply_within_authority(
        self, ticket_id: str, action: ActionRequest, *, agent: str, limit_usd: Decimal
    ) -> LedgerResult:
        known = self.entries.get(action.request_id)
        if known is not None:
            if (known.ticket_id, known.action.kind, to_cents(known.action.amount_usd)) != (
                ticket_id,
                action.kind,
                to_cents(action.amount_usd),
            ):
                raise ActionConflictError(f"request {action.request_id} already names a different action")
            return LedgerResult(
                action.request_id, known.status, action.amount_usd, True, float(self.agent_total(ticket_id))
            )
        total = self.agent_total(ticket_id)
        within = total + to_cents(action.amount_usd) <= limit_usd
        status: LedgerStatus = "executed" if within else "pending_approval"
        self.entries[action.request_id] = _Entry(ticket_id, action, status, within)
        return LedgerResult(action.request_id, status, action.amount_usd, False, float(self.agent_total(ticket_id)))

    async def record_bug_report(self, report: BugReport) -> bool:
        if report.report_id in self.bug_reports:
            return False
        self.bug_reports[report.report_id] = report
        return True

    def executed(self, ticket_id: str | None = None) -> list[ActionRequest]:
        return [
            e.action
            for e in self.entries.values()
            if e.status == "executed" and (ticket_id is None or e.ticket_id == ticket_id)
        ]
