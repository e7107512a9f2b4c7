"""CRM queries: customers.

A customer's `ticket_count` and `average_csat` are computed from the ticket store on every read that shows them (a
LATERAL aggregate over the customer's tickets, on tickets_customer_idx), not kept in the columns of the
same name: a count kept by the activities would need its own once-only bookkeeping (an activity is
retried, a CSAT can be recorded twice), and would still be wrong for tickets stored before it existed.
Read, it is always exactly what the store holds. The columns stay for older readers and the demo seed.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from domain.contacts import Contact, derive_customer_id, name_from_email, normalize_email
from domain.models import Customer

Conn = asyncpg.Pool | asyncpg.Connection | PoolConnectionProxy

_COLUMNS = "customer_id, email, name, company, plan, is_vip, lifetime_value, ticket_count, average_csat"
_SELECT = """
SELECT c.customer_id, c.email, c.name, c.company, c.plan, c.is_vip, c.lifetime_value,
       s.ticket_count, s.average_csat
FROM customers c
CROSS JOIN LATERAL (
    SELECT count(*)::int AS ticket_count, round(avg(t.csat_score), 2) AS average_csat
    FROM tickets t WHERE t.customer_id = c.customer_id
) s
"""
GET_CUSTOMER = _SELECT + "WHERE c.customer_id = $1"
GET_CUSTOMER_BY_EMAIL = _SELECT + "WHERE lower(c.email) = lower($1)"
# The ticket path (POST /tickets, the CRM activity at every opening) reads no figures: no aggregate there.
_PLAIN = f"SELECT {_COLUMNS} FROM customers c "
GET_CONTACT = _PLAIN + "WHERE c.customer_id = $1"
GET_CONTACT_BY_EMAIL = _PLAIN + "WHERE lower(c.email) = lower($1)"
UPSERT_CUSTOMER = f"""
INSERT INTO customers ({_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
ON CONFLICT (customer_id) DO UPDATE SET
    email = EXCLUDED.email, name = EXCLUDED.name, company = EXCLUDED.company, plan = EXCLUDED.plan,
    is_vip = EXCLUDED.is_vip, lifetime_value = EXCLUDED.lifetime_value,
    ticket_count = EXCLUDED.ticket_count, average_csat = EXCLUDED.average_csat
"""
# A team's contacts: only the fields it owns. A row whose fields are all as stored is not touched, and
# is not returned: what comes back is what was inserted (xmax = 0) or updated.
SAVE_CONTACTS = """
INSERT INTO customers (customer_id, email, name, company, plan, is_vip, lifetime_value)
SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::bool[], $7::numeric[])
ON CONFLICT (customer_id) DO UPDATE SET
    email = EXCLUDED.email, name = EXCLUDED.name, company = EXCLUDED.company, plan = EXCLUDED.plan,
    is_vip = EXCLUDED.is_vip, lifetime_value = EXCLUDED.lifetime_value
WHERE (customers.email, customers.name, customers.company, customers.plan, customers.is_vip,
       customers.lifetime_value)
   IS DISTINCT FROM (EXCLUDED.email, EXCLUDED.name, EXCLUDED.company, EXCLUDED.plan, EXCLUDED.is_vip,
       EXCLUDED.lifetime_value)
RETURNING customer_id, (xmax = 0) AS inserted
"""
EMAIL_OWNERS = "SELECT lower(email) AS email, customer_id FROM customers WHERE lower(email) = ANY($1::text[])"
# A first-time sender: a free contact; a concurrent request for the same email inserts nothing.
CREATE_CONTACT = """
INSERT INTO customers (customer_id, email, name, plan) VALUES ($1, $2, $3, 'free')
ON CONFLICT DO NOTHING
"""


class EmailTaken(Exception):
    """The email belongs to another customer id (emails are unique, case-insensitively)."""

    def __init__(self, email: str, owner: str) -> None:
        super().__init__(f"email {email!r} belongs to customer {owner!r}")
        self.email, self.owner = email, owner


@dataclass
class SaveReport:
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0


def _row_to_customer(row: asyncpg.Record) -> Customer:
    data = dict(row)
    data["lifetime_value"] = float(data["lifetime_value"])
    if data["average_csat"] is not None:
        data["average_csat"] = float(data["average_csat"])
    return Customer.model_validate(data)


async def get_customer(conn: Conn, customer_id: str, *, stats: bool = False) -> Customer | None:
    """The customer; with `stats`, its ticket_count and average_csat computed from the ticket store (else the
    stored columns: the ticket path, which reads neither, skips the aggregate)."""
    row = await conn.fetchrow(GET_CUSTOMER if stats else GET_CONTACT, customer_id)
    return None if row is None else _row_to_customer(row)


async def get_customer_by_email(conn: Conn, email: str, *, stats: bool = False) -> Customer | None:
    row = await conn.fetchrow(GET_CUSTOMER_BY_EMAIL if stats else GET_CONTACT_BY_EMAIL, email)
    return None if row is None else _row_to_customer(row)


async def upsert_customers(conn: Conn, customers: Iterable[Customer]) -> int:
    rows = [
        (
            c.customer_id,
            c.email,
            c.name,
            c.company,
            c.plan.value,
            c.is_vip,
            c.lifetime_value,
            c.ticket_count,
            c.average_csat,
        )
        for c in customers
    ]
    await conn.executemany(UPSERT_CUSTOMER, rows)
    return len(rows)


async def email_owners(conn: Conn, emails: Sequence[str]) -> dict[str, str]:
    """Lower-cased email -> the customer id holding it, for those of `emails` already in the CRM."""
    rows = await conn.fetch(EMAIL_OWNERS, [normalize_email(e) for e in emails])
    return {r["email"]: r["customer_id"] for r in rows}


async def save_contacts(
    conn: asyncpg.Connection | PoolConnectionProxy,
    contacts: Sequence[tuple[str, Contact]],
    *,
    batch: int = 1000,
    progress: Callable[[int, int], None] | None = None,
) -> SaveReport:
    """Upsert (customer id, contact) pairs by id, in one transaction; count what changed.

    Raises EmailTaken when an email belongs to another id (checked first; the unique constraint still
    decides a race with a concurrent writer, and is reported the same way)."""
    report = SaveReport()
    async with conn.transaction():
        for start in range(0, len(contacts), batch):
            chunk = contacts[start : start + batch]
            owners = await email_owners(conn, [c.email for _, c in chunk])
            for cid, c in chunk:
                owner = owners.get(c.email)
                if owner is not None and owner != cid:
                    raise EmailTaken(c.email, owner)
            columns = list(zip(*((cid, c.email, c.name, c.company, c.plan.value, c.is_vip, c.lifetime_value)
                                 for cid, c in chunk), strict=True))  # fmt: skip
            try:
                changed = await conn.fetch(SAVE_CONTACTS, *[list(col) for col in columns])
            except asyncpg.UniqueViolationError as e:  # a concurrent writer took an email after the check
                taken = re.search(r"=\((.*)\)", e.detail or "")
                raise EmailTaken(taken[1] if taken else "(one of these)", "another customer") from None
            inserted = sum(1 for r in changed if r["inserted"])
            report.inserted += inserted
            report.updated += len(changed) - inserted
            report.unchanged += len(chunk) - len(changed)
            if progress is not None:
                progress(start + len(chunk), len(contacts))
    return report


async def create_contact(conn: Conn, email: str, name: str | None = None) -> Customer | None:
    """The customer with this email, made a free contact if nobody has it (id derived from the email,
    so a retried or concurrent request finds the same one). None if the derived id is somehow taken
    by another email."""
    email = normalize_email(email)
    cid = derive_customer_id(email)
    await conn.execute(CREATE_CONTACT, cid, email, (name or "").strip()[:200] or name_from_email(email))
    return await get_customer_by_email(conn, email)
