"""TicketWorkflow's SLA watcher: one durable timer on the next warning or breach, re-armed on change."""

from __future__ import annotations

from datetime import datetime

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from domain.models import Priority, Status
    from domain.policy import (
        FIRST_RESPONSE_TARGET,
        RESOLUTION_TARGET,
        raise_priority,
    )
    from domain.sla import SlaClock, elapsed
    from workflows import patches
    from workflows.base import RETARGET_GRACE, TicketCore
    from workflows.recording import TicketRecording


class TicketSla:
    """SLA clocks: exact durable timers for warnings and breaches, and re-targeting on priority changes."""

    def __init__(self, core: TicketCore, record: TicketRecording) -> None:
        self._core, self._record = core, record

    async def watch(self) -> None:
        """Exact durable timers on the next SLA warning or breach; re-armed whenever the clocks change."""
        s = self._core.s
        while s.status != Status.CLOSED:
            cal = self._core.cal()
            events = [t for c in s.clocks.values() if (t := c.next_event(cal)) is not None]
            self._core.sla_kick = False
            if events:
                timeout = max((min(events) - workflow.now()).total_seconds(), 0.0)
                if timeout > 0:
                    try:
                        await workflow.wait_condition(lambda: self._core.sla_kick, timeout=timeout)
                    except TimeoutError:
                        pass
            else:
                await workflow.wait_condition(lambda: self._core.sla_kick)
            if not self._core.closed():
                await self._fire(workflow.now())

    async def _fire(self, now: datetime) -> None:
        s, cal = self._core.s, self._core.cal()
        for clock in list(s.clocks.values()):
            warn_at = clock.warn_at(cal)
            if warn_at is not None and warn_at <= now:
                clock.warned = True
                due = clock.due(cal)
                await self._record.sync(f"sla_warning:{clock.name}", "system", {"due": due})
                await self._record.notify(f"sla_warning:{clock.name}", f"{clock.name} SLA at 75 %, due {due}")
            due = clock.due(cal)
            if due is not None and not clock.breached and due <= now:
                clock.breached = True
                s.sla_breached = True
                old = s.priority or Priority.MEDIUM
                new = raise_priority(old)
                # Re-targeting gives running clocks a quarter of their target as grace: right for a raise,
                # but at critical the priority stays and it only pushed the other clocks' deadlines later.
                if new != old or not workflow.patched(patches.BREACH_AT_TOP_KEEPS_DEADLINES):
                    self.retarget(new)
                reason = f"{clock.name} SLA breached"
                if s.status not in (Status.RESOLVED, Status.CLOSED):
                    s.owner, s.escalated = "human", True
                    s.escalation_reason = s.escalation_reason or reason
                    if s.status != Status.IN_PROGRESS:  # an agent turn in flight will set its own status
                        s.status = Status.ESCALATED
                await self._record.sync(
                    f"sla_breach:{clock.name}", "system", {"due": due, "priority": [old, s.priority]}
                )
                change = f"priority {old} → {s.priority}" if s.priority != old else f"priority stays {old}"
                await self._record.notify(f"sla_breach:{clock.name}", f"{reason}; {change}")

    def start_clocks(self, priority: Priority, since: datetime) -> None:
        s = self._core.s
        s.clocks = {
            "first_response": SlaClock(name="first_response", target=FIRST_RESPONSE_TARGET[priority]),
            "resolution": SlaClock(name="resolution", target=RESOLUTION_TARGET[priority]),
            "next_reply": SlaClock(name="next_reply", target=FIRST_RESPONSE_TARGET[priority]),
        }
        if s.first_response_at is None:
            s.clocks["first_response"].start(since)
        s.clocks["resolution"].start(since)
        self.retarget(priority)

    def retarget(self, priority: Priority) -> None:
        """Set the priority and give every clock that priority's target (re-arming the watcher).

        A clock that has not breached keeps at least a quarter of its new target from now, so a raised
        priority tightens the deadlines without breaching them on the spot.
        """
        s = self._core.s
        s.priority = priority
        targets = {"first_response": FIRST_RESPONSE_TARGET, "next_reply": FIRST_RESPONSE_TARGET,
                   "resolution": RESOLUTION_TARGET}  # fmt: skip
        for name, clock in s.clocks.items():
            target = targets[name][priority]
            if clock.running and not clock.breached:
                used = clock.consumed + elapsed(clock.running_since or workflow.now(), workflow.now(), self._core.cal())
                target = max(target, used + target * RETARGET_GRACE)
            clock.target = target
        s.first_response_due = self._core.due("first_response") or s.first_response_due
        s.resolution_due = self._core.due("resolution") or s.resolution_due
        self._core.sla_kick = True
