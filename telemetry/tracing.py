"""The tracer provider, its OTLP export, and the hooks the API, clients and worker call.

Off (OTEL_EXPORTER_OTLP_ENDPOINT unset): nothing is installed, `temporal_interceptors()` is empty,
`instrument_app` does nothing and asyncpg is not patched, so the only cost left is the OpenTelemetry
API's no-op spans in `agents.tracing`. On: the hooks below, and three safeguards for customer data:

- `TicketSpanProcessor` stamps `support.ticket_id` (and `gen_ai.conversation.id` on GenAI spans such
  as AutoGen's `execute_tool`) on every span started inside a ticket's activity, and cuts the query
  string off HTTP span attributes;
- `RedactingExporter` drops exception messages and stack traces from span events and status
  descriptions before export (a database error's DETAIL or a provider error can quote customer data);
- AutoGen's runtime spans, which carry whole serialized messages, are turned off
  (AUTOGEN_DISABLE_RUNTIME_TRACING); its GenAI spans (invoke_agent, execute_tool) stay.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import Event, ReadableSpan, Span, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.sdk.trace.sampling import ALWAYS_ON, Decision, ParentBased, Sampler, SamplingResult
from opentelemetry.trace import Link, SpanKind, Status, TraceState
from opentelemetry.util.types import Attributes
from temporalio import activity
from temporalio.client import Interceptor
from temporalio.contrib.opentelemetry import TracingInterceptor
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from settings import Settings

TICKET_ID = "support.ticket_id"
CONVERSATION = "gen_ai.conversation.id"
WORKFLOW_ID = "temporalWorkflowID"  # the attribute Temporal's TracingInterceptor sets
_WORKFLOW_PREFIX = "ticket-"  # api.service.ids.workflow_id_for: a ticket's workflow id is ticket-<ticket id>
_DB_SYSTEM = ("db.system", "db.system.name")
_enabled = False


def tracing_enabled() -> bool:
    return _enabled


def _ticket_of_workflow(workflow_id: object) -> str | None:
    if isinstance(workflow_id, str) and workflow_id.startswith(_WORKFLOW_PREFIX):
        return workflow_id[len(_WORKFLOW_PREFIX) :]
    return None


def current_ticket_id() -> str | None:
    """The ticket whose activity this code runs in (tasks and threads an activity starts included)."""
    if activity.in_activity():
        return _ticket_of_workflow(activity.info().workflow_id)
    return None


class TicketSpanProcessor(SpanProcessor):
    """Adds the ticket id to spans as they start and keeps query strings out of HTTP spans."""

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        attrs = span.attributes or {}
        ticket = current_ticket_id() or _ticket_of_workflow(attrs.get(WORKFLOW_ID))
        if ticket is not None:
            span.set_attribute(TICKET_ID, ticket)
            if "gen_ai.operation.name" in attrs and CONVERSATION not in attrs:
                span.set_attribute(CONVERSATION, ticket)
        for key in ("http.target", "http.url", "url.full"):
            value = attrs.get(key)
            if isinstance(value, str) and "?" in value:
                span.set_attribute(key, value.split("?", 1)[0])
        if "url.query" in attrs:
            span.set_attribute("url.query", "[redacted]")

    def on_end(self, span: ReadableSpan) -> None:
        return None

    def shutdown(self) -> None:
        return None

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True


def _redacted(span: ReadableSpan) -> ReadableSpan:
    events = [
        Event(e.name, {k: v for k, v in (e.attributes or {}).items() if k == "exception.type"}, e.timestamp)
        if e.name == "exception"
        else e
        for e in span.events
    ]
    status = span.status
    if status.description:
        status = Status(status.status_code, status.description.split(":", 1)[0])
    return ReadableSpan(
        name=span.name,
        context=span.context,
        parent=span.parent,
        resource=span.resource,
        attributes=span.attributes,
        events=events,
        links=span.links,
        kind=span.kind,
        status=status,
        start_time=span.start_time,
        end_time=span.end_time,
        instrumentation_scope=span.instrumentation_scope,
    )


class RedactingExporter(SpanExporter):
    """Exports through `inner` without exception messages, stack traces or status descriptions."""

    def __init__(self, inner: SpanExporter) -> None:
        self.inner = inner

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        return self.inner.export([_redacted(s) for s in spans])

    def shutdown(self) -> None:
        self.inner.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self.inner.force_flush(timeout_millis)


class _NoOrphanQueries(Sampler):
    """Root spans are kept except database queries outside any request or activity (the outbox
    dispatcher polls every second: a trace per poll would drown the tickets' traces)."""

    def should_sample(
        self,
        parent_context: Context | None,
        trace_id: int,
        name: str,
        kind: SpanKind | None = None,
        attributes: Attributes = None,
        links: Sequence[Link] | None = None,
        trace_state: TraceState | None = None,
    ) -> SamplingResult:
        if attributes and any(k in attributes for k in _DB_SYSTEM):
            return SamplingResult(Decision.DROP)
        return ALWAYS_ON.should_sample(parent_context, trace_id, name, kind, attributes, links, trace_state)

    def get_description(self) -> str:
        return "NoOrphanQueries"


def new_tracer_provider(service_name: str) -> TracerProvider:
    """A provider with our resource and sampler, no exporter yet."""
    return TracerProvider(
        resource=Resource.create({"service.name": service_name}), sampler=ParentBased(root=_NoOrphanQueries())
    )


def install_tracer_provider(provider: TracerProvider) -> None:
    """Make `provider` the process's tracer provider and turn the hooks on (once per process)."""
    global _enabled
    if _enabled:
        return
    from opentelemetry.instrumentation.asyncpg import AsyncPGInstrumentor

    os.environ.setdefault("AUTOGEN_DISABLE_RUNTIME_TRACING", "true")
    provider.add_span_processor(TicketSpanProcessor())
    trace.set_tracer_provider(provider)
    AsyncPGInstrumentor().instrument(tracer_provider=provider)  # type: ignore[no-untyped-call]
    _enabled = True


def configure_tracing(settings: Settings, service_name: str) -> bool:
    """Export traces by OTLP/HTTP when OTEL_EXPORTER_OTLP_ENDPOINT is set; return whether tracing is on."""
    if _enabled or not settings.OTEL_EXPORTER_OTLP_ENDPOINT:
        return _enabled
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    provider = new_tracer_provider(settings.OTEL_SERVICE_NAME or service_name)
    endpoint = settings.OTEL_EXPORTER_OTLP_ENDPOINT.rstrip("/") + "/v1/traces"
    provider.add_span_processor(BatchSpanProcessor(RedactingExporter(OTLPSpanExporter(endpoint=endpoint))))
    install_tracer_provider(provider)
    return True


def temporal_interceptors() -> list[Interceptor]:
    """For `Client.connect(interceptors=...)`: workers built on that client inherit it."""
    return [TracingInterceptor()] if _enabled else []


def worker_options() -> dict[str, Any]:
    """Extra `Worker` options: the workflow sandbox must pass opentelemetry through for the interceptor."""
    if not _enabled:
        return {}
    restrictions = SandboxRestrictions.default.with_passthrough_modules("opentelemetry")
    return {"workflow_runner": SandboxedWorkflowRunner(restrictions=restrictions)}


def instrument_app(app: FastAPI) -> None:
    """A server span per request (health checks and metrics scrapes left out)."""
    if not _enabled:
        return
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

    FastAPIInstrumentor.instrument_app(app, excluded_urls="/health,/metrics", exclude_spans=["receive", "send"])
