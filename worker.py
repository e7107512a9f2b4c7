"""The worker: builds clients and pools once, registers TicketWorkflow, ArticleSearchWorkflow (the console's
help-article search) and their activities, runs.

Run with `python worker.py` (the local stack and the compose file do).
"""

from __future__ import annotations

import asyncio
import compileall
import logging
import signal
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

from autogen_core.models import ChatCompletionClient
from pydantic import ValidationError
from temporalio.client import Client
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig
from temporalio.worker import Worker

from activities.actions import ActionActivities
from activities.conversation import ConversationActivities
from activities.crm import CrmActivities
from activities.notify import NotifyActivities
from activities.outbox import running_dispatcher
from activities.report_refresh import running_report_refresher
from activities.store import StoreActivities
from activities.triage import TriageActivities
from agents.model_client import build_model_client, model_settings_summary
from agents.model_settings import ModelConfigurationError
from agents.tracing import capture_message_content
from channels.email.imap import running_poller
from channels.email.inbound import EmailIngest
from channels.email.outbound import running_sender
from channels.webhooks.dispatcher import running_webhook_dispatcher
from channels.webhooks.signing import Signer
from clients import connect_temporal, open_pool
from kb.errors import KnowledgeBaseLocked
from kb.index import KnowledgeBase, open_qdrant
from kb.precedents import Precedents
from settings import Settings, get_settings
from telemetry import configure_logging, configure_tracing, worker_options
from triage.classifier import CategoryClassifier, load_or_train
from triage.handover import HandoverDetector, shared_detector
from triage.resolution import ConfirmationDetector, shared_confirmation_detector
from workflows.article_search import ArticleSearchWorkflow
from workflows.ticket import TicketWorkflow

log = logging.getLogger("worker")


def activities_for(
    pool: Any,
    kb: KnowledgeBase,
    classifier: CategoryClassifier,
    model_client: ChatCompletionClient,
    webhook_url: str | None = None,
    *,
    code_execution: bool = False,
    scratch_dir: Path | None = None,
    handover: HandoverDetector | None = None,
    signer: Signer | None = None,
    confirmations: ConfirmationDetector | None = None,
) -> Sequence[Any]:
    """``handover``: trained hand-over detectors (default: this process's, trained now)."""
    crm, store = CrmActivities(pool), StoreActivities(pool)
    triage = TriageActivities(classifier, handover if handover is not None else shared_detector())
    conversation = ConversationActivities(
        model_client, kb, pool, code_execution=code_execution, scratch_dir=scratch_dir, confirmations=confirmations
    )
    notify, actions = NotifyActivities(pool, webhook_url, signer=signer), ActionActivities(pool)
    return [
        notify.send,
        actions.execute_action,
        actions.reject_action,
        store.sync_ticket,
        crm.get_customer,
        triage.triage_message,
        conversation.run_agent_turn,
        conversation.search_articles,
        store.create_ticket,
        store.record_triage,
        store.record_message,
        store.record_status,
    ]


def worker_tuning(settings: Settings) -> dict[str, Any]:
    """The Worker's cache and concurrency limits from settings (None keeps the SDK's default)."""
    tuning: dict[str, Any] = {
        "max_cached_workflows": settings.WORKER_MAX_CACHED_WORKFLOWS,
        "sticky_queue_schedule_to_start_timeout": timedelta(seconds=settings.WORKER_STICKY_QUEUE_TIMEOUT_S),
    }
    if settings.WORKER_MAX_CONCURRENT_WORKFLOW_TASKS is not None:
        tuning["max_concurrent_workflow_tasks"] = settings.WORKER_MAX_CONCURRENT_WORKFLOW_TASKS
    if settings.WORKER_MAX_CONCURRENT_ACTIVITIES is not None:
        tuning["max_concurrent_activities"] = settings.WORKER_MAX_CONCURRENT_ACTIVITIES
    return tuning


def build_worker(
    client: Client, task_queue: str, activities: Sequence[Any], settings: Settings | None = None
) -> Worker:
    tuning = worker_tuning(settings) if settings is not None else {}
    tuning.update(worker_options())  # tracing: opentelemetry through the workflow sandbox
    return Worker(
        client,
        task_queue=task_queue,
        workflows=[TicketWorkflow, ArticleSearchWorkflow],
        activities=activities,
        **tuning,
    )


def precompile_workflows() -> None:
    """Write bytecode for the workflow modules. The workflow sandbox re-imports them for every ticket
    it starts or replays; without .pyc files (PYTHONDONTWRITEBYTECODE, as on our dev machines and in
    the image) each of those imports compiles the modules from source again. A read-only tree is left
    as it is (the image compiles at build time)."""
    compileall.compile_dir(Path(__file__).resolve().parent / "workflows", quiet=2)


def use_prometheus_metrics(bind_address: str) -> None:
    """Serve the SDK's metrics (sticky cache size, schedule-to-start latencies) at http://<bind>/metrics.
    Must run before the client connects."""
    Runtime.set_default(Runtime(telemetry=TelemetryConfig(metrics=PrometheusConfig(bind_address=bind_address))))


def model_client_from(settings: Settings) -> ChatCompletionClient:
    return build_model_client(
        settings.MODEL_PROVIDER,
        model=settings.MODEL_NAME,
        api_key=settings.OPENAI_API_KEY,
        base_url=settings.OPENAI_BASE_URL,
        azure_endpoint=settings.AZURE_OPENAI_ENDPOINT,
        azure_deployment=settings.AZURE_OPENAI_DEPLOYMENT,
        api_version=settings.AZURE_OPENAI_API_VERSION,
        settings=settings.model_settings(),
    )


async def main() -> None:
    settings = get_settings()
    configure_logging(settings, "support-worker", "%(asctime)s worker %(levelname)s %(message)s")
    configure_tracing(settings, "support-worker")
    capture_message_content(settings.OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT)
    model_client = model_client_from(settings)  # first: a model misconfiguration fails before anything starts
    precompile_workflows()
    if settings.WORKER_METRICS_BIND:
        use_prometheus_metrics(settings.WORKER_METRICS_BIND)
    pool = await open_pool(settings)
    qdrant = open_qdrant(settings.QDRANT_PATH, settings.QDRANT_URL, settings.QDRANT_API_KEY)
    # Past tickets and the articles that answered them (the demo's, shipped): absent, search is as before.
    kb = KnowledgeBase(qdrant, settings.KB_COLLECTION, precedents=Precedents.load())
    await kb.ensure_collection()
    await kb.warm_up()  # embedding model and local search index now, not on the first ticket
    classifier = await asyncio.to_thread(load_or_train, settings.DATA_DIR / "models" / "triage.pkl")
    handover = await asyncio.to_thread(shared_detector)  # a few hundred examples: about a second
    confirmations = await asyncio.to_thread(shared_confirmation_detector)  # likewise
    client = await connect_temporal(settings, pool)
    signer = Signer.from_secrets(settings.webhook_secrets())
    worker = build_worker(
        client,
        settings.TEMPORAL_TASK_QUEUE,
        activities_for(
            pool,
            kb,
            classifier,
            model_client,
            settings.NOTIFY_WEBHOOK_URL,
            code_execution=settings.AGENT_CODE_EXECUTION,
            scratch_dir=settings.DATA_DIR / "scratch",
            handover=handover,
            signer=signer,
            confirmations=confirmations,
        ),
        settings,
    )

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    log.info(
        "polling task queue %s on %s (model: %s %s, kb articles: %d)",
        settings.TEMPORAL_TASK_QUEUE,
        settings.TEMPORAL_ADDRESS,
        settings.MODEL_PROVIDER,
        model_settings_summary(model_client),
        await kb.count_articles(),
    )
    dispatcher = running_dispatcher(
        pool,
        settings.CUSTOMER_WEBHOOK_URL,
        poll_interval_s=settings.CUSTOMER_OUTBOX_POLL_S,
        max_backoff_s=settings.CUSTOMER_OUTBOX_MAX_BACKOFF_S,
        # With SMTP configured, e-mail tickets' replies leave by SMTP (channels/email), not the webhook.
        exclude_channels=("email",) if settings.EMAIL_SMTP_HOST and settings.EMAIL_ADDRESS else (),
        signer=signer,
    )
    webhooks = running_webhook_dispatcher(
        pool,
        signer,
        settings.EVENT_WEBHOOK_URL,
        poll_interval_s=settings.EVENT_WEBHOOK_POLL_S,
        max_backoff_s=settings.EVENT_WEBHOOK_MAX_BACKOFF_S,
    )
    smtp = running_sender(pool, settings)
    imap = running_poller(pool, EmailIngest(pool, client, settings), settings)
    reports = running_report_refresher(pool, settings.REPORT_REFRESH_S)
    async with worker, dispatcher, webhooks, smtp, imap, reports:  # the channels stop first, the pool closes after all
        await stop.wait()
        log.info("shutting down: finishing in-flight activities")
    await model_client.close()
    await qdrant.close()
    await pool.close()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KnowledgeBaseLocked as e:  # an operator's mistake, not a bug: one line, no traceback
        log.error("%s", e)
        raise SystemExit(1) from None
    except ValidationError as e:  # a bad setting: one line per setting, no traceback
        for err in e.errors():
            log.error("%s: %s", ".".join(str(p) for p in err["loc"]) or "settings", err["msg"])
        raise SystemExit(2) from None
    except ModelConfigurationError as e:  # the model's declared capabilities or limits cannot work
        log.error("model settings: %s", e)
        raise SystemExit(2) from None
