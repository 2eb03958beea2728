"""The storage layer keeps transactions whole on SQLite and PostgreSQL alike."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from sqlalchemy import func, select, text

from ground.storage.conversation_repo import add_asker, queue_message
from ground.storage.database import Database, DatabaseClosed, scanned_head
from ground.storage.models import InboundReceipt, OutboxMessage, Person
from ground.storage.repo import claim_receipt
from ground.vocabulary import OutboxStatus, OutboxTarget
from tests.conftest import START

pytestmark = pytest.mark.db


def receipts(database: Database) -> int:
    with database.sessions() as session:
        return session.scalar(select(func.count()).select_from(InboundReceipt)) or 0


def test_receipt_rolls_back_with_the_failed_handling(database: Database) -> None:
    """A message whose handling fails is not marked as taken in, so a redelivery is handled."""
    with pytest.raises(RuntimeError), database.sessions.begin() as session:
        assert claim_receipt(session, "console", "event-1", START)
        raise RuntimeError("handling failed after the receipt was claimed")
    assert receipts(database) == 0

    with database.sessions.begin() as session:
        assert claim_receipt(session, "console", "event-1", START)
    with database.sessions.begin() as session:
        assert not claim_receipt(session, "console", "event-1", START)
    assert receipts(database) == 1


def test_dispose_waits_for_a_connection_still_in_use(database: Database) -> None:
    """A transaction finishing in a thread at shutdown gets its connection closed too.

    A connection returned to a pool already disposed would stay open until collected (on
    PostgreSQL psycopg then warns, which this suite turns into a failure).
    """
    holding = threading.Event()
    used: list[Any] = []

    def transaction() -> None:
        with database.sessions.begin() as session:
            used.append(session.connection().connection.dbapi_connection)
            holding.set()
            time.sleep(0.3)

    thread = threading.Thread(target=transaction)
    thread.start()
    assert holding.wait(5)
    database.dispose()
    thread.join()
    with pytest.raises(database.engine.dialect.dbapi.Error):  # type: ignore[union-attr]
        used[0].cursor()


def test_a_closed_database_opens_no_connection(database: Database) -> None:
    """Work a thread starts after shutdown fails at once instead of leaving a connection open."""
    database.dispose()
    with pytest.raises(DatabaseClosed, match="was closed"), database.sessions() as session:
        session.execute(select(1))


def test_a_closing_database_lends_no_pooled_connection(database: Database) -> None:
    """While dispose() waits for one transaction, another cannot take an idle pooled connection.

    It would go back to the pool after the pool was closed, and stay open until collected.
    """
    with database.engine.connect(), database.engine.connect():
        pass  # two connections now idle in the pool
    holding, release = threading.Event(), threading.Event()

    def transaction() -> None:
        with database.sessions.begin() as session:
            session.execute(select(1))
            holding.set()
            release.wait(5)

    thread = threading.Thread(target=transaction)
    thread.start()
    assert holding.wait(5)
    closing = threading.Thread(target=database.dispose)
    closing.start()
    time.sleep(0.2)  # dispose() is waiting for the transaction's connection
    try:
        with pytest.raises(DatabaseClosed), database.sessions() as session:
            session.execute(select(1))
    finally:
        release.set()
        thread.join()
        closing.join()
    assert database.engine.pool.checkedout() == 0


def test_the_migration_files_name_the_head_alembic_finds() -> None:
    assert scanned_head() == Database("sqlite://").head_revision() is not None


def test_a_schema_is_current_only_at_the_head(database_url: str) -> None:
    """The start's quick check: an empty or older schema is never taken as current."""
    database = Database(database_url)
    try:
        assert not database.is_current()
        database.upgrade()
        assert database.is_current()
        with database.engine.begin() as connection:
            connection.execute(text("UPDATE alembic_version SET version_num = '0001'"))
        assert not database.is_current()
    finally:
        database.dispose()


def test_a_new_asker_written_by_one_insert_is_tracked_like_a_loaded_one(
    database: Database,
) -> None:
    """``add_asker`` writes the row at once and hands back a person the session tracks.

    So a change in the same transaction (a /language before the first question) is stored,
    and the outbox rows written after it, by plain INSERTs too, keep their order.
    """
    with database.sessions.begin() as session:
        person = add_asker(session, "Ana", START)
        assert person.id is not None and person in session and not session.new
        person.language = "pt"
        for text_ in ("first", "second"):
            queue_message(
                session,
                {
                    "channel": "console",
                    "target": OutboxTarget.PERSON,
                    "person_id": person.id,
                    "chat_id": "ana",
                    "text": text_,
                    "created_at": START,
                },
            )
    with database.sessions() as session:
        stored = session.get(Person, person.id)
        assert stored is not None
        assert (stored.display_name, stored.language, stored.active) == ("Ana", "pt", True)
        assert stored.created_at == START
        rows = session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()
        assert [(r.text, r.status, r.buttons, r.attempts) for r in rows] == [
            ("first", OutboxStatus.PENDING, [], 0),
            ("second", OutboxStatus.PENDING, [], 0),
        ]
