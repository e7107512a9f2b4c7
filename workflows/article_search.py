"""ArticleSearchWorkflow: one search of the help articles for a person (the console's reply box), run by
the worker that holds the knowledge base (local Qdrant takes one process per folder, and the API must not
load the embedding model). A short workflow with one activity: the same KnowledgeBase.search the agents
use. It touches no ticket, so nothing here needs a patch id; changing it later is a new workflow type."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from activities.conversation import ConversationActivities
    from domain.article_search import ArticleSearch
    from domain.models import KbHit

SEARCH_TIMEOUT = timedelta(seconds=10)


@workflow.defn(name="ArticleSearchWorkflow")
class ArticleSearchWorkflow:
    @workflow.run
    async def run(self, req: ArticleSearch) -> list[KbHit]:
        return await workflow.execute_activity_method(
            ConversationActivities.search_articles,
            req,
            start_to_close_timeout=SEARCH_TIMEOUT,
            retry_policy=RetryPolicy(maximum_attempts=2),
        )
