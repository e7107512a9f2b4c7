"""`supportctl tickets reconcile`: store rows whose ticket workflow is no longer running.

A ticket's row in Postgres is written by its workflow. When an operator terminates a workflow (the
Temporal UI's "Terminate", `temporal workflow terminate`), or it fails or times out, nothing writes
the row again: it keeps its last status, so an escalated ticket sits in the human queue for ever.
This command finds those rows and, with `--apply`, closes them with an audit event that says what
Temporal reported. Rows whose workflow Temporal does not know (another namespace, a wiped dev
server, a history past retention) are only listed unless `--include-missing`: a wrong
`TEMPORAL_NAMESPACE` would otherwise close every open ticket.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import asyncpg
from temporalio.api.workflowservice.v1 import DescribeNamespaceRequest
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.service import RPCError, RPCStatusCode

from db import tickets
from settings import Settings
from supportctl.console import emit, fail, say

# What Temporal reports for a workflow that will never write its row again.
ENDED = {
    WorkflowExecutionStatus.COMPLETED: "completed",
    WorkflowExecutionStatus.FAILED: "failed",
    WorkflowExecutionStatus.CANCELED: "canceled",
    WorkflowExecutionStatus.TERMINATED: "terminated",
    WorkflowExecutionStatus.TIMED_OUT: "timed_out",
}
MISSING = "not_found"
DESCRIBE_CONCURRENCY = 16

# The highest version there is: an activity attempt of the ended workflow that was still running (snapshots are
# written concurrently, several versions ahead of the row) cannot land after this and reopen the row.
CLOSE_ROW = """
UPDATE tickets SET status = 'closed', escalated = false,
    resolved_at = coalesce(resolved_at, $3), state_version = 9223372036854775807, updated_at = now()
WHERE ticket_id = $1 AND status = $2
"""
# A refund awaiting approval on such a ticket can never be approved: the workflow that executes approvals
# is gone. It is declined, so it leaves the approvers' lists.
DECLINE_PENDING = """
UPDATE agent_actions SET status = 'rejected', decided_by = $2, decision_note = $3, decided_at = $4
WHERE ticket_id = $1 AND status = 'pending_approval'
"""


class ReconcileError(RuntimeError):
    """Temporal cannot be asked (down, or no such namespace); nothing was changed."""


@dataclass
class Stray:
    """A row that says open while its workflow has ended (or is unknown to Temporal)."""

    ticket_id: str
    workflow_id: str
    store_status: str
    temporal_status: str
    ended_at: datetime | None


@dataclass
class Report:
    checked: int = 0
    stray: list[Stray] = field(default_factory=list)
    closed: list[str] = field(default_factory=list)

    @property
    def running(self) -> int:
        return self.checked - len(self.stray)

    def summary(self) -> dict[str, Any]:
        ended = [s for s in self.stray if s.temporal_status != MISSING]
        return {
            "checked": self.checked,
            "running": self.running,
            "ended": len(ended),
            "missing": len(self.stray) - len(ended),
            "closed": len(self.closed),
        }


async def _describe(client: Client, row: asyncpg.Record) -> Stray | None:
    try:
        d = await client.get_workflow_handle(row["workflow_id"]).describe()
    except RPCError as e:
        if e.status != RPCStatusCode.NOT_FOUND:
            raise
        return Stray(row["ticket_id"], row["workflow_id"], row["status"], MISSING, None)
    ended = ENDED.get(d.status) if d.status is not None else None
    if ended is None:  # running (continued-as-new runs are followed by describe)
        return None
    return Stray(row["ticket_id"], row["workflow_id"], row["status"], ended, d.close_time)


async def reconcile(
    pool: asyncpg.Pool,
    client: Client,
    *,
    apply: bool = False,
    include_missing: bool = False,
    actor: str = "operator",
    say: Callable[[str], None] = lambda _m: None,
) -> Report:
    """Compare every row that is not closed with its workflow; with ``apply``, close the strays."""
    try:  # a namespace Temporal does not have would make every workflow "not found"
        await client.workflow_service.describe_namespace(DescribeNamespaceRequest(namespace=client.namespace))
    except RPCError as e:
        if e.status != RPCStatusCode.NOT_FOUND:
            raise
        raise ReconcileError(
            f"Temporal has no namespace {client.namespace!r}: check TEMPORAL_NAMESPACE; nothing was changed"
        ) from None
    rows = await pool.fetch(
        "SELECT ticket_id, workflow_id, status FROM tickets WHERE status <> 'closed' ORDER BY created_at"
    )
    report = Report(checked=len(rows))
    gate = asyncio.Semaphore(DESCRIBE_CONCURRENCY)
    done, last = 0, time.monotonic()

    async def check(row: asyncpg.Record) -> Stray | None:
        nonlocal done, last
        async with gate:
            found = await _describe(client, row)
        done += 1
        if time.monotonic() - last >= 5:
            last = time.monotonic()
            say(f"  checked {done}/{len(rows)}")
        return found

    say(f"==> checking {len(rows)} tickets that are not closed against their workflows")
    results = await asyncio.gather(*(check(r) for r in rows))
    report.stray = [s for s in results if s is not None]
    if not apply:
        return report
    for s in report.stray:
        if s.temporal_status == MISSING and not include_missing:
            continue
        if await _close(pool, s, actor):
            report.closed.append(s.ticket_id)
    return report


async def _close(pool: asyncpg.Pool, s: Stray, actor: str) -> bool:
    """Close the row and record why, once: a second run (or a row that moved on) changes nothing."""
    now = datetime.now(UTC)
    async with pool.acquire() as conn, conn.transaction():
        status = await conn.execute(CLOSE_ROW, s.ticket_id, s.store_status, s.ended_at or now)
        if not status.endswith(" 1"):
            return False
        why = f"declined: the ticket's workflow ended ({s.temporal_status}) before a decision"
        declined = await conn.execute(DECLINE_PENDING, s.ticket_id, actor, why, now)
        await tickets.insert_audit_event(
            conn, s.ticket_id, event_key=f"reconciled:{s.temporal_status}", kind="workflow_ended",
            data={"temporal_status": s.temporal_status, "previous_status": s.store_status,
                  "ended_at": s.ended_at.isoformat() if s.ended_at else None,
                  "declined_actions": int(declined.split()[-1])},
            created_at=now, actor=actor,
        )  # fmt: skip
    return True


def cmd_reconcile(args: argparse.Namespace, settings: Settings) -> int:
    from clients import connect_temporal, open_pool

    async def run() -> Report:
        pool = await open_pool(settings)
        try:
            client = await connect_temporal(settings)
            return await reconcile(
                pool, client, apply=args.apply, include_missing=args.include_missing, actor=args.actor, say=say
            )
        finally:
            await pool.close()

    try:
        report = asyncio.run(run())
    except ReconcileError as e:
        return fail(str(e))
    except RuntimeError as e:  # Client.connect: "Failed client connect: …"
        if not str(e).startswith("Failed client connect"):
            raise
        return fail(f"cannot reach Temporal at {settings.TEMPORAL_ADDRESS}: {e}; nothing was changed")
    except RPCError as e:  # Temporal went away, or refused, in the middle of the scan (before any row changed)
        return fail(f"Temporal at {settings.TEMPORAL_ADDRESS}: {e.message}; nothing was changed")
    for s in report.stray:
        ended = s.ended_at.isoformat(timespec="seconds") if s.ended_at else "-"
        mark = "closed" if s.ticket_id in report.closed else ("left open" if args.apply else "would close")
        if s.temporal_status == MISSING and not (args.apply and args.include_missing):
            mark = "left open (needs --include-missing)"
        say(f"{s.ticket_id}  store: {s.store_status:<16} temporal: {s.temporal_status:<10} ended: {ended}  {mark}")
    if report.stray and not args.apply:
        say("dry run: nothing changed; run again with --apply to close these rows")
    emit(report.summary())
    return 0


def register(sub: Any) -> None:
    p = sub.add_parser("tickets", help="operator maintenance of ticket rows")
    ops = p.add_subparsers(dest="tickets_command", required=True)
    r = ops.add_parser(
        "reconcile",
        help="find ticket rows still open whose workflow has ended (terminated, failed, timed out) and close them",
    )
    r.add_argument("--apply", action="store_true", help="close the rows found (default: only list them)")
    r.add_argument(
        "--include-missing", action="store_true", help="also close rows whose workflow Temporal does not know"
    )
    r.add_argument("--actor", default="operator", help="who is recorded on the audit event (default: operator)")
    r.set_defaults(func=cmd_reconcile)
