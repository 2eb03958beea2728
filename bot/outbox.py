"""Send what the conversation wrote to the outbox, in order, and record what was sent."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import datetime as dt
import logging
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any

from sqlalchemy import Engine, Row
from sqlalchemy.orm import Session, sessionmaker

from bot.channels.base import Channel, PermanentSendError
from ground.clock import Clock
from ground.storage import repo
from ground.vocabulary import OutboxStatus, OutboxTarget
from handlers.events import Attachment, Button, Delivery, Progress, Sent, Span

__all__ = ["OutboxSender"]

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 12
BATCH_SIZE = 100


class OutboxSender:
    """Delivers pending outbox messages through the running channels."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        channels: Mapping[str, Channel],
        clock: Clock,
        *,
        sends_for: Callable[[str], bool] = lambda _channel: True,
    ) -> None:
        self.sessions = sessions
        self._engine: Engine = sessions.kw["bind"]
        self.channels = dict(channels)
        self.clock = clock
        # Which channels this process sends for now (another process may send for the rest).
        self._sends_for = sends_for
        # Channels left to another process at the last read: a change is logged once.
        self._left: set[str] = set()
        self.wake = asyncio.Event()
        # One flush at a time in this process, or two could send the same row.
        self._lock = asyncio.Lock()
        # Failed send attempts by channel since start, for the metrics endpoint.
        self.failures: collections.Counter[str] = collections.Counter()

    async def run(self, poll_seconds: float = 1.0) -> None:
        """Flush whenever woken, and at least every ``poll_seconds``."""
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wake.wait(), timeout=poll_seconds)
            self.wake.clear()
            try:
                await self.flush()
            except Exception:
                log.exception("outbox flush failed; retrying")
                await asyncio.sleep(poll_seconds)

    @contextlib.asynccontextmanager
    async def idle(self) -> AsyncIterator[None]:
        """Wait for a flush under way to end, and start none until the block is left."""
        async with self._lock:
            yield

    async def flush(self) -> int:
        """Send every pending message that can be sent now; return how many were sent."""
        async with self._lock:
            return await self._flush()

    async def _flush(self) -> int:
        sent = 0
        while True:
            batch, more = await asyncio.to_thread(self._pending)
            progressed = False
            for delivery, channel_name in batch:
                result = await self._send(delivery, channel_name)
                if result is None:
                    continue
                # Recorded at once (one plain UPDATE): a crash between sending and recording
                # sends at most this message again, and messages into a new thread wait for
                # it. Recording ten at a time measured no faster in the Telegram bench.
                await asyncio.to_thread(self._sent, delivery, channel_name, result)
                sent += 1
                progressed = True
            # Read again only if something was held back (behind a thread being opened, or
            # past the batch size): an empty second read per flush cost as much as a send.
            if not (batch and progressed and more):
                return sent

    def _note_left(self, left: set[str]) -> None:
        """Log once when this process stops, or starts again, sending for a channel."""
        for name in sorted(left - self._left):
            log.warning("%s: messages wait for the process that receives for it to send them", name)
        for name in sorted(self._left - left):
            log.info("%s: this process sends its messages again", name)
        self._left = left

    def _pending(self) -> tuple[list[tuple[Delivery, str]], bool]:
        """Messages ready to send, oldest first, and whether more may be waiting behind them."""
        channels = [name for name in self.channels if self._sends_for(name)]
        self._note_left(set(self.channels) - set(channels))
        if not channels:
            return [], False
        with self.sessions() as session:
            rows = repo.outbox_pending(session, channels, self.clock.now(), limit=BATCH_SIZE)
            # The threads of the whole batch in one query, not one per message.
            posts = [r for r in rows if _in_thread(r)]
            threads = repo.thread_ids(session, {r.question_id for r in posts})
            ready = []
            waiting_threads: set[tuple[int | None, str]] = set()
            held_back = False
            for row in rows:
                thread_id = row.thread_id
                if _in_thread(row):
                    found = threads.get((row.question_id, row.channel))
                    if found is None:
                        waiting_threads.add((row.question_id, row.channel))
                        held_back = True
                        continue  # its thread is not opened yet
                    thread_id = found
                if (row.question_id, row.channel) in waiting_threads:
                    held_back = True
                    continue
                if row.target == OutboxTarget.SPACE and row.opens_thread:
                    # Later messages of this question wait until the thread exists.
                    waiting_threads.add((row.question_id, row.channel))
                ready.append(
                    (
                        Delivery(
                            outbox_id=row.id,
                            chat_id=row.chat_id if row.target == OutboxTarget.PERSON else None,
                            text=row.text,
                            thread_id=thread_id,
                            opens_thread=row.opens_thread,
                            thread_title=row.thread_title,
                            buttons=tuple(Button(label, action) for label, action in row.buttons),
                            mentions=tuple((m[0], m[1]) for m in row.mentions),
                            question_id=row.question_id,
                            attachments=tuple(Attachment(**a) for a in row.attachments),
                            formatting=tuple(Span(**f) for f in row.formatting),
                            progress=_progress(row.send_progress),
                        ),
                        row.channel,
                    )
                )
            return ready, held_back or len(rows) == BATCH_SIZE

    async def _send(self, delivery: Delivery, channel_name: str) -> Sent | None:
        """Send one message; None if it failed (the failure is recorded)."""
        channel = self.channels[channel_name]
        try:
            result = await channel.send(delivery)
        except PermanentSendError as error:
            self.failures[channel_name] += 1
            await asyncio.to_thread(self._failed, delivery, str(error), True)
            return None
        except Exception as error:
            self.failures[channel_name] += 1
            log.warning(
                "sending outbox message %s on %s failed: %s",
                delivery.outbox_id,
                channel_name,
                error,
                extra={
                    "channel": channel_name,
                    "question_id": delivery.question_id,
                    "outbox_id": delivery.outbox_id,
                },
            )
            await asyncio.to_thread(self._failed, delivery, repr(error), False)
            return None
        log.info(
            "sent outbox message %s on %s (question %s)",
            delivery.outbox_id,
            channel_name,
            delivery.question_id,
            extra={
                "channel": channel_name,
                "question_id": delivery.question_id,
                "outbox_id": delivery.outbox_id,
            },
        )
        return result

    async def record_progress(self, outbox_id: int, progress: Progress) -> None:
        """Store how far a message sent in several calls got, so a restart resumes there."""
        if outbox_id < 0:
            return  # a notice sent straight, not through the outbox: nothing to resume
        value: dict[str, Any] = {
            "thread_id": progress.thread_id,
            "message_ids": list(progress.message_ids),
        }
        if progress.space_id is not None:
            value["space_id"] = progress.space_id
        await asyncio.to_thread(self._save_progress, outbox_id, value)

    def _save_progress(self, outbox_id: int, value: dict[str, Any]) -> None:
        with self.sessions.begin() as session:
            repo.save_send_progress(session, outbox_id, value)
            if value.get("space_id") and value.get("thread_id"):
                # The thread exists before its first post: an expert who writes in it at once
                # (or while that post is retried) writes in the question's thread.
                row = repo.outbox_message(session, outbox_id)
                if row is not None and row.opens_thread and row.question_id is not None:
                    repo.add_thread(
                        session, row.question_id, row.channel, value["space_id"], value["thread_id"]
                    )

    def _sent(self, delivery: Delivery, channel_name: str, result: Sent) -> None:
        """Record a message as sent, and the thread it opened, if any."""
        if not delivery.opens_thread:
            # Most messages: one UPDATE on a plain connection (a session cost half again).
            with self._engine.begin() as connection:
                repo.mark_sent(connection, delivery.outbox_id, result.message_id, self.clock.now())
            return
        with self.sessions.begin() as session:
            repo.mark_sent(session, delivery.outbox_id, result.message_id, self.clock.now())
            if delivery.question_id is not None and result.thread_id:
                repo.add_thread(
                    session,
                    delivery.question_id,
                    channel_name,
                    result.chat_id or "",
                    result.thread_id,
                )

    def _failed(self, delivery: Delivery, error: str, permanent: bool) -> None:
        with self.sessions.begin() as session:
            row = repo.outbox_message(session, delivery.outbox_id)
            assert row is not None
            row.attempts += 1
            row.last_error = error[:2000]
            if permanent or row.attempts >= MAX_ATTEMPTS:
                row.status = OutboxStatus.FAILED
                row.send_progress = None  # given up: nothing will resume it
            else:
                # Exponential back-off: 2 s, 4 s, 8 s … at most 10 minutes.
                delay = min(2**row.attempts, 600)
                row.next_attempt_at = self.clock.now() + dt.timedelta(seconds=delay)


def _progress(stored: dict[str, Any] | None) -> Progress:
    if not stored:
        return Progress()
    ids = tuple(str(i) for i in stored.get("message_ids") or ())
    return Progress(stored.get("thread_id"), ids, stored.get("space_id"))


def _in_thread(row: Row[Any]) -> bool:
    """Whether ``row`` is posted in its question's thread (the bot's own notices are not)."""
    return row.target == OutboxTarget.SPACE and not row.opens_thread and row.question_id is not None
