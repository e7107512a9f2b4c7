"""Live previews of an agent's reply while the model writes it: Postgres NOTIFY, one channel per ticket,
nothing stored.

The worker's agent turn publishes (`DraftPublisher`, used by activities/conversation.py when the model
streams); the console's draft stream and the chat stream listen (`DraftListener`: one connection per
API process, a LISTEN per ticket while somebody watches it). A notification is neither stored nor
replayed: a listener that was not listening misses it, which is all a preview needs, and a retried
turn leaves nothing behind to duplicate (its drafts carry a new `turn`, so listeners start over).

The text in a notification is what the output guard lets through so far (agents/drafts.py), never the
model's raw output; only the console shows it, to agents. The customer's chat shows that the agents are
typing, and then the final reply from the outbox (docs/channels.md#live-reply-drafts).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
from dataclasses import asdict, dataclass
from typing import Literal

import asyncpg

from db.tickets import Conn

CHANNEL_PREFIX = "reply_draft_"
# NOTIFY refuses payloads of 8000 bytes or more; a longer draft keeps its end (what is being written).
MAX_PAYLOAD_BYTES = 7900
CUT_MARK = "…"
DraftState = Literal["typing", "done"]
log = logging.getLogger("drafts")


def channel_for(ticket_id: str) -> str:
    """The ticket's NOTIFY channel: a short, safe identifier whatever the ticket id's length or characters."""
    return CHANNEL_PREFIX + hashlib.sha256(ticket_id.encode()).hexdigest()[:32]


@dataclass(frozen=True)
class DraftEvent:
    """One preview of a turn's reply: `typing` with the (guarded) text so far, or `done` once the turn
    ended (`text` then the reply it returned, or empty). `turn` names the turn's attempt; `seq` orders
    one turn's events."""

    ticket_id: str
    turn: str
    seq: int
    state: DraftState
    text: str

    def to_payload(self) -> str:
        payload, cut = json.dumps(asdict(self), ensure_ascii=False), 0
        while len(payload.encode()) > MAX_PAYLOAD_BYTES:
            cut += max((len(payload.encode()) - MAX_PAYLOAD_BYTES) // 4, 1)  # at most 4 bytes a character
            payload = json.dumps({**asdict(self), "text": CUT_MARK + self.text[cut:]}, ensure_ascii=False)
        return payload

    @classmethod
    def from_payload(cls, payload: str) -> DraftEvent | None:
        try:
            raw = json.loads(payload)
            event = cls(str(raw["ticket_id"]), str(raw["turn"]), int(raw["seq"]), raw["state"], str(raw["text"]))
        except (ValueError, KeyError, TypeError):
            return None
        return event if event.state in ("typing", "done") else None


async def publish(conn: Conn, event: DraftEvent) -> None:
    await conn.execute("SELECT pg_notify($1, $2)", channel_for(event.ticket_id), event.to_payload())


class DraftPublisher:
    """Publishes one turn's drafts of one ticket, numbered. A preview is best effort: a failure to publish
    is logged once and never fails the turn."""

    def __init__(self, pool: Conn, ticket_id: str, turn: str) -> None:
        self._pool, self.ticket_id, self.turn = pool, ticket_id, turn
        self.seq = 0
        self._failed = False

    async def __call__(self, state: DraftState, text: str) -> None:
        if self._failed:
            return
        self.seq += 1
        try:
            await publish(self._pool, DraftEvent(self.ticket_id, self.turn, self.seq, state, text))
        except (TimeoutError, OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as err:
            self._failed = True
            log.warning("reply drafts of %s not published: %s", self.ticket_id, type(err).__name__)


class DraftListener:
    """One listening connection for an API process, opened at the first subscriber and closed after the
    last; each subscriber gets the drafts of the one ticket it asked for."""

    def __init__(self, dsn: str) -> None:
        self._dsn = dsn
        self._conn: asyncpg.Connection | None = None
        self._subscribers: dict[str, set[asyncio.Queue[DraftEvent]]] = {}
        self._lock = asyncio.Lock()

    async def subscribe(self, ticket_id: str) -> asyncio.Queue[DraftEvent]:
        queue: asyncio.Queue[DraftEvent] = asyncio.Queue(maxsize=200)
        async with self._lock:
            if self._conn is None or self._conn.is_closed():
                self._conn = await asyncpg.connect(self._dsn)
                for listened in self._subscribers:
                    await self._conn.add_listener(channel_for(listened), self._notified)
            if ticket_id not in self._subscribers:
                await self._conn.add_listener(channel_for(ticket_id), self._notified)
            self._subscribers.setdefault(ticket_id, set()).add(queue)
        return queue

    async def unsubscribe(self, ticket_id: str, queue: asyncio.Queue[DraftEvent]) -> None:
        async with self._lock:
            queues = self._subscribers.get(ticket_id, set())
            queues.discard(queue)
            if queues:
                return
            self._subscribers.pop(ticket_id, None)
            conn = self._conn
            if conn is None or conn.is_closed():
                return
            with contextlib.suppress(Exception):
                if self._subscribers:
                    await conn.remove_listener(channel_for(ticket_id), self._notified)
                else:
                    self._conn = None
                    await conn.close(timeout=2)

    def _notified(self, _conn: object, _pid: int, _channel: str, payload: object) -> None:
        event = DraftEvent.from_payload(str(payload))
        if event is None:
            return
        for queue in list(self._subscribers.get(event.ticket_id, ())):
            if queue.full():  # a stalled reader wants the newest draft, not the oldest
                with contextlib.suppress(asyncio.QueueEmpty):
                    queue.get_nowait()
            queue.put_nowait(event)


def listener_on(holder: object, dsn: str) -> DraftListener:
    """The process's one draft listener, kept on `holder` (the API app's state) and made at first use."""
    listener = getattr(holder, "draft_listener", None)
    if not isinstance(listener, DraftListener):
        listener = DraftListener(dsn)
        setattr(holder, "draft_listener", listener)  # noqa: B010 - any holder, e.g. Starlette's State
    return listener
