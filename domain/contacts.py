"""A customer as a support team gives it to the CRM (import, `PUT /customers/{id}`, a first-time sender).

Only what the team owns: email, name, company, plan, VIP flag, lifetime value. `ticket_count` and
`average_csat` are not taken: the ticket store is their source (db/customers.py computes them).
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from domain.models import Plan

# What a customer id may be: the tickets' customer_id field takes up to 64 characters.
CUSTOMER_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:@+-]{0,63}$")
CUSTOMER_ID_RULE = "1-64 characters: letters, digits and _ . : @ + - (starting with a letter or digit)"
# Deliberately loose (one @, a dot in the domain, no spaces): mail servers, not us, decide the rest.
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")
MAX_LIFETIME_VALUE = 9_999_999_999.99  # customers.lifetime_value is numeric(12, 2)


def normalize_email(email: str) -> str:
    """The form stored and compared: lookups are case-insensitive, so two spellings are one customer."""
    return email.strip().lower()


def is_email(value: str) -> bool:
    return bool(_EMAIL.match(value.strip())) and len(value.strip()) <= 320


def derive_customer_id(email: str) -> str:
    """A stable id for a customer known only by email: the same email always names the same customer,
    so a re-import, or a retried first ticket from a new sender, never makes a second one."""
    return "cus_" + hashlib.sha256(normalize_email(email).encode()).hexdigest()[:16]


def name_from_email(email: str) -> str:
    """`jane.doe+shop@x.example` -> `Jane Doe`: a greeting better than the raw address."""
    local = normalize_email(email).split("@", 1)[0].split("+", 1)[0]
    words = [w for w in re.split(r"[._\-]+", local) if w]
    return " ".join(w.capitalize() for w in words) or local or "Customer"


def check_customer_id(value: str) -> str:
    if not CUSTOMER_ID.match(value):
        raise PydanticCustomError("customer_id", "not a valid customer id ({rule})", {"rule": CUSTOMER_ID_RULE})
    return value


class Contact(BaseModel):
    """The customer fields a team sets. A missing name comes from the email's local part."""

    model_config = ConfigDict(str_strip_whitespace=True)

    email: str = Field(max_length=320)
    name: str = Field(default="", max_length=200)
    company: str | None = Field(default=None, max_length=200)
    plan: Plan = Plan.FREE
    is_vip: bool = False
    lifetime_value: float = Field(default=0.0, ge=0.0, le=MAX_LIFETIME_VALUE)

    @field_validator("email")
    @classmethod
    def _an_email(cls, v: str) -> str:
        if not is_email(v):
            raise PydanticCustomError("email", "not an email address (name@domain.tld)")
        return normalize_email(v)

    @field_validator("plan", mode="before")
    @classmethod
    def _plan_any_case(cls, v: Any) -> Any:
        return v.strip().lower() if isinstance(v, str) else v

    @field_validator("company")
    @classmethod
    def _blank_company_is_none(cls, v: str | None) -> str | None:
        return v or None

    @model_validator(mode="after")
    def _a_name(self) -> Contact:
        if not self.name:
            self.name = name_from_email(self.email)
        return self
