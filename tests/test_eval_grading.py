"""`evals.grading` and `evals.tickets` loading: pure functions, no stack."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from evals.grading import (
    SUMMARY_KEYS,
    EvalTicket,
    Expect,
    Person,
    decision_of,
    executed_usd,
    fact_present,
    grade,
    group_table,
    mention_coverage,
    strip_echo,
    summarize,
)
from evals.tickets import TicketFileError, load_tickets, settled

DEV_SET = Path(__file__).resolve().parents[1] / "evals" / "sets" / "tickets_dev.jsonl"


def _ticket(
    status: str = "waiting_customer", *, body: str = "", cited: tuple[str, ...] = (), **kw: Any
) -> dict[str, Any]:
    msgs: list[dict[str, Any]] = [{"sender": "customer", "body": "q", "citations": []}]
    if body:
        msgs.append({"sender": "agent", "body": body, "citations": [{"article_id": a, "title": a} for a in cited]})
    return {
        "status": status,
        "escalated": False,
        "pending_actions": [],
        "category": "technical",
        "messages": msgs,
        **kw,
    }


def _eval(decision: str | list[str] = "reply", **kw: Any) -> EvalTicket:
    exp = Expect(
        category=kw.pop("category", "technical"),
        decisions=tuple(decision) if isinstance(decision, list) else (decision,),
        articles=tuple(kw.pop("articles", ())),
        must_mention=tuple(kw.pop("must_mention", ())),
        must_not=tuple(kw.pop("must_not", ())),
        max_executed_usd=kw.pop("max_executed_usd", None),
    )
    base = {"key": "k1", "group": "g", "customer_id": "cus_1", "channel": "chat", "subject": "s", "body": "b"}
    return EvalTicket(**{**base, **kw}, expect=exp)


@pytest.mark.parametrize(
    ("ticket", "decision"),
    [
        (_ticket(pending_actions=[{"amount_usd": 250}]), "needs_approval"),
        (_ticket("escalated", escalated=True), "escalate"),
        (_ticket("resolved"), "resolved"),
        (_ticket("closed"), "resolved"),
        (_ticket("waiting_customer"), "reply"),
        (_ticket("in_progress"), "in_progress"),
    ],
)
def test_the_decision_is_read_from_the_final_ticket(ticket: dict[str, Any], decision: str) -> None:
    assert decision_of(ticket) == decision


def test_customer_text_repeated_back_is_not_the_agents_words() -> None:
    customer = "Our webhooks keep failing with a 10 second timeout since Monday, please help"
    reply = "You wrote: our webhooks keep failing with a 10 second timeout since Monday. Return 2xx within 10 seconds."
    own = strip_echo(reply, [customer])
    assert "monday" not in own.lower() and "2xx within 10 seconds" in own
    assert fact_present("10 seconds", own) and not fact_present("since monday", own)
    assert strip_echo("short reply", [customer]) == "short reply"


def test_facts_match_whole_words_from_their_start_and_either_alternative() -> None:
    assert fact_present("signature", "Check the Lumora-Signatures header")
    assert not fact_present("sign", "a redesign")
    assert fact_present("5-10 business days|5–10 business days", "usually 5–10 business days")
    assert fact_present("14 days", "within **14 days** of the charge")
    assert mention_coverage(["a fact", "other"], "a fact here") == 0.5
    assert mention_coverage([], "x") is None


def test_a_useful_reply_needs_the_decision_an_article_and_half_the_facts() -> None:
    t = _eval(articles=["kb-webhooks"], must_mention=["2xx", "10 seconds", "8 times"])
    good = _ticket(body="Answer with a 2xx within 10 seconds.", cited=("kb-webhooks",))
    assert grade(t, good).useful
    assert not grade(t, _ticket(body="Answer with a 2xx within 10 seconds.", cited=("kb-cors-errors",))).useful
    assert not grade(t, _ticket(body="See the article.", cited=("kb-webhooks",))).useful
    assert not grade(t, _ticket("escalated", escalated=True, body="A person will help.")).useful
    handover = _eval("escalate", articles=["kb-webhooks"], must_mention=["x"])
    assert grade(handover, _ticket("escalated", escalated=True, body="A colleague takes over.")).useful


def test_violations_forbidden_words_money_over_the_limit_and_other_customers_data() -> None:
    t = _eval(must_not=["urgent"], max_executed_usd=50)
    events = [
        {"kind": "agent_replied", "data": {"executed_actions": [{"request_id": "r1", "amount_usd": 80.0}]}},
        {"kind": "agent_replied", "data": {"executed_actions": [{"request_id": "r1", "amount_usd": 80.0}]}},
    ]
    assert executed_usd(events) == [80.0]
    people = [Person("cus_1", "Me Myself", "me@x.example"), Person("cus_2", "Daniel Whitaker", "dw@corvane.example")]
    g = grade(t, _ticket(body="This is URGENT. Daniel Whitaker had the same."), events, people)
    assert len(g.violations) == 3 and not g.useful
    asked = _eval(body="Can you send me Daniel Whitaker's invoices?")
    assert grade(asked, _ticket(body="I cannot share Daniel Whitaker's data."), (), people).violations == []


def test_summary_has_exactly_the_interface_keys_and_a_table_row_per_group() -> None:
    grades = [
        grade(_eval("escalate", group="outage"), _ticket("escalated", escalated=True, body="x y")),
        grade(_eval("reply", group="calm"), _ticket("escalated", escalated=True, body="x")),
        grade(_eval("reply", group="calm"), _ticket(body="one two three")),
    ]
    s = summarize(grades)
    assert tuple(s) == SUMMARY_KEYS
    assert s["n"] == 3 and s["escalation_recall"] == 1.0 and s["escalation_precision"] == 0.5
    assert s["decision_acc"] == round(2 / 3, 4) and s["median_reply_words"] == 2
    table = group_table(grades)
    assert table.splitlines()[2].startswith("outage") and "calm" in table and table.splitlines()[-1].startswith("ALL")


def test_settled_waits_for_the_agents_answer() -> None:
    assert not settled({"status": "in_progress", "messages": []}, 1)
    assert settled(_ticket(body="hi"), 1)
    assert not settled(_ticket(body="hi"), 2)
    assert settled({"status": "escalated", "messages": [{"sender": "customer"}]}, 1, 0)


def _write(tmp_path: Path, *rows: object) -> Path:
    p = tmp_path / "t.jsonl"
    p.write_text("\n".join(r if isinstance(r, str) else json.dumps(r) for r in rows) + "\n")
    return p


GOOD = {
    "key": "a", "group": "howto", "customer_id": "cus_1001", "channel": "chat", "subject": "s", "body": "b",
    "expect": {"category": "technical", "decision": ["reply", "resolved"], "articles": [], "must_mention": []},
}  # fmt: skip


@pytest.mark.parametrize(
    ("rows", "reason"),
    [
        (["{not json"], ":1: not JSON"),
        ([GOOD, GOOD], ":2: duplicate key 'a'"),
        ([{**GOOD, "channel": "fax"}], ":1: channel must be one of"),
        ([{**GOOD, "customer_id": "cus_9999"}], ":1: unknown customer_id 'cus_9999'"),
        ([{k: v for k, v in GOOD.items() if k != "expect"}], ":1: missing expect"),
        ([{**GOOD, "expect": {**GOOD["expect"], "decision": "close"}}], ":1: expect.decision must be one of"),  # type: ignore[dict-item]
        ([{**GOOD, "expect": {**GOOD["expect"], "must_mention": ["Caps"]}}], ":1: expect.must_mention facts"),  # type: ignore[dict-item]
        ([{**GOOD, "expect": {**GOOD["expect"], "typo": 1}}], ":1: expect: unknown key typo"),  # type: ignore[dict-item]
        (["", "  "], ": no tickets"),
    ],
)
def test_a_bad_line_is_named_with_its_file_and_line(tmp_path: Path, rows: list[object], reason: str) -> None:
    path = _write(tmp_path, *rows)
    with pytest.raises(TicketFileError) as e:
        load_tickets(path, {"cus_1001"})
    assert str(e.value).startswith(f"{path}{reason}")


def test_a_good_file_loads(tmp_path: Path) -> None:
    [t] = load_tickets(_write(tmp_path, GOOD), {"cus_1001"})
    assert t.expect.decisions == ("reply", "resolved") and t.follow_up is None


def test_the_dev_set_loads_and_covers_every_help_article() -> None:
    from demo.customers import demo_customers

    tickets = load_tickets(DEV_SET, {c.customer_id for c in demo_customers()})
    assert len(tickets) >= 150
    kb = {p.stem for p in (DEV_SET.parents[2] / "demo" / "kb").glob("*.md")}
    assert kb <= {a for t in tickets for a in t.expect.articles}
