"""Estimated cost of a turn from the tokens the provider reported.

Prices are USD per million tokens (input, output), from the providers' public price lists; they
change, so this is an estimate for budgets and dashboards, not an invoice. Dated snapshots
("gpt-4o-mini-2024-07-18") take the price of their family by prefix. Unknown models (a local model
behind an OpenAI-compatible server) and the offline model cost 0, unless the operator declared a
price (MODEL_PRICE_IN_PER_1K / MODEL_PRICE_OUT_PER_1K, passed here as `price`).
"""

from __future__ import annotations

from decimal import Decimal

PRICES_PER_MTOK: dict[str, tuple[Decimal, Decimal]] = {
    "gpt-4o-mini": (Decimal("0.15"), Decimal("0.60")),
    "gpt-4o": (Decimal("2.50"), Decimal("10.00")),
    "gpt-4.1-nano": (Decimal("0.10"), Decimal("0.40")),
    "gpt-4.1-mini": (Decimal("0.40"), Decimal("1.60")),
    "gpt-4.1": (Decimal("2.00"), Decimal("8.00")),
    "gpt-4-turbo": (Decimal("10.00"), Decimal("30.00")),
    "gpt-3.5-turbo": (Decimal("0.50"), Decimal("1.50")),
    "o3-mini": (Decimal("1.10"), Decimal("4.40")),
    "o4-mini": (Decimal("1.10"), Decimal("4.40")),
    "o1": (Decimal("15.00"), Decimal("60.00")),
}
OFFLINE_MODEL = "offline"


def price_for(model: str) -> tuple[Decimal, Decimal] | None:
    """The (input, output) price of `model`, matching the longest known prefix; None if unknown."""
    name = model.strip().lower()
    for known in sorted(PRICES_PER_MTOK, key=len, reverse=True):
        if name == known or name.startswith(known + "-"):
            return PRICES_PER_MTOK[known]
    return None


def per_mtok(in_per_1k: Decimal, out_per_1k: Decimal) -> tuple[Decimal, Decimal]:
    """A price per 1,000 tokens (how operators declare it) as this table's price per million."""
    return in_per_1k * 1000, out_per_1k * 1000


def estimate_cost_usd(
    model: str, prompt_tokens: int, completion_tokens: int, price: tuple[Decimal, Decimal] | None = None
) -> float:
    """USD for the tokens; `price` (per million, input and output) overrides the table."""
    price = price if price is not None else price_for(model)
    if price is None:
        return 0.0
    cost = (price[0] * prompt_tokens + price[1] * completion_tokens) / Decimal(1_000_000)
    return float(cost.quantize(Decimal("0.000001")))
