"""Account actions: carrying out (or declining) what a human decided on an agent's proposal.

An agent turn executes refunds and credits within its own authority itself (through
`PgActionLedger`, inside the conversation activity); anything above it comes back to the workflow as
`needs_approval` with an `ActionRequest`. Once a human approves, the workflow calls
`actions.execute_action`; a rejection is recorded with `actions.reject_action`. Both are idempotent
by the request's stable id: delivering the same decision twice changes nothing the second time.

"Executing" here means recording the refund or credit in the ledger (`agent_actions`), which is the
system of record the billing team pays out from; a payment provider integration would be called here
with `request_id` as its idempotency key.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Literal

import asyncpg
from temporalio import activity
from temporalio.exceptions import ApplicationError

from agents.actions import ActionConflictError, BugReport, LedgerResult
from db import actions as ledger
from db import invoices
from domain.refunds import Charge
from domain.turns import ActionRequest


@dataclass
class ExecuteActionInput:
    ticket_id: str
    action: ActionRequest
    approved_by: str  # the human who approved it (user id or e-mail)


@dataclass
class RejectActionInput:
    ticket_id: str
    action: ActionRequest
    rejected_by: str
    note: str | None = None


@dataclass
class ActionResult:
    request_id: str
    status: Literal["executed", "rejected"]
    kind: str
    amount_usd: float
    decided_by: str
    decided_at: datetime
    replayed: bool  # the same decision was already on file: nothing new happened


def _conflict(err: ledger.ActionConflict) -> ApplicationError:
    return ApplicationError(str(err), type="ActionConflictError", non_retryable=True)


class ActionActivities:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def _decide(
        self,
        ticket_id: str,
        action: ActionRequest,
        status: Literal["executed", "rejected"],
        by: str,
        note: str | None,
    ) -> ActionResult:
        if not by.strip():
            raise ApplicationError(
                "a decision needs the deciding human's id", type="ActionInputError", non_retryable=True
            )
        try:
            res = await ledger.decide(self._pool, ticket_id, action, status=status, decided_by=by, note=note)
        except ledger.ActionConflict as err:
            raise _conflict(err) from err
        rec = res.record
        if rec.decided_at is None or rec.decided_by is None or rec.status == "pending_approval":
            raise RuntimeError(f"action {rec.request_id} is still pending after a decision")  # retried by Temporal
        return ActionResult(
            request_id=rec.request_id,
            status=rec.status,
            kind=rec.kind,
            amount_usd=float(rec.amount_usd),
            decided_by=rec.decided_by,
            decided_at=rec.decided_at,
            replayed=res.replayed,
        )

    @activity.defn(name="actions.execute_action")
    async def execute_action(self, inp: ExecuteActionInput) -> ActionResult:
        """Carry out an approved refund or credit, once."""
        return await self._decide(inp.ticket_id, inp.action, "executed", inp.approved_by, None)

    @activity.defn(name="actions.reject_action")
    async def reject_action(self, inp: RejectActionInput) -> ActionResult:
        """Record that a human declined the proposal, once (a later approval of it is then refused)."""
        return await self._decide(inp.ticket_id, inp.action, "rejected", inp.rejected_by, inp.note)


class PgActionLedger:
    """The agents' `ActionLedger` on Postgres (used by the conversation activity's tools)."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def apply_within_authority(
        self, ticket_id: str, action: ActionRequest, *, agent: str, limit_usd: Decimal
    ) -> LedgerResult:
        try:
            res = await ledger.apply_within_authority(self._pool, ticket_id, action, agent=agent, limit_usd=limit_usd)
        except ledger.ActionConflict as err:
            raise ActionConflictError(str(err)) from err
        return LedgerResult(
            request_id=res.record.request_id,
            status=res.record.status,
            amount_usd=float(res.record.amount_usd),
            replayed=res.replayed,
            agent_total_usd=float(res.agent_total_usd),
        )

    async def record_bug_report(self, report: BugReport) -> bool:
        return await ledger.insert_bug_report(
            self._pool,
            report_id=report.report_id,
            ticket_id=report.ticket_id,
            title=report.title,
            details=report.details,
            severity=report.severity,
            reported_by=report.reported_by,
        )

    async def get_charge(self, invoice_id: str, *, excluding: str | None = None) -> Charge | None:
        return await invoices.get_charge(self._pool, invoice_id, excluding=excluding)

    async def list_charges(self, customer_id: str) -> list[Charge]:
        return await invoices.list_charges(self._pool, customer_id)
