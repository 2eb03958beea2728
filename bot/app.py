"""The composition root: database, knowledge, conversation and channels, run in one loop."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import os
import socket
from collections.abc import Coroutine, Sequence
from typing import Any

from bot.assembly import build_triage, embedder_for, open_database, seed_fiches_if_empty
from bot.channels.base import (
    BatchChannel,
    Channel,
    ChannelStartError,
    EncryptingChannel,
    InboxChannel,
    ResumingChannel,
    StatefulChannel,
)
from bot.channels.inbox import Inbox
from bot.channels.state import ChannelState
from bot.deadline_scheduler import DeadlineScheduler
from bot.intake import Intake
from bot.knowledge_reload import KnowledgeReloader
from bot.outbox import OutboxSender
from bot.retention import run_retention
from ground.clock import Clock, SystemClock
from ground.config import Config
from ground.storage.database import Database
from ground.storage.labels_repo import latest_fit_id
from ground.storage.run_lock import RunLock
from handlers.context import Services
from handlers.conversation import Conversation
from handlers.deadlines import DeadlineKeeper
from handlers.directory import sync_directory
from handlers.events import Inbound
from handlers.fiche_search import known_approvals, refresh_search
from handlers.i18n import Translator
from handlers.notices import announce_new_device
from knowledge.embedder import Embedder
from knowledge.repository import collection_state

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
        self.deadlines: DeadlineScheduler | None = None
        self.dashboard: Any = None  # the uvicorn server, when [dashboard] is enabled
        self.intake: Intake | None = None
        self.knowledge: KnowledgeReloader | None = None
        self._metrics_server: Any = None
        self._inboxes: dict[str, Inbox] = {}
        self._run_lock: RunLock | None = None

    async def start(self) -> None:
        """Open the database, load the knowledge base, and start channels and the sender."""
        database, services = await asyncio.to_thread(self._build)
        self.database = database
        self.conversation = Conversation(services)
        # Each channel's messages are sent by the process that receives for it: one rate
        # limit per account, and one order of sending (several processes may handle).
        self.sender = OutboxSender(
            database.sessions, self.channels, self.clock, sends_for=self._receives
        )
        self.intake = Intake(
            self.conversation.handle,
            self._worker,
            self.sender.flush,
            self.channels,
            services.texts,
            self.config.languages.default,
            clocks_changed=self._reschedule,
            wake_sender=self.sender.wake.set,
        )
        self._spawn(self.sender.run(), "outbox-sender")
        self._spawn(self.intake.run(), "intake-retry")
        self._spawn(run_retention(database.sessions, self.clock, self.config.privacy), "retention")
        every = self.config.knowledge.reload_seconds
        if every > 0 and self.knowledge is not None:
            self._spawn(self.knowledge.run(every), "knowledge-reload")
        if self.config.metrics.enabled:
            await self._serve_metrics()
        for channel in self.channels.values():
            if isinstance(channel, ResumingChannel):
                channel.use_progress(self.sender.record_progress)
            if isinstance(channel, BatchChannel):
                channel.use_batches(self.deliver_many)
            if isinstance(channel, StatefulChannel):
                channel.use_state(ChannelState(database.sessions, channel.name, self.clock))
            if isinstance(channel, InboxChannel):
                inbox = Inbox(
                    database.sessions,
                    channel.name,
                    channel.account,
                    claim_seconds=self.config.database.claim_seconds,
                    clock=self.clock,
                )
                self._inboxes[channel.name] = inbox
                channel.use_inbox(inbox)
        started: list[Channel] = []
        for channel in self.channels.values():
            try:
                await channel.start(self.deliver)
            except BaseException as error:
                # Leave nothing running behind a failed start: the caller reports and exits.
                await self._abandon(started)
                raise ChannelStartError(channel.name, error) from error
            started.append(channel)
            if isinstance(channel, EncryptingChannel) and (new := channel.new_device()):
                await asyncio.to_thread(announce_new_device, services, channel.name, new)
        await self._start_deadlines(services)
        # A process sends only for the channels it receives for, and a channel's receiving
        # task may not have stood for election yet: without this, on PostgreSQL the first
        # flush below could silently send nothing (seen as a flaky restart test).
        for inbox in self._inboxes.values():
            try:
                await inbox.lead()
            except Exception as error:
                log.warning("%s: standing for receiver failed: %s", inbox.channel, error)
        # What an earlier run left unsent goes first (a thread must exist before replies in it).
        try:
            await self.sender.flush()
        except Exception:
            log.exception("first outbox flush failed; the sender retries")
        self.intake.open()
        if self.config.dashboard.enabled:
            from bot.dashboard import make_server

            self.dashboard = make_server(
                self.config,
                database,
                self.clock,
                handle_signals=False,
                embedder=services.triage.embedder,
                fiches_changed=lambda ids: refresh_search(services, ids),
            )
            self._spawn(self.dashboard.serve(), "dashboard")

    async def _start_deadlines(self, services: Services) -> None:
        assert self.sender is not None
        keeper = DeadlineKeeper(
            config=self.config,
            sessions=services.sessions,
            clock=self.clock,
            texts=services.texts,
            channels=services.channels,
            worker=f"{socket.gethostname()}:{os.getpid()}",
        )
        self.deadlines = DeadlineScheduler(
            keeper, self.clock, self.config.deadlines.sweep_seconds, self.sender.wake.set
        )
        # Recovers every pending step from the database: what fell due while down fires now.
        await self.deadlines.start()

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
        await asyncio.to_thread(self._close_inboxes)
        if self.database is not None:
            await asyncio.to_thread(self.database.dispose)
            self.database = None
        self._release_run_lock()
        self.sender = None

    def _build(self) -> tuple[Database, Services]:
        config = self.config
        database = open_database(config)
        try:
            self._run_lock = RunLock.take(database)
            return database, self._services(database)
        except BaseException:
            database.dispose()
            self._release_run_lock()
            raise

    def _services(self, database: Database) -> Services:
        config = self.config
        embedder = self._embedder or embedder_for(config)
        seed_fiches_if_empty(config, database, embedder)
        with database.sessions.begin() as session:
            sync_directory(session, config, self.clock.now())
            loaded = collection_state(session, embedder.name)
            approvals, approved = known_approvals(session)
            # Read before the triage loads a model: one stored meanwhile is picked up later.
            fit = latest_fit_id(session)
        services = Services(
            config=config,
            sessions=database.sessions,
            triage=build_triage(config, database, embedder),
            clock=self.clock,
            texts=Translator(config.languages.supported),
            channels=tuple(self.channels),
            approvals=approvals,
            approved_drafts=approved,
        )
        self.knowledge = KnowledgeReloader(config, database, embedder, services, loaded, fit)
        with database.sessions.begin() as session:
            services.answered.load(session)
        return services

    def _release_run_lock(self) -> None:
        lock, self._run_lock = self._run_lock, None
        if lock is not None:
            lock.release()

    def _receives(self, channel: str) -> bool:
        """Whether this process receives (and so sends) for ``channel``."""
        inbox = self._inboxes.get(channel)
        return inbox is None or inbox.leading

    def _close_inboxes(self) -> None:
        for inbox in self._inboxes.values():
            inbox.close()
        self._inboxes.clear()

    async def deliver(self, event: Inbound) -> None:
        """Hand one inbound event to the conversation and send its replies (or keep it)."""
        assert self.intake is not None
        await self.intake.deliver(event)

    async def deliver_many(self, events: Sequence[Inbound]) -> None:
        """Hand several events to the conversation at once, in order (or keep them)."""
        assert self.intake is not None
        await self.intake.deliver_many(events)

    async def _reschedule(self) -> None:
        """Move the one-shot deadline job after an event planned steps (most events do not).

        Steps planned by other processes (the command line) are found by the periodic sweep.
        """
        if self.deadlines is not None:
            await self.deadlines.reschedule()

    async def _serve_metrics(self) -> None:
        import uvicorn

        from bot.metrics import metrics_app

        assert self.database is not None and self.sender is not None
        intake = self.intake
        app = metrics_app(
            self.database.sessions,
            self.sender.failures,
            lambda: len(intake.backlog) if intake else 0,
            self._undecryptable,
        )
        settings = self.config.metrics
        server = uvicorn.Server(
            uvicorn.Config(app, host=settings.host, port=settings.port, log_config=None)
        )
        self._metrics_server = server
        self._spawn(server.serve(), "metrics-server")
        while not server.started:
            await asyncio.sleep(0.05)
            if server.should_exit:
                break
        log.info("metrics on http://%s:%d/metrics", settings.host, settings.port)

    def _undecryptable(self) -> dict[str, int]:
        """Events each end-to-end encrypting channel could not decrypt, since start."""
        counts = {name: getattr(c, "undecryptable", None) for name, c in self.channels.items()}
        return {name: count for name, count in counts.items() if isinstance(count, int)}

    async def flush(self) -> int:
        """Send everything pending now (tests and the console use it to keep order)."""
        assert self.sender is not None
        return await self.sender.flush()

    def _spawn(self, coroutine: Coroutine[Any, Any, None], name: str) -> asyncio.Task[None]:
        task = asyncio.create_task(coroutine, name=name)
        task.add_done_callback(self._task_done)
        self._tasks.append(task)
        return task

    @staticmethod
    def _task_done(task: asyncio.Task[None]) -> None:
        if not task.cancelled() and task.exception() is not None:
            log.error("background task %s failed", task.get_name(), exc_info=task.exception())

    async def stop(self) -> None:
        """Send what is pending, stop channels, cancel background tasks, close the database."""
        for channel in self.channels.values():
            if isinstance(channel, InboxChannel):
                await channel.stop_receiving()
        if self.deadlines is not None:
            await self.deadlines.stop()
        if self.sender is not None:
            seconds = self.config.stop.outbox_seconds
            try:
                await asyncio.wait_for(self.sender.flush(), seconds)
            except TimeoutError:
                log.warning(
                    "outbox not sent within %.0f s; the rest is sent after a restart", seconds
                )
            except Exception:
                log.exception("last outbox flush failed; pending messages stay in the outbox")
        for channel in self.channels.values():
            await channel.stop()
        # Let the web servers close their sockets and connections before anything is cancelled.
        servers = {"dashboard": self.dashboard, "metrics-server": self._metrics_server}
        for server in servers.values():
            if server is not None:
                server.should_exit = True
        serving = [task for task in self._tasks if servers.get(task.get_name()) is not None]
        if serving:
            await asyncio.wait(serving, timeout=5)
        async with contextlib.AsyncExitStack() as stack:
            if self.sender is not None:
                # Not while a flush is writing in its thread: the database closes next.
                await stack.enter_async_context(self.sender.idle())
            for task in self._tasks:
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
        self._worker.shutdown(wait=True)
        await asyncio.to_thread(self._close_inboxes)
        if self.database is not None:
            # Off the loop, which keeps running while a thread finishes its transaction.
            await asyncio.to_thread(self.database.dispose)
        self._release_run_lock()
