"""Tracing and structured logs for the API and the worker (OpenTelemetry), off unless configured.

`configure_tracing` installs a tracer provider exporting by OTLP/HTTP when OTEL_EXPORTER_OTLP_ENDPOINT
is set; without it nothing is installed and every span in the code is the OpenTelemetry API's no-op.
With it: one trace per ticket action, HTTP request (FastAPI) → `StartWorkflow` → `RunWorkflow` →
`StartActivity`/`RunActivity` (Temporal's TracingInterceptor, on the client and so on its workers) →
the agent turn, each model call and each tool call (`agents.tracing`, AutoGen) and asyncpg queries.
`configure_logging` writes JSON lines with the ticket and trace ids when LOG_FORMAT=json.

It imports nothing of ours but `settings` (the API imports it, so no agents, activities or workflows).
"""

from telemetry.logs import JsonFormatter, configure_logging
from telemetry.tracing import (
    RedactingExporter,
    TicketSpanProcessor,
    configure_tracing,
    install_tracer_provider,
    instrument_app,
    temporal_interceptors,
    tracing_enabled,
    worker_options,
)

__all__ = [
    "JsonFormatter",
    "RedactingExporter",
    "TicketSpanProcessor",
    "configure_logging",
    "configure_tracing",
    "install_tracer_provider",
    "instrument_app",
    "temporal_interceptors",
    "tracing_enabled",
    "worker_options",
]
