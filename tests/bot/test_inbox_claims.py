"""The inbox shared by several processes: claims, order per conversation, takeover, election."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from sqlalchemy import select

from bot.channels.inbox import MARK_EVERY, Inbox, NewEvent
from ground.storage.database import Database
from ground.storage.models import InboxEvent
from ground.storage.run_lock import AnotherProcessRuns, RunLock

pytestmark = pytest.mark.db


def events(*pairs: tuple[str, str]) -> list[NewEvent]:
    """Events by (platform id, conversation); the payload names both."""
    return [NewEvent(pid, chat, {"id": pid, "chat": chat}) for pid, chat in pairs]


def claim(inbox: Inbox, limit: int = 10) -> list[str]:
    return [payload["id"] for _, payload in inbox._settle([], [], limit)]


def settle(inbox: Inbox, done: list[str], limit: int = 10) -> list[str]:
    with inbox.sessions() as session:
        rows = session.execute(select(InboxEvent.id, InboxEvent.platform_id)).all()
    ids = [row.id for row in rows if row.platform_id in done]
    return [payload["id"] for _, payload in inbox._settle(ids, [], limit)]


def shared_only(database: Database) -> None:
    if database.backend != "postgresql":
        pytest.skip("claims between processes need PostgreSQL (SQLite takes one process)")


def test_a_stored_batch_keeps_its_order_and_a_redelivery_is_stored_once(database: Database) -> None:
    """A polled batch is one INSERT; its events are numbered in arrival order, once each."""
    inbox = Inbox(database.sessions, "telegram")
    arrived = [str(n) for n in range(300)]
    assert asyncio.run(inbox.store(events(*[(n, str(int(n) % 7)) for n in arrived]))) == 300
    assert asyncio.run(inbox.store(events(("5", "5"), ("300", "x"), ("300", "x")))) == 1
    with database.sessions() as session:
        stored = session.scalars(select(InboxEvent.platform_id).order_by(InboxEvent.id)).all()
    assert stored == [*arrived, "300"]


def test_a_conversation_is_handled_by_one_process_at_a_time_in_order(database: Database) -> None:
    """B gets the conversations A has not claimed, and a later event only after the earlier."""
    shared_only(database)
    a = Inbox(database.sessions, "telegram")
    b = Inbox(database.sessions, "telegram")
    asyncio.run(a.store(events(("1", "x"), ("2", "y"), ("3", "x"), ("4", "z"), ("5", "y"))))

    assert claim(a, 2) == ["1", "2"]
    # 3 and 5 wait behind 1 and 2 (claimed by A); 4's conversation is free.
    assert claim(b) == ["4"]
    # A handled 1: B's next claim gets 3 (x is free again), not 5 (2 is still A's).
    assert settle(a, ["1"], 0) == []
    assert claim(b) == ["3", "4"]
    assert settle(a, ["2"], 0) == []
    assert settle(b, ["4", "3"]) == ["5"]
    assert settle(b, ["5"]) == []
    assert claim(a) == []


def test_a_claim_of_a_dead_process_is_taken_over(database: Database) -> None:
    """A claim older than ``claim_seconds`` goes to another process; a fresh one does not."""
    shared_only(database)
    dead = Inbox(database.sessions, "telegram", claim_seconds=0.2)
    alive = Inbox(database.sessions, "telegram", claim_seconds=0.2)
    asyncio.run(dead.store(events(("1", "x"), ("2", "x"))))
    assert claim(dead) == ["1", "2"]
    assert claim(alive) == []
    time.sleep(0.3)
    assert claim(alive) == ["1", "2"]


def test_drain_hands_every_event_once_and_a_stop_gives_the_rest_back(database: Database) -> None:
    """Drained in order and marked handled; what a stop leaves is claimable by another."""
    first = Inbox(database.sessions, "telegram")
    second = Inbox(database.sessions, "telegram")
    asyncio.run(first.store(events(*((str(n), f"c{n % 3}") for n in range(1, 26)))))
    seen: list[str] = []

    async def handle(payload: dict[str, Any]) -> None:
        seen.append(payload["id"])

    asyncio.run(first.drain(handle, lambda: len(seen) >= 7, batch=4))
    assert seen == [str(n) for n in range(1, 8)]
    # The eighth was claimed with the fifth to seventh and given back, not stranded.
    asyncio.run(second.drain(handle, batch=4))
    assert seen == [str(n) for n in range(1, 26)]
    with database.sessions() as session:
        pending = select(InboxEvent.id).where(InboxEvent.handled_at.is_(None))
        assert session.scalars(pending).all() == []


def test_a_large_batch_is_marked_handled_as_it_goes(database: Database) -> None:
    """A crash in the middle of a batch hands out again at most the last few events handled."""
    inbox = Inbox(database.sessions, "telegram")
    count = 3 * MARK_EVERY
    asyncio.run(inbox.store(events(*((str(n), "c") for n in range(1, count + 1)))))
    marked: dict[str, int] = {}

    def handled() -> int:
        with database.sessions() as session:
            done = select(InboxEvent.id).where(InboxEvent.handled_at.is_not(None))
            return len(session.scalars(done).all())

    async def handle(payload: dict[str, Any]) -> None:
        marked[payload["id"]] = handled()

    asyncio.run(inbox.drain(handle, batch=count))
    # When the 26th is handled, the first 20 are marked; the 21st to 25th would go again.
    assert marked[str(2 * MARK_EVERY + 6)] == 2 * MARK_EVERY
    assert marked[str(MARK_EVERY)] == 0
    assert handled() == count


def test_one_process_receives_for_an_account_until_it_lets_go(database: Database) -> None:
    """The advisory lock elects one receiver per account; another takes over once it is gone."""
    if database.backend != "postgresql":
        pytest.skip("receiver election needs PostgreSQL (SQLite has one process, which leads)")
    first = Inbox(database.sessions, "telegram", "123")
    second = Inbox(database.sessions, "telegram", "123")
    other_account = Inbox(database.sessions, "telegram", "456")
    assert asyncio.run(first.lead())
    assert not asyncio.run(second.lead())
    assert asyncio.run(other_account.lead())
    first.close()
    assert asyncio.run(second.lead())
    second.close()
    other_account.close()


def test_elections_at_once_in_one_process_leave_it_leading(database: Database) -> None:
    """The start and the channel stand at once: both hear yes, and the lock goes at close.

    Two elections on two connections let the loser's no overwrite the winner's yes while the
    winner's connection kept the lock: the process neither sent nor let another receive.
    """
    if database.backend != "postgresql":
        pytest.skip("receiver election needs PostgreSQL (SQLite has one process, which leads)")

    async def stand_together(inbox: Inbox) -> list[bool]:
        return list(await asyncio.gather(*(inbox.lead() for _ in range(4))))

    for _ in range(10):
        inbox = Inbox(database.sessions, "telegram", "123")
        assert asyncio.run(stand_together(inbox)) == [True] * 4 and inbox.leading
        inbox.close()


def test_an_election_ending_after_the_close_gives_the_lock_back(database: Database) -> None:
    """A stop while the election runs in its thread: the next process can still be elected."""
    if database.backend != "postgresql":
        pytest.skip("receiver election needs PostgreSQL (SQLite has one process, which leads)")

    async def close_while_electing(inbox: Inbox) -> bool:
        election = asyncio.create_task(inbox.lead())
        await asyncio.sleep(0)  # the election's thread has started
        inbox.close()
        return await election

    for _ in range(10):
        stopped = Inbox(database.sessions, "telegram", "123")
        asyncio.run(close_while_electing(stopped))
        next_one = Inbox(database.sessions, "telegram", "123")
        assert asyncio.run(next_one.lead())
        next_one.close()


def test_on_sqlite_one_process_leads_and_takes_a_dead_ones_claims(database: Database) -> None:
    """SQLite has one process: it receives, and what an earlier one claimed is its at once."""
    if database.backend != "sqlite":
        pytest.skip("the SQLite case; PostgreSQL elects and waits for claims to expire (above)")
    earlier = Inbox(database.sessions, "telegram", "123")
    asyncio.run(earlier.store(events(("1", "x"), ("2", "y"))))
    assert claim(earlier, 1) == ["1"]
    inbox = Inbox(database.sessions, "telegram", "123")
    assert inbox.leading and asyncio.run(inbox.lead())
    assert not inbox.shared
    assert claim(inbox) == ["1", "2"]


def test_a_second_process_on_a_sqlite_database_is_refused(database: Database) -> None:
    """SQLite takes one bot process: the second gets a message naming the way out."""
    lock = RunLock.take(database)
    if database.backend != "sqlite":
        assert lock is None
        pytest.skip("PostgreSQL takes several processes (no run lock)")
    assert lock is not None
    with pytest.raises(AnotherProcessRuns, match=r"SQLite takes one process.*PostgreSQL"):
        RunLock.take(database)
    lock.release()
    again = RunLock.take(database)
    assert again is not None
    again.release()


def test_a_process_stands_by_and_receives_once_the_receiver_is_gone(
    database: Database, caplog: pytest.LogCaptureFixture
) -> None:
    """The elected process starts at once; another stands by, retrying a failed start."""
    if database.backend != "postgresql":
        pytest.skip("standing by needs PostgreSQL (SQLite has one process, which leads)")
    first = Inbox(database.sessions, "telegram", "123")
    second = Inbox(database.sessions, "telegram", "123")
    other = Inbox(database.sessions, "telegram", "456")
    started: list[str] = []
    attempts: list[int] = []

    async def start_first() -> None:
        started.append("first")

    async def start_second() -> None:
        attempts.append(len(attempts))
        if len(attempts) == 1:
            raise OSError("port taken")
        started.append("second")

    async def refused() -> None:
        raise OSError("port taken")

    async def scenario() -> None:
        assert await first.when_leading(start_first) is None
        with pytest.raises(OSError, match="port taken"):
            await other.when_leading(refused)  # elected: its failure is the caller's
        standby = await second.when_leading(start_second, retry_every=0.01)
        assert standby is not None
        await asyncio.sleep(0.2)
        assert not standby.done() and started == ["first"] and attempts == []
        first.close()
        await asyncio.wait_for(standby, 10)

    asyncio.run(scenario())
    assert started == ["first", "second"] and attempts == [0, 1]
    assert second.leading and "port taken" in caplog.text
    second.close()
    other.close()
