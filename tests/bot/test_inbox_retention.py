"""Handled inbox events are deleted once older than ``[privacy] inbox_days``; others stay."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt

import pytest
from sqlalchemy import select

from bot.channels.inbox import Inbox
from bot.retention import prune_inbox, run_retention
from ground.clock import FixedClock
from ground.config import PrivacyConfig
from ground.storage import inbox_repo
from ground.storage.database import Database
from ground.storage.inbox_repo import NewEvent
from ground.storage.models import InboxEvent
from tests.conftest import START

pytestmark = pytest.mark.db


def stored(database: Database) -> dict[str, bool]:
    """Each stored event's platform id, and whether it was handled."""
    with database.sessions() as session:
        rows = session.execute(select(InboxEvent.platform_id, InboxEvent.handled_at))
        return {platform_id: handled is not None for platform_id, handled in rows}


def fill(database: Database) -> None:
    """Handled 10 days and 1 day ago, one never handled (30 days old), on two channels."""
    long_ago = START - dt.timedelta(days=30)
    with database.sessions.begin() as session:
        events = [NewEvent(name, "chat", {"text": name}) for name in ("old", "recent", "open")]
        inbox_repo.store_events(session, "telegram", events, long_ago)
        inbox_repo.store_events(session, "matrix", [NewEvent("m-old", "room", {})], long_ago)
        ids = {
            row[0]: row[1] for row in session.execute(select(InboxEvent.platform_id, InboxEvent.id))
        }
        inbox_repo.mark_handled(session, [ids["old"]], START - dt.timedelta(days=10))
        inbox_repo.mark_handled(session, [ids["m-old"]], START - dt.timedelta(days=8))
        inbox_repo.mark_handled(session, [ids["recent"]], START - dt.timedelta(days=1))


def test_handled_events_past_the_period_are_deleted(database: Database) -> None:
    fill(database)
    assert prune_inbox(database.sessions, START, 0) == 0  # 0 keeps everything
    assert prune_inbox(database.sessions, START, 30) == 0
    assert prune_inbox(database.sessions, START, 7) == 2
    # Never handled stays, however old; handled within the period stays.
    assert stored(database) == {"recent": True, "open": False}
    assert prune_inbox(database.sessions, START, 7) == 0


def test_many_handled_events_are_deleted_in_several_transactions(database: Database) -> None:
    with database.sessions.begin() as session:
        events = [NewEvent(str(n), "chat", {}) for n in range(2500)]
        inbox_repo.store_events(session, "telegram", events, START)
        for event_id in session.scalars(select(InboxEvent.id)):
            inbox_repo.mark_handled(session, [event_id], START)
    assert prune_inbox(database.sessions, START + dt.timedelta(days=8), 7) == 2500
    assert stored(database) == {}


async def test_the_retention_task_prunes_on_start(database: Database) -> None:
    task = None
    try:
        fill(database)
        config = PrivacyConfig(retention_days=0, inbox_days=7)
        task = asyncio.create_task(run_retention(database.sessions, FixedClock(START), config))
        async with asyncio.timeout(30):
            while "old" in stored(database):
                await asyncio.sleep(0.05)
        assert stored(database) == {"recent": True, "open": False}
    finally:
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


def test_the_inbox_stamps_events_by_the_injected_clock(database: Database) -> None:
    """Received and handled by the clock retention compares with, not by the wall clock."""
    clock = FixedClock(START - dt.timedelta(days=10))
    inbox = Inbox(database.sessions, "telegram", clock=clock)
    asyncio.run(inbox.store([NewEvent("1", "chat", {})]))
    claimed = inbox._settle([], [], 10)
    assert [payload for _, payload in claimed] == [{}]
    clock.advance(dt.timedelta(days=1))
    assert inbox._settle([claimed[0][0]], [], 10) == []
    with database.sessions() as session:
        row = session.execute(select(InboxEvent.received_at, InboxEvent.handled_at)).one()
    assert [aware(row.received_at), aware(row.handled_at)] == [
        START - dt.timedelta(days=10),
        START - dt.timedelta(days=9),
    ]
    # Handled nine days before START by its clock: past a 7-day period then.
    assert prune_inbox(database.sessions, START, 7) == 1


def aware(instant: dt.datetime) -> dt.datetime:
    """SQLite gives naive UTC datetimes back."""
    return instant if instant.tzinfo else instant.replace(tzinfo=dt.UTC)
