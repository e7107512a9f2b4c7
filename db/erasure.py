"""The right to be forgotten: erase a customer's words from the ticket store and from Temporal.

Used by `supportctl customers erase` and `DELETE /customers/{id}`. What makes Temporal forget is step 3's
destruction of the customer's data key (crypto-shredding, db/data_keys.py): every payload of their
tickets was encrypted with it, so every copy of those histories (in Temporal, its archives, backups)
is unreadable from then on, whether or not the workflows are ever deleted. Three steps, in this order:

1. Refuse while the customer has a ticket that is not closed: its running workflow would write the
   text back (a snapshot, a message) after we erased it. The operator resolves or reconciles it first.
2. Delete each of the customer's ticket workflows from Temporal: their histories hold every message.
   NOT_FOUND is fine (already deleted, or past retention). If Temporal cannot be asked, nothing in
   Postgres has changed yet, and a second run finishes the job.
3. In one transaction, overwrite every free text the customer wrote or that quotes them, and
   anonymise the customer's row, keeping it and every id: the ledger of refunds and credits (amounts,
   kinds, dates) is a financial record and stays whole. Delete what the channels kept (the e-mail rows
   of their mails and tickets, with the raw mails and attachments on disk that no other mail shares)
   and redact the payloads of the webhooks sent about their tickets. Destroy the customer's data key.
   The erasure itself is recorded, with counts.

Step 2 is housekeeping now (histories take space, and ones written before the codec are plaintext); the
key's destruction does not wait for it: Temporal deletes asynchronously, and archives and backups never.

What counts as "left to erase" is what still carries text: a ticket whose subject is not yet
"[erased]", a message whose body is not, an e-mail row of theirs, a webhook payload not yet redacted.
A second erasure finds none, changes nothing and records nothing.
"""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.workflowservice.v1 import DeleteWorkflowExecutionRequest, DescribeNamespaceRequest
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from codec.payload import EncryptionCodec
from db import data_keys

ERASED = "[erased]"
DELETE_CONCURRENCY = 8

CUSTOMER_ROW = "SELECT email, name, company, lifetime_value FROM customers WHERE customer_id = $1"
# FOR UPDATE inside the erasure's transaction: a ticket being opened for this customer (its insert takes a
# key-share lock on the row through the foreign key) waits until the erasure commits, and is then seen.
LOCK_CUSTOMER = "SELECT 1 FROM customers WHERE customer_id = $1 FOR UPDATE"
OPEN_TICKETS = "SELECT ticket_id FROM tickets WHERE customer_id = $1 AND status <> 'closed' ORDER BY created_at"
TICKETS = "SELECT ticket_id, workflow_id FROM tickets WHERE customer_id = $1 ORDER BY created_at"
LEFT_TICKETS = "SELECT count(*) FROM tickets WHERE customer_id = $1 AND subject <> $2"
LEFT_MESSAGES = """
SELECT count(*) FROM messages m JOIN tickets t USING (ticket_id) WHERE t.customer_id = $1 AND m.body <> $2
"""
# $1 = the customer's ticket ids, $2 = ERASED. Every statement only writes rows that still carry text, so a
# second erasure writes nothing.
ERASE = [
    # replies quote the customer, so every sender's message goes; a customer's author is their name or email
    """UPDATE messages SET body = $2, author = CASE WHEN sender = 'customer' THEN $2 ELSE author END
       WHERE ticket_id = ANY($1) AND (body <> $2 OR (sender = 'customer' AND author <> $2))""",
    """UPDATE tickets SET subject = $2,
           csat_comment = CASE WHEN csat_comment IS NULL THEN NULL ELSE $2 END,
           escalation_reason = CASE WHEN escalation_reason IS NULL THEN NULL ELSE $2 END
       WHERE ticket_id = ANY($1) AND (subject <> $2 OR csat_comment <> $2 OR escalation_reason <> $2)""",
    "UPDATE ticket_events SET data = '{}'::jsonb WHERE ticket_id = ANY($1) AND data <> '{}'::jsonb AND $2 <> ''",
    "UPDATE notifications SET payload = '{}'::jsonb WHERE ticket_id = ANY($1) AND payload <> '{}'::jsonb AND $2 <> ''",
    # the ledger keeps kind, amount, status, who and when; only the agents' free text about the customer goes
    """UPDATE agent_actions SET reason = $2, reference = CASE WHEN reference IS NULL THEN NULL ELSE $2 END
       WHERE ticket_id = ANY($1) AND (reason <> $2 OR reference <> $2)""",
    "UPDATE bug_reports SET title = $2, details = $2 WHERE ticket_id = ANY($1) AND (title <> $2 OR details <> $2)",
    # a decision's fingerprint hashes its message to the customer; the tickets are closed, so no retry needs it
    "DELETE FROM decision_requests WHERE ticket_id = ANY($1) AND $2 <> ''",
]
DELETE_OUTBOX = "DELETE FROM customer_outbox WHERE customer_id = $1 OR ticket_id = ANY($2)"
# The channels' copies. $1 = the customer's ticket ids, $2 = the customer's e-mail address (as it is before
# the erasure), $3 = the payload an erased webhook delivery keeps.
ERASED_PAYLOAD = {"erased": True}
LEFT_IN_CHANNELS = """
SELECT (SELECT count(*) FROM email_inbound WHERE ticket_id = ANY($1) OR lower(sender) = lower($2))
     + (SELECT count(*) FROM email_messages WHERE ticket_id = ANY($1) OR lower(customer_email) = lower($2))
     + (SELECT count(*) FROM email_threads WHERE ticket_id = ANY($1))
     + (SELECT count(*) FROM email_participants WHERE ticket_id = ANY($1) OR address = lower($2)
                                                   OR added_by = lower($2))
     + (SELECT count(*) FROM email_suppressions WHERE address = lower($2))
     + (SELECT count(*) FROM webhook_deliveries WHERE ticket_id = ANY($1) AND payload <> $3::jsonb)
"""
# Every mail the customer sent, or that went into their tickets: the raw mail and its attachments, on disk too.
ERASE_MAIL = """
WITH gone AS (DELETE FROM email_inbound WHERE ticket_id = ANY($1) OR lower(sender) = lower($2)
              RETURNING message_id, raw_path),
     attached AS (DELETE FROM email_attachments WHERE message_id IN (SELECT message_id FROM gone)
                  RETURNING stored_path)
SELECT raw_path AS path FROM gone WHERE raw_path IS NOT NULL
UNION SELECT stored_path FROM attached WHERE stored_path IS NOT NULL
"""
ERASE_MAIL_ROWS = [
    "DELETE FROM email_messages WHERE ticket_id = ANY($1) OR lower(customer_email) = lower($2)",
    "DELETE FROM email_participants WHERE ticket_id = ANY($1) OR address = lower($2)",
]
ERASE_THREADS = "DELETE FROM email_threads WHERE ticket_id = ANY($1)"
# their address is no longer ours to hold back (a suppression after a bounce names it)
UNSUPPRESS = "DELETE FROM email_suppressions WHERE address = lower($1)"
UNNAME_COPIER = "UPDATE email_participants SET added_by = '[erased]' WHERE added_by = lower($1)"
# what we POSTed about their tickets (messages to them, events, staff notifications) quoted them
REDACT_WEBHOOKS = """
UPDATE webhook_deliveries SET payload = $2::jsonb, last_error = NULL WHERE ticket_id = ANY($1) AND payload <> $2::jsonb
"""
# Files are stored by content hash: another mail with the very same bytes keeps its file.
STILL_USED = """
SELECT raw_path AS path FROM email_inbound WHERE raw_path = ANY($1)
UNION SELECT stored_path FROM email_attachments WHERE stored_path = ANY($1)
"""
ANONYMISE = """
UPDATE customers SET email = $2, name = $3, company = NULL, lifetime_value = 0
WHERE customer_id = $1 AND (email, name, company, lifetime_value) IS DISTINCT FROM ($2, $3, NULL, 0)
"""
HAS_DATA_KEY = "SELECT 1 FROM customer_data_keys WHERE customer_id = $1"
RECORD = """
INSERT INTO customer_erasures (customer_id, actor, tickets, messages, workflows_deleted) VALUES ($1, $2, $3, $4, $5)
"""


class CustomerNotFound(LookupError):
    """No customer with this id."""


class OpenTickets(RuntimeError):
    """The customer has tickets that are not closed; nothing was changed."""

    def __init__(self, customer_id: str, ticket_ids: list[str]) -> None:
        super().__init__(
            f"customer {customer_id!r} has {len(ticket_ids)} ticket(s) not closed: {', '.join(ticket_ids)}; "
            "resolve them (or `supportctl tickets reconcile`) first; nothing was changed"
        )
        self.ticket_ids = ticket_ids


class TemporalUnavailable(RuntimeError):
    """Temporal could not be asked (down, refused, or no such namespace); Postgres was not changed."""


def erased_email(customer_id: str) -> str:
    return f"erased-{hashlib.sha256(customer_id.encode()).hexdigest()[:12]}@erased.invalid"


@dataclass
class Erasure:
    customer_id: str
    dry_run: bool
    tickets: int = 0  # tickets whose text is (or would be) erased
    messages: int = 0  # messages whose body is (or would be) erased
    workflows: list[str] = field(default_factory=list)  # deleted (or, in a dry run, that would be)
    customer_row: bool = False  # the customer's row was (would be) anonymised
    data_key: bool = False  # the customer's data key was (would be) destroyed
    channel_rows: int = 0  # e-mail rows and webhook payloads that still carry them (or would)
    files: int = 0  # raw mails and attachments removed from disk

    @property
    def nothing_left(self) -> bool:
        return not (
            self.tickets or self.messages or self.workflows or self.customer_row or self.data_key or self.channel_rows
        )

    def summary(self) -> dict[str, Any]:
        return {
            "customer_id": self.customer_id,
            "tickets": self.tickets,
            "messages": self.messages,
            "workflows_deleted": len(self.workflows),
            "dry_run": self.dry_run,
        }


async def _workflow_exists(client: Client, workflow_id: str) -> bool:
    try:
        await client.get_workflow_handle(workflow_id).describe()
    except RPCError as e:
        if e.status == RPCStatusCode.NOT_FOUND:
            return False
        raise
    return True


async def _delete_workflow(client: Client, workflow_id: str) -> bool:
    """True if Temporal had it and deleted it; False if it had none (already gone, past retention)."""
    try:
        await client.workflow_service.delete_workflow_execution(
            DeleteWorkflowExecutionRequest(
                namespace=client.namespace, workflow_execution=WorkflowExecution(workflow_id=workflow_id)
            )
        )
    except RPCError as e:
        if e.status == RPCStatusCode.NOT_FOUND:
            return False
        raise
    return True


async def _temporal_step(client: Client, workflow_ids: list[str], *, apply: bool) -> list[str]:
    try:  # a namespace Temporal does not have would make every workflow "not found", and none deleted
        await client.workflow_service.describe_namespace(DescribeNamespaceRequest(namespace=client.namespace))
        gate = asyncio.Semaphore(DELETE_CONCURRENCY)

        async def one(wid: str) -> bool:
            async with gate:
                return await (_delete_workflow(client, wid) if apply else _workflow_exists(client, wid))

        found = await asyncio.gather(*(one(w) for w in workflow_ids))
    except RPCError as e:
        if e.status == RPCStatusCode.NOT_FOUND:
            missing = f"Temporal has no namespace {client.namespace!r}: check TEMPORAL_NAMESPACE"
            raise TemporalUnavailable(missing) from e
        raise TemporalUnavailable(f"Temporal did not answer: {e.message}") from e
    return [w for w, yes in zip(workflow_ids, found, strict=True) if yes]


async def _erase_mail(conn: asyncpg.pool.PoolConnectionProxy, ticket_ids: list[str], email: str) -> int:
    """Delete the customer's e-mail rows and redact the webhook payloads about their tickets; remove the raw
    mails and attachments no other mail shares from disk (before the commit: if that fails, nothing is
    committed and a second run does it all again). How many files were removed."""
    paths = [r["path"] for r in await conn.fetch(ERASE_MAIL, ticket_ids, email)]
    for statement in ERASE_MAIL_ROWS:
        await conn.execute(statement, ticket_ids, email)
    await conn.execute(ERASE_THREADS, ticket_ids)
    await conn.execute(UNNAME_COPIER, email)
    await conn.execute(UNSUPPRESS, email)
    await conn.execute(REDACT_WEBHOOKS, ticket_ids, ERASED_PAYLOAD)
    shared = {r["path"] for r in await conn.fetch(STILL_USED, paths)}
    removed = 0
    for path in sorted(set(paths) - shared):
        try:
            await asyncio.to_thread(Path(path).unlink)
            removed += 1
        except FileNotFoundError:
            pass
    return removed


async def erase_customer(
    pool: asyncpg.Pool, client: Client, customer_id: str, *, apply: bool, actor: str = "operator"
) -> Erasure:
    """Erase (``apply``) or only count (a dry run) what the customer left; see the module's docstring.

    Raises CustomerNotFound, OpenTickets (nothing changed) or TemporalUnavailable (Postgres not changed;
    workflows deleted before Temporal went away stay deleted, and a second run goes on from there)."""
    row = await pool.fetchrow(CUSTOMER_ROW, customer_id)
    if row is None:
        raise CustomerNotFound(customer_id)
    open_ids = [r["ticket_id"] for r in await pool.fetch(OPEN_TICKETS, customer_id)]
    if open_ids:
        raise OpenTickets(customer_id, open_ids)
    tickets = await pool.fetch(TICKETS, customer_id)
    out = Erasure(customer_id, dry_run=not apply)
    out.workflows = await _temporal_step(client, [t["workflow_id"] for t in tickets], apply=apply)
    anonymous = (erased_email(customer_id), ERASED, None, 0)
    out.customer_row = (row["email"], row["name"], row["company"], row["lifetime_value"]) != anonymous
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute(LOCK_CUSTOMER, customer_id)
        open_ids = [r["ticket_id"] for r in await conn.fetch(OPEN_TICKETS, customer_id)]
        if open_ids:  # opened since the first look: its workflow is running, so its text would come back
            raise OpenTickets(customer_id, open_ids)
        out.tickets = await conn.fetchval(LEFT_TICKETS, customer_id, ERASED)
        out.messages = await conn.fetchval(LEFT_MESSAGES, customer_id, ERASED)
        out.data_key = bool(await conn.fetchval(HAS_DATA_KEY, customer_id))
        ids = [t["ticket_id"] for t in await conn.fetch(TICKETS, customer_id)]
        out.channel_rows = await conn.fetchval(LEFT_IN_CHANNELS, ids, row["email"], ERASED_PAYLOAD)
        if not apply or out.nothing_left:
            return out
        for statement in ERASE:
            await conn.execute(statement, ids, ERASED)
        await conn.execute(DELETE_OUTBOX, customer_id, ids)
        out.files = await _erase_mail(conn, ids, row["email"])
        await conn.execute(ANONYMISE, customer_id, anonymous[0], ERASED)
        await data_keys.destroy(conn, customer_id)
        await conn.execute(RECORD, customer_id, actor, out.tickets, out.messages, len(out.workflows))
    codec = client.data_converter.payload_codec
    if isinstance(codec, EncryptionCodec) and codec.data_keys is not None:
        codec.data_keys.forget(customer_id)  # this process stops at once; others within PAYLOAD_KEY_CACHE_S
    return out
