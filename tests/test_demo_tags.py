"""`supportctl demo` leaves a few tickets tagged, through the `tag` decision as a person would: the
samples that name tags carry them afterwards, the ticket list's tag filter finds them, and the audit
trail says the demo person did it."""

from __future__ import annotations

from supportctl.demo import DEMO_PERSON, load_samples, push_tickets, tag_like_a_person
from tests.api_stack import Stack


async def test_the_demo_tags_its_samples_like_a_person(stack: Stack) -> None:
    samples = load_samples()
    # two samples that share a tag and one without tags
    churn = [s for s in samples if "churn-risk" in s.tags][:2]
    plain = next(s for s in samples if not s.tags)
    assert len(churn) == 2
    chosen = [*churn, plain]
    api = str(stack.http.base_url).rstrip("/")
    rows = await push_tickets(api, chosen, concurrency=3)

    counts = await tag_like_a_person(api, chosen, rows)

    assert counts["churn-risk"] == 2
    assert counts == {tag: sum(tag in s.tags for s in churn) for s in churn for tag in s.tags}
    ids = [t["ticket_id"] for t in rows]
    listed = (await stack.http.get("/tickets", params={"tag": "churn-risk", "limit": 500})).json()
    assert {t["ticket_id"] for t in listed} >= set(ids[:2]) and ids[2] not in {t["ticket_id"] for t in listed}
    events = (await stack.http.get(f"/tickets/{ids[0]}/events")).json()
    assert any(e["actor"] == DEMO_PERSON and "churn-risk" in str(e["data"]) for e in events), events
    untagged = (await stack.http.get(f"/tickets/{ids[2]}")).json()
    assert untagged["tags"] == []
