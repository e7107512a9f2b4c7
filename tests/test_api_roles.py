"""The roles matrix (api/roles.py), walked whole: every endpoint × the integration key, an agent, an
approver, an admin and no key, on the real stack with keys set; and the right of access (export)."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from api.roles import ENDPOINTS, Access
from settings import AgentKey
from tests.api_stack import Stack, serve_api

INTEGRATION = "integration-key-roles-0123456789"
KEYS = {
    "ana": ("ana-roles-key-0123456789abc", ["agent"]),
    "lead": ("lead-roles-key-0123456789ab", ["team-lead"]),
    "root": ("root-roles-key-0123456789ab", ["admin"]),
}
AGENT_KEYS = [AgentKey(key=SecretStr(k), agent_id=a, roles=r) for a, (k, r) in KEYS.items()]
CALLERS: dict[str, str | None] = {"integration": INTEGRATION, **{a: k for a, (k, _) in KEYS.items()}, "none": None}
# who may call each access level
MAY = {
    Access.PUBLIC: set(CALLERS),
    Access.INTEGRATION: {"integration", "ana", "lead", "root"},
    Access.AGENT: {"ana", "lead", "root"},
    Access.ADMIN: {"root"},
}


def _request(method: str, path: str, ticket_id: str) -> dict[str, Any]:
    """A request the endpoint takes, with ids that exist where one is needed, or harmless ones."""
    url = path.replace("{ticket_id}", ticket_id).replace("{customer_id}", "cus_roles_nobody").replace("{reply_id}", "1")
    bodies: dict[tuple[str, str], Any] = {
        ("POST", "/tickets"): {"customer_id": "cus_1002", "subject": "Roles", "body": "Checking who may do what."},
        ("POST", "/tickets/{ticket_id}/messages"): {"body": "one more thing", "message_id": uuid.uuid4().hex},
        ("POST", "/tickets/{ticket_id}/csat"): {"score": 5},
        ("POST", "/tickets/{ticket_id}/decisions"): {
            "kind": "priority", "request_id": uuid.uuid4().hex, "agent_id": "x", "priority": "high",
        },
        ("PUT", "/customers/{customer_id}"): {"email": f"{uuid.uuid4().hex[:8]}@roles.example", "name": "Role Test"},
        ("POST", "/saved-replies"): {"title": f"Roles {uuid.uuid4().hex[:8]}", "body": "Hi {{customer.name}}"},
        ("PUT", "/saved-replies/{reply_id}"): {"title": f"Roles {uuid.uuid4().hex[:8]}", "body": "Hello"},
    }  # fmt: skip
    params = {"email": "nobody@roles.example"} if path == "/customers" else None
    return {"method": method, "url": url, "json": bodies.get((method, path)), "params": params}


async def test_every_endpoint_answers_each_caller_as_the_matrix_says(stack: Stack) -> None:
    settings = stack.settings.model_copy(update={"API_KEY": INTEGRATION, "AGENT_KEYS": AGENT_KEYS})
    async with serve_api(settings) as http:
        r = await http.post("/tickets", json={"customer_id": "cus_1002", "subject": "Roles", "body": "Who may read?"},
                            headers={"Authorization": f"Bearer {INTEGRATION}"})  # fmt: skip
        assert r.status_code == 201, r.text
        ticket_id = r.json()["ticket_id"]
        walked = 0
        for (method, path), entry in ENDPOINTS.items():
            for caller, key in CALLERS.items():
                headers = {"Authorization": f"Bearer {key}"} if key else {}
                r = await http.request(**_request(method, path, ticket_id), headers=headers)
                walked += 1
                where = f"{method} {path} as {caller}: {r.status_code} {r.text[:200]}"
                if caller in MAY[entry.access]:
                    assert r.status_code not in (401, 403) or "agent_mismatch" in r.text, where
                    assert r.status_code < 500 or r.status_code == 503, where
                elif key is None:
                    assert (r.status_code, r.json()["error"]["code"]) == (401, "unauthorized"), where
                else:
                    assert (r.status_code, r.json()["error"]["code"]) == (403, "role_required"), where
        assert walked == len(ENDPOINTS) * len(CALLERS)
        # a wrong key is no key
        bad = await http.get("/metrics", headers={"Authorization": "Bearer not-a-key-0123456789"})
        assert bad.status_code == 401


async def test_without_keys_every_endpoint_is_open_and_api_key_alone_is_never_admin(stack: Stack) -> None:
    open_api = stack.http  # the stack's API has no keys (the local demo)
    assert (await open_api.get("/reports/summary")).status_code == 200
    assert (await open_api.get("/customers/cus_1001/export")).status_code == 200
    async with serve_api(stack.settings.model_copy(update={"API_KEY": INTEGRATION})) as http:
        auth = {"Authorization": f"Bearer {INTEGRATION}"}
        assert (await http.get("/queue", headers=auth)).status_code == 200  # the one key reads, as before roles
        for method, url in [("GET", "/reports/summary"), ("GET", "/customers/cus_1001/export"),
                            ("DELETE", "/customers/cus_1001")]:  # fmt: skip
            r = await http.request(method, url, headers=auth)
            assert (r.status_code, r.json()["error"]["code"]) == (403, "role_required"), (method, url, r.text)


async def test_export_holds_everything_on_the_person(stack: Stack) -> None:
    http = stack.http
    customer_id = f"cus_exp_{uuid.uuid4().hex[:8]}"
    r = await http.put(f"/customers/{customer_id}", json={"email": f"{customer_id}@export.example", "name": "Ex Port"})
    assert r.status_code == 201, r.text
    r = await http.post("/tickets", json={"customer_id": customer_id, "subject": "Where is my invoice?",
                                          "body": "Please send the invoice for March. Word: zanzibar"})  # fmt: skip
    tid = r.json()["ticket_id"]
    await stack.wait_ticket(tid, lambda t: any(m["sender"] == "agent" for m in t["messages"]))
    r = await http.get(f"/customers/{customer_id}/export")
    assert r.status_code == 200, r.text
    data = r.json()
    assert data["customer"]["customer_id"] == customer_id and data["customer"]["name"] == "Ex Port"
    assert [t["ticket_id"] for t in data["tickets"]] == [tid]
    assert any("zanzibar" in m["body"] for m in data["messages"] if m["sender"] == "customer")
    assert any(e["kind"] == "opened" or e["ticket_id"] == tid for e in data["events"])
    assert {"ledger", "bug_reports", "outbox", "notifications", "erasures", "exported_at"} <= data.keys()
    missing = await http.get("/customers/cus_no_such_one/export")
    assert (missing.status_code, missing.json()["error"]["code"]) == (404, "customer_not_found")


@pytest.mark.parametrize("score", [True, "5", 4.0, 0, 6, None])
async def test_csat_takes_only_an_integer_1_to_5(stack: Stack, score: object) -> None:
    r = await stack.http.post("/tickets/tkt_0000000000000000/csat", json={"score": score})
    assert (r.status_code, r.json()["error"]["code"]) == (422, "invalid_request"), r.text


async def test_contract_fixes(stack: Stack) -> None:
    http: httpx.AsyncClient = stack.http
    r = await http.get("/tickets", params={"offset": str(2**63)})
    assert (r.status_code, r.json()["error"]["code"]) == (422, "invalid_request"), r.text
    for until in ("0.5", "12", "1e9"):
        r = await http.get("/reports/summary", params={"until": until})
        assert r.status_code == 422 and "ISO 8601" in r.text, r.text
    assert (
        await http.get("/reports/summary", params={"since": "2026-01-01", "until": "2026-02-01"})
    ).status_code == 200
    for raw in (b'{"customer_id": "cus_1001", "subject": "\xff\xfe", "body": "x"}', b"[" * 5000 + b"]" * 5000):
        r = await http.post("/tickets", content=raw, headers={"content-type": "application/json"})
        assert (r.status_code, r.json()["error"]["code"]) == (400, "malformed_json"), r.text
    docs = await http.get("/docs")
    assert (
        docs.status_code == 200 and "cdn" not in docs.text.lower() and "/docs-static/swagger-ui-bundle.js" in docs.text
    )
    js = await http.get("/docs-static/swagger-ui-bundle.js")
    assert js.status_code == 200 and len(js.content) > 100_000
    assert (await http.get("/redoc")).status_code == 200 and "cdn" not in (await http.get("/redoc")).text.lower()


async def test_a_message_id_reused_with_other_text_is_a_409(stack: Stack) -> None:
    http = stack.http
    r = await http.post("/tickets", json={"customer_id": "cus_1004", "subject": "Export", "body": "CSV export fails."})
    tid = r.json()["ticket_id"]
    await stack.wait_ticket(tid, lambda t: any(m["sender"] == "agent" for m in t["messages"]))
    first = await http.post(f"/tickets/{tid}/messages", json={"body": "Still failing.", "message_id": "m-1"})
    assert first.status_code == 202, first.text
    again = await http.post(f"/tickets/{tid}/messages", json={"body": "Still failing.", "message_id": "m-1"})
    assert again.status_code == 202 and again.json() == first.json()  # a retry: the same answer
    other = await http.post(f"/tickets/{tid}/messages", json={"body": "Now it works!", "message_id": "m-1"})
    assert (other.status_code, other.json()["error"]["code"]) == (409, "message_id_reused"), other.text
    by_header = await http.post(
        f"/tickets/{tid}/messages", json={"body": "Other text"}, headers={"Idempotency-Key": "m-1"}
    )
    assert by_header.status_code == 409
