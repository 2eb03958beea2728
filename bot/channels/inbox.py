"""A channel's durable inbox in the database, used off the event loop."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from bot.ground.storage import inbox_repo, repo
from bot.ground.storage.inbox_repo import NewEvent

__all__ = ["Inbox", "NewEvent"]

log = logging.getLogger(__name__)


class Inbox:
    """The ``inbox`` rows of one channel: a batch is stored in one transaction."""

    def __init__(self, sessions: sessionmaker[Session], channel: str) -> None:
        self.sessions = sessions
        self.channel = channel

    async def store(self, events: Sequence[NewEvent], state: tuple[str, str] | None = None) -> int:
        """Store a batch, and the channel state ``(key, value)`` with it, all or nothing."""
        return await asyncio.to_thread(self._store, events, state)

    async def unhandled(self, limit: int = 100) -> list[tuple[int, dict[str, Any]]]:
        """The oldest unhandled events, in arrival order."""
        return await asyncio.to_thread(self._unhandled, limit)

    async def mark_handled(self, event_id: int) -> None:
        """Record that one event was handled."""
        await asyncio.to_thread(self._mark, event_id)

    async def drain(
        self,
        handle: Callable[[dict[str, Any]], Awaitable[None]],
        stopping: Callable[[], bool] = lambda: False,
        batch: int = 100,
    ) -> None:
        """Hand every unhandled event's payload to ``handle``, oldest first, each once.

        An event whose handling fails is logged and marked handled all the same: one bad
        event must not hold up every later one. ``stopping`` ends the drain between events.
        """
        while not stopping() and (stored := await self.unhandled(batch)):
            for event_id, payload in stored:
                if stopping():
                    return
                try:
                    await handle(payload)
                except Exception:
                    log.exception("%s: inbox event %s failed", self.channel, event_id)
                await self.mark_handled(event_id)

    async def state(self, key: str) -> str | None:
        """A value stored with an earlier batch, or None."""
        return await asyncio.to_thread(self._state, key)

    def _store(self, events: Sequence[NewEvent], state: tuple[str, str] | None) -> int:
        now = dt.datetime.now(dt.UTC)
        with self.sessions.begin() as session:
            added = inbox_repo.store_events(session, self.channel, events, now)
            if state is not None:
                repo.put_channel_state(session, self.channel, state[0], state[1], now)
            return added

    def _unhandled(self, limit: int) -> list[tuple[int, dict[str, Any]]]:
        with self.sessions() as session:
            return inbox_repo.unhandled(session, self.channel, limit)

    def _mark(self, event_id: int) -> None:
        with self.sessions.begin() as session:
            inbox_repo.mark_handled(session, event_id, dt.datetime.now(dt.UTC))

    def _state(self, key: str) -> str | None:
        with self.sessions() as session:
            return repo.channel_state(session, self.channel, key)
