"""The reply as the model writes it, for a channel that shows drafts (MODEL_STREAMING).

`DraftPreview` gathers the streamed chunks of the model call that is writing the customer-facing
reply, passes the text so far through the output guard (the same `guard_reply` call as the final
reply, so a draft never shows a template token, the ticket-context line, a secret or another
customer's data the guard would remove) and hands it to a `DraftSink` at most every
`DRAFT_EVERY_S`. Chunks of a model call that turns into a tool call or a handoff were not the reply:
the preview starts over. The sink is told `done` with the reply the turn returns.

A preview is best effort and nothing in it is permanent: a sink that fails is dropped and the turn
goes on. Who sees the text is the channel's decision (docs/agents.md#streamed-drafts).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Collection
from typing import Literal

from autogen_agentchat.base import TaskResult, Team
from autogen_agentchat.messages import BaseChatMessage, ModelClientStreamingChunkEvent, TextMessage

DraftState = Literal["typing", "done"]
DraftSink = Callable[[DraftState, str], Awaitable[None]]
DRAFT_EVERY_S = 0.25  # previews per second are capped: a fast model sends a chunk per token
log = logging.getLogger("agents")


class DraftPreview:
    def __init__(
        self,
        sink: DraftSink,
        guard: Callable[[str], str],
        *,
        every_s: float = DRAFT_EVERY_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._sink, self._guard, self._every, self._clock = sink, guard, every_s, clock
        self._buffer = ""
        self._shown = ""  # the text the sink last received
        self._sent_at = float("-inf")
        self._closed = False
        self.published = 0  # previews handed to the sink (not counting `done`)

    async def chunk(self, text: str) -> None:
        self._buffer += text
        if self._clock() - self._sent_at >= self._every:
            await self._show(self._guard(self._buffer))

    async def restart(self) -> None:
        """What was streamed was not the reply (a tool call, a handoff, an answer being repaired)."""
        self._buffer = ""
        if self._shown:
            await self._show("")

    async def finish(self, reply: str) -> None:
        """The turn's reply, as returned (already guarded): the last preview."""
        await self._send("done", reply)
        self._closed = True

    async def close(self) -> None:
        """The turn ended without `finish` (a failure): the preview ends empty."""
        if not self._closed and (self._shown or self.published):
            await self._send("done", "")
        self._closed = True

    async def _show(self, text: str) -> None:
        if text == self._shown:
            return
        self.published += 1
        await self._send("typing", text)

    async def _send(self, state: DraftState, text: str) -> None:
        if self._closed:
            return
        self._shown, self._sent_at = text, self._clock()
        try:
            await self._sink(state, text)
        except Exception as err:  # a preview must never fail the turn
            log.warning("reply draft dropped: %s", type(err).__name__)
            self._closed = True


async def run_streamed(
    team: Team, task: list[BaseChatMessage], draft: DraftPreview, agents: Collection[str]
) -> TaskResult:
    """`team.run(task=task)`, with the streamed chunks of the reply being written shown through `draft`.
    An agent's text message (one of `agents`) is the reply: any other event means that what streamed
    before it was not (a tool call, a handoff, a tool's result), and the preview starts over."""
    result: TaskResult | None = None
    async for item in team.run_stream(task=task):
        if isinstance(item, TaskResult):
            result = item
        elif isinstance(item, ModelClientStreamingChunkEvent):
            await draft.chunk(item.content)
        elif not (isinstance(item, TextMessage) and item.source in agents):
            await draft.restart()
    if result is None:  # run_stream always ends with the TaskResult
        raise RuntimeError("the team's stream ended without a result")
    return result
