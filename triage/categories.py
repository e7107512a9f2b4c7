"""The one table that maps a trained model's labels onto the product's five categories.

A support team trains the classifier on its own labels (intents, queues, topic groups): the
classifier predicts those labels as they are and never forces them into our ``Category`` enum.
The product's triage (routing to a specialist) then maps the predicted label through
``to_category``:

1. a label in the team's own map maps as the team said: ``supportctl triage train --categories
   FILE.json`` stores ``{label: category}`` in the model artifact (``ModelInfo.categories``);
2. a label that already is a category name (``technical``, ``billing``, ``product``, ``account``,
   ``general``; any case) maps to itself: the demo model is trained on those;
3. a label in ``LABEL_TO_CATEGORY`` maps as the table says (the public datasets we measure on:
   BANKING77 intents and the IT helpdesk topic groups);
4. anything else is ``general`` (a human or the general agent picks it up). ``triage train`` names
   such labels, so a team learns before deploying that a queue of theirs would route nowhere.

Rules of thumb behind the table: money moving or being charged (fees, refunds, top-ups,
transfers, exchange rates) is billing; something that does not work (a declined card, a failed
top-up, a card the ATM swallowed) is technical; identity, credentials, personal details, lost or
compromised cards and closing the account are account; questions about what the product offers
(which cards, currencies, countries, virtual cards) are product.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from domain.models import Category

T, B, P, A, G = Category.TECHNICAL, Category.BILLING, Category.PRODUCT, Category.ACCOUNT, Category.GENERAL

_BANKING77: dict[str, Category] = {
    # cards: ordering, delivery, activation, features
    "activate_my_card": A,
    "age_limit": P,
    "apple_pay_or_google_pay": P,
    "atm_support": P,
    "card_about_to_expire": A,
    "card_acceptance": P,
    "card_arrival": A,
    "card_delivery_estimate": A,
    "card_linking": A,
    "card_not_working": T,
    "card_swallowed": T,
    "change_pin": A,
    "compromised_card": A,
    "contactless_not_working": T,
    "country_support": P,
    "disposable_card_limits": P,
    "get_disposable_virtual_card": P,
    "get_physical_card": P,
    "getting_spare_card": P,
    "getting_virtual_card": P,
    "lost_or_stolen_card": A,
    "lost_or_stolen_phone": A,
    "order_physical_card": P,
    "pin_blocked": A,
    "supported_cards_and_currencies": P,
    "virtual_card_not_working": T,
    "visa_or_mastercard": P,
    # payments, charges and refunds
    "card_payment_fee_charged": B,
    "card_payment_not_recognised": B,
    "card_payment_wrong_exchange_rate": B,
    "declined_card_payment": T,
    "direct_debit_payment_not_recognised": B,
    "extra_charge_on_statement": B,
    "pending_card_payment": B,
    "refund_not_showing_up": B,
    "request_refund": B,
    "reverted_card_payment?": B,
    "transaction_charged_twice": B,
    # cash
    "cash_withdrawal_charge": B,
    "cash_withdrawal_not_recognised": B,
    "declined_cash_withdrawal": T,
    "pending_cash_withdrawal": B,
    "wrong_amount_of_cash_received": B,
    "wrong_exchange_rate_for_cash_withdrawal": B,
    # currencies and exchange
    "exchange_charge": B,
    "exchange_rate": P,
    "exchange_via_app": P,
    "fiat_currency_support": P,
    # top-ups
    "automatic_top_up": P,
    "pending_top_up": B,
    "top_up_by_bank_transfer_charge": B,
    "top_up_by_card_charge": B,
    "top_up_by_cash_or_cheque": P,
    "top_up_failed": T,
    "top_up_limits": P,
    "top_up_reverted": B,
    "topping_up_by_card": P,
    "verify_top_up": A,
    # transfers and balance
    "balance_not_updated_after_bank_transfer": B,
    "balance_not_updated_after_cheque_or_cash_deposit": B,
    "beneficiary_not_allowed": T,
    "cancel_transfer": B,
    "declined_transfer": T,
    "failed_transfer": T,
    "pending_transfer": B,
    "receiving_money": P,
    "transfer_fee_charged": B,
    "transfer_into_account": P,
    "transfer_not_received_by_recipient": B,
    "transfer_timing": P,
    # identity, credentials, the account itself
    "edit_personal_details": A,
    "passcode_forgotten": A,
    "terminate_account": A,
    "unable_to_verify_identity": A,
    "verify_my_identity": A,
    "verify_source_of_funds": A,
    "why_verify_identity": A,
}

_IT_TOPIC_GROUPS: dict[str, Category] = {
    "hardware": T,
    "storage": T,
    "access": A,
    "administrative rights": A,
    "purchase": B,
    "internal project": P,
    "hr support": G,
    "miscellaneous": G,
}

LABEL_TO_CATEGORY: Mapping[str, Category] = MappingProxyType({**_BANKING77, **_IT_TOPIC_GROUPS})


def to_category(label: str, own: Mapping[str, Category] | None = None) -> Category:
    """The product category for a classifier label: the team's own map ``own`` first, then the
    category names and the table (``general`` when none has it)."""
    return known_category(label, own) or Category.GENERAL


def known_category(label: str, own: Mapping[str, Category] | None = None) -> Category | None:
    """``to_category`` without the fallback: None for a label nothing maps."""
    if own and label in own:
        return own[label]
    key = label.strip().lower()
    try:
        return Category(key)
    except ValueError:
        return LABEL_TO_CATEGORY.get(key)


def parse_category_map(raw: object, source: str) -> dict[str, Category]:
    """A team's ``{label: category}`` map, as read from JSON; ValueError naming what is wrong."""
    if not isinstance(raw, dict) or not raw:
        raise ValueError(f'{source}: expected a JSON object of label -> category, e.g. {{"Access": "account"}}')
    valid = ", ".join(c.value for c in Category)
    out: dict[str, Category] = {}
    for label, name in raw.items():
        try:
            out[str(label)] = Category(str(name).strip().lower())
        except ValueError:
            raise ValueError(f"{source}: label {label!r} maps to {name!r}, which is not a category ({valid})") from None
    return out
