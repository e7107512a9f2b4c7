"""`GET /metrics`: the support floor for Prometheus (text exposition format 0.0.4).

Open tickets by status and priority, the human queue, what is overdue right now, and counters of
tickets, resolutions, escalations, surveys and model cost. The worker's own SDK metrics (task
latencies, sticky cache) are a separate endpoint (`WORKER_METRICS_BIND`).
"""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter
from fastapi.responses import PlainTextResponse

from api.deps import PoolDep
from api.roles import answers
from db.live import Sample, live_samples

router = APIRouter(tags=["metrics"])

# name -> (type, help); every series db.live produces is described here.
SERIES = {
    "support_open_tickets": ("gauge", "Tickets not resolved or closed, by status and priority."),
    "support_human_queue_tickets": ("gauge", "Tickets waiting for a person (GET /queue), by priority."),
    "support_open_sla_breached_tickets": ("gauge", "Open tickets that have breached an SLA."),
    "support_overdue_tickets": ("gauge", "Open tickets past a running deadline now, by SLA clock."),
    "support_oldest_unanswered_seconds": ("gauge", "Age of the oldest open ticket without a first response."),
    "support_customer_outbox_messages": (
        "gauge",
        "Messages to customers not yet delivered: pending (being tried) or refused (set aside).",
    ),
    "support_customer_outbox_oldest_pending_seconds": ("gauge", "Age of the oldest message still being tried."),
    "support_tickets_total": ("counter", "Tickets opened, by channel."),
    "support_model_cost_usd_total": ("counter", "Model cost of the agents' turns in USD, by channel."),
    "support_ticket_events_total": ("counter", "Ticket audit events, by kind (resolved, escalated, ...)."),
    "support_csat_responses_total": ("counter", "Answered satisfaction surveys, by score."),
    "support_bug_reports_total": ("counter", "Bug reports the agents filed for engineering, by severity."),
}


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _number(value: float) -> str:
    """Exact: `:g` would print a count of 1,234,567 as 1.23457e+06."""
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def render(samples: list[Sample]) -> str:
    """Prometheus' text format: HELP and TYPE once per metric, then its samples."""
    lines: list[str] = []
    for name, (kind, text) in SERIES.items():
        lines += [f"# HELP {name} {text}", f"# TYPE {name} {kind}"]
        for s in (s for s in samples if s.name == name):
            labels = ",".join(f'{k}="{_escape(v)}"' for k, v in s.labels.items())
            series = f"{name}{{{labels}}}" if labels else name
            lines.append(f"{series} {_number(s.value)}")
    return "\n".join(lines) + "\n"


@router.get(  # the 200 is text (a PlainTextResponse, returned as is); the errors are the JSON envelope
    "/metrics",
    responses={
        200: {"content": {"text/plain": {"schema": {"type": "string"}}}, "description": "Prometheus text format"},
        **answers("GET", "/metrics"),
    },
)
async def metrics(pool: PoolDep) -> PlainTextResponse:
    async with pool.acquire() as conn:
        samples = await live_samples(conn, datetime.now(UTC))
    return PlainTextResponse(render(samples), media_type="text/plain; version=0.0.4; charset=utf-8")
