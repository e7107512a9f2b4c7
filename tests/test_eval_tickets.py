"""`supportctl eval tickets` end to end: a small ticket file through the real local stack's HTTP API."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from evals.grading import SUMMARY_KEYS
from supportctl.main import main
from tests.api_stack import Stack

TICKETS = [
    {
        "key": "e2e-howto", "group": "howto", "customer_id": "cus_1003", "channel": "chat",
        "subject": "webhook retries", "body": "hi, how many times do you retry a webhook if my server is down?",
        "expect": {"category": "technical", "decision": "reply", "articles": ["kb-webhooks"],
                   "must_mention": ["8 times", "24 hours"], "must_not": []},
    },
    {
        "key": "e2e-person", "group": "handover-person", "customer_id": "cus_1006", "channel": "email",
        "subject": "phone call", "body": "I want to talk to a human about our account, please.\n\nLukas",
        "expect": {"category": "general", "decision": "escalate", "articles": [], "must_mention": []},
    },
    {
        "key": "e2e-thanks", "group": "resolution-confirm", "customer_id": "cus_1001", "channel": "chat",
        "subject": "2fa codes", "body": "my 2fa codes are always rejected, what can I do?",
        "follow_up": "turning on automatic time on my phone fixed it, thanks!",
        "expect": {"category": "account", "decision": ["resolved", "reply"], "articles": ["kb-two-factor-auth"],
                   "must_mention": ["time"], "must_not": ["urgent"]},
    },
]  # fmt: skip


async def test_eval_tickets_grades_a_small_file_and_ends_with_the_json_line(
    stack: Stack, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "tickets.jsonl"
    path.write_text("".join(json.dumps(t) + "\n" for t in TICKETS))
    api = str(stack.http.base_url)
    code = await asyncio.to_thread(main, ["eval", "tickets", "--tickets", str(path), "--api", api, "--timeout", "60"])
    out, err = capsys.readouterr()
    assert code == 0, err
    last = json.loads(out.strip().splitlines()[-1])
    assert tuple(last) == SUMMARY_KEYS and last["n"] == 3
    assert last["escalation_recall"] == 1.0  # "talk to a human" reaches a person today
    assert all(0 <= last[k] <= 1 for k in ("category_acc", "decision_acc", "answered_usefully"))
    assert "handover-person" in out and "[  3/3]" in err  # the table per group; progress on stderr


def test_a_bad_ticket_file_is_refused_with_its_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps(TICKETS[0]) + "\n" + json.dumps({**TICKETS[1], "channel": "fax"}) + "\n")
    assert main(["eval", "tickets", "--tickets", str(path)]) == 2
    assert f"{path}:2: channel must be one of" in capsys.readouterr().err
