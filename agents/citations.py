"""Which retrieved articles a reply actually used: the ones it links, else the ones it quotes."""

from __future__ import annotations

import re

from domain.models import Citation, KbHit

_SHINGLE = 8  # words a reply must share verbatim with a passage to count as having used it


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", text.lower())


def _shares_passage(reply: str, hit: KbHit) -> bool:
    words = _words(hit.text or hit.snippet)
    reply_flat = " ".join(_words(reply))
    return any(" ".join(words[i : i + _SHINGLE]) in reply_flat for i in range(max(0, len(words) - _SHINGLE + 1)))


def cite(reply: str, hits: list[KbHit]) -> list[Citation]:
    """Articles the reply links (in reply order); failing that, retrieved articles it quotes from."""
    linked: list[tuple[int, KbHit]] = []
    for hit in hits:
        pos = reply.find(hit.url) if hit.url else -1
        if pos < 0 and hit.title:
            pos = reply.find(f"[{hit.title}]")
        if pos >= 0:
            linked.append((pos, hit))
    used = [hit for _, hit in sorted(linked, key=lambda item: item[0])]
    if not used:
        used = [hit for hit in hits if _shares_passage(reply, hit)]
    return [Citation(article_id=h.article_id, title=h.title, url=h.url, score=h.score) for h in used]
