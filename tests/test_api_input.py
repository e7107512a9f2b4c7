"""What the API refuses, and how it says so: every refusal names the field and the reason, and bad
input writes nothing."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api_stack import Stack

TICKET = {"customer_id": "cus_1001", "channel": "chat", "subject": "Export fails", "body": "The CSV export fails."}
NOT_A_TICKET = "tkt_0000000000000000"  # well-formed, never started: body validation answers first


def _error(r: Any) -> tuple[int, str, str]:
    return r.status_code, r.json()["error"]["code"], r.json()["error"]["message"]


@pytest.mark.parametrize(
    ("path", "payload", "message"),
    [
        ("/tickets", {**TICKET, "body": None}, "body: Input should be a valid string"),
        ("/tickets", {k: v for k, v in TICKET.items() if k != "body"}, "body: Field required"),
        ("/tickets", {}, "subject: Field required; body: Field required"),
        ("/tickets", {"subject": "s", "body": "b"}, "give customer_id or customer_email"),
        (f"/tickets/{NOT_A_TICKET}/messages", {}, "body: Field required"),
        (
            f"/tickets/{NOT_A_TICKET}/decisions",
            {"kind": "reply", "request_id": "r-1", "agent_id": "ana"},
            "body: Field required",
        ),
        (
            f"/tickets/{NOT_A_TICKET}/decisions",
            {"kind": "reply", "request_id": "r-1", "agent_id": "ana", "body": ""},
            "body: String should have at least 1 character",
        ),
        (
            f"/tickets/{NOT_A_TICKET}/decisions",
            {"kind": "priority", "request_id": "r-1", "agent_id": "ana", "priority": "urgent"},
            "priority: Input should be 'low', 'medium', 'high' or 'critical'",
        ),
        (f"/tickets/{NOT_A_TICKET}/decisions", {"kind": "dance", "request_id": "1", "agent_id": "a"}, "kind: "),
    ],
)
async def test_a_refusal_names_the_field(stack: Stack, path: str, payload: dict[str, Any], message: str) -> None:
    status, code, text = _error(await stack.http.post(path, json=payload))
    assert (status, code) == (422, "invalid_request")
    assert text.startswith(message), text
