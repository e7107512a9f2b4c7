"""Search results as agents and the API see them: a ``KbHit`` per article, with a short snippet."""

from __future__ import annotations

import re
from collections.abc import Sequence

from domain.models import KbHit
from kb.chunking import HEADING_SEPARATOR
from kb.mirror import Ranked

SNIPPET_CHARS = 300
_HEADING_MARK = re.compile(r"^#{1,6}\s+", re.MULTILINE)


def to_hit(score: float, chunk: Ranked, others: Sequence[Ranked] = ()) -> KbHit:
    """The hit for an article's chosen chunk, with ``others`` (more of its sections, best first) as ``more``."""
    payload = chunk.payload
    sections = []
    for second in others:  # under its own heading, so it reads as another section, not as more of this one
        heading = str(second.payload.get("heading") or payload.get("title", "")).split(HEADING_SEPARATOR)[-1]
        sections.append(f"## {heading}\n\n{second.payload.get('body', '')}")
    more = "\n\n".join(sections)
    return KbHit(
        article_id=str(payload.get("article_id", "")),
        title=str(payload.get("title", "")),
        snippet=make_snippet(str(payload.get("body") or payload.get("text", ""))),
        score=round(float(score), 6),
        category=str(payload.get("category", "")),
        product=str(payload.get("product", "")),
        url=str(payload.get("url", "")),
        text=str(payload.get("text", "")),
        more=more,
    )


def make_snippet(text: str, limit: int = SNIPPET_CHARS) -> str:
    """``text`` flattened to one line (heading marks dropped), cut at a word to ``limit`` characters."""
    flat = " ".join(_HEADING_MARK.sub(" ", text).split())
    if len(flat) <= limit:
        return flat
    cut = flat[: limit - 1]
    if " " in cut:
        cut = cut.rsplit(" ", 1)[0]
    return cut.rstrip(" ,;:") + "…"
