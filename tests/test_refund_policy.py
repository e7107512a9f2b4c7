"""The refund policy as a pure function (domain.refunds), and the detector of requests about another customer."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, Literal

import pytest

from demo.customers import SCENARIO_INVOICES, demo_customers, demo_invoices
from domain.models import Customer
from domain.money_asks import asks_for_refund
from domain.refunds import Charge, about_another_customer, check_money_request, refundable_summary

NOW = datetime(2026, 5, 20, 12, 0, tzinfo=UTC)
ME = "cus_1"


def charge(days_ago: float, amount: str = "49.00", *, owner: str = ME, refunded: str = "0", **kw: Any) -> Charge:
    return Charge("LUM-1", owner, Decimal(amount), NOW - timedelta(days=days_ago), refunded_usd=Decimal(refunded), **kw)


def check(
    amount: str,
    found: Charge | None,
    *,
    kind: Literal["refund", "credit"] = "refund",
    reference: str | None = "LUM-1",
    reason: str = "renewed by mistake",
    about: str | None = None,
) -> str | None:
    verdict = check_money_request(
        kind=kind,
        amount_usd=Decimal(amount),
        reference=reference,
        reason=reason,
        customer_id=ME,
        charge=found,
        now=NOW,
        about_other_customer=about,
    )
    assert verdict.allowed == (verdict.rule is None)
    assert verdict.allowed or (verdict.reason and verdict.explanation)
    return verdict.rule


def test_the_window_is_14_days_to_the_minute() -> None:
    assert check("49", charge(0)) is None
    assert check("49", charge(14)) is None  # the 14th day's last instant is still inside
    assert check("49", charge(14 + 1 / 1440)) == "outside_window"
    assert check("49", charge(130)) == "outside_window"


def test_the_invoice_must_exist_and_be_the_customers() -> None:
    assert check("49", None) == "invoice_not_found"
    assert check("49", charge(1, owner="cus_2")) == "foreign_invoice"
    assert check("49", None, reference=None) == "no_invoice"
    # a foreign invoice is declined for a credit too; a credit needs no invoice at all
    assert check("49", charge(1, owner="cus_2"), kind="credit") == "foreign_invoice"
    assert check("49", None, kind="credit", reference=None) is None
    assert check("49", None, kind="credit", reference="INC-2291") is None  # an incident number, not an invoice


def test_the_amount_is_at_most_the_charge_minus_what_was_refunded() -> None:
    assert check("49.00", charge(1)) is None
    assert check("49.01", charge(1)) == "above_charge"
    assert check("500", charge(1, "249.00")) == "above_charge"
    assert check("30", charge(1, refunded="20.00")) == "above_charge"
    assert check("29", charge(1, refunded="20.00")) is None
    assert check("1", charge(1, refunded="49.00")) == "already_refunded"


def test_other_rules() -> None:
    assert check("49", charge(1, status="failed")) == "not_paid"
    assert check("49", charge(1), reason="we downgraded to Starter") == "downgrade"
    assert check("49", charge(1), about="Priya's email") == "other_customer"
    # SLA and goodwill credits are not bound to the refund window
    assert check("49", charge(40), kind="credit") is None


def test_explanations_say_the_policy_in_the_customers_terms() -> None:
    old = check_money_request(
        kind="refund", amount_usd=Decimal(49), reference="LUM-1", reason="x", customer_id=ME, charge=charge(30), now=NOW
    )
    assert "14 days" in old.explanation and "haven't issued or forwarded" in old.explanation
    above = check_money_request(
        kind="refund",
        amount_usd=Decimal(500),
        reference="LUM-1",
        reason="x",
        customer_id=ME,
        charge=charge(2, "249.00"),
        now=NOW,
    )
    assert "$249.00" in above.explanation and "NOT" not in above.explanation


def test_refundable_summary() -> None:
    [recent, old] = refundable_summary([charge(40), charge(2, refunded="9.00")], NOW)
    assert recent["refundable_now_usd"] == "40.00" and old["refundable_now_usd"] == "0.00"


CUSTOMERS = {c.customer_id: c for c in demo_customers()}


@pytest.mark.parametrize(
    ("who", "text"),
    [
        ("cus_1005", "Hi, I work with Corvane Retail Group. Can you email me their last three invoices?"),
        ("cus_1014", "what plan is Fernway Logistics on and what's Priya's email? she's my colleague"),
        ("cus_1053", "Please refund Tallberg Games' last invoice to my card instead, they owe me money."),
        ("cus_1007", "Can you tell me another customer's billing details?"),
    ],
)
def test_requests_about_another_customer_are_recognised(who: str, text: str) -> None:
    assert about_another_customer(text, CUSTOMERS[who]) is not None


@pytest.mark.parametrize(
    "text",
    [
        "Maple and Finch's invoices are missing from the billing page",  # her own company
        "Chloé's account is locked, that's me",
        "What's Lumora's refund policy?",
        "Monday's invoice was wrong",
        "a user's email shows up in our events",  # the analytics the customer owns
        "our customer's data is missing from the funnel",
        "what plan is best for us?",
        "Can you send me the invoice for March?",
    ],
)
def test_own_and_analytics_data_is_not_another_customer(text: str) -> None:
    assert about_another_customer(text, CUSTOMERS["cus_1007"]) is None


def test_demo_invoices_are_deterministic_and_dated_from_the_seeding_day() -> None:
    day = date(2026, 5, 1)
    first, again = demo_invoices(day), demo_invoices(day)
    assert first == again and len({c.invoice_id for c in first}) == len(first)
    assert all(c.customer_id in CUSTOMERS and c.amount_usd == c.amount_usd.quantize(Decimal("0.01")) for c in first)
    seeded = datetime.combine(day, datetime.min.time(), tzinfo=UTC) + timedelta(hours=12)
    by_id = {c.invoice_id: c for c in first}
    assert by_id["LUM-51022"].in_window(seeded) and not by_id["LUM-44120"].in_window(seeded)
    assert {c.customer_id for c in first if CUSTOMERS[c.customer_id].plan.value == "free"} == set()
    assert all(inv in by_id for inv, *_ in SCENARIO_INVOICES)
    later = {c.invoice_id: c for c in demo_invoices(day + timedelta(days=30))}
    assert later["LUM-51022"].charged_at - by_id["LUM-51022"].charged_at == timedelta(days=30)


def test_customer_without_company() -> None:
    solo = Customer(customer_id="c", email="ada@example.com", name="Ada Byron")
    assert about_another_customer("Ada's invoices please", solo) is None
    assert about_another_customer("Send me Grace's invoices please", solo) is not None


@pytest.mark.parametrize(
    "text",
    [
        "charged $49 yesterday, forgot to cancel, refund pls",
        "Can I get it refunded?",
        "Could we have that refunded please?",
        "you refund it?",
        "i want my money back, 250 dollars",
        "Is a reimbursement of the $49 possible?",
        "When we cancelled you still charged $49 - please refund it.",
        "The charge shows up twice, can you refund it?",
        "Our Starter renewed 3 days ago but we moved on. Could we get that back?",
    ],
)
def test_a_request_for_money_back_is_read_as_one(text: str) -> None:
    assert asks_for_refund(text)


@pytest.mark.parametrize(
    "text",
    [
        "When can I expect the $49 refund?",
        "Which card does the $49 go back to?",
        "Will the $240 refund for the double charge appear as a separate line on my statement?",
        "I already got refunded $29 but the invoice still says Paid.",
        "Support said the refund of $75 was approved, but I haven't seen it yet.",
        "Our finance team asks whether refunds over $100 need a manager's approval.",
        "How do I get back into my account?",
    ],
)
def test_a_question_about_a_refund_asks_for_none(text: str) -> None:
    assert not asks_for_refund(text)
