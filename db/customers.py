"""CRM queries: customers."""

from __future__ import annotations

from collections.abc import Iterable

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from domain.models import Customer

Conn = asyncpg.Pool | asyncpg.Connection | PoolConnectionProxy

_COLUMNS = "customer_id, email, name, company, plan, is_vip, lifetime_value, ticket_count, average_csat"
GET_CUSTOMER = f"SELECT {_COLUMNS} FROM customers WHERE customer_id = $1"
GET_CUSTOMER_BY_EMAIL = f"SELECT {_COLUMNS} FROM customers WHERE lower(email) = lower($1)"
UPSERT_CUSTOMER = f"""
INSERT INTO customers ({_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
ON CONFLICT (customer_id) DO UPDATE SET
    email = EXCLUDED.email, name = EXCLUDED.name, company = EXCLUDED.company, plan = EXCLUDED.plan,
    is_vip = EXCLUDED.is_vip, lifetime_value = EXCLUDED.lifetime_value,
    ticket_count = EXCLUDED.ticket_count, average_csat = EXCLUDED.average_csat
"""


def _row_to_customer(row: asyncpg.Record) -> Customer:
    data = dict(row)
    data["lifetime_value"] = float(data["lifetime_value"])
    if data["average_csat"] is not None:
        data["average_csat"] = float(data["average_csat"])
    return Customer.model_validate(data)


async def get_customer(conn: Conn, customer_id: str) -> Customer | None:
    row = await conn.fetchrow(GET_CUSTOMER, customer_id)
    return None if row is None else _row_to_customer(row)


async def get_customer_by_email(conn: Conn, email: str) -> Customer | None:
    row = await conn.fetchrow(GET_CUSTOMER_BY_EMAIL, email)
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
