"""JSON log lines carrying the ticket id and the trace id (LOG_FORMAT=json); plain text otherwise.

A line: {"ts", "level", "logger", "service", "message", "ticket_id", "trace_id", "span_id"} (the ids
when known), plus "exc_type" and "exc" for an exception. The ticket id comes from an explicit
`extra={"ticket_id": ...}`, from the Temporal activity or workflow logger's context, or from the
activity the line is written in. Log messages are the code's own; the formatter adds no customer text.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any

from opentelemetry import trace

from settings import Settings
from telemetry.tracing import _ticket_of_workflow, current_ticket_id


def _ticket_of(record: logging.LogRecord) -> str | None:
    explicit = getattr(record, "ticket_id", None)
    if isinstance(explicit, str):
        return explicit
    for key in ("temporal_activity", "temporal_workflow"):  # set by temporalio's activity/workflow loggers
        details = getattr(record, key, None)
        if isinstance(details, dict):
            ticket = _ticket_of_workflow(details.get("workflow_id"))
            if ticket is not None:
                return ticket
    return current_ticket_id()


class JsonFormatter(logging.Formatter):
    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "service": self.service,
            "message": record.getMessage(),
        }
        ticket = _ticket_of(record)
        if ticket is not None:
            line["ticket_id"] = ticket
        ctx = trace.get_current_span().get_span_context()
        if ctx.is_valid:
            line["trace_id"] = format(ctx.trace_id, "032x")
            line["span_id"] = format(ctx.span_id, "016x")
        if record.exc_info and record.exc_info[0] is not None:
            line["exc_type"] = record.exc_info[0].__name__
            line["exc"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, default=str)


def configure_logging(settings: Settings, service: str, text_format: str) -> None:
    """Root logging at INFO: JSON lines on stderr when LOG_FORMAT=json, else `text_format`."""
    if settings.LOG_FORMAT != "json":
        logging.basicConfig(level=logging.INFO, format=text_format)
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter(service))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)
