"""A person's search of the help articles from the console's reply box: what is asked, and its limits.

The worker that holds the knowledge base answers it (ArticleSearchWorkflow, one activity); the hits are
``domain.models.KbHit``, the same the agents get."""

from __future__ import annotations

from pydantic import BaseModel, Field

MAX_QUERY = 300
MAX_HITS = 8


class ArticleSearch(BaseModel):
    query: str = Field(min_length=1, max_length=MAX_QUERY)
    limit: int = Field(default=5, ge=1, le=MAX_HITS)
    product: str | None = None  # the ticket's product: its articles and those for every product
