"""The real ``rrm run`` in Telegram's webhook mode: a 200 means the update is stored.

Updates are POSTed to the bot's webhook as Telegram does; the bot is killed with SIGKILL as
soon as the last one got its 200, before it could handle them all, and restarted: every
update is handled once. A POST whose commit fails (the inbox refuses rows) is answered 500,
so Telegram sends it again; the same update sent again once the database takes rows is
stored and handled, once.
"""

from __future__ import annotations

import signal
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from ground.storage.database import Database
from ground.storage.models import Event, InboundReceipt, InboxEvent, Question
from tests.fakes.console_script import write_config
from tests.fakes.synapse import free_port
from tests.fakes.telegram_server import FakeBotApi
from tests.reliability.test_crash import seed
from tests.reliability.test_telegram_crash import (
    ASKERS,
    GROUP,
    QUESTION,
    TOKEN,
    handled_all,
    replied,
    start_rrm,
    telegram_config,
    until,
)

pytestmark = pytest.mark.db

SECRET = "webhook-Secret_42"
PUBLIC = "https://rrm.example.org/telegram/updates"


def webhook_config(path: Path, port: int) -> None:
    """Turn webhook mode on in the written (Telegram) config."""
    text_ = path.read_text(encoding="utf-8")
    for key, value in {
        "webhook_url": f'"{PUBLIC}"',
        "webhook_port": str(port),
        "webhook_secret": f'"{SECRET}"',
    }.items():
        head, sep, tail = text_.partition(f"\n{key} = ")
        text_ = head + sep + value + tail[tail.index("\n") :]
    path.write_text(text_, encoding="utf-8")


def refuse_inbox(database_url: str, refuse: bool) -> None:
    """Make every new inbox row fail to commit (or stop doing so), from outside the bot."""
    database = Database(database_url)
    sqlite = database_url.startswith("sqlite")
    statements = {
        (True, True): "CREATE TRIGGER refuse_inbox BEFORE INSERT ON inbox "
        "BEGIN SELECT RAISE(ABORT, 'refused by the test'); END",
        (True, False): "DROP TRIGGER refuse_inbox",
        (False, True): "ALTER TABLE inbox ADD CONSTRAINT refuse_inbox CHECK (false) NOT VALID",
        (False, False): "ALTER TABLE inbox DROP CONSTRAINT refuse_inbox",
    }
    try:
        with database.sessions.begin() as session:
            session.execute(text(statements[(sqlite, refuse)]))
    finally:
        database.dispose()


async def test_a_200_means_stored_and_a_failed_commit_is_refused(
    tmp_path: Path, database_url: str, embedder
) -> None:  # type: ignore[no-untyped-def]
    config, errors = write_config(tmp_path, database_url), tmp_path / "err"
    await seed(config, embedder)
    port = free_port()
    address = f"http://127.0.0.1:{port}/telegram/updates"
    async with FakeBotApi(TOKEN, GROUP) as server:
        telegram_config(config, server)
        webhook_config(config, port)
        bot = await start_rrm(config, errors)
        await until(lambda: server.webhook is not None, "the webhook registered")
        updates = [
            server.private_update(asker, QUESTION.format(i, 1)) for i, asker in enumerate(ASKERS)
        ]
        for update in updates:
            assert await server.post_to_webhook(address, update, SECRET) == 200
        bot.send_signal(signal.SIGKILL)
        assert await bot.wait() == -signal.SIGKILL

        server.webhook = None
        bot = await start_rrm(config, errors)
        await until(lambda: server.webhook is not None, "the webhook registered again")
        await until(lambda: replied(server, 1), "a reply to every asker")
        await until(lambda: handled_all(database_url), "the inbox handled")

        # The commit fails: no 200, so Telegram keeps the update and sends it again.
        again = server.private_update(ASKERS[0], "/status")
        refuse_inbox(database_url, True)
        try:
            assert await server.post_to_webhook(address, again, SECRET) == 500
        finally:
            refuse_inbox(database_url, False)
        assert await server.post_to_webhook(address, again, SECRET) == 200
        await until(lambda: replied_to_status(server), "the answer to /status")
        bot.send_signal(signal.SIGTERM)
        assert await bot.wait() == 0, errors.read_text()[-3000:]
        assert not server.attempts("getUpdates")
        assert server.unexpected == []

    database = Database(database_url)
    with database.sessions() as session:
        assert session.scalar(select(func.count()).select_from(InboxEvent)) == len(ASKERS) + 1
        assert session.scalar(select(func.count()).select_from(InboundReceipt)) == len(ASKERS) + 1
        assert session.scalar(select(func.count()).select_from(Question)) == len(ASKERS)
        routed = session.execute(
            select(Event.question_id, func.count())
            .where(Event.kind == "routed")
            .group_by(Event.question_id)
        ).all()
        assert len(routed) == len(ASKERS) and {count for _, count in routed} == {1}
    database.dispose()


def replied_to_status(server: FakeBotApi) -> bool:
    return len(server.sent(chat_id=ASKERS[0].id)) >= 2
