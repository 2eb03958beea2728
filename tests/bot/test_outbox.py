"""The outbox sender records each message it sent, even when cut short."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from sqlalchemy import event, select

from bot.outbox import OutboxSender
from ground.clock import FixedClock
from ground.storage.database import Database
from ground.storage.models import OutboxMessage, Thread
from handlers.events import Delivery, Sent
from tests.conftest import START
from tests.fakes.rows import add_asker, question_row

pytestmark = pytest.mark.db

COUNT = 25


class CountingChannel:
    """Sends by remembering; the ``stop_at``-th send is cut short as a cancelled task is."""

    name = "fake"
    replies_in_background = False

    def __init__(self, stop_at: int | None = None) -> None:
        self.sent: list[int] = []
        self.stop_at = stop_at

    async def start(self, _deliver: object) -> None:
        """Nothing to connect."""

    async def stop(self) -> None:
        """Nothing to release."""

    async def send(self, delivery: Delivery) -> Sent:
        if len(self.sent) + 1 == self.stop_at:
            raise asyncio.CancelledError
        self.sent.append(delivery.outbox_id)
        return Sent(f"m{delivery.outbox_id}")


@pytest.fixture
def database(database_url: str) -> Iterator[Database]:
    db = Database(database_url)
    db.upgrade()
    with db.sessions.begin() as session:
        for number in range(COUNT):
            session.add(
                OutboxMessage(
                    channel="fake",
                    target="person",
                    chat_id=f"person{number}",
                    text=f"reply {number}",
                    created_at=START,
                )
            )
    yield db
    db.dispose()


def rows(database: Database) -> list[OutboxMessage]:
    with database.sessions() as session:
        return list(session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


async def test_every_message_sent_once_and_recorded(database: Database) -> None:
    channel = CountingChannel()
    sender = OutboxSender(database.sessions, {"fake": channel}, FixedClock(START))
    assert await sender.flush() == COUNT
    stored = rows(database)
    assert channel.sent == [row.id for row in stored]
    assert [(r.status, r.attempts, r.external_id) for r in stored] == [
        ("sent", 1, f"m{r.id}") for r in stored
    ]
    assert all(r.sent_at == START for r in stored)
    assert await sender.flush() == 0  # nothing is sent twice


async def test_messages_sent_before_an_interruption_are_recorded(database: Database) -> None:
    stop_at = 13  # in the middle of the batch
    channel = CountingChannel(stop_at=stop_at)
    sender = OutboxSender(database.sessions, {"fake": channel}, FixedClock(START))
    with pytest.raises(asyncio.CancelledError):
        await sender.flush()
    stored = rows(database)
    assert [r.status for r in stored] == ["sent"] * (stop_at - 1) + ["pending"] * (
        COUNT - stop_at + 1
    )
    # The rest goes out on the next flush, and nothing already sent is sent again.
    channel.stop_at = None
    assert await sender.flush() == COUNT - stop_at + 1
    assert channel.sent == [row.id for row in rows(database)]


def test_thread_messages_of_a_whole_batch_cost_one_thread_query(database_url: str) -> None:
    """Messages into existing threads find them in one query per batch, not one per message."""
    db = Database(database_url)
    db.upgrade()
    try:
        with db.sessions.begin() as session:
            asker = add_asker(session, START, display_name="Ana")
            for number in range(1, 6):
                session.add(
                    question_row(asker, f"question {number}", START, id=number, channel="fake")
                )
                session.flush()
                session.add(
                    Thread(question_id=number, channel="fake", space_id="g", thread_id=f"t{number}")
                )
                for reply in range(4):
                    session.add(
                        OutboxMessage(
                            channel="fake",
                            target="space",
                            question_id=number,
                            text=f"reply {reply} on {number}",
                            created_at=START,
                        )
                    )
            # No thread yet on this question: its message waits.
            session.add(question_row(asker, "question 6", START, id=6, channel="fake"))
            session.flush()
            session.add(
                OutboxMessage(
                    channel="fake",
                    target="space",
                    question_id=6,
                    text="waits for its thread",
                    created_at=START,
                )
            )
        sender = OutboxSender(db.sessions, {"fake": CountingChannel()}, FixedClock(START))
        statements: list[str] = []

        def count(_conn, _cursor, statement: str, *_args: object) -> None:  # type: ignore[no-untyped-def]
            statements.append(statement)

        event.listen(db.engine, "before_cursor_execute", count)
        try:
            ready, more = sender._pending()
        finally:
            event.remove(db.engine, "before_cursor_execute", count)
        assert [(d.question_id, d.thread_id) for d, _ in ready] == [
            (number, f"t{number}") for number in range(1, 6) for _ in range(4)
        ]
        assert more  # the message without a thread was held back
        thread_queries = [s for s in statements if "FROM threads" in s]
        assert len(thread_queries) == 1, statements
    finally:
        db.dispose()


async def test_a_channel_another_process_sends_for_waits_and_says_so_once(
    database: Database, caplog: pytest.LogCaptureFixture
) -> None:
    channel = CountingChannel()
    leading = False
    sender = OutboxSender(
        database.sessions, {"fake": channel}, FixedClock(START), sends_for=lambda _: leading
    )
    with caplog.at_level("INFO", logger="bot.outbox"):
        assert await sender.flush() == 0
        assert await sender.flush() == 0
        leading = True
        assert await sender.flush() == COUNT
    said = [(r.levelname, r.getMessage()) for r in caplog.records if "sent outbox" not in r.msg]
    assert said == [
        ("WARNING", "fake: messages wait for the process that receives for it to send them"),
        ("INFO", "fake: this process sends its messages again"),
    ]
