"""Who may decide (AGENT_KEYS): a decision is made as the key's agent, an approval needs the approver
the action waits on, and the integrations' shared API_KEY makes no decisions. On the real stack, with
a test-local API that has the keys; unset, the stack's own API (and every other test) runs as before."""

from __future__ import annotations

import asyncio
import secrets
import uuid
from typing import Any

import httpx
import pytest
from pydantic import SecretStr, ValidationError

from api.auth import agent_for, holds, key_matches
from settings import AgentKey, Settings
from tests.api_stack import Stack, serve_api

INTEGRATION = "integration-key-0123456789"
KEYS = {
    "ana": ("ana-key-0123456789abcdef", ["agent"]),
    "lead": ("lead-key-0123456789abcdef", ["agent", "team-lead"]),
    "boss": ("boss-key-0123456789abcdef", ["support-manager"]),
    "auditor": ("auditor-key-0123456789abc", ["auditor"]),
}
AGENT_KEYS = [AgentKey(key=SecretStr(k), agent_id=a, roles=r) for a, (k, r) in KEYS.items()]


def _as(who: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {KEYS[who][0] if who in KEYS else who}"}


def _refund(customer_id: str, invoice: str) -> dict[str, Any]:
    body = (
        "Five days ago our card was charged $2,539.80 for the annual Pro renewal. We meant to cancel. "
        f"Please refund the annual charge. Invoice number is {invoice}."
    )
    return {"customer_id": customer_id, "channel": "email", "subject": "Refund", "body": body}


def _approve(agent_id: str, action_id: str, request_id: str | None = None) -> dict[str, Any]:
    rid = request_id or uuid.uuid4().hex
    return {"kind": "approve", "request_id": rid, "agent_id": agent_id, "action_request_id": action_id}


def _error(r: httpx.Response) -> tuple[int, str, str]:
    return r.status_code, r.json()["error"]["code"], r.json()["error"]["message"]


async def _pending_refund(stack: Stack, http: httpx.AsyncClient, customer_id: str) -> tuple[str, str]:
    """A ticket (opened by the integration) whose refund above the agents' limit waits on an approver."""
    invoice = await stack.invoice(customer_id, "2539.80")
    r = await http.post("/tickets", json=_refund(customer_id, invoice), headers=_as(INTEGRATION))
    assert r.status_code == 201, r.text
    tid = r.json()["ticket_id"]
    t = await stack.wait_ticket(tid, lambda t: bool(t["pending_actions"] and t["pending_actions"][0]["routed_to"]))
    (pending,) = t["pending_actions"]
    assert pending["routed_to"] == "team-lead"
    return tid, pending["action_request_id"]


async def test_with_agent_keys_only_the_right_agent_and_approver_decide(stack: Stack) -> None:
    settings = stack.settings.model_copy(update={"API_KEY": INTEGRATION, "AGENT_KEYS": AGENT_KEYS})
    async with serve_api(settings) as http:
        (tid, action), (tid2, action2) = await asyncio.gather(
            _pending_refund(stack, http, "cus_1001"), _pending_refund(stack, http, "cus_1003")
        )

        # agents read; the integration opens tickets but reads neither tickets nor the queue (api/roles.py)
        for who in ("ana", "lead", "boss"):
            assert (await http.get(f"/tickets/{tid}", headers=_as(who))).status_code == 200, who
            assert (await http.get("/queue", headers=_as(who))).status_code == 200, who
            assert (await http.get(f"/tickets/{tid}/events", headers=_as(who))).status_code == 200, who
        for who in (INTEGRATION, "auditor"):  # auditor: a person's key without a reading role
            assert _error(await http.get(f"/tickets/{tid}", headers=_as(who)))[:2] == (403, "role_required"), who
        assert (await http.get(f"/tickets/{tid}")).status_code == 401

        # who is refused a decision, and why
        rid = uuid.uuid4().hex
        r = await http.post(f"/tickets/{tid}/decisions", json=_approve("lead", action, rid))
        assert _error(r)[:2] == (401, "unauthorized")
        r = await http.post(f"/tickets/{tid}/decisions", json=_approve("lead", action, rid), headers=_as(INTEGRATION))
        status, code, message = _error(r)
        assert (status, code) == (403, "role_required") and "shared key" in message
        r = await http.post(f"/tickets/{tid}/decisions", json=_approve("lead", action, rid), headers=_as("nope-key-x"))
        assert _error(r)[:2] == (401, "unauthorized")
        # ana's key, writing as the lead: refused, whatever the action
        r = await http.post(f"/tickets/{tid}/decisions", json=_approve("lead", action, rid), headers=_as("ana"))
        status, code, message = _error(r)
        assert (status, code) == (403, "agent_mismatch") and "'ana'" in message and "'lead'" in message
        # ana as herself: an agent, not the approver this refund waits on
        r = await http.post(f"/tickets/{tid}/decisions", json=_approve("ana", action, rid), headers=_as("ana"))
        status, code, message = _error(r)
        assert (status, code) == (403, "not_an_approver") and "'team-lead'" in message, message
        reject = {**_approve("ana", action, rid), "kind": "reject"}
        r = await http.post(f"/tickets/{tid}/decisions", json=reject, headers=_as("ana"))
        assert _error(r)[:2] == (403, "not_an_approver")
        # a key without the agent role makes no ordinary decision
        reply = {"kind": "reply", "request_id": uuid.uuid4().hex, "agent_id": "auditor", "body": "Hello"}
        r = await http.post(f"/tickets/{tid}/decisions", json=reply, headers=_as("auditor"))
        assert _error(r)[:2] == (403, "role_required")
        # an action that is not pending is the workflow's to refuse, as without keys
        r = await http.post(f"/tickets/{tid}/decisions", json=_approve("ana", "act_nope"), headers=_as("ana"))
        assert _error(r)[:2] == (409, "stale_request")

        # nothing refused touched the ticket: the refund still waits, and the request_id is still free
        t = (await http.get(f"/tickets/{tid}", headers=_as("ana"))).json()
        assert [a["action_request_id"] for a in t["pending_actions"]] == [action]
        r = await http.post(f"/tickets/{tid}/decisions", json=_approve("lead", action, rid), headers=_as("lead"))
        assert r.status_code == 200 and r.json()["accepted"], r.text
        again = await http.post(f"/tickets/{tid}/decisions", json=_approve("lead", action, rid), headers=_as("lead"))
        assert again.status_code == 200 and again.json() == r.json()
        events = (await http.get(f"/tickets/{tid}/events", headers=_as("lead"))).json()
        assert next(e for e in events if e["kind"] == "action_approved")["actor"] == "lead"

        # a higher approver (after team-lead in APPROVERS) may decide what waits on the team lead
        r = await http.post(f"/tickets/{tid2}/decisions", json=_approve("boss", action2), headers=_as("boss"))
        assert r.status_code == 200 and r.json()["accepted"], r.text
        # and an ordinary decision needs only the agent's own key
        reply = {"kind": "reply", "request_id": uuid.uuid4().hex, "agent_id": "ana", "body": "Ana here, all done."}
        r = await http.post(f"/tickets/{tid2}/decisions", json=reply, headers=_as("ana"))
        assert r.status_code == 200, r.text


async def test_without_agent_keys_the_api_key_decides_as_before(stack: Stack) -> None:
    async with serve_api(stack.settings.model_copy(update={"API_KEY": INTEGRATION})) as http:
        decision = _approve("anyone", "act_x")
        assert (await http.post("/tickets/tkt_0000000000000000/decisions", json=decision)).status_code == 401
        r = await http.post("/tickets/tkt_0000000000000000/decisions", json=decision, headers=_as(INTEGRATION))
        assert _error(r)[:2] == (404, "ticket_not_found")  # past the key: the ticket was looked for


async def test_agent_keys_without_api_key_close_every_route_to_anonymous_callers(stack: Stack) -> None:
    """Any key configured closes the API to callers without one (only no key at all leaves it open)."""
    async with serve_api(stack.settings.model_copy(update={"AGENT_KEYS": AGENT_KEYS})) as http:
        assert (await http.get("/queue")).status_code == 401
        assert (await http.get("/queue", headers=_as("ana"))).status_code == 200
        decision = _approve("ana", "act_x")
        assert (await http.post("/tickets/tkt_0000000000000000/decisions", json=decision)).status_code == 401
        r = await http.post("/tickets/tkt_0000000000000000/decisions", json=decision, headers=_as("ana"))
        assert _error(r)[:2] == (404, "ticket_not_found")


def test_keys_are_compared_in_constant_time_whatever_their_length(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[tuple[int, int]] = []
    compare = secrets.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        seen.append((len(a), len(b)))
        return compare(a, b)

    monkeypatch.setattr(secrets, "compare_digest", spy)
    settings = Settings(API_KEY=INTEGRATION, AGENT_KEYS=AGENT_KEYS)
    assert agent_for(settings, KEYS["ana"][0]) == AGENT_KEYS[0]
    # every key is compared (no early exit on a match), each as two 32-byte digests
    assert seen == [(32, 32)] * len(AGENT_KEYS)
    for guess in ("a", KEYS["ana"][0][:-1], KEYS["ana"][0] + "x", KEYS["ana"][0].upper(), "é" * 40):
        assert agent_for(settings, guess) is None and not key_matches(guess, INTEGRATION)
    assert set(seen) == {(32, 32)}


def test_agent_keys_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "AGENT_KEYS", '[{"key": "k-ana-0123456789abcdef", "agent_id": "ana", "roles": ["agent", "team-lead"]}]'
    )
    (entry,) = Settings().AGENT_KEYS or []
    assert (entry.agent_id, entry.roles) == ("ana", ["agent", "team-lead"])
    assert "k-ana" not in repr(Settings())  # a key is never printed with the settings
    assert Settings(AGENT_KEYS=None).AGENT_KEYS is None
    dup = [{"key": "k-ana-0123456789abcdef", "agent_id": a} for a in ("ana", "ben")]
    cases: list[tuple[Any, str]] = [
        ([{"key": "short", "agent_id": "ana"}], "at least 16"),
        ([], "at least 1"),
        (dup, "share a key"),
        ([{"key": INTEGRATION, "agent_id": "ana"}], "equals API_KEY"),
        ([{"key": "k-ana-0123456789abcdef", "agent_id": "ana", "extra": 1}], "Extra inputs"),
    ]
    for bad, why in cases:
        with pytest.raises(ValidationError, match=why):
            Settings(API_KEY=INTEGRATION, AGENT_KEYS=bad)


def test_a_role_later_in_the_chain_may_do_an_earlier_ones_part() -> None:
    chain = ["team-lead", "support-manager"]
    assert holds(["team-lead"], "team-lead", chain) and holds(["support-manager"], "team-lead", chain)
    assert not holds(["team-lead"], "support-manager", chain) and not holds(["agent"], "team-lead", chain)
    assert holds(["cfo"], "cfo", chain) and not holds(["support-manager"], "cfo", chain)  # not in the chain
