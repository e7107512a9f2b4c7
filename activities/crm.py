"""CRM activities: who is the customer (plan, VIP, history)."""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg
from temporalio import activity
from temporalio.exceptions import ApplicationError

from db import customers
from domain.models import Customer


@dataclass
class GetCustomerInput:
    customer_id: str


class CrmActivities:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    @activity.defn(name="crm.get_customer")
    async def get_customer(self, inp: GetCustomerInput) -> Customer:
        found = await customers.get_customer(self._pool, inp.customer_id)
        if found is None:
            raise ApplicationError(
                f"customer {inp.customer_id} not found", type="CustomerNotFoundError", non_retryable=True
            )
        return found
