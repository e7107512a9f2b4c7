"""Where a ticket's time goes, read from its Temporal history: per activity type, time queued
(scheduled → started) and running (started → completed); and the workflow tasks between them."""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any

from temporalio.api.enums.v1 import EventType
from temporalio.client import Client

E = EventType


async def activities_to_first_reply(client: Client, workflow_id: str) -> int:
    """Activities a ticket scheduled up to and including the one that stored its first agent reply.

    The messages' sender is read from the activity inputs, which are encrypted at rest (codec/); without
    reading them, the first agent reply of a one-message ticket is the second message it stored."""
    n, stored = 0, 0
    async for event in client.get_workflow_handle(workflow_id).fetch_history_events():
        if event.event_type != E.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            continue
        n += 1
        attrs = event.activity_task_scheduled_event_attributes
        if attrs.activity_type.name == "store.record_message" and attrs.input.payloads:
            stored += 1
            payload = attrs.input.payloads[0]
            if payload.metadata.get("encoding") != b"json/plain":
                if stored == 2:
                    return n
                continue
            try:
                body = json.loads(payload.data)
            except ValueError:
                continue
            if body.get("sender") == "agent":
                return n
    raise RuntimeError(f"{workflow_id}: no agent reply in its history")


async def input_encoding(client: Client, workflow_id: str) -> str:
    """The encoding of the workflow's input as stored in its history: `binary/encrypted` when the codec
    wrote it, `json/plain` when it did not."""
    async for event in client.get_workflow_handle(workflow_id).fetch_history_events():
        payloads = event.workflow_execution_started_event_attributes.input.payloads
        return payloads[0].metadata.get("encoding", b"").decode() if payloads else ""
    raise RuntimeError(f"{workflow_id}: no history")


async def time_breakdown(client: Client, workflow_ids: list[str]) -> dict[str, Any]:
    """Mean milliseconds per ticket: each activity type's queue and run time, and workflow tasks'."""
    queued: dict[str, list[float]] = defaultdict(list)
    ran: dict[str, list[float]] = defaultdict(list)
    wft_queue: list[float] = []
    wft_run: list[float] = []
    for wf_id in workflow_ids:
        scheduled: dict[int, tuple[str, float]] = {}
        started: dict[int, float] = {}
        wft_sched: dict[int, float] = {}
        wft_start: dict[int, float] = {}
        async for ev in client.get_workflow_handle(wf_id).fetch_history_events():
            t = ev.event_time.ToMicroseconds() / 1000
            if ev.event_type == E.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
                scheduled[ev.event_id] = (ev.activity_task_scheduled_event_attributes.activity_type.name, t)
            elif ev.event_type == E.EVENT_TYPE_ACTIVITY_TASK_STARTED:
                sid = ev.activity_task_started_event_attributes.scheduled_event_id
                started[sid] = t
            elif ev.event_type == E.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
                sid = ev.activity_task_completed_event_attributes.scheduled_event_id
                name, t_sched = scheduled[sid]
                t_start = started.get(sid, t_sched)
                queued[name].append(t_start - t_sched)
                ran[name].append(t - t_start)
            elif ev.event_type == E.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED:
                wft_sched[ev.event_id] = t
            elif ev.event_type == E.EVENT_TYPE_WORKFLOW_TASK_STARTED:
                sid = ev.workflow_task_started_event_attributes.scheduled_event_id
                wft_start[ev.event_id] = t
                wft_queue.append(t - wft_sched.get(sid, t))
            elif ev.event_type == E.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
                st = ev.workflow_task_completed_event_attributes.started_event_id
                wft_run.append(t - wft_start.get(st, t))
    n = max(1, len(workflow_ids))

    def mean(xs: list[float]) -> float:
        return round(sum(xs) / len(xs), 1) if xs else 0.0

    return {
        "tickets": len(workflow_ids),
        "activity_ms": {k: {"queued": mean(queued[k]), "ran": mean(ran[k]), "count": round(len(ran[k]) / n, 2)}
                        for k in sorted(ran)},
        "workflow_task_ms": {"queued": mean(wft_queue), "ran": mean(wft_run), "count": round(len(wft_run) / n, 2)},
    }  # fmt: skip
