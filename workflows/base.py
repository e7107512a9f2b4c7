"""The shared base of TicketWorkflow's parts: state, policy and small helpers."""

from __future__ import annotations

import asyncio
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.triage import TriageActivities, TriageInput
    from domain.lifecycle import (
        TicketPolicy,
    )
    from domain.models import Customer, Status, TriageResult
    from workflows.types import (
        DB_RETRY,
        FAST_TIMEOUT,
        TicketState,
    )


RETARGET_GRACE = 0.25


def _invalid(message: str, kind: str = "InvalidDecisionError") -> ApplicationError:
    return ApplicationError(message, type=kind, non_retryable=True)


class TicketBase:
    """State and small helpers every part of TicketWorkflow uses."""

    _s: TicketState
    _lock: asyncio.Lock
    _kick: bool  # something changed that the main loop must look at
    _sla_kick: bool  # clocks changed: the SLA watcher must re-arm its timer

    def _closed(self) -> bool:
        return self._s.status == Status.CLOSED

    def _policy(self) -> TicketPolicy:
        return self._s.policy or TicketPolicy()

    def _cal(self) -> Any:
        return self._policy().calendar

    def _customer(self) -> Customer:
        if self._s.customer is None:  # an ApplicationError fails the ticket visibly instead of retrying forever
            raise _invalid("customer not loaded", "TicketStateError")
        return self._s.customer

    async def _triage(self, text: str) -> TriageResult:
        result = await workflow.execute_activity_method(
            TriageActivities.triage_message,
            TriageInput(text),
            start_to_close_timeout=FAST_TIMEOUT,
            retry_policy=DB_RETRY,
        )
        self._s.sentiment = result.sentiment
        self._s.sentiment_trend.append(result.sentiment)
        return result
