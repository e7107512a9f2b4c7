"""The agents' ledger: refunds and credits (`agent_actions`) and engineering bug reports (`bug_reports`).

Every write is keyed by an id the caller derived deterministically, and every decision about a
ticket's actions is taken under a per-ticket advisory lock inside one transaction, so two retries of
the same turn (or an approval delivered twice) can neither execute an action twice nor both fit
under the agent's limit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Literal

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from domain.turns import ActionRequest

ActionStatus = Literal["pending_approval", "executed", "rejected"]

LOCK_TICKET = "SELECT pg_advisory_xact_lock(hashtextextended('agent_actions:' || $1, 0))"
GET_ACTION = "SELECT * FROM agent_actions WHERE request_id = $1"
GET_ACTION_FOR_UPDATE = "SELECT * FROM agent_actions WHERE request_id = $1 FOR UPDATE"
LIST_ACTIONS = "SELECT * FROM agent_actions WHERE ticket_id = $1 ORDER BY created_at, request_id"
AGENT_TOTAL = """
SELECT coalesce(sum(amount_usd), 0) FROM agent_actions
WHERE ticket_id = $1 AND status = 'executed' AND authority = 'agent'
"""
INSERT_ACTION = """
INSERT INTO agent_actions (request_id, ticket_id, kind, amount_usd, reason, reference, status, authority,
                           requested_by, decided_by, decided_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, CASE WHEN $7 = 'pending_approval' THEN NULL ELSE now() END)
"""
DECIDE_ACTION = """
UPDATE agent_actions SET status = $2, authority = $3, decided_by = $4, decision_note = $5, decided_at = now()
WHERE request_id = $1 AND status = 'pending_approval'
"""
INSERT_BUG_REPORT = """
INSERT INTO bug_reports (report_id, ticket_id, title, details, severity, reported_by)
VALUES ($1, $2, $3, $4, $5, $6)
ON CONFLICT (report_id) DO NOTHING
"""
LIST_BUG_REPORTS = "SELECT * FROM bug_reports WHERE ticket_id = $1 ORDER BY created_at, report_id"
SEVERITIES = ["low", "medium", "high", "critical"]  # agents.actions.Severity, least first
# Engineering's inbox: newest first, with the product the ticket was about.
RECENT_BUG_REPORTS = """
SELECT b.*, t.product, t.subject AS ticket_subject
FROM bug_reports b JOIN tickets t ON t.ticket_id = b.ticket_id
WHERE b.created_at >= $1 AND ($2::text[] IS NULL OR b.severity = ANY($2::text[]))
  AND ($3::text IS NULL OR t.product = $3)
ORDER BY b.created_at DESC, b.report_id
LIMIT $4
"""
# Actions waiting on a person, with the approver the ticket last asked (its latest approval_requested
# notification names one; it moves up the APPROVERS chain when an approver lets it time out).
LIST_PENDING = """
SELECT a.ticket_id, a.request_id, a.kind, a.amount_usd, a.reason, a.reference, a.requested_by, a.created_at,
       (SELECT n.payload ->> 'approver' FROM notifications n
        WHERE n.ticket_id = a.ticket_id AND n.kind = 'approval_requested'
          AND n.payload -> 'action' ->> 'request_id' = a.request_id
        ORDER BY n.created_at DESC, n.notification_key DESC LIMIT 1) AS routed_to
FROM agent_actions a
WHERE a.ticket_id = ANY($1::text[]) AND a.status = 'pending_approval'
ORDER BY a.created_at, a.request_id
"""


class ActionConflict(Exception):
    """The request id is on file for a different action, or the action was already decided otherwise."""


@dataclass(frozen=True)
class ActionRecord:
    request_id: str
    ticket_id: str
    kind: str
    amount_usd: Decimal
    reason: str
    reference: str | None
    status: ActionStatus
    authority: str | None
    requested_by: str
    decided_by: str | None
    decision_note: str | None
    created_at: datetime
    decided_at: datetime | None


@dataclass(frozen=True)
class ApplyResult:
    record: ActionRecord
    replayed: bool  # already on file before this call: nothing was written
    agent_total_usd: Decimal


def _record(row: asyncpg.Record) -> ActionRecord:
    return ActionRecord(**dict(row))


async def _fetch(conn: asyncpg.Connection | PoolConnectionProxy, request_id: str) -> asyncpg.Record:
    row = await conn.fetchrow(GET_ACTION, request_id)
    if row is None:  # written in this very transaction: cannot happen, but never pass None on
        raise RuntimeError(f"action {request_id} vanished inside its own transaction")
    return row


def _check_same(record: ActionRecord, ticket_id: str, action: ActionRequest) -> None:
    if (record.ticket_id, record.kind, record.amount_usd) != (ticket_id, action.kind, _amount(action)):
        raise ActionConflict(
            f"request {action.request_id} is on file as a {record.kind} of ${record.amount_usd} "
            f"on {record.ticket_id}, not a {action.kind} of ${_amount(action)} on {ticket_id}"
        )


def _amount(action: ActionRequest) -> Decimal:
    return Decimal(str(action.amount_usd)).quantize(Decimal("0.01"))


async def apply_within_authority(
    pool: asyncpg.Pool, ticket_id: str, action: ActionRequest, *, agent: str, limit_usd: Decimal
) -> ApplyResult:
    """Execute the action if the agent's executed total on the ticket stays within `limit_usd`,
    otherwise file it as `pending_approval`. A request already on file is returned as it is."""
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute(LOCK_TICKET, ticket_id)
        row = await conn.fetchrow(GET_ACTION, action.request_id)
        if row is not None:
            known = _record(row)
            _check_same(known, ticket_id, action)
            return ApplyResult(known, True, Decimal(await conn.fetchval(AGENT_TOTAL, ticket_id)))
        total = Decimal(await conn.fetchval(AGENT_TOTAL, ticket_id))
        within = total + _amount(action) <= limit_usd
        await conn.execute(
            INSERT_ACTION,
            action.request_id,
            ticket_id,
            action.kind,
            _amount(action),
            action.reason,
            action.reference,
            "executed" if within else "pending_approval",
            "agent" if within else None,
            agent,
            agent if within else None,
        )
        stored = _record(await _fetch(conn, action.request_id))
        return ApplyResult(stored, False, total + (_amount(action) if within else Decimal(0)))


async def decide(
    pool: asyncpg.Pool,
    ticket_id: str,
    action: ActionRequest,
    *,
    status: Literal["executed", "rejected"],
    decided_by: str,
    note: str | None = None,
    requested_by: str = "agent",
) -> ApplyResult:
    """A human's decision on an action: execute (approved) or reject it, once.

    Deciding the same way twice is a no-op (`replayed`); deciding the other way after the fact, or
    reusing the id for a different action, raises `ActionConflict`.
    """
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute(LOCK_TICKET, ticket_id)
        row = await conn.fetchrow(GET_ACTION_FOR_UPDATE, action.request_id)
        replayed = False
        if row is None:
            # The proposal row is written by the agent turn; accept a decision without one anyway, so
            # an approval is never lost because of where the proposal was recorded.
            await conn.execute(
                INSERT_ACTION,
                action.request_id,
                ticket_id,
                action.kind,
                _amount(action),
                action.reason,
                action.reference,
                status,
                "human",
                requested_by,
                decided_by,
            )
            if note is not None:
                await conn.execute(
                    "UPDATE agent_actions SET decision_note = $2 WHERE request_id = $1", action.request_id, note
                )
        else:
            known = _record(row)
            _check_same(known, ticket_id, action)
            if known.status == status:
                replayed = True
            elif known.status != "pending_approval":
                raise ActionConflict(f"request {action.request_id} was already {known.status}; it cannot be {status}")
            else:
                await conn.execute(DECIDE_ACTION, action.request_id, status, "human", decided_by, note)
        stored = _record(await _fetch(conn, action.request_id))
        return ApplyResult(stored, replayed, Decimal(await conn.fetchval(AGENT_TOTAL, ticket_id)))


async def get_action(pool: asyncpg.Pool, request_id: str) -> ActionRecord | None:
    row = await pool.fetchrow(GET_ACTION, request_id)
    return None if row is None else _record(row)


async def list_actions(pool: asyncpg.Pool, ticket_id: str) -> list[ActionRecord]:
    return [_record(r) for r in await pool.fetch(LIST_ACTIONS, ticket_id)]


@dataclass(frozen=True)
class PendingAction:
    """An action above the agent's authority, waiting for a human's approve / reject."""

    ticket_id: str
    request_id: str  # what a decision's action_request_id names
    kind: str
    amount_usd: Decimal
    reason: str
    reference: str | None
    requested_by: str
    created_at: datetime
    routed_to: str | None  # the approver it waits on, when the store has the ticket's request for one


async def pending_actions(
    conn: asyncpg.Pool | asyncpg.Connection | PoolConnectionProxy, ticket_ids: Sequence[str]
) -> dict[str, list[PendingAction]]:
    """The pending actions of these tickets, by ticket id (a ticket without any is absent)."""
    found: dict[str, list[PendingAction]] = {}
    for row in await conn.fetch(LIST_PENDING, list(ticket_ids)):
        found.setdefault(row["ticket_id"], []).append(PendingAction(**dict(row)))
    return found


@dataclass(frozen=True)
class BugReportRecord:
    report_id: str
    ticket_id: str
    title: str
    details: str
    severity: str
    reported_by: str
    created_at: datetime


async def insert_bug_report(
    pool: asyncpg.Pool,
    *,
    report_id: str,
    ticket_id: str,
    title: str,
    details: str,
    severity: str,
    reported_by: str,
) -> bool:
    """Store a bug report once; True when this call wrote it."""
    status = await pool.execute(INSERT_BUG_REPORT, report_id, ticket_id, title, details, severity, reported_by)
    return bool(status.endswith(" 1"))


async def list_bug_reports(pool: asyncpg.Pool, ticket_id: str) -> list[BugReportRecord]:
    return [BugReportRecord(**dict(r)) for r in await pool.fetch(LIST_BUG_REPORTS, ticket_id)]


@dataclass(frozen=True)
class BugReportListed(BugReportRecord):
    product: str | None
    ticket_subject: str


async def recent_bug_reports(
    pool: asyncpg.Pool, since: datetime, *, min_severity: str = "low", product: str | None = None, limit: int = 100,
) -> list[BugReportListed]:  # fmt: skip
    """The agents' bug reports since `since` of `min_severity` or worse, newest first: what engineering triages."""
    severities = SEVERITIES[SEVERITIES.index(min_severity) :]
    rows = await pool.fetch(RECENT_BUG_REPORTS, since, severities, product, limit)
    return [BugReportListed(**dict(r)) for r in rows]
