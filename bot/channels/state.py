"""A channel's key/value memory in the database, used off the event loop."""

from __future__ import annotations

import asyncio

from sqlalchemy.orm import Session, sessionmaker

from ground.clock import Clock
from ground.storage import repo

__all__ = ["ChannelState"]


class ChannelState:
    """The ``channel_state`` rows of one channel (implements ``StateStore``)."""

    def __init__(self, sessions: sessionmaker[Session], channel: str, clock: Clock) -> None:
        self.sessions = sessions
        self.channel = channel
        self.clock = clock

    async def get(self, key: str) -> str | None:
        """The stored value, or None."""
        return await asyncio.to_thread(self._get, key)

    async def put(self, key: str, value: str) -> None:
        """Store ``value`` under ``key``."""
        await asyncio.to_thread(self._put, key, value)

    def _get(self, key: str) -> str | None:
        with self.sessions() as session:
            return repo.channel_state(session, self.channel, key)

    def _put(self, key: str, value: str) -> None:
        with self.sessions.begin() as session:
            repo.put_channel_state(session, self.channel, key, value, self.clock.now())
