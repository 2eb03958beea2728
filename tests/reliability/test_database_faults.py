"""The database goes away for a while: askers hear they are delayed, nothing is lost, it recovers.

On PostgreSQL the bot reaches the server through a TCP proxy that the test stops (every
connection cut, new ones refused) and starts again. On SQLite another connection holds the
write lock (as a long backup or migration would) and the bot's busy timeout is short.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from ground.config import Config, DatabaseConfig
from ground.storage.models import InboundReceipt, Question
from tests.fakes.app import console_bot
from tests.fakes.tcp_proxy import TcpProxy

pytestmark = pytest.mark.db

QUESTION = (
    "Which indicators do other regions use to follow young people after they leave "
    "vocational schools, and how often do they publish them?"
)
DELAYED = "cannot reach my records right now"

Outage = tuple[str, Callable[[], Awaitable[None]], Callable[[], Awaitable[None]]]


@contextlib.asynccontextmanager
async def outage(url: str) -> AsyncIterator[Outage]:
    """A database URL for the bot, and how to take that database away and bring it back."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        path = parsed.database
        holder: list[sqlite3.Connection] = []

        async def lock() -> None:
            connection = sqlite3.connect(path, isolation_level=None)
            connection.execute("BEGIN EXCLUSIVE")
            holder.append(connection)

        async def unlock() -> None:
            connection = holder.pop()
            connection.execute("COMMIT")
            connection.close()

        yield f"{url}?timeout=0.3", lock, unlock
        return
    proxy = TcpProxy(parsed.host or "127.0.0.1", parsed.port or 5432)
    await proxy.start()
    through = parsed.set(host="127.0.0.1", port=proxy.port)
    try:
        yield through.render_as_string(hide_password=False), proxy.stop, proxy.start
    finally:
        with contextlib.suppress(AssertionError):
            await proxy.stop()


async def wait_for(condition: Callable[[], bool], timeout: float = 30) -> None:
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.05)


async def test_outage_tells_asker_keeps_messages_and_recovers(
    config: Config, embedder, database_url: str
) -> None:  # type: ignore[no-untyped-def]
    async with outage(database_url) as (url, cut, restore):
        config = dataclasses.replace(config, database=DatabaseConfig(url=url))
        async with console_bot(config, embedder) as bot:
            intake = bot.app.intake
            assert intake is not None
            intake.retry_seconds = 0.1
            await bot.say("/language en")
            await cut()
            shown = await bot.say(QUESTION)
            assert DELAYED in shown
            # The same person is told once per outage, and every message is kept in order.
            assert DELAYED not in await bot.say("/status")
            assert [e.text for e in intake.backlog] == [QUESTION, "/status"]
            await asyncio.sleep(0.5)  # retries fail meanwhile; nothing is dropped
            assert len(intake.backlog) == 2
            await restore()
            await wait_for(lambda: not intake.backlog)
            after = bot.out.new()
            answered = [after.find(m) for m in ("Does this answer your question?", "went to")]
            assert max(answered) >= 0, after
            # In the order they were sent: the question's answer, then the status listing #1.
            assert max(answered) < after.index("Your questions:") < after.index("#1 — ")
            sessions = bot.app.database.sessions  # type: ignore[union-attr]

            def counts() -> tuple[int, int]:
                with sessions() as session:
                    return (
                        session.scalar(select(func.count()).select_from(Question)) or 0,
                        session.scalar(select(func.count()).select_from(InboundReceipt)) or 0,
                    )

            # Off the loop: on PostgreSQL the proxy carrying the query runs on this loop.
            assert await asyncio.to_thread(counts) == (1, 3)
            # Back to normal: a new message is handled at once, with no delay notice.
            shown = await bot.say("/status")
            assert DELAYED not in shown and "#1" in shown
