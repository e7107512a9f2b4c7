"""Every recorded ticket history must replay on the current TicketWorkflow code.

A failure here means a change would break tickets that are already running: guard the change with
`workflow.patched(...)` instead. New histories: `python -m tests.histories.record vN`.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer

from workflows.ticket import TicketWorkflow

HISTORIES = {p.stem: p.read_text() for p in sorted((Path(__file__).parent / "histories").glob("*.json"))}


def test_there_are_histories_to_replay() -> None:
    assert len(HISTORIES) >= 3


@pytest.mark.parametrize("name", HISTORIES)
async def test_history_replays(name: str) -> None:
    history = WorkflowHistory.from_json(f"ticket-{name}", HISTORIES[name])
    replayer = Replayer(workflows=[TicketWorkflow], data_converter=pydantic_data_converter)
    await replayer.replay_workflow(history)
