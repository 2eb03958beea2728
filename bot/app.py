"""The composition root: database, knowledge, conversation and channels, run in one loop."""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
from collections.abc import Coroutine, Sequence
from typing import Any

from bot.assembly import build_triage, open_database, seed_fiches_if_empty
from bot.channels.base import Channel, ChannelStartError, StatefulChannel
from bot.channels.state import ChannelState
from bot.clock import Clock, SystemClock
from bot.config import Config
from bot.outbox import OutboxSender
from bot.storage.database import Database
from handlers.context import Services
from handlers.conversation import Conversation
from handlers.directory import sync_directory
from handlers.events import Inbound
from handlers.i18n import Translator
from knowledge.embedder import Embedder, make_embedder

__all__ = ["Application"]

log = logging.getLogger(__name__)


class Application:
    """The running bot: explicit ``start`` and ``stop``, and a reference to every task."""

    def __init__(
        self,
        config: Config,
        channels: Sequence[Channel],
        *,
        clock: Clock | None = None,
        embedder: Embedder | None = None,
    ) -> None:
        self.config = config
        self.channels = {channel.name: channel for channel in channels}
        self.clock = clock or SystemClock()
        self._embedder = embedder
        # One worker: events are handled one at a time, in arrival order, off the loop.
        self._worker = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="rrm-handle")
        self._tasks: list[asyncio.Task[None]] = []
        self.database: Database | None = None
        self.conversation: Conversation | None = None
        self.sender: OutboxSender | None = None

    async def start(self) -> None:
        """Open the database, load the knowledge base, and start channels and the sender."""
        database, services = await asyncio.to_thread(self._build)
        self.database = database
        self.conversation = Conversation(services)
        self.sender = OutboxSender(database.sessions, self.channels, self.clock)
        self._spawn(self.sender.run(), "outbox-sender")
        for channel in self.channels.values():
            if isinstance(channel, StatefulChannel):
                channel.use_state(ChannelState(database.sessions, channel.name))
        started: list[Channel] = []
        for channel in self.channels.values():
            try:
                await channel.start(self.deliver)
            except BaseException as error:
                # Leave nothing running behind a failed start: the caller reports and exits.
                await self._abandon(started)
                raise ChannelStartError(channel.name, error) from error
            started.append(channel)
        self.sender.wake.set()

    async def _abandon(self, started: Sequence[Channel]) -> None:
        """Stop the channels already started, the sender, and close the database."""
        for channel in reversed(started):
            try:
                await channel.stop()
            except Exception:
                log.exception("stopping channel %s after a failed start failed", channel.name)
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
        self._worker.shutdown(wait=False)
        if self.database is not None:
            self.database.dispose()
            self.database = None
        self.sender = None

    def _build(self) -> tuple[Database, Services]:
        config = self.config
        database = open_database(config)
        embedder = self._embedder or make_embedder(config.knowledge.embedder)
        seed_fiches_if_empty(config, database, embedder)
        with database.sessions.begin() as session:
            sync_directory(session, config, self.clock.now())
        services = Services(
            config=config,
            sessions=database.sessions,
            triage=build_triage(config, database, embedder),
            clock=self.clock,
            texts=Translator(config.languages.supported),
            channels=tuple(self.channels),
        )
        return database, services

    async def deliver(self, event: Inbound) -> None:
        """Hand one inbound event to the conversation, then wake the sender."""
        assert self.conversation is not None and self.sender is not None
        loop = asyncio.get_running_loop()
        try:
            await loop.run_in_executor(self._worker, self.conversation.handle, event)
        except Exception:
            log.exception("handling %s event %s failed", event.channel, event.event_id)
        # Send the replies before the next event, so each person sees them in order.
        await self.sender.flush()

    async def flush(self) -> int:
        """Send everything pending now (tests and the console use it to keep order)."""
        assert self.sender is not None
        return await self.sender.flush()

    def _spawn(self, coroutine: Coroutine[Any, Any, None], name: str) -> None:
        task = asyncio.create_task(coroutine, name=name)
        task.add_done_callback(self._task_done)
        self._tasks.append(task)

    @staticmethod
    def _task_done(task: asyncio.Task[None]) -> None:
        if not task.cancelled() and task.exception() is not None:
            log.error("background task %s failed", task.get_name(), exc_info=task.exception())

    async def stop(self) -> None:
        """Send what is pending, stop channels, cancel background tasks, close the database."""
        if self.sender is not None:
            try:
                await self.sender.flush()
            except Exception:
                log.exception("last outbox flush failed; pending messages stay in the outbox")
        for channel in self.channels.values():
            await channel.stop()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
        self._worker.shutdown(wait=True)
        if self.database is not None:
            self.database.dispose()
