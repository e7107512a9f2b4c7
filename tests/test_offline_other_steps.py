"""Steps from another article join an answer only when they share more than everyday words with the message (issue
19): batch-sending steps were appended to an answer about a CORS error for sharing "sending events in batches"."""

from __future__ import annotations

from agents.offline.compose import compose_answer
from domain.models import KbHit
from tests.test_offline_replies import ctx

CORS = KbHit(
    article_id="kb-cors-errors",
    title="CORS errors",
    url="https://help.example/articles/kb-cors-errors",
    score=0.9,
    snippet="",
    text="CORS errors > Which endpoints allow browser calls\n\n## Which endpoints allow browser calls\n\n"
    "Query and Export APIs do not allow browser calls. They require a secret key, which must never be shipped to a "
    "browser; call these APIs from your backend. Only Content-Type, Authorization and Lumora-* headers are allowed.",
)
BATCH = KbHit(
    article_id="kb-batch-endpoint",
    title="Sending events in batches",
    url="https://help.example/articles/kb-batch",
    score=0.5,
    snippet="",
    text="Sending events in batches > Best practices\n\n## Best practices\n\n"
    "1. Buffer events in memory and send a batch every few seconds.\n"
    "2. Always set insert_id, so a retried batch does not create duplicates.\n"
    "3. Limit parallel senders; a few workers sending full batches work better than many small ones.\n",
)


def test_another_articles_steps_sharing_only_everyday_words_stay_out() -> None:
    message = (
        "Our admin panel calls the query API from the browser and the console shows a CORS error. Sending events in "
        "batches from the site works fine. Do we need to add a header?"
    )
    reply = compose_answer(ctx(subject="cors"), message, [CORS, BATCH])
    assert "Buffer events" not in reply and "headers are allowed" in reply
