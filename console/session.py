"""The console's session: a signed cookie naming the agent, and a per-session token for its forms.

The cookie is HttpOnly and SameSite=Strict (a form on another site cannot send it); every form also
carries the session's CSRF token. With AGENT_KEYS the session keeps a fingerprint of the agent's key,
so a key that is removed or changed ends its sessions; the agent's roles are read from AGENT_KEYS on
every request (a role taken away is gone at once). An OIDC sign-in's session carries the roles its
ID token gave (console/oidc.py), valid while OIDC is configured.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass

from pydantic import SecretStr

from api.auth import holds  # the JSON API's own rule
from settings import AgentKey, Settings

COOKIE = "console_session"
LOGIN_COOKIE = "console_login"  # the sign-in form's own CSRF token (double submit), before a session exists
ORDINARY = "agent"
_PROCESS_SECRET = secrets.token_bytes(32)  # when CONSOLE_SECRET is unset: sessions last as long as the process


@dataclass(frozen=True)
class Agent:
    """Who is signed in, and what they may do."""

    agent_id: str
    roles: list[str]
    csrf: str
    key: AgentKey | None  # their AGENT_KEYS entry; None in the local demo (no AGENT_KEYS)

    def can_act(self, settings: Settings) -> bool:
        """Reply, reassign, priority, resolve, hand back: the role `agent` or an approver's."""
        return holds(self.roles, ORDINARY, [ORDINARY, *settings.APPROVERS])

    def can_approve(self, settings: Settings, routed_to: str | None) -> bool:
        return holds(self.roles, routed_to or settings.APPROVERS[0], settings.APPROVERS)


def _secret(settings: Settings) -> bytes:
    if settings.CONSOLE_SECRET is not None:
        return hashlib.sha256(b"console:" + settings.CONSOLE_SECRET.get_secret_value().encode()).digest()
    return _PROCESS_SECRET


def sign(settings: Settings, payload: dict[str, object]) -> str:
    body = base64.urlsafe_b64encode(json.dumps(payload, separators=(",", ":")).encode()).decode().rstrip("=")
    mac = hmac.new(_secret(settings), body.encode(), hashlib.sha256).hexdigest()
    return f"{body}.{mac}"


def unsign(settings: Settings, value: str | None) -> dict[str, object] | None:
    if not value or "." not in value:
        return None
    body, _, mac = value.rpartition(".")
    want = hmac.new(_secret(settings), body.encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(mac, want):
        return None
    try:
        data = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def key_fingerprint(entry: AgentKey) -> str:
    return hashlib.sha256(b"console-key:" + entry.key.get_secret_value().encode()).hexdigest()[:32]


def demo_roles(settings: Settings) -> list[str]:
    """Without AGENT_KEYS the JSON API lets anyone decide anything: the demo session may too."""
    return [ORDINARY, *settings.APPROVERS]


OIDC = "oidc"  # the key fingerprint of a session an OIDC sign-in began (its roles are in the cookie)


def new_session(settings: Settings, agent_id: str, entry: AgentKey | None, oidc_roles: list[str] | None = None) -> str:
    payload: dict[str, object] = {
        "a": agent_id,
        "k": key_fingerprint(entry) if entry else "",
        "c": secrets.token_urlsafe(24),
        "t": int(time.time()),
    }
    if oidc_roles is not None:
        payload |= {"k": OIDC, "r": oidc_roles}
    return sign(settings, payload)


def _oidc_agent(settings: Settings, agent_id: str, roles: object, csrf: str) -> Agent | None:
    """An OIDC session, while OIDC sign-in is configured: the roles its ID token gave, checked by the JSON
    API's rules through a key-less AgentKey (its secret is random and never accepted anywhere)."""
    if settings.OIDC_ISSUER is None or not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
        return None
    entry = AgentKey(key=SecretStr(secrets.token_urlsafe(24)), agent_id=agent_id, roles=roles)
    return Agent(agent_id, list(roles), csrf, entry)


def read_session(settings: Settings, cookie: str | None) -> Agent | None:
    data = unsign(settings, cookie)
    if data is None:
        return None
    agent_id, fingerprint, csrf, issued = data.get("a"), data.get("k"), data.get("c"), data.get("t")
    if not (isinstance(agent_id, str) and isinstance(csrf, str) and isinstance(issued, int)):
        return None
    if time.time() - issued > settings.CONSOLE_SESSION_HOURS * 3600:
        return None
    if fingerprint == OIDC:
        return _oidc_agent(settings, agent_id, data.get("r"), csrf)
    if settings.AGENT_KEYS is None:
        return Agent(agent_id, demo_roles(settings), csrf, None) if fingerprint == "" else None
    for entry in settings.AGENT_KEYS:
        if entry.agent_id == agent_id and hmac.compare_digest(key_fingerprint(entry), str(fingerprint)):
            return Agent(agent_id, list(entry.roles), csrf, entry)
    return None  # the key was removed or changed since this session began


def same_token(a: str | None, b: str | None) -> bool:
    return bool(a) and bool(b) and hmac.compare_digest(str(a), str(b))
