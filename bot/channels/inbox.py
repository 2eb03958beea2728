"""A channel's durable inbox in the database, used off the event loop.

Several ``rrm run`` processes may share one PostgreSQL database: each stored event is claimed
by one of them, which renews its claims while it works (a claim not renewed for
``claim_seconds`` is taken over: its process is presumed dead); a conversation's events are
handled in arrival order; and one process per channel account, elected with an advisory lock,
receives. On SQLite there is one process, which always leads.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import os
import socket
import threading
import uuid
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from sqlalchemy import Connection, Engine
from sqlalchemy.orm import Session, sessionmaker

from ground.clock import Clock, SystemClock
from ground.storage import inbox_repo, repo
from ground.storage.inbox_repo import NewEvent

__all__ = ["Inbox", "NewEvent"]

log = logging.getLogger(__name__)
CLAIM = 10  # events claimed at a time: small, so that other processes get their share
# On SQLite one process handles everything: larger claims, fewer transactions (a crash hands
# the claimed but unmarked events out again, which the receipts make harmless).
CLAIM_ALONE = 50
# Within a claimed batch, what is handled is marked at least this often: killed again and
# again before a batch was done (the crash bench), a start handed out up to 37 events that
# earlier runs had handled, as the unmarked backlog grew.
MARK_EVERY = 10
CLAIM_SECONDS = 30.0


class Inbox:
    """The ``inbox`` rows of one channel: a batch is stored in one transaction."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        channel: str,
        account: str = "",
        *,
        claim_seconds: float = CLAIM_SECONDS,
        clock: Clock | None = None,
    ) -> None:
        self.sessions = sessions
        # Stamps when an event was received and handled, as retention compares with it.
        self.clock = clock or SystemClock()
        self.channel = channel
        self.claim_seconds = claim_seconds
        # Unique to this process and this inbox: a restarted process never inherits claims.
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._engine: Engine = sessions.kw["bind"]
        # Several processes may share the inbox (PostgreSQL), or only this one (SQLite).
        self.shared = self._engine.dialect.name == "postgresql"
        self._key = f"rrm-receive:{channel}:{account}"
        self._lock: Connection | None = None
        # On SQLite the one process receives; on PostgreSQL, the one that wins the election.
        self.leading = not self.shared
        # One election at a time: two at once (the start's and the channel's) ran on two
        # connections, and the loser's False overwrote the winner's True with the lock held.
        self._electing = asyncio.Lock()
        # An election still running in its thread when the inbox closes must not keep the lock.
        self._guard = threading.Lock()
        self._closed = False

    async def store(self, events: Sequence[NewEvent], state: tuple[str, str] | None = None) -> int:
        """Store a batch, and the channel state ``(key, value)`` with it, all or nothing."""
        return await asyncio.to_thread(self._store, events, state)

    async def lead(self) -> bool:
        """Whether this process receives for the channel's account (elected if nobody does)."""
        async with self._electing:
            if not self.leading:
                self.leading = await asyncio.to_thread(self._elect)
                if self.leading:
                    log.info("%s: this process receives (%s)", self.channel, self.owner)
        return self.leading

    async def wait_to_lead(self, every: float = 2.0) -> None:
        """Return once this process receives: at once, or when the receiving one has gone."""
        if not await self.lead():
            log.info("%s: another process receives; this one handles and stands by", self.channel)
        while not await self.lead():
            await asyncio.sleep(every)

    async def when_leading(
        self, start: Callable[[], Awaitable[None]], *, retry_every: float = 10.0
    ) -> asyncio.Task[None] | None:
        """Run ``start`` now if this process receives (raising its failure), else stand by.

        Standing by is the task returned: it runs ``start`` once this process is elected, and
        again ``retry_every`` seconds after each failure (logged). Cancel it to stop waiting.
        """
        if await self.lead():
            await start()
            return None
        return asyncio.create_task(
            self._stand_by(start, retry_every), name=f"{self.channel}-standby"
        )

    async def _stand_by(self, start: Callable[[], Awaitable[None]], retry_every: float) -> None:
        await self.wait_to_lead()
        while True:
            try:
                await start()
                return
            except Exception as error:
                log.warning(
                    "%s: receiving in the other process's place failed: %s", self.channel, error
                )
                await asyncio.sleep(retry_every)

    async def drain(
        self,
        handle: Callable[[dict[str, Any]], Awaitable[None]],
        stopping: Callable[[], bool] = lambda: False,
        batch: int | None = None,
    ) -> None:
        """Hand every event this process can claim to ``handle``, oldest first, each once.

        Events are claimed ``batch`` at a time (by default ``CLAIM``, or ``CLAIM_ALONE`` when
        no other process shares the inbox) and marked handled together with the next claim,
        in one transaction, or every ``MARK_EVERY`` events within a larger batch. A crash in
        between hands them out again, which the core's receipts make harmless. An event whose
        handling fails is logged and marked handled all the same: one bad event must not hold
        up every later one. ``stopping`` ends the drain between events; what is claimed but
        not handled then is released.
        """

        async def one_by_one(payloads: list[dict[str, Any]]) -> None:
            await handle(payloads[0])

        await self.drain_in_parts(one_by_one, stopping, batch, part=1)

    async def drain_in_parts(
        self,
        handle: Callable[[list[dict[str, Any]]], Awaitable[None]],
        stopping: Callable[[], bool] = lambda: False,
        batch: int | None = None,
        *,
        part: int = MARK_EVERY,
    ) -> None:
        """As ``drain``, but hand ``handle`` up to ``part`` events at once, in order.

        ``handle`` deals with each event's failure itself (one that escapes is logged for the
        whole part, which is marked handled all the same); stopping comes between parts.
        """
        # Claims are renewed while this process works, so they expire only if it dies.
        keeper = asyncio.create_task(self._keep_claims(), name=f"{self.channel}-claims")
        try:
            await self._drain(
                handle, stopping, batch or (CLAIM if self.shared else CLAIM_ALONE), part
            )
        finally:
            keeper.cancel()

    async def _drain(
        self,
        handle: Callable[[list[dict[str, Any]]], Awaitable[None]],
        stopping: Callable[[], bool],
        batch: int,
        part: int,
    ) -> None:
        done: list[int] = []
        while True:
            claimed = await asyncio.to_thread(self._settle, done, [], batch)
            done = []
            if not claimed:
                return
            left = [event_id for event_id, _ in claimed]
            for start in range(0, len(claimed), part):
                if stopping():
                    await asyncio.to_thread(self._settle, done, left, 0)
                    return
                ids, payloads = zip(*claimed[start : start + part], strict=True)
                try:
                    await handle(list(payloads))
                except Exception:
                    log.exception("%s: inbox events %s failed", self.channel, list(ids))
                done.extend(ids)
                del left[: len(ids)]  # handed out in claim order
                if len(done) >= MARK_EVERY and left:
                    await asyncio.to_thread(self._settle, done, [], 0)
                    done = []

    async def _keep_claims(self) -> None:
        while True:
            await asyncio.sleep(self.claim_seconds / 3)
            try:
                await asyncio.to_thread(self._renew)
            except Exception as error:
                log.warning("%s: renewing inbox claims failed: %s", self.channel, error)

    async def state(self, key: str) -> str | None:
        """A value stored with an earlier batch, or None."""
        return await asyncio.to_thread(self._state, key)

    def close(self) -> None:
        """Stop receiving for the account: another process may be elected."""
        with self._guard:
            self._closed = True
            lock, self._lock = self._lock, None
        self.leading = not self.shared
        if lock is not None:
            self._release(lock)

    def _release(self, lock: Connection) -> None:
        try:
            inbox_repo.release_receiver_lock(lock, self._key)
            lock.commit()
            lock.close()
        except Exception as error:
            # A connection that cannot unlock is dropped: the server releases its locks then.
            log.warning("%s: giving up the receiver lock failed: %s", self.channel, error)
            lock.invalidate()
            lock.close()

    def _store(self, events: Sequence[NewEvent], state: tuple[str, str] | None) -> int:
        now = self.clock.now()
        with self.sessions.begin() as session:
            added = inbox_repo.store_events(session, self.channel, events, now)
            if state is not None:
                repo.put_channel_state(session, self.channel, state[0], state[1], now)
            return added

    def _settle(self, done: list[int], release: list[int], limit: int) -> list[tuple[int, Any]]:
        """Mark ``done`` handled, give ``release`` back, and claim up to ``limit`` more."""
        with self.sessions.begin() as session:
            inbox_repo.mark_handled(session, done, self.clock.now())
            inbox_repo.release(session, release)
            if limit <= 0:
                return []
            # Claims expire in real time (a process stopped renewing them), whatever the
            # injected clock says: a clock a test holds still must not keep a dead claim alive.
            now = dt.datetime.now(dt.UTC)
            # On SQLite this is the only process: another's claims are a dead one's.
            stale = now - dt.timedelta(seconds=self.claim_seconds if self.shared else 0)
            return inbox_repo.claim(session, self.channel, self.owner, now, stale, limit)

    def _renew(self) -> None:
        with self.sessions.begin() as session:
            inbox_repo.renew(session, self.channel, self.owner, dt.datetime.now(dt.UTC))

    def _elect(self) -> bool:
        # A session-level advisory lock, held on a connection of its own as long as this
        # process receives; the server releases it when the process dies. The schema is part
        # of the key, so that databases in separate schemas (the tests') elect separately.
        connection = self._engine.connect()
        try:
            won = inbox_repo.take_receiver_lock(connection, self._key)
            connection.commit()
        except Exception:
            connection.close()
            raise
        if not won:
            connection.close()
            return False
        with self._guard:
            if not self._closed:
                self._lock = connection
                return True
        self._release(connection)  # closed while this election ran: give the lock back
        return False

    def _state(self, key: str) -> str | None:
        with self.sessions() as session:
            return repo.channel_state(session, self.channel, key)
