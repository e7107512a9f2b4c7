"""Searching the help articles for a person (the console's reply box): ArticleSearchWorkflow, run by the
worker that holds the knowledge base, within a time limit. The API itself never opens the knowledge base."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

from temporalio.client import Client, WorkflowFailureError
from temporalio.service import RPCError

from api.errors import ApiError
from api.service.rpc import temporal_unavailable
from domain.article_search import ArticleSearch
from domain.models import KbHit
from workflows.article_search import ArticleSearchWorkflow

ID_PREFIX = "article-search-"


async def search_articles(temporal: Client, task_queue: str, req: ArticleSearch, seconds: float) -> list[KbHit]:
    """The best articles for `req`, or 503 `search_unavailable` when no worker answers within `seconds`."""
    try:
        async with asyncio.timeout(seconds):
            return await temporal.execute_workflow(
                ArticleSearchWorkflow.run,
                req,
                id=f"{ID_PREFIX}{uuid.uuid4().hex}",
                task_queue=task_queue,
                execution_timeout=timedelta(seconds=max(seconds, 1) * 3),
            )
    except TimeoutError:
        raise ApiError(
            503, "search_unavailable", f"the article search did not answer within {seconds:g} s: is the worker running?"
        ) from None
    except WorkflowFailureError as e:
        raise ApiError(503, "search_unavailable", f"the article search failed: {e.cause or e}") from None
    except RPCError as e:
        raise temporal_unavailable(e) from e
