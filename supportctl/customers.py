"""`supportctl customers import|show|erase`: load a team's real customers into the CRM, look one up, erase one.

`import` checks every row before it writes any: a file with a bad row is refused whole (each bad row
named by its line and reason) unless `--skip-invalid`, which writes the good rows and lists the bad.
Rows are upserted by customer id in one transaction, so a re-import of the same file changes nothing.
Progress goes to stderr; the last stdout line is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from domain.contacts import Contact, check_customer_id, derive_customer_id, is_email, normalize_email
from settings import Settings
from supportctl.console import ProgressBar, emit, fail, note, say

FIELDS = ("customer_id", "email", "name", "company", "plan", "is_vip", "lifetime_value")
# Columns a CRM export may carry that the ticket store, not the file, decides: ignored without a word.
COMPUTED = ("ticket_count", "average_csat")
PROGRESS_FROM = 2000  # rows: smaller files are written before a progress line would help


@dataclass
class Checked:
    rows: int = 0
    good: list[tuple[str, str, Contact]] = field(default_factory=list)  # (file:line, customer id, contact)
    bad: list[tuple[str, str]] = field(default_factory=list)  # (file:line, reason)
    unknown_columns: set[str] = field(default_factory=set)


def _reason(e: ValidationError) -> str:
    parts = []
    for err in e.errors():
        where = ".".join(str(p) for p in err["loc"])
        parts.append(f"{where}: {err['msg']}" if where else str(err["msg"]))
    return "; ".join(parts)


def check_rows(rows: list[tuple[str, dict[str, Any]]]) -> Checked:
    """Validate every row, and the file as a whole (an email or id twice); no database needed."""
    out = Checked(rows=len(rows))
    by_email: dict[str, str] = {}
    by_id: dict[str, str] = {}
    for where, raw in rows:
        out.unknown_columns.update(k for k in raw if k not in FIELDS and k not in COMPUTED)
        # A CSV cell left empty means "not given" (the default), as a missing JSON key does.
        given = {k: v for k, v in raw.items() if k in FIELDS and v is not None and v != ""}
        cid = str(given.pop("customer_id", "")).strip()
        try:
            contact = Contact.model_validate(given)
            if cid:
                check_customer_id(cid)
        except ValidationError as e:
            out.bad.append((where, _reason(e)))
            continue
        except ValueError as e:  # check_customer_id: a PydanticCustomError outside a model
            out.bad.append((where, f"customer_id: {e}"))
            continue
        cid = cid or derive_customer_id(contact.email)
        if contact.email in by_email:
            out.bad.append((where, f"email {contact.email!r} is also on {by_email[contact.email]}"))
            continue
        if cid in by_id:
            out.bad.append((where, f"customer_id {cid!r} is also on {by_id[cid]}"))
            continue
        by_email[contact.email], by_id[cid] = where, where
        out.good.append((where, cid, contact))
    return out


def _read(path: Path) -> list[tuple[str, dict[str, Any]]]:
    from triage.datasets import read_rows  # CSV with a header row, or JSONL; names each row file:line

    if path.suffix.lower() not in (".csv", ".jsonl", ".json", ".ndjson"):
        raise ValueError(f"{path}: give a .csv file (with a header row) or a .jsonl file (one object a line)")
    rows = list(read_rows(path))
    if path.suffix.lower() == ".csv" and rows and "email" not in rows[0][1]:
        raise ValueError(f"{path}: the header row has no 'email' column (columns: {', '.join(rows[0][1])})")
    return rows


def cmd_import(args: argparse.Namespace, settings: Settings) -> int:
    from clients import open_pool
    from db.customers import EmailTaken, SaveReport, email_owners, save_contacts

    path: Path = args.file
    if not path.is_file():
        return fail(f"no such file: {path}" if not path.exists() else f"{path} is a folder; give a file", 2)
    checked = check_rows(_read(path))
    if checked.unknown_columns:
        note(f"ignored columns: {', '.join(sorted(checked.unknown_columns))} (this import takes {', '.join(FIELDS)})")

    async def run() -> SaveReport | None:
        pool = await open_pool(settings)
        try:
            # An email another customer id already holds: a clear reason on its row, before any write.
            owners = await email_owners(pool, [c.email for _, _, c in checked.good])
            good = []
            for where, cid, contact in checked.good:
                owner = owners.get(contact.email)
                if owner is not None and owner != cid:
                    checked.bad.append((where, f"email {contact.email!r} belongs to customer {owner!r} in the CRM"))
                else:
                    good.append((cid, contact))
            if checked.bad and not args.skip_invalid:
                return None
            bar = ProgressBar("importing customers") if len(good) >= PROGRESS_FROM else None
            async with pool.acquire() as conn:
                return await save_contacts(conn, good, progress=bar)
        finally:
            await pool.close()

    try:
        report = asyncio.run(run())
    except EmailTaken as e:  # a concurrent writer took an email between the check and the write
        return fail(f"{e}; nothing imported, try again")
    checked.bad.sort(key=lambda b: _line(b[0]))
    for where, reason in checked.bad:
        note(f"{where}: {reason}")
    summary = {"rows": checked.rows, "inserted": 0, "updated": 0, "unchanged": 0, "invalid": len(checked.bad)}
    if report is None:
        say(f"{path}: {len(checked.bad)} of {checked.rows} rows invalid (listed on stderr); nothing imported "
            "(fix them, or --skip-invalid to import the other rows)")  # fmt: skip
        emit(summary)
        return 1
    summary |= {"inserted": report.inserted, "updated": report.updated, "unchanged": report.unchanged}
    skipped = f", {len(checked.bad)} invalid rows skipped (listed on stderr)" if checked.bad else ""
    if report.inserted == report.updated == 0:
        say(f"{path}: {checked.rows} rows, nothing changed: every customer is already as the file says{skipped}")
    else:
        say(f"{path}: {checked.rows} rows: {report.inserted} inserted, {report.updated} updated, "
            f"{report.unchanged} unchanged{skipped}")  # fmt: skip
    emit(summary)
    return 0


def _line(where: str) -> int:
    tail = where.rsplit(":", 1)[-1]
    return int(tail) if tail.isdigit() else 0


def cmd_show(args: argparse.Namespace, settings: Settings) -> int:
    from clients import open_pool
    from db.customers import get_customer, get_customer_by_email

    ref: str = args.ref.strip()

    async def run() -> Any:
        pool = await open_pool(settings)
        try:
            found = await get_customer_by_email(pool, normalize_email(ref), stats=True) if is_email(ref) else None
            return found or await get_customer(pool, ref, stats=True)  # an id may look like an email too
        finally:
            await pool.close()

    customer = asyncio.run(run())
    if customer is None:
        return fail(f"no customer {ref!r} in the CRM")
    data = customer.model_dump(mode="json")
    for k, v in data.items():
        say(f"{k:<15} {'-' if v is None else v}")
    emit(data)
    return 0


def cmd_erase(args: argparse.Namespace, settings: Settings) -> int:
    """The right to be forgotten (db/erasure.py); without --confirm, a dry run that only counts."""
    from temporalio.service import RPCError

    from clients import connect_temporal, open_pool
    from db.erasure import CustomerNotFound, Erasure, OpenTickets, TemporalUnavailable, erase_customer

    async def run() -> Erasure:
        pool = await open_pool(settings)
        try:
            client = await connect_temporal(settings)
            return await erase_customer(pool, client, args.customer_id, apply=args.confirm, actor=args.actor)
        finally:
            await pool.close()

    try:
        done = asyncio.run(run())
    except CustomerNotFound:
        return fail(f"no customer {args.customer_id!r} in the CRM")
    except (OpenTickets, TemporalUnavailable) as e:
        return fail(f"{e}; nothing was changed" if isinstance(e, TemporalUnavailable) else str(e))
    except RPCError as e:  # connect succeeded, then Temporal went away before the namespace check
        return fail(f"Temporal at {settings.TEMPORAL_ADDRESS}: {e.message}; nothing was changed")
    except RuntimeError as e:  # Client.connect: "Failed client connect: …"
        if not str(e).startswith("Failed client connect"):
            raise
        return fail(f"cannot reach Temporal at {settings.TEMPORAL_ADDRESS}: {e}; nothing was changed")
    verb = "would erase" if done.dry_run else "erased"
    if done.nothing_left:
        say(f"{args.customer_id}: nothing left to erase (already erased, or no tickets and an anonymous row)")
    else:
        say(f"{args.customer_id}: {verb} {done.tickets} tickets, {done.messages} messages, "
            f"{len(done.workflows)} workflows{', and anonymise the customer row' if done.dry_run else ''}")  # fmt: skip
        for wid in done.workflows:
            say(f"  workflow {wid}: {'would delete' if done.dry_run else 'deleted'}")
        if done.dry_run:
            say("dry run: nothing changed; run again with --confirm to erase")
    emit(done.summary())
    return 0


def register(sub: Any) -> None:
    p = sub.add_parser("customers", help="the CRM: import a team's customers, show one, erase one")
    p_sub = p.add_subparsers(dest="customers_command", required=True)
    imp = p_sub.add_parser(
        "import",
        help="upsert customers from a CSV (header row) or JSONL file; last stdout line: JSON counts",
        description="Fields: customer_id (optional: derived from the email), email, name, company, "
        "plan (free|starter|pro|enterprise), is_vip, lifetime_value.",
    )
    imp.add_argument("file", type=Path)
    imp.add_argument(
        "--skip-invalid", action="store_true", help="import the valid rows and list the invalid ones (default: refuse)"
    )
    imp.set_defaults(func=cmd_import)
    show = p_sub.add_parser("show", help="one customer, by id or email (ticket count and CSAT from the ticket store)")
    show.add_argument("ref", metavar="ID_OR_EMAIL")
    show.set_defaults(func=cmd_show)
    erase = p_sub.add_parser(
        "erase",
        help="the right to be forgotten: erase a customer's texts and ticket workflows (dry run without --confirm)",
        description="Refused while the customer has a ticket that is not closed. Deletes the ticket workflows "
        "from Temporal, overwrites every text the customer wrote or that quotes them with [erased], anonymises "
        "the customer row (kept, with the refunds ledger) and records the erasure. Last stdout line: JSON.",
    )
    erase.add_argument("customer_id")
    erase.add_argument("--confirm", action="store_true", help="erase (default: only list what would be erased)")
    erase.add_argument("--actor", default="operator", help="who is recorded on the erasure (default: operator)")
    erase.set_defaults(func=cmd_erase)
