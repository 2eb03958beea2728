"""Two real ``rrm run`` processes on one PostgreSQL database share the Telegram inbox.

One process polls the Bot API fake (elected by an advisory lock); both handle what is stored.
Hundreds of messages from many askers: every one is handled by exactly one process, each
asker's messages in the order sent. Then the receiving process is killed with SIGKILL in the
middle of a second load: the other takes over polling, and the events the dead one had claimed
once its claims expire; again every message is taken in once, in order, and answered.
"""

from __future__ import annotations

import asyncio
import collections
import itertools
import re
import signal
from pathlib import Path

import pytest
from sqlalchemy import func, select

from ground.storage.database import Database
from ground.storage.models import InboundReceipt, InboxEvent
from tests.fakes.console_script import set_line, write_config
from tests.fakes.telegram_server import FakeBotApi, TelegramUser
from tests.reliability.test_crash import seed
from tests.reliability.test_telegram_crash import (
    GROUP,
    TOKEN,
    handled_all,
    start_rrm,
    telegram_config,
    until,
)

pytestmark = pytest.mark.db

ASKERS = [TelegramUser(920_000 + i, f"Asker{i}") for i in range(30)]
ROUNDS = 4  # messages per asker and load: 120 events a load
FIRST = "Which grants help a small firm in region {} train its first apprentice?"
LATER = "One more detail for region {}, number {}: we have {} apprentices."
HANDLED = re.compile(r"handled telegram event u(\d+)")


def message(asker: int, number: int) -> str:
    return FIRST.format(asker) if number == 0 else LATER.format(asker, number, asker + number)


async def load(server: FakeBotApi, sent: dict[int, list[int]], first_round: int) -> None:
    """Every asker sends ROUNDS messages, round after round; note each update id by asker."""
    for number in range(first_round, first_round + ROUNDS):
        for index, asker in enumerate(ASKERS):
            update_id = await server.private_text(asker, message(index, number))
            sent[asker.id].append(update_id)
        await asyncio.sleep(0.05)


def receipts(database_url: str) -> list[int]:
    """The update ids taken in, in the order their handling committed."""
    database = Database(database_url)
    try:
        with database.sessions() as session:
            rows = session.scalars(
                select(InboundReceipt.event_id).order_by(InboundReceipt.id)
            ).all()
    finally:
        database.dispose()
    return [int(event_id[1:]) for event_id in rows if event_id.startswith("u")]


def in_order(taken: list[int], sent: dict[int, list[int]]) -> None:
    """Each update taken in once, and each asker's in the order sent."""
    assert len(taken) == len(set(taken)) == sum(len(ids) for ids in sent.values())
    position = {update_id: n for n, update_id in enumerate(taken)}
    for asker, ids in sent.items():
        assert sorted(ids, key=position.__getitem__) == ids, f"asker {asker} out of order"


def handled_lines(errors: Path) -> list[int]:
    return [int(found) for found in HANDLED.findall(errors.read_text(encoding="utf-8"))]


def receiving(errors: Path) -> bool:
    return "this process receives" in errors.read_text(encoding="utf-8")


async def test_two_processes_share_the_inbox_and_survive_a_kill(
    tmp_path: Path, database_url: str, embedder
) -> None:  # type: ignore[no-untyped-def]
    if not database_url.startswith("postgresql"):
        pytest.skip(
            "several handling processes need PostgreSQL (SQLite takes one): "
            "set RRM_TEST_DATABASE_URL to run this test"
        )
    config = write_config(tmp_path, database_url)
    text = config.read_text(encoding="utf-8")
    config.write_text(set_line(text, r"(?m)^claim_seconds = .*$", "claim_seconds = 3"))
    await seed(config, embedder)
    errors = [tmp_path / "err-a", tmp_path / "err-b"]
    sent: dict[int, list[int]] = collections.defaultdict(list)
    async with FakeBotApi(TOKEN, GROUP) as server:
        telegram_config(config, server)
        bots = [await start_rrm(config, errors[0]), await start_rrm(config, errors[1])]
        await until(lambda: server.attempts("getUpdates"), "the first getUpdates")
        await until(lambda: any(receiving(e) for e in errors), "a process elected to receive")
        assert sum(receiving(e) for e in errors) == 1, "two processes receive"

        # A load with both running: each event handled by exactly one of them.
        await load(server, sent, 0)
        await until(lambda: len(receipts(database_url)) == 30 * ROUNDS, "the first load", 300)
        await until(lambda: handled_all(database_url), "the inbox handled")
        handled = [handled_lines(e) for e in errors]
        assert all(handled), "one process handled nothing"
        assert sorted(handled[0] + handled[1]) == sorted(receipts(database_url))
        in_order(receipts(database_url), sent)

        # A second load, and the receiving process killed in the middle of it.
        receiver = 0 if receiving(errors[0]) else 1
        survivor = 1 - receiver
        loading = asyncio.create_task(load(server, sent, ROUNDS))
        await until(lambda: len(receipts(database_url)) >= 30 * ROUNDS + 30, "the second load")
        bots[receiver].send_signal(signal.SIGKILL)
        assert await bots[receiver].wait() == -signal.SIGKILL
        await loading
        await until(lambda: receiving(errors[survivor]), "the other process receiving")
        total = 2 * 30 * ROUNDS
        await until(lambda: len(receipts(database_url)) == total, "the second load", 300)
        await until(lambda: handled_all(database_url), "the inbox handled")
        await until(
            lambda: all(len(server.sent(chat_id=a.id)) >= 2 * ROUNDS for a in ASKERS),
            "a reply to every message",
        )
        bots[survivor].send_signal(signal.SIGTERM)
        assert await bots[survivor].wait() == 0, errors[survivor].read_text()[-3000:]
        assert server.unexpected == []

    in_order(receipts(database_url), sent)
    database = Database(database_url)
    with database.sessions() as session:
        assert session.scalar(select(func.count()).select_from(InboxEvent)) == total
    database.dispose()
    # Telegram has no idempotency key: only what was in flight at the kill may go out twice.
    # The experts' copies of the messages are told apart by their text (the askers' replies
    # to a follow-up all read alike).
    relayed = collections.Counter(c.text for c in server.sent(chat_id=GROUP))
    for asker, number in itertools.product(range(len(ASKERS)), range(1, 2 * ROUNDS)):
        follow_up = message(asker, number)
        assert any(follow_up in text for text in relayed), f"not relayed: {follow_up}"
    assert sum(n - 1 for n in relayed.values()) <= 1, relayed
