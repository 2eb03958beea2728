"""The storage layer keeps transactions whole on SQLite and PostgreSQL alike."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from bot.storage.database import Database
from bot.storage.models import InboundReceipt
from bot.storage.repo import claim_receipt
from tests.conftest import START

pytestmark = pytest.mark.db


@pytest.fixture
def database(database_url: str):  # type: ignore[no-untyped-def]
    db = Database(database_url)
    db.upgrade()
    yield db
    db.dispose()


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
