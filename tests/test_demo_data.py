"""Sanity checks for the demo data set: KB articles, customers, sample tickets and triage examples."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml

from demo.customers import demo_customers
from domain.lifecycle import Retag
from domain.models import Category, Channel, Plan
from supportctl.demo import first_answer

DEMO_DIR = Path(__file__).resolve().parents[1] / "demo"
KB_DIR = DEMO_DIR / "kb"
TICKETS_FILE = DEMO_DIR / "tickets.jsonl"
TRIAGE_FILE = DEMO_DIR / "triage_examples.jsonl"

CATEGORIES = {c.value for c in Category}
CHANNELS = {c.value for c in Channel}
MOODS = {"calm", "frustrated", "angry", "happy"}
FRONT_MATTER = re.compile(r"\A---\n(.*?)\n---\n(.*)\Z", re.DOTALL)


def _articles() -> list[Path]:
    return sorted(KB_DIR.glob("*.md"))


def _parse_article(path: Path) -> tuple[dict[str, Any], str]:
    match = FRONT_MATTER.match(path.read_text(encoding="utf-8"))
    assert match, f"{path.name}: missing or malformed front matter block"
    meta = yaml.safe_load(match.group(1))
    assert isinstance(meta, dict), f"{path.name}: front matter is not a mapping"
    return meta, match.group(2)


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        row = json.loads(line)
        assert isinstance(row, dict), f"{path.name}:{number} is not a JSON object"
        rows.append(row)
    return rows


# --- knowledge base ---------------------------------------------------------------------------------


def test_kb_has_expected_number_of_articles() -> None:
    assert 36 <= len(_articles()) <= 45


@pytest.mark.parametrize("path", _articles(), ids=lambda p: p.stem)
def test_article_parses(path: Path) -> None:
    meta, body = _parse_article(path)
    assert meta.get("id") == path.stem
    assert re.fullmatch(r"kb-[a-z0-9]+(-[a-z0-9]+)*", path.stem)
    assert isinstance(meta.get("title"), str) and meta["title"].strip()
    assert meta.get("category") in CATEGORIES
    tags = meta.get("tags")
    assert isinstance(tags, list) and tags and all(isinstance(t, str) and t for t in tags)
    assert body.strip()
    assert re.search(r"^## \S", body, re.MULTILINE), "needs at least one ## heading"
    words = len(body.split())
    assert 150 <= words <= 450, f"{words} words"


def test_article_ids_unique_and_all_categories_covered() -> None:
    metas = [_parse_article(path)[0] for path in _articles()]
    ids = [meta["id"] for meta in metas]
    assert len(ids) == len(set(ids))
    assert {meta["category"] for meta in metas} == CATEGORIES


def test_rate_limit_facts_are_stated() -> None:
    _, body = _parse_article(KB_DIR / "kb-rate-limits.md")
    for fact in ("10,000", "300", "429", "Retry-After", "X-RateLimit-Remaining", "/v2/batch", "500 events"):
        assert fact in body


# --- customers --------------------------------------------------------------------------------------


def test_demo_customers_deterministic() -> None:
    first, second = demo_customers(), demo_customers()
    assert first == second
    assert [c.model_dump() for c in first] == [c.model_dump() for c in second]


def test_demo_customers_shape() -> None:
    customers = demo_customers()
    assert len(customers) == 60
    ids = [c.customer_id for c in customers]
    emails = [c.email for c in customers]
    assert len(set(ids)) == len(ids)
    assert len(set(emails)) == len(emails)
    assert ids[:10] == [f"cus_{n}" for n in range(1001, 1011)]
    assert all(re.fullmatch(r"[a-z]+\.[a-z]+@[a-z0-9-]+\.example", email) for email in emails)

    plans = Counter(c.plan for c in customers)
    assert set(plans) == set(Plan)
    assert any(c.is_vip for c in customers)
    assert all(c.lifetime_value == 0.0 for c in customers if c.plan is Plan.FREE)
    assert all(c.lifetime_value > 0.0 for c in customers if c.plan is not Plan.FREE)


def test_anchor_customer_for_rate_limit_case() -> None:
    priya = next(c for c in demo_customers() if c.customer_id == "cus_1001")
    assert priya.name == "Priya Raman"
    assert priya.company == "Fernway Logistics"
    assert priya.plan is Plan.PRO


# --- sample tickets ---------------------------------------------------------------------------------


def test_sample_tickets_are_valid() -> None:
    tickets = _read_jsonl(TICKETS_FILE)
    assert 24 <= len(tickets) <= 30
    customer_ids = {c.customer_id for c in demo_customers()}

    keys = [t["key"] for t in tickets]
    assert len(keys) == len(set(keys))
    for ticket in tickets:
        assert ticket["customer_id"] in customer_ids, ticket["key"]
        assert ticket["channel"] in CHANNELS, ticket["key"]
        assert ticket["expected_category"] in CATEGORIES, ticket["key"]
        assert ticket["mood"] in MOODS, ticket["key"]
        assert ticket["subject"].strip() and ticket["body"].strip(), ticket["key"]
        assert ticket["follow_up"] is None or ticket["follow_up"].strip(), ticket["key"]

    assert {t["channel"] for t in tickets} == CHANNELS
    assert {t["expected_category"] for t in tickets} == CATEGORIES


def test_a_few_sample_tickets_carry_tags_the_decision_accepts() -> None:
    """`supportctl demo` tags these as a person would, so the console's tag filter has something to show."""
    tagged = {t["key"]: t["tags"] for t in _read_jsonl(TICKETS_FILE) if t.get("tags")}
    assert 3 <= len(tagged) <= 10, tagged
    for key, tags in tagged.items():
        # as typed: the `tag` decision would not change them (already lower-case, valid, no repeats)
        assert Retag(request_id="r", agent_id="alex", add=tags).add == tags and len(set(tags)) == len(tags), key
    uses = Counter(tag for tags in tagged.values() for tag in tags)
    assert max(uses.values()) >= 2, uses  # a filter that finds more than one ticket


def test_rate_limit_ticket_present() -> None:
    first = _read_jsonl(TICKETS_FILE)[0]
    assert first["customer_id"] == "cus_1001"
    assert "429" in first["body"] and "ASAP" in first["body"]
    assert first["expected_category"] == "technical"


# --- triage examples --------------------------------------------------------------------------------


def test_triage_examples_balanced() -> None:
    examples = _read_jsonl(TRIAGE_FILE)
    assert 200 <= len(examples) <= 260
    assert all(e["category"] in CATEGORIES and e["text"].strip() for e in examples)
    counts = Counter(e["category"] for e in examples)
    assert set(counts) == CATEGORIES
    assert min(counts.values()) >= 30
    texts = [e["text"] for e in examples]
    assert len(texts) == len(set(texts))


def test_triage_examples_do_not_contain_ticket_texts() -> None:
    texts = [e["text"] for e in _read_jsonl(TRIAGE_FILE)]
    for ticket in _read_jsonl(TICKETS_FILE):
        for field in ("body", "follow_up"):
            message = ticket[field]
            if message is None:
                continue
            assert not any(message.strip() in text for text in texts), ticket["key"]


def test_the_demo_reports_a_hand_over_as_one_not_as_a_first_response() -> None:
    def ticket(escalated: bool, ttfr: float | None) -> dict[str, object]:
        return {
            "created_at": "2026-11-25T10:00:00+00:00", "escalated": escalated, "status": "escalated" if escalated
            else "waiting_customer", "assigned_agent": "BillingAgent", "time_to_first_response_s": ttfr,
            "messages": [{"sender": "customer", "created_at": "2026-11-25T10:00:00+00:00"},
                         {"sender": "agent", "created_at": "2026-11-25T10:00:01.250000+00:00"}],
        }  # fmt: skip

    assert first_answer(ticket(True, None)) == "BillingAgent handed it to a person in 1.25s (escalated)"
    assert first_answer(ticket(False, 1.25)) == "BillingAgent replied in 1.25s (waiting_customer)"
