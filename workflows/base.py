"""What every part of TicketWorkflow shares: the ticket's state, its lock and wake-up flags, small helpers."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.crm import CrmActivities, GetCustomerInput
    from activities.triage import TriageActivities, TriageInput
    from domain.lifecycle import TicketPolicy
    from domain.models import Customer, Sender, Status, TriageResult
    from workflows.types import CRM_RETRY, DB_RETRY, FAST_TIMEOUT, TicketState


RETARGET_GRACE = 0.25


def _invalid(message: str, kind: str = "InvalidDecisionError") -> ApplicationError:
    return ApplicationError(message, type=kind, non_retryable=True)


class TicketCore:
    """One per workflow run, made by ``TicketWorkflow.__init__`` and handed to each of its parts."""

    def __init__(self, s: TicketState) -> None:
        self.s = s
        # The main loop's steps and the decisions take it: a human's reply never interleaves with an agent turn.
        self.lock = asyncio.Lock()
        self.kick = False  # something changed that the main loop must look at
        self.sla_kick = False  # clocks changed: the SLA watcher must re-arm its timer

    def closed(self) -> bool:
        return self.s.status == Status.CLOSED

    def policy(self) -> TicketPolicy:
        return self.s.policy or TicketPolicy()

    def cal(self) -> Any:
        return self.policy().calendar

    def customer(self) -> Customer:
        if self.s.customer is None:  # an ApplicationError fails the ticket visibly instead of retrying forever
            raise _invalid("customer not loaded", "TicketStateError")
        return self.s.customer

    def due(self, name: str) -> datetime | None:
        """When the SLA clock ``name`` is due; None when there is no such clock or it is not running."""
        clock = self.s.clocks.get(name)  # type: ignore[call-overload]
        return None if clock is None else clock.due(self.cal())

    def customer_waits_for_answer(self) -> bool:
        """The customer wrote last: nobody has answered their latest message yet."""
        last = self.s.transcript[-1] if self.s.transcript else None
        return last is not None and last.sender == Sender.CUSTOMER

    async def look_up_customer(self) -> Customer:
        return await workflow.execute_activity_method(
            CrmActivities.get_customer, GetCustomerInput(self.s.customer_id),
            start_to_close_timeout=FAST_TIMEOUT, retry_policy=CRM_RETRY,
        )  # fmt: skip

    async def triage(self, text: str) -> TriageResult:
        result = await workflow.execute_activity_method(
            TriageActivities.triage_message,
            TriageInput(text),
            start_to_close_timeout=FAST_TIMEOUT,
            retry_policy=DB_RETRY,
        )
        self.s.sentiment = result.sentiment
        self.s.sentiment_trend.append(result.sentiment)
        return result
