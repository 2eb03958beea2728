"""Hand inbound events to the conversation in order; while the database is down, keep and retry.

An event whose handling fails because the database cannot be reached is kept in memory, in
order, and its sender is told once that their message is delayed; a background task retries
the backlog until the database answers again. Events arriving meanwhile queue behind it, so
nobody's messages overtake each other. Redelivery after a crash is still caught by receipts.
"""

from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import itertools
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence

from sqlalchemy import exc

from bot.channels.base import Channel
from handlers.conversation import Handled
from handlers.events import Delivery, Inbound
from handlers.i18n import Translator

__all__ = ["Intake", "database_unreachable"]

log = logging.getLogger(__name__)

DELAYED = (
    "I received your message, but I cannot reach my records right now. I will handle it as "
    "soon as they are back; there is no need to send it again."
)


def database_unreachable(error: BaseException) -> bool:
    """Whether an error means the database cannot be reached or written now (worth retrying)."""
    if isinstance(error, exc.DBAPIError) and error.connection_invalidated:
        return True
    return isinstance(error, exc.OperationalError | exc.InterfaceError | exc.TimeoutError)


class Intake:
    """Takes events from channels and hands them, one at a time, to ``handle``."""

    def __init__(
        self,
        handle: Callable[[Inbound], Handled],
        worker: concurrent.futures.Executor,
        flush: Callable[[], Awaitable[int]],
        channels: Mapping[str, Channel],
        texts: Translator,
        default_language: str,
        *,
        clocks_changed: Callable[[], Awaitable[None]],
        wake_sender: Callable[[], None],
        retry_seconds: float = 2.0,
    ) -> None:
        self._handle = handle
        self._clocks_changed = clocks_changed
        self._wake_sender = wake_sender
        self._worker = worker
        self._flush = flush
        self._channels = channels
        self._texts = texts
        self._default_language = default_language
        self.retry_seconds = retry_seconds
        self.backlog: collections.deque[Inbound] = collections.deque()
        self._told: set[tuple[str, str]] = set()
        # Notices sent straight to a channel, because the outbox cannot be written, get
        # negative outbox ids: never a real row's, and distinct even across restarts (they
        # start from the microseconds of this run's start), since channels key retries and
        # Matrix its transaction ids on the id, and Matrix's id prefix outlives the process.
        self._notice_ids = itertools.count(-(time.time_ns() // 1_000), -1)
        self._lock = asyncio.Lock()
        self._open = asyncio.Event()

    def open(self) -> None:
        """Start taking events in (the application first sends what a past run left pending)."""
        self._open.set()

    async def deliver(self, event: Inbound) -> None:
        """Handle an event now, or keep it behind the backlog while the database is down."""
        await self.deliver_many([event])

    async def deliver_many(self, events: Sequence[Inbound]) -> None:
        """Handle events in order, each in its own transaction, with one trip to the worker.

        Every hand-over between the event loop and the worker thread costs as much as a
        statement or two; a polled batch of updates pays it once. From the first event the
        database cannot take, the rest are kept behind the backlog, in order.
        """
        await self._open.wait()
        async with self._lock:
            kept = list(events)
            if not self.backlog:
                kept = kept[await self._try(kept) :]
            self.backlog.extend(kept)
            for event in kept:
                log.warning(
                    "database unreachable: %s event %s kept (%d waiting)",
                    event.channel,
                    event.event_id,
                    len(self.backlog),
                )
        for event in kept:
            await self._tell_delayed(event)

    async def run(self) -> None:
        """Retry the backlog until it is empty, again and again."""
        while True:
            await asyncio.sleep(self.retry_seconds)
            if not self.backlog:
                continue
            async with self._lock:
                while self.backlog and await self._try([self.backlog[0]]):
                    self.backlog.popleft()
                if not self.backlog:
                    log.info("database reachable again: the kept events are handled")
                    self._told.clear()

    async def _try(self, events: Sequence[Inbound]) -> int:
        """Handle events in order in the worker; how many, up to the first the database refused."""
        loop = asyncio.get_running_loop()
        try:
            outcomes = await loop.run_in_executor(self._worker, self._handle_in_order, events)
        except Exception:
            # The worker is gone (shut down): retrying would fail the same way.
            log.exception("handing %d events to the worker failed", len(events))
            outcomes = [None] * len(events)
        for event, handled in zip(events, outcomes, strict=False):
            await self._after(event, handled)
        return len(outcomes)

    def _handle_in_order(self, events: Sequence[Inbound]) -> list[Handled | None]:
        """In the worker: handle each event; stop at the first the database could not take.

        None stands for an event whose handling failed for good (logged here).
        """
        outcomes: list[Handled | None] = []
        for event in events:
            try:
                outcomes.append(self._handle(event))
            except Exception as error:
                if database_unreachable(error):
                    log.debug("handling %s failed: %s", event.event_id, type(error).__name__)
                    break
                # A fault in the handling itself: retrying would fail the same way.
                log.exception("handling %s event %s failed", event.channel, event.event_id)
                outcomes.append(None)
        return outcomes

    async def _after(self, event: Inbound, handled: Handled | None) -> None:
        """Log a handled event, have its replies sent, and move the deadline job if need be."""
        if handled is not None:
            question_id = handled.question_id
            log.info(
                "handled %s event %s (question %s)",
                event.channel,
                event.event_id,
                question_id if question_id is not None else "-",
                extra={
                    "channel": event.channel,
                    "event_id": event.event_id,
                    "question_id": question_id,
                },
            )
        channel = self._channels.get(event.channel)
        if channel is not None and channel.replies_in_background:
            # The sender sends the replies, in outbox order, while the next event is handled.
            self._wake_sender()
        else:
            try:
                # Send the replies before the next event: a terminal shows them in order.
                await self._flush()
            except Exception as error:
                log.warning("sending replies failed (%s); the outbox sender retries", error)
        if handled is not None and handled.clocks_changed:
            # A routed question or a new priority: the scheduler's next instant may move.
            await self._clocks_changed()

    async def _tell_delayed(self, event: Inbound) -> None:
        """Tell a sender once per outage that their message waits (straight, not via the outbox)."""
        if event.space or (event.channel, event.chat_id) in self._told:
            return
        channel = self._channels.get(event.channel)
        if channel is None:
            return
        self._told.add((event.channel, event.chat_id))
        language = event.language_hint or self._default_language
        notice = Delivery(
            outbox_id=next(self._notice_ids),
            chat_id=event.chat_id,
            text=self._texts.translate(language, DELAYED),
        )
        try:
            await channel.send(notice)
        except Exception as error:
            log.warning("could not tell %s that its message is delayed: %s", event.channel, error)
