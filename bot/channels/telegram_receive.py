"""Telegram's own getUpdates loop: a batch is committed to the inbox before it is confirmed.

In webhook mode ``take`` stores each update the webhook receives, and handling is the same.

Telegram forgets updates once ``getUpdates`` is called with a higher offset, so the offset
advances only after the batch (up to 100 updates) is stored in one transaction. Handling claims
the inbox's events a few at a time, in arrival order, and marks them handled with the next
claim: a crash leaves stored-but-unhandled updates, which the next start handles once (a
redelivered update is stored once, by its update id). With several processes on PostgreSQL,
one polls (the inbox elects it) and all of them handle.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from telegram import Bot, Update
from telegram.error import Conflict, NetworkError, TelegramError
from telegram.request import HTTPXRequest

from bot.channels.common import Recent
from bot.channels.inbox import Inbox, NewEvent

__all__ = ["TelegramReceiver", "UpdatesRequest"]

log = logging.getLogger(__name__)
OFFSET_KEY = "update_offset"
# How often a process looks for events another process stored (PostgreSQL only: on SQLite
# the one process is woken by its own polling).
LOOK_SECONDS = 0.5
# Updates polled here and not yet handled, kept parsed (at most this many).
PARSED = 1_000


class UpdatesRequest(HTTPXRequest):
    """The getUpdates connection; it keeps the last answer's body, to store the updates as sent.

    Turning each parsed update back into a dict to store it cost about a tenth of a
    millisecond an update (``Update.to_dict``); the body is at hand, and is the original.
    """

    def __init__(self) -> None:
        super().__init__(connection_pool_size=1)  # what PTB gives getUpdates by default
        self.body = b""

    async def do_request(self, *args: Any, **kwargs: Any) -> tuple[int, bytes]:
        """Send as PTB does, and keep the answer's body."""
        self.body = b""
        code, self.body = await super().do_request(*args, **kwargs)
        return code, self.body

    def sent(self) -> dict[int, dict[str, Any]]:
        """The updates of the last answer as Telegram sent them, by update id."""
        try:
            result = json.loads(self.body).get("result")
        except (ValueError, AttributeError):
            return {}
        if not isinstance(result, list):
            return {}
        return {u["update_id"]: u for u in result if isinstance(u, dict) and "update_id" in u}


class TelegramReceiver:
    """Polls into the inbox, and hands the inbox's unhandled updates to ``handle`` in order.

    ``handle`` takes several updates at a time (up to the inbox's ``MARK_EVERY``) and deals
    with each one's failure itself.
    """

    def __init__(
        self,
        bot: Bot,
        inbox: Inbox,
        handle: Callable[[list[Update]], Awaitable[None]],
        *,
        timeout: int,
        allowed_updates: Sequence[str],
        retry_delay: float = 1.0,
        request: UpdatesRequest | None = None,
    ) -> None:
        self._bot = bot
        # The request ``bot`` polls with, if it keeps the bodies (else updates are re-encoded).
        self._request = request
        self._inbox = inbox
        self._handle = handle
        self._timeout = timeout
        self._allowed = list(allowed_updates)
        self._retry_delay = retry_delay
        self._wake = asyncio.Event()
        self._stopping = False
        # The updates this process polled, as parsed: handling them from the inbox need not
        # parse their stored copies again (a sixth of the event loop's time in the bench).
        # Another process may handle some (PostgreSQL), so the memory is bounded.
        self._parsed: Recent[int, Update] = Recent(PARSED)
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self, poll: bool = True) -> None:
        """Drop any webhook (polling needs none), then poll and handle in the background.

        Without ``poll`` (webhook mode), handle what ``take`` stores.
        """
        self._wake.set()  # what an earlier run stored but did not handle goes first
        self._tasks = [asyncio.create_task(self._handle_stored(), name="tg-handle")]
        if poll:
            await self._bot.delete_webhook()
            self._tasks.append(asyncio.create_task(self._poll(), name="tg-poll"))

    async def take(self, update: Update) -> None:
        """Store one update from the webhook (raise if that fails), then wake the handling."""
        await self._inbox.store([_stored(update)])
        self._wake.set()

    async def stop(self, grace: float = 10.0) -> None:
        """Stop polling at once; let the update in hand finish (up to ``grace`` seconds).

        Updates stored but not handled stay in the inbox for the next start.
        """
        self._stopping = True
        self._wake.set()
        if not self._tasks:
            return
        handling, *polling = self._tasks
        for poll in polling:
            poll.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await poll
        try:
            await asyncio.wait_for(asyncio.shield(handling), grace)
        except (TimeoutError, asyncio.CancelledError):
            handling.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await handling
        except Exception:
            log.exception("telegram: handling stopped with an error")
        self._tasks = []

    async def _poll(self) -> None:
        await self._inbox.wait_to_lead()
        # Read once elected: the process that received before may have gone on meanwhile.
        stored = await self._inbox.state(OFFSET_KEY)
        offset = int(stored) if stored else None
        while not self._stopping:
            try:
                updates = await self._bot.get_updates(
                    offset=offset, timeout=self._timeout, allowed_updates=self._allowed
                )
            except Conflict as error:
                log.error("telegram: another getUpdates or a webhook is active: %s", error)
                await asyncio.sleep(self._retry_delay * 5)
                continue
            except (NetworkError, TelegramError) as error:
                log.warning("telegram: getUpdates failed: %s; retrying", error)
                await asyncio.sleep(self._retry_delay)
                continue
            if not updates:
                continue
            following = max(update.update_id for update in updates) + 1
            sent = self._request.sent() if self._request is not None else {}
            batch = [_stored(update, sent.get(update.update_id)) for update in updates]
            for update in updates:
                self._parsed.remember(update.update_id, update)
            while True:
                try:
                    await self._inbox.store(batch, (OFFSET_KEY, str(following)))
                    break
                except Exception:
                    # Not confirmed to Telegram: keep the batch and try again.
                    log.exception("telegram: storing %d updates failed; retrying", len(batch))
                    await asyncio.sleep(self._retry_delay)
            offset = following
            self._wake.set()

    async def _handle_stored(self) -> None:
        look = LOOK_SECONDS if self._inbox.shared else None
        while not self._stopping:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), look)
            self._wake.clear()
            try:
                await self._handle_batch()
            except Exception:
                log.exception("telegram: reading the inbox failed; retrying")
                await asyncio.sleep(self._retry_delay)
                self._wake.set()

    async def _handle_batch(self) -> None:
        await self._inbox.drain_in_parts(self._handle_payloads, lambda: self._stopping)

    async def _handle_payloads(self, payloads: list[dict[str, Any]]) -> None:
        updates = []
        for payload in payloads:
            update = self._parsed.pop(payload.get("update_id", 0), None)
            try:
                updates.append(update or Update.de_json(payload, self._bot))
            except Exception:
                log.exception("telegram: stored update %s unreadable", payload.get("update_id"))
        await self._handle(updates)


def _stored(update: Update, sent: dict[str, Any] | None = None) -> NewEvent:
    """The inbox row of ``update``: as Telegram ``sent`` it, or else re-encoded."""
    chat = update.effective_chat
    user = update.effective_user
    conversation = str(chat.id if chat is not None else user.id if user is not None else "")
    payload: dict[str, Any] = sent if sent is not None else update.to_dict()
    return NewEvent(str(update.update_id), conversation, payload)
