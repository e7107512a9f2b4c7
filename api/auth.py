"""Who may call the API, and who may decide: the shared API_KEY and the per-agent AGENT_KEYS.

Which key may call which endpoint is api/roles.py's matrix. Here: the key's holder, and who may decide.
With AGENT_KEYS set, a decision on a ticket needs an agent's own key: the decision is made as that
agent (its `agent_id` must be the key's) and an approve / reject needs the approver role the action
waits on. The checks live here, in the API: the workflow records whoever the API names, so it needs no
change (and running tickets replay as before).
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
from typing import Annotated

from fastapi import Depends, Request

from api.deps import PoolDep, SettingsDep
from api.errors import ApiError
from api.schemas import ActionDecisionIn, DecisionIn
from db import actions
from settings import AgentKey, Settings

ORDINARY = "agent"  # the role for every decision but approve / reject
_STORE_TIMEOUT_S = 5.0  # reading the action's approver before the decision goes to the ticket


def _digest(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()


def key_matches(token: str, key: str) -> bool:
    """Constant time, and blind to length: both sides are hashed to 32 bytes before compare_digest, so
    neither how long the key is nor how much of it a guess got right shows in the time taken."""
    return secrets.compare_digest(_digest(token), _digest(key))


def bearer_token(authorization: str | None) -> str | None:
    scheme, _, token = (authorization or "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def agent_for(settings: Settings, token: str) -> AgentKey | None:
    """The agent whose key this is. Every key is compared (no early exit), so the time taken does not
    tell which entry matched, or whether one did."""
    found = None
    for entry in settings.AGENT_KEYS or []:
        if key_matches(token, entry.key.get_secret_value()) and found is None:
            found = entry
    return found


def deciding_agent(request: Request, settings: SettingsDep) -> AgentKey | None:
    """The agent making a decision, by its key; None when AGENT_KEYS is unset (anyone api/roles.py let
    through decides, as whoever the body names). With AGENT_KEYS set, roles.py already refused every
    key but a person's with an agent's, an approver's or the admin role."""
    if settings.AGENT_KEYS is None:
        return None
    token = bearer_token(request.headers.get("authorization"))
    agent = agent_for(settings, token) if token is not None else None
    if agent is None:
        raise ApiError(401, "unauthorized", "a decision needs an agent's key (Authorization: Bearer <agent key>)")
    return agent


def acting_agent(settings: Settings, authorization: str | None) -> str | None:
    """The agent_id of the person whose key this is (AGENT_KEYS), for the audit trail; None otherwise."""
    token = bearer_token(authorization)
    agent = agent_for(settings, token) if settings.AGENT_KEYS is not None and token is not None else None
    return agent.agent_id if agent is not None else None


DecidingAgentDep = Annotated[AgentKey | None, Depends(deciding_agent)]


def holds(roles: list[str], needed: str, chain: list[str]) -> bool:
    """`needed`, or a role after it in `chain` (a higher one: a support-manager may do a team-lead's part)."""
    if needed in roles:
        return True
    if needed not in chain:
        return False
    return any(r in chain and chain.index(r) > chain.index(needed) for r in roles)


async def authorize(
    pool: PoolDep, settings: Settings, agent: AgentKey | None, ticket_id: str, decision: DecisionIn
) -> None:
    """Refuse (403) a decision this agent's key may not make. Nothing to check when AGENT_KEYS is unset."""
    if agent is None:
        return
    if decision.agent_id != agent.agent_id:
        raise ApiError(
            403, "agent_mismatch",
            f"this key is {agent.agent_id!r}'s: a decision made with it must say agent_id {agent.agent_id!r}, "
            f"not {decision.agent_id!r}",
        )  # fmt: skip
    if not isinstance(decision, ActionDecisionIn):
        if not holds(agent.roles, ORDINARY, [ORDINARY, *settings.APPROVERS]):
            needs = f"{decision.kind} needs the role {ORDINARY!r} (or an approver's)"
            raise ApiError(403, "not_an_agent", f"{needs}; {agent.agent_id!r} has {agent.roles}")
        return
    needed = await _approver_needed(pool, settings, ticket_id, decision.action_request_id)
    if needed is not None and not holds(agent.roles, needed, settings.APPROVERS):
        raise ApiError(
            403, "not_an_approver",
            f"action {decision.action_request_id} waits on {needed!r} (or an approver after it in APPROVERS); "
            f"{agent.agent_id!r} has {agent.roles}",
        )  # fmt: skip


async def _approver_needed(pool: PoolDep, settings: Settings, ticket_id: str, action_id: str) -> str | None:
    """The role the pending action waits on, read as the ticket and queue endpoints show it (`routed_to`).

    None when the action is not pending in the store: then it is not pending in the workflow either (the
    agent's tool writes the pending row before the workflow waits on it, and the workflow decides it in
    the store before it stops waiting), so the workflow refuses the decision as stale, or answers a
    repeat of one it already took from its record. Not yet routed (its request for approval not yet
    recorded, a moment after it escalates): the first approver, where the workflow always starts.
    A store that does not answer refuses the decision (503): an unchecked approval would be worse.
    """
    try:
        async with asyncio.timeout(_STORE_TIMEOUT_S):
            pending = (await actions.pending_actions(pool, [ticket_id])).get(ticket_id, [])
    except Exception as e:
        raise ApiError(
            503, "store_unavailable",
            "the ticket store did not answer, so who may decide this action is unknown; try again",
            headers={"Retry-After": "5"},
        ) from e  # fmt: skip
    for action in pending:
        if action.request_id == action_id:
            return action.routed_to or settings.APPROVERS[0]
    return None
