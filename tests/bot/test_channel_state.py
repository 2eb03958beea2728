"""A channel's stored state keeps its values and dates them by the injected clock."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest

from bot.channels.state import ChannelState
from ground.clock import FixedClock
from ground.storage.database import Database
from ground.storage.models import ChannelStateEntry
from tests.conftest import START

pytestmark = pytest.mark.db


def test_state_is_kept_and_dated_by_the_injected_clock(database: Database) -> None:
    """A put is read back, and its date is the clock's, not the wall clock's."""
    clock = FixedClock(START)
    state = ChannelState(database.sessions, "telegram", clock)
    assert asyncio.run(state.get("offset")) is None
    asyncio.run(state.put("offset", "41"))
    clock.advance(dt.timedelta(days=3))
    asyncio.run(state.put("offset", "42"))
    assert asyncio.run(state.get("offset")) == "42"
    assert asyncio.run(ChannelState(database.sessions, "matrix", clock).get("offset")) is None
    with database.sessions() as session:
        entry = session.get(ChannelStateEntry, ("telegram", "offset"))
        assert entry is not None
        assert entry.updated_at.replace(tzinfo=dt.UTC) == START + dt.timedelta(days=3)
