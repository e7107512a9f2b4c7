"""One real ticket traced end to end, into an in-memory exporter.

The API (over HTTP), the Temporal client and a worker run in this process with tracing on: the
production activities (offline model, demo knowledge base, Postgres) on the dev server. The span tree
must run HTTP request → StartWorkflow → RunWorkflow → activity → agent turn → model call and tool
call in one trace, with the GenAI attributes, asyncpg spans under the activities, and no customer text
(the ticket's words, the customer's name or e-mail) anywhere in a span.

Installing a tracer provider is once per process: the rest of the session keeps it (its spans go to
this exporter, which the test clears), which costs the other tests nothing they measure.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator

import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from clients import connect_temporal
from telemetry import JsonFormatter, RedactingExporter, install_tracer_provider, tracing_enabled
from telemetry.tracing import new_tracer_provider
from tests.api_stack import Stack, agent_replies, serve_api
from worker import build_worker

WORD = "Quizzlewick"  # a word no prompt, article or reply contains unless copied from the ticket
BODY = f"How do I rotate an API key for the {WORD} integration?"


@pytest.fixture(scope="module")
def exporter() -> Iterator[InMemorySpanExporter]:
    memory = InMemorySpanExporter()
    provider = new_tracer_provider("support-test")
    provider.add_span_processor(SimpleSpanProcessor(RedactingExporter(memory)))
    install_tracer_provider(provider)
    yield memory
    memory.clear()


def _values(span: ReadableSpan) -> list[str]:
    out = [span.name, span.status.description or ""]
    out += [json.dumps(v, default=str) for v in (span.attributes or {}).values()]
    for event in span.events:
        out += [json.dumps(v, default=str) for v in (event.attributes or {}).values()]
    return out


def _chain(span: ReadableSpan, by_id: dict[int, ReadableSpan]) -> list[str]:
    """The names from `span` up to its root."""
    names = []
    current: ReadableSpan | None = span
    while current is not None:
        names.append(current.name)
        current = by_id.get(current.parent.span_id) if current.parent is not None else None
    return names


def _print_tree(spans: list[ReadableSpan]) -> None:
    children: dict[int | None, list[ReadableSpan]] = {}
    for s in spans:
        children.setdefault(s.parent.span_id if s.parent else None, []).append(s)
    ids = {s.context.span_id for s in spans}

    def walk(parent: int | None, depth: int) -> None:
        for s in sorted(children.get(parent, []), key=lambda s: s.start_time or 0):
            print("  " * depth + s.name)  # noqa: T201 - shown with pytest -s, for the docs
            walk(s.context.span_id, depth + 1)

    walk(None, 0)
    for parent in children:
        if parent is not None and parent not in ids:
            walk(parent, 0)


async def test_one_ticket_is_one_trace_without_customer_text(stack: Stack, exporter: InMemorySpanExporter) -> None:
    assert tracing_enabled()
    exporter.clear()
    task_queue = f"otel-{uuid.uuid4().hex[:8]}"
    settings = stack.settings.model_copy(update={"TEMPORAL_TASK_QUEUE": task_queue})
    client = await connect_temporal(settings)  # with the TracingInterceptor: tracing is on
    worker = build_worker(client, task_queue, stack.activities)
    async with worker, serve_api(settings) as http:
        ticket = {"customer_id": "cus_1001", "channel": "chat", "subject": f"API key rotation for {WORD}", "body": BODY}
        r = await http.post("/tickets", json=ticket)
        assert r.status_code == 201, r.text
        tid = r.json()["ticket_id"]
        traced = Stack(http, client, stack.pool, task_queue, settings, stack.activities)
        await traced.wait_ticket(tid, agent_replies(1))

    spans = [s for s in exporter.get_finished_spans() if s.context is not None]
    by_id = {s.context.span_id: s for s in spans if s.context is not None}
    _print_tree(spans)

    http_span = next(s for s in spans if s.name == "POST /tickets")
    trace_id = http_span.context.trace_id if http_span.context else 0
    in_trace = [s for s in spans if s.context is not None and s.context.trace_id == trace_id]

    def one(name: str) -> ReadableSpan:
        found = [s for s in in_trace if s.name == name]
        assert found, f"no {name!r} span in the ticket's trace; spans: {sorted({s.name for s in in_trace})}"
        return found[0]

    start = one("StartWorkflow:TicketWorkflow")
    run = one("RunWorkflow:TicketWorkflow")
    turn_activity = one("RunActivity:conversation.run_agent_turn")
    turn = one("invoke_agent support_team")
    chat = one("chat offline")
    tool = next(s for s in in_trace if s.name.startswith("execute_tool "))
    assert _chain(start, by_id)[1:] == ["POST /tickets"]
    assert _chain(run, by_id)[1] == "StartWorkflow:TicketWorkflow"
    assert "StartWorkflow:TicketWorkflow" in _chain(turn_activity, by_id)
    assert _chain(turn, by_id)[1] == "RunActivity:conversation.run_agent_turn"
    assert "invoke_agent support_team" in _chain(chat, by_id)
    assert "invoke_agent support_team" in _chain(tool, by_id)

    # GenAI semantic conventions, the ticket id as the conversation id.
    chat_attrs = dict(chat.attributes or {})
    assert chat_attrs["gen_ai.operation.name"] == "chat"
    assert chat_attrs["gen_ai.request.model"] == "offline"
    assert chat_attrs["gen_ai.conversation.id"] == tid
    assert isinstance(chat_attrs["gen_ai.usage.input_tokens"], int) and chat_attrs["gen_ai.usage.input_tokens"] > 0
    assert isinstance(chat_attrs["gen_ai.usage.output_tokens"], int)
    tool_attrs = dict(tool.attributes or {})
    assert tool_attrs["gen_ai.operation.name"] == "execute_tool" and tool_attrs["gen_ai.conversation.id"] == tid
    assert dict(turn.attributes or {})["gen_ai.conversation.id"] == tid

    # Postgres queries under their activity, never orphans.
    queries = [s for s in in_trace if "db.system" in (s.attributes or {}) or "db.system.name" in (s.attributes or {})]
    assert queries, "no asyncpg span in the ticket's trace"
    assert all(any(n.startswith(("RunActivity:", "POST ")) for n in _chain(q, by_id)) for q in queries)
    in_activity = [q for q in queries if _chain(q, by_id)[1].startswith("RunActivity:")]
    assert in_activity, "no asyncpg span under an activity"
    assert all(dict(s.attributes or {}).get("support.ticket_id") == tid for s in (turn, chat, tool, *in_activity))

    # No customer text: the ticket's words, the customer's name, e-mail or company, in any span of the run.
    secrets = [WORD, "Priya", "Raman", "priya.raman@fernway-logistics.example", "Fernway", "rotate an API key"]
    for span in spans:
        for value in _values(span):
            for secret in secrets:
                assert secret not in value, f"{secret!r} in span {span.name!r}: {value[:200]}"


def test_json_logs_carry_trace_and_ticket_ids(exporter: InMemorySpanExporter) -> None:
    import logging

    from opentelemetry import trace

    formatter = JsonFormatter("support-test")
    record = logging.LogRecord("worker", logging.INFO, __file__, 1, "turn done in %s s", (1.5,), None)
    record.temporal_activity = {"workflow_id": "ticket-tkt_0123456789abcdef", "activity_type": "x"}
    with trace.get_tracer("test").start_as_current_span("s") as span:
        line = json.loads(formatter.format(record))
    assert line["message"] == "turn done in 1.5 s" and line["ticket_id"] == "tkt_0123456789abcdef"
    assert line["trace_id"] == format(span.get_span_context().trace_id, "032x")
