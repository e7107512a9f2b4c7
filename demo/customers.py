"""Demo CRM data: 60 fictional Lumora customers and their invoices.

The first ten are hand-written "anchor" customers with stable ids that the sample tickets in
``demo/tickets.jsonl`` refer to. The other fifty are generated from a seeded ``random.Random`` so the
output is identical on every call and on every machine. All people, companies and domains are made up;
every email domain ends in ``.example``.
"""

from __future__ import annotations

import random
import re
import unicodedata
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Final

from domain.models import Customer, Plan
from domain.refunds import Charge

SEED: Final = 42
GENERATED_COUNT: Final = 50
FIRST_GENERATED_ID: Final = 1011

# Monthly list prices in USD (enterprise is a custom annual contract, see _lifetime_value).
MONTHLY_PRICE: Final[dict[Plan, float]] = {
    Plan.FREE: 0.0,
    Plan.STARTER: 49.0,
    Plan.PRO: 249.0,
}

# Plan mix for the generated customers: 40% free, 25% starter, 25% pro, 10% enterprise.
PLAN_MIX: Final[dict[Plan, int]] = {
    Plan.FREE: 20,
    Plan.STARTER: 13,
    Plan.PRO: 12,
    Plan.ENTERPRISE: 5,
}

# Chance that a generated customer is flagged VIP, by plan (about 10% overall with the anchors).
VIP_PROBABILITY: Final[dict[Plan, float]] = {
    Plan.FREE: 0.0,
    Plan.STARTER: 0.04,
    Plan.PRO: 0.12,
    Plan.ENTERPRISE: 0.5,
}

# (min, max) tickets opened so far, by plan: bigger accounts talk to support more.
TICKET_RANGE: Final[dict[Plan, tuple[int, int]]] = {
    Plan.FREE: (0, 3),
    Plan.STARTER: (0, 6),
    Plan.PRO: (1, 12),
    Plan.ENTERPRISE: (4, 30),
}

# fmt: off
FIRST_NAMES: Final = (
    "Aisha", "Ben", "Camila", "Dmitri", "Elena", "Farid", "Grace", "Hugo", "Ines", "Jonas",
    "Keiko", "Liam", "Maya", "Nikhil", "Olga", "Pablo", "Quentin", "Rosa", "Samir", "Tessa",
    "Uma", "Victor", "Wen", "Ximena", "Yusuf", "Zoe", "Adrian", "Bianca", "Chidi", "Dana",
    "Emeka", "Freya", "Gustavo", "Hana", "Ivan", "Julia", "Kofi", "Lena", "Mateo", "Nora",
    "Omar", "Paula", "Ravi", "Sara", "Theo", "Valentina", "Will", "Yara", "Arjun", "Clara",
)

LAST_NAMES: Final = (
    "Abbott", "Baptiste", "Castillo", "Dufresne", "Eriksen", "Fontaine", "Gallagher", "Haddad",
    "Iwasaki", "Jovanovic", "Kowalski", "Larsen", "Mendoza", "Nakamura", "O'Brien", "Petrov",
    "Quinn", "Rahman", "Santos", "Takahashi", "Ulrich", "Varga", "Whitfield", "Xu", "Yilmaz",
    "Zielinski", "Adeyemi", "Bergström", "Chowdhury", "Delgado", "Esposito", "Fischer", "Gupta",
    "Holm", "Ibrahim", "Jensen", "Kim", "Lindgren", "Moreau", "Novak", "Okonkwo", "Pereira",
    "Reyes", "Schneider", "Tanaka", "Van Dijk", "Weber", "Young", "Alvarez", "Brennan",
)

COMPANY_PREFIXES: Final = (
    "Amberfield", "Bluecrest", "Cobalt", "Driftwood", "Ember", "Foxglove", "Granite", "Harborline",
    "Ironleaf", "Juniper", "Kestrel", "Lanternfish", "Moss", "Nimbus", "Oakridge", "Pinewave",
    "Quartz", "Redfern", "Saltmarsh", "Tidewater", "Upland", "Velvet", "Willow", "Yellowpine",
    "Zephyr", "Brightmoor", "Clearbrook", "Duskline", "Fablewood", "Glimmer",
)

COMPANY_SUFFIXES: Final = (
    "Labs", "Health", "Commerce", "Studios", "Logistics", "Fintech", "Learning", "Travel", "Foods",
    "Software", "Games", "Media", "Robotics", "Energy", "Insurance", "Apps", "Outdoors", "Mobility",
)
# fmt: on


def _slug(text: str, sep: str) -> str:
    """ASCII-fold ``text`` and join its alphanumeric runs with ``sep``: ``"Van Dijk"`` -> ``"van-dijk"``."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii").lower()
    return sep.join(re.findall(r"[a-z0-9]+", folded))


def _email(name: str, company: str) -> str:
    first, _, last = name.partition(" ")
    return f"{_slug(first, '')}.{_slug(last, '')}@{_slug(company, '-')}.example"


def _anchor_customers() -> list[Customer]:
    """Hand-written customers referenced by id from the sample tickets."""

    def anchor(
        number: int,
        name: str,
        company: str,
        plan: Plan,
        *,
        vip: bool = False,
        ltv: float,
        tickets: int,
        csat: float | None,
    ) -> Customer:
        return Customer(
            customer_id=f"cus_{number}",
            email=_email(name, company),
            name=name,
            company=company,
            plan=plan,
            is_vip=vip,
            lifetime_value=ltv,
            ticket_count=tickets,
            average_csat=csat,
        )

    return [
        # The HTTP 429 case: Pro customer well under the hourly quota, blocked by the burst limit.
        anchor(1001, "Priya Raman", "Fernway Logistics", Plan.PRO, ltv=5976.0, tickets=4, csat=4.5),
        # Unhappy VIP enterprise account.
        anchor(
            1002,
            "Daniel Whitaker",
            "Corvane Retail Group",
            Plan.ENTERPRISE,
            vip=True,
            ltv=186000.0,
            tickets=23,
            csat=3.1,
        ),
        anchor(1003, "Sofia Lindqvist", "Tallberg Games", Plan.STARTER, ltv=588.0, tickets=2, csat=None),
        # Enterprise VIP with phone support (leaked API key case).
        anchor(
            1004,
            "Kenji Watanabe",
            "Orbitra Mobility",
            Plan.ENTERPRISE,
            vip=True,
            ltv=142500.0,
            tickets=11,
            csat=4.6,
        ),
        anchor(1005, "Amara Nwosu", "Pebblepath", Plan.FREE, ltv=0.0, tickets=1, csat=None),
        anchor(1006, "Lukas Brenner", "Grauwald Software", Plan.PRO, ltv=8964.0, tickets=6, csat=3.8),
        anchor(1007, "Chloé Martin", "Maple and Finch", Plan.STARTER, ltv=1176.0, tickets=3, csat=4.0),
        # Pro VIP who has had a rough few months.
        anchor(1008, "Rafael Costa", "Vendaval Fintech", Plan.PRO, vip=True, ltv=17928.0, tickets=9, csat=2.4),
        anchor(1009, "Hannah Osei", "Quillcrest Education", Plan.FREE, ltv=0.0, tickets=0, csat=None),
        anchor(1010, "Oliver Grant", "Stackfield Media", Plan.ENTERPRISE, ltv=96000.0, tickets=15, csat=4.1),
    ]


def _lifetime_value(rng: random.Random, plan: Plan) -> float:
    """What a customer on ``plan`` has paid so far, from a random tenure."""
    if plan is Plan.FREE:
        return 0.0
    if plan is Plan.ENTERPRISE:
        years = rng.randint(1, 4)
        annual_contract = rng.randrange(30_000, 150_001, 2_500)
        return float(years * annual_contract)
    months = rng.randint(1, 48)
    monthly = MONTHLY_PRICE[plan]
    if rng.random() < 0.3:  # paid annually: 15% off
        monthly *= 0.85
    return round(months * monthly, 2)


def _generated_customers(rng: random.Random, taken_emails: set[str]) -> list[Customer]:
    plans = [plan for plan, count in PLAN_MIX.items() for _ in range(count)]
    rng.shuffle(plans)

    used_names: set[str] = set()
    used_companies: set[str] = set()
    customers: list[Customer] = []
    for offset, plan in enumerate(plans):
        name = ""
        while not name or name in used_names:
            name = f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"
        company = ""
        while not company or company in used_companies:
            company = f"{rng.choice(COMPANY_PREFIXES)} {rng.choice(COMPANY_SUFFIXES)}"
        email = _email(name, company)
        if email in taken_emails:  # cannot happen with unique names and companies, but be explicit
            raise ValueError(f"duplicate demo email {email}")
        used_names.add(name)
        used_companies.add(company)
        taken_emails.add(email)

        low, high = TICKET_RANGE[plan]
        tickets = rng.randint(low, high)
        csat: float | None = None
        if tickets > 0 and rng.random() < 0.8:
            csat = round(rng.uniform(2.0, 5.0), 1)

        customers.append(
            Customer(
                customer_id=f"cus_{FIRST_GENERATED_ID + offset}",
                email=email,
                name=name,
                company=company,
                plan=plan,
                is_vip=rng.random() < VIP_PROBABILITY[plan],
                lifetime_value=_lifetime_value(rng, plan),
                ticket_count=tickets,
                average_csat=csat,
            )
        )
    return customers


def demo_customers() -> list[Customer]:
    """The 60 demo customers: 10 anchors (``cus_1001``..``cus_1010``) then 50 generated ones.

    Deterministic: uses its own ``random.Random(42)``, never the global generator, so every call returns
    equal customers in the same order.
    """
    rng = random.Random(SEED)
    anchors = _anchor_customers()
    taken_emails = {customer.email for customer in anchors}
    return anchors + _generated_customers(rng, taken_emails)


# --- billing history --------------------------------------------------------------------------------

# Invoices the sample and evaluation tickets talk about: (invoice, customer, amount, days before the
# seeding day, description, already refunded by billing). Recent ones are inside the 14-day refund window,
# the old ones far outside it, whatever day the demo is seeded.
SCENARIO_INVOICES: Final[tuple[tuple[str, str, str, int, str, str], ...]] = (
    ("LUM-51022", "cus_1007", "49.00", 3, "Starter plan, monthly renewal", "0"),
    ("LUM-50877", "cus_1039", "49.00", 1, "Starter plan, monthly renewal", "0"),
    ("LUM-50931", "cus_1029", "200.00", 3, "Upgrade from Starter to Pro (prorated)", "0"),
    ("LUM-50712", "cus_1060", "2539.80", 5, "Pro plan, annual renewal", "0"),
    ("LUM-44120", "cus_1017", "49.00", 130, "Starter plan, monthly renewal", "0"),
    ("LUM-46001", "cus_1036", "49.00", 75, "Starter plan, monthly renewal", "0"),
    ("LUM-51203", "cus_1043", "49.00", 2, "Starter plan, monthly renewal", "0"),
    ("LUM-51204", "cus_1043", "49.00", 2, "Starter plan, monthly renewal (duplicate charge)", "0"),
    ("LUM-50999", "cus_1050", "249.00", 7, "Pro plan, monthly renewal", "0"),
    ("LUM-20931", "cus_1008", "2539.80", 5, "Pro plan, annual renewal", "0"),
    ("LUM-51180", "cus_1036", "49.00", 4, "Starter plan, monthly renewal", "0"),
    ("LUM-51181", "cus_1036", "49.00", 3, "Starter plan, monthly renewal (duplicate charge)", "0"),
    ("LUM-50650", "cus_1006", "249.00", 4, "Pro plan, monthly renewal", "249.00"),
    ("LUM-50940", "cus_1003", "49.00", 6, "Starter plan, monthly renewal", "0"),
)
CHARGE_HOUR: Final = 10  # every demo charge is taken at 10:00 UTC


def demo_invoices(today: date) -> list[Charge]:
    """The demo customers' invoices, dated relative to `today` (the day of seeding, UTC).

    Deterministic for a given day: the scenario invoices above, then for every paying customer without one
    a monthly (Starter, Pro) or annual (Enterprise) history whose latest charge is 0-40 days old, from
    the customer's own id (no shared random state). Seeding again on a later day moves the dates along,
    so "charged 3 days ago" stays true in a demo stack that is re-seeded when it starts.
    """

    def at(days_ago: int) -> datetime:
        return datetime.combine(today - timedelta(days=days_ago), time(CHARGE_HOUR), tzinfo=UTC)

    out = [
        Charge(inv, cid, Decimal(amount), at(days), description=what, refunded_usd=Decimal(refunded))
        for inv, cid, amount, days, what, refunded in SCENARIO_INVOICES
    ]
    scripted = {cid for _, cid, *_ in SCENARIO_INVOICES}
    for customer in demo_customers():
        if customer.plan is Plan.FREE or customer.customer_id in scripted:
            continue
        number = int(customer.customer_id.removeprefix("cus_"))
        latest = (number * 7) % 41  # days since the latest charge: 0..40
        if customer.plan is Plan.ENTERPRISE:
            amount = Decimal(30_000 + (number * 2_500) % 120_000)
            out.append(Charge(f"LUM-{number}01", customer.customer_id, amount, at(latest + 30),
                              description="Enterprise plan, annual contract"))  # fmt: skip
            continue
        price = Decimal(str(MONTHLY_PRICE[customer.plan])).quantize(Decimal("0.01"))
        for k in range(3):
            out.append(
                Charge(
                    f"LUM-{number}{k + 1:02d}",
                    customer.customer_id,
                    price,
                    at(latest + 30 * k),
                    description=f"{customer.plan.value.capitalize()} plan, monthly renewal",
                )  # fmt: skip
            )
    return out
