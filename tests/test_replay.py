"""Every recorded ticket history must replay on the current TicketWorkflow code.

A failure here means a change would break tickets that are already running: guard the change with
`workflow.patched(...)` instead. New histories: `python -m tests.histories.record vN`.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import DataConverter, DefaultFailureConverterWithEncodedAttributes
from temporalio.worker import Replayer

from codec.keys import KeyRing, new_key
from codec.payload import EncryptionCodec
from workflows.ticket import TicketWorkflow

HISTORIES = {p.stem: p.read_text() for p in sorted((Path(__file__).parent / "histories").glob("*.json"))}


def test_there_are_histories_to_replay() -> None:
    assert len(HISTORIES) >= 3


def _with_codec() -> DataConverter:
    # the production converter's shape (clients.data_converter): the codec passes the recorded
    # cleartext payloads through, so histories from before the codec replay with it on
    return dataclasses.replace(
        pydantic_data_converter,
        payload_codec=EncryptionCodec(KeyRing.from_base64({"replay": new_key()}, "replay")),
        failure_converter_class=DefaultFailureConverterWithEncodedAttributes,
    )


@pytest.mark.parametrize("codec", [False, True], ids=["plain", "codec"])
@pytest.mark.parametrize("name", HISTORIES)
async def test_history_replays(name: str, codec: bool) -> None:
    history = WorkflowHistory.from_json(f"ticket-{name}", HISTORIES[name])
    converter = _with_codec() if codec else pydantic_data_converter
    replayer = Replayer(workflows=[TicketWorkflow], data_converter=converter)
    await replayer.replay_workflow(history)
