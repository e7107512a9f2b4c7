"""The worker: builds clients and pools once, registers TicketWorkflow and its activities, runs.

Run with `python worker.py` (the local stack and the compose file do).
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Sequence
from typing import Any

from autogen_core.models import ChatCompletionClient
from temporalio.client import Client
from temporalio.worker import Worker

from activities.actions import ActionActivities
from activities.conversation import ConversationActivities
from activities.crm import CrmActivities
from activities.notify import NotifyActivities
from activities.store import StoreActivities
from activities.triage import TriageActivities
from agents.model_client import build_model_client
from clients import connect_temporal, open_pool
from kb.index import KnowledgeBase, open_qdrant
from settings import Settings, get_settings
from triage.classifier import CategoryClassifier, load_or_train
from workflows.ticket import TicketWorkflow

log = logging.getLogger("worker")


def activities_for(
    pool: Any,
    kb: KnowledgeBase,
    classifier: CategoryClassifier,
    model_client: ChatCompletionClient,
    webhook_url: str | None = None,
) -> Sequence[Any]:
    crm, store = CrmActivities(pool), StoreActivities(pool)
    triage, conversation = TriageActivities(classifier), ConversationActivities(model_client, kb)
    notify, actions = NotifyActivities(pool, webhook_url), ActionActivities(pool)
    return [
        notify.send,
        actions.execute_action,
        actions.reject_action,
        store.sync_ticket,
        crm.get_customer,
        triage.triage_message,
        conversation.run_agent_turn,
        store.create_ticket,
        store.record_triage,
        store.record_message,
        store.record_status,
    ]


def build_worker(client: Client, task_queue: str, activities: Sequence[Any]) -> Worker:
    return Worker(client, task_queue=task_queue, workflows=[TicketWorkflow], activities=activities)


def model_client_from(settings: Settings) -> ChatCompletionClient:
    return build_model_client(
        settings.MODEL_PROVIDER,
        model=settings.MODEL_NAME,
        api_key=settings.OPENAI_API_KEY,
        base_url=settings.OPENAI_BASE_URL,
        azure_endpoint=settings.AZURE_OPENAI_ENDPOINT,
        azure_deployment=settings.AZURE_OPENAI_DEPLOYMENT,
        api_version=settings.AZURE_OPENAI_API_VERSION,
    )


async def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s worker %(levelname)s %(message)s")
    settings = get_settings()
    pool = await open_pool(settings)
    qdrant = open_qdrant(settings.QDRANT_PATH, settings.QDRANT_URL, settings.QDRANT_API_KEY)
    kb = KnowledgeBase(qdrant, settings.KB_COLLECTION)
    await kb.ensure_collection()
    classifier = await asyncio.to_thread(load_or_train, settings.DATA_DIR / "models" / "triage.pkl")
    model_client = model_client_from(settings)
    client = await connect_temporal(settings)
    worker = build_worker(
        client,
        settings.TEMPORAL_TASK_QUEUE,
        activities_for(pool, kb, classifier, model_client, settings.NOTIFY_WEBHOOK_URL),
    )

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    log.info(
        "polling task queue %s on %s (model: %s, kb articles: %d)",
        settings.TEMPORAL_TASK_QUEUE,
        settings.TEMPORAL_ADDRESS,
        settings.MODEL_PROVIDER,
        await kb.count_articles(),
    )
    async with worker:
        await stop.wait()
        log.info("shutting down: finishing in-flight activities")
    await model_client.close()
    await qdrant.close()
    await pool.close()


if __name__ == "__main__":
    asyncio.run(main())
