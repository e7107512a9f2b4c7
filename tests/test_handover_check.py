"""`python -m evals.handover_check`: the hand-over decision alone on an eval ticket file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evals.handover_check import main

TICKETS = [
    {
        "key": "hc-outage", "group": "handover", "customer_id": "cus_1003", "channel": "email",
        "subject": "nothing loads",
        "body": "Since 9am every call to your API times out for all of our servers and nobody here can log in.",
        "expect": {"category": "technical", "decision": "escalate"},
    },
    {
        "key": "hc-howto", "group": "how_to", "customer_id": "cus_1003", "channel": "chat",
        "subject": "webhook retries", "body": "hi, how many times do you retry a webhook if my server is down?",
        "expect": {"category": "technical", "decision": "reply"},
    },
    {
        "key": "hc-missed-calm", "group": "how_to", "customer_id": "cus_1001", "channel": "chat",
        "subject": "help", "body": "I want to talk to a human about our account, please.",
        "expect": {"category": "general", "decision": "reply"},
    },
]  # fmt: skip


def test_it_counts_missed_and_calm_tickets_handed_over(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "tickets.jsonl"
    path.write_text("".join(json.dumps(t) + "\n" for t in TICKETS))
    main([str(path)])
    out = capsys.readouterr().out
    assert "must-reach missed 0 of 1 []" in out
    # The third is labelled calm on purpose: asking for a human is handed over, so it is counted.
    assert "calm handed over 1 of 2 {'hc-missed-calm': ['person']}" in out
