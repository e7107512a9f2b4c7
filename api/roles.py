"""Who may call which endpoint, and what each can answer: the one table (`ENDPOINTS`) the API enforces
and documents (OpenAPI `responses` and `security`; docs/security.md repeats it as a table).

Callers, by the key they send (`Authorization: Bearer <key>`):

- **integration**: the shared `API_KEY` of the channel gateways. It opens tickets, adds customer
  messages and CSAT scores, and polls a ticket's messages to deliver replies. It never reads the
  queue, the CRM or reports, and never writes the CRM or erases anyone.
- **a person**: a key from `AGENT_KEYS`, with its roles. `agent` (or any `APPROVERS` role, or
  `admin`) reads tickets, the queue and the CRM and makes decisions (api/auth.py checks which);
  `admin` also writes the CRM, erases and exports a customer, and reads reports.

With no key configured at all (neither `API_KEY` nor `AGENT_KEYS`: the local demo) every endpoint is
open, as before. With `API_KEY` alone (no person has a key) the shared key keeps the `agent` level
(reading and deciding, as before) but never `admin`: CRM writes, erasure, export and reports then go
through `supportctl` on the operator's machine.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from api.auth import agent_for, bearer_token, key_matches
from api.errors import ApiError
from api.schemas import ErrorOut
from settings import AgentKey, Settings


class Access(StrEnum):
    PUBLIC = "public"  # no key
    INTEGRATION = "integration"  # API_KEY, or any person's key
    AGENT = "agent"  # a person with `agent`, an APPROVERS role or `admin`; API_KEY while AGENT_KEYS is unset
    ADMIN = "admin"  # a person with `admin`


ADMIN_ROLE = "admin"
AGENT_ROLE = "agent"


@dataclass(frozen=True)
class Endpoint:
    access: Access
    errors: frozenset[int]  # besides 401 / 403 (any guarded endpoint) and 422 (any with input)
    body: bool = False  # takes a JSON body: 400 malformed_json and 413 payload_too_large too
    takes_input: bool = True  # path or query parameters (or a body): 422 invalid_request


def _e(access: Access, *errors: int, body: bool = False, takes_input: bool = True) -> Endpoint:
    return Endpoint(access, frozenset(errors), body, takes_input)


INT, AGT, ADM = Access.INTEGRATION, Access.AGENT, Access.ADMIN
ENDPOINTS: dict[tuple[str, str], Endpoint] = {
    # its 503 is its own body (HealthOut), not an error
    ("GET", "/health"): _e(Access.PUBLIC, takes_input=False),
    ("POST", "/tickets"): _e(INT, 409, 429, 503, body=True),
    ("POST", "/tickets/{ticket_id}/messages"): _e(INT, 404, 409, 429, 503, body=True),
    ("POST", "/tickets/{ticket_id}/csat"): _e(INT, 404, 409, 503, body=True),
    ("GET", "/tickets/{ticket_id}/messages"): _e(INT, 404, 503),
    # counts only, no customer data: a Prometheus scraper may use API_KEY
    ("GET", "/metrics"): _e(INT, takes_input=False),
    ("GET", "/tickets"): _e(AGT),
    ("GET", "/tickets/{ticket_id}"): _e(AGT, 404, 503),
    ("GET", "/tickets/{ticket_id}/events"): _e(AGT, 404),
    ("GET", "/queue"): _e(AGT),
    ("POST", "/tickets/{ticket_id}/decisions"): _e(AGT, 404, 409, 503, body=True),
    ("GET", "/bug-reports"): _e(AGT),
    ("GET", "/customers/{customer_id}"): _e(AGT, 404),
    ("GET", "/customers"): _e(AGT, 404),
    ("PUT", "/customers/{customer_id}"): _e(ADM, 404, 409, body=True),
    ("DELETE", "/customers/{customer_id}"): _e(ADM, 404, 409, 503),
    ("GET", "/customers/{customer_id}/export"): _e(ADM, 404),
    ("GET", "/reports/summary"): _e(ADM),
    # a raw RFC 822 message from an inbound-mail service, like a ticket opened by a channel gateway
    ("POST", "/inbound/email"): _e(INT, 503, body=True),
    # the webhook delivery log (channels/webhooks): operators read and replay what we sent
    ("GET", "/webhooks/deliveries"): _e(ADM),
    ("GET", "/webhooks/deliveries/{delivery_id}"): _e(ADM, 404),
    ("POST", "/webhooks/deliveries/{delivery_id}/replay"): _e(ADM, 404),
    # addresses not mailed after a hard bounce (channels/email): lifting one is an admin's decision
    ("GET", "/email/suppressions"): _e(ADM),
    ("DELETE", "/email/suppressions/{address}"): _e(ADM, 404),
    # the team's saved replies (the console's reply box inserts them): anyone who works tickets manages them
    ("GET", "/saved-replies"): _e(AGT, takes_input=False),
    ("POST", "/saved-replies"): _e(AGT, 409, body=True),
    ("GET", "/saved-replies/{reply_id}"): _e(AGT, 404),
    ("PUT", "/saved-replies/{reply_id}"): _e(AGT, 404, 409, body=True),
    ("DELETE", "/saved-replies/{reply_id}"): _e(AGT, 404),
}

_WHY = {
    400: "malformed_json: the body is not JSON (or not UTF-8, or nested too deeply)",
    401: "unauthorized: no key, or a key nobody holds",
    403: "role_required: this key's holder may not call this endpoint (see the roles matrix)",
    404: "not found (ticket_not_found, customer_not_found, saved_reply_not_found)",
    409: "conflict with what the API already holds (see the endpoint's description)",
    413: "payload_too_large: body over 256 KiB",
    422: "invalid_request and the endpoint's own rules (unknown_customer, invalid_decision, …)",
    429: "rate_limited: the customer's limit; Retry-After says when to try again",
    503: "a dependency did not answer (temporal_unavailable, ticket_unresponsive, store_unavailable)",
}

# Where an endpoint's answer differs from the rest's.
_OWN_WHY: dict[tuple[str, str], dict[int, str]] = {
    ("POST", "/inbound/email"): {413: "payload_too_large: mail over INBOUND_EMAIL_MAX_BYTES (30 MiB by default)"},
}


def keys_configured(settings: Settings) -> bool:
    return settings.API_KEY is not None or settings.AGENT_KEYS is not None


def _is_agent(person: AgentKey, settings: Settings) -> bool:
    return bool({AGENT_ROLE, ADMIN_ROLE, *settings.APPROVERS} & set(person.roles))


def check(settings: Settings, access: Access, authorization: str | None, what: str) -> None:
    """Raise 401 / 403 unless the caller's key opens `access`."""
    if access is Access.PUBLIC or not keys_configured(settings):
        return
    token = bearer_token(authorization)
    person = agent_for(settings, token) if token is not None else None
    integration = token is not None and settings.API_KEY is not None and key_matches(token, settings.API_KEY)
    if person is None and not integration:
        raise ApiError(401, "unauthorized", "missing or wrong API key (Authorization: Bearer <key>)")
    if access is Access.INTEGRATION:
        return
    if access is Access.AGENT:
        if person is not None and _is_agent(person, settings):
            return
        if person is None and settings.AGENT_KEYS is None:
            return  # the one key there is (API_KEY alone) reads and decides, as before roles
        who = "the integrations' shared key" if person is None else f"{person.agent_id!r} (roles {person.roles})"
        raise ApiError(
            403, "role_required",
            f"{what} needs a person's key with the role {AGENT_ROLE!r}, an approver's or {ADMIN_ROLE!r}; this is {who}",
        )  # fmt: skip
    if person is not None and ADMIN_ROLE in person.roles:
        return
    who = "the integrations' shared key" if person is None else f"{person.agent_id!r} (roles {person.roles})"
    raise ApiError(403, "role_required", f"{what} needs a person's key with the role {ADMIN_ROLE!r}; this is {who}")


def answers(method: str, path: str) -> dict[int | str, dict[str, Any]]:
    """The error answers of an endpoint for its `responses=`: from the matrix, each with the envelope."""
    entry = ENDPOINTS[(method, path)]
    codes = set(entry.errors) | ({422} if entry.takes_input else set())
    if entry.access is not Access.PUBLIC:
        codes |= {401, 403}
    if entry.body:
        codes |= {400, 413}
    why = {**_WHY, **_OWN_WHY.get((method, path), {})}
    return {code: {"model": ErrorOut, "description": why[code]} for code in sorted(codes)}


def endpoint_of(route: APIRoute) -> tuple[str, str]:
    (method,) = (route.methods or set()) - {"HEAD"}
    return method, route.path


# Declares the key in the OpenAPI document (and Swagger UI's "Authorize"); `check` reads the header itself.
_bearer = HTTPBearer(auto_error=False, description="API_KEY (integrations) or a person's key from AGENT_KEYS")


async def require_role(
    request: Request, _credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> None:
    """Every guarded router's dependency: the matrix entry of the route being called decides."""
    route = request.scope.get("route")
    entry = ENDPOINTS.get(endpoint_of(route)) if isinstance(route, APIRoute) else None
    method, path = endpoint_of(route) if isinstance(route, APIRoute) else (request.method, request.url.path)
    access = entry.access if entry is not None else Access.ADMIN  # fail closed (create_app refuses this anyway)
    check(request.app.state.settings, access, request.headers.get("authorization"), f"{method} {path}")


def install(routers: Sequence[APIRouter]) -> None:
    """Every route must be in the matrix and answer as it says: a route missing from it, or declaring
    other errors than it lists, stops the app from starting (call it with every router the app has)."""
    routes = [r for router in routers for r in router.routes if isinstance(r, APIRoute)]
    seen = {endpoint_of(r) for r in routes}
    missing = sorted(seen - ENDPOINTS.keys())
    unknown = sorted(ENDPOINTS.keys() - seen)
    if missing or unknown:
        raise RuntimeError(
            f"api/roles.py ENDPOINTS: routes not in the matrix {missing}, entries with no route {unknown}"
        )
    for route in routes:
        method, path = endpoint_of(route)
        declared = {int(c) for c, r in route.responses.items() if int(c) >= 400 and r.get("model") is ErrorOut}
        if declared != set(answers(method, path)):
            raise RuntimeError(
                f"{method} {path}: responses= {sorted(declared)}, not roles.answers() {sorted(answers(method, path))}"
            )
        if ENDPOINTS[(method, path)].access is not Access.PUBLIC:
            key = f"**Key**: {ENDPOINTS[(method, path)].access.value} (api/roles.py)."
            route.description = f"{route.description}\n\n{key}".strip()
