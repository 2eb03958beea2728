"""GDPR duties: export everything about a person, erase it keeping statistics, expire old data."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import json
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.app import Application
from bot.channels.console import ConsoleChannel
from bot.cli import main
from bot.retention import anonymise_expired
from ground.clock import FixedClock
from ground.config import Config, ConfigError, load_config
from ground.storage.database import Database
from ground.storage.models import Identity, OutboxMessage, Person, Question, RelayedMessage
from ground.vocabulary import OutboxStatus
from handlers.events import Delivery, Sent
from tests.conftest import START
from tests.fakes.app import console_bot
from tests.fakes.console_script import write_config

pytestmark = pytest.mark.db

ANA_ASKS = "How can several very small craft firms in a rural valley share one apprentice?"
BOB_ASKS = "Which indicators do other regions use to follow young people after vocational school?"
CLAIRE_SAYS = "A shared employer group hires the apprentice and rotates them among firms."


def statistics(database: Database) -> list[tuple[object, ...]]:
    """What the statistics read of each question: everything but its text."""
    with database.sessions() as session:
        return [
            tuple(
                getattr(q, c)
                for c in (
                    "id",
                    "status",
                    "language",
                    "topic",
                    "decision",
                    "created_at",
                    "routed_at",
                    "first_response_at",
                    "resolved_at",
                    "asker_id",
                    "channel",
                )
            )
            for q in session.scalars(select(Question).order_by(Question.id))
        ]


def rrm(capsys, *argv: str) -> tuple[int, str, str]:  # type: ignore[no-untyped-def]
    status = main(list(argv))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


@pytest.fixture
async def conversation(tmp_path: Path, database_url: str, embedder) -> Path:  # type: ignore[no-untyped-def]
    """Ana asks, Claire answers, Ana resolves; Bob asks too. Returns the config file."""
    path = write_config(tmp_path, database_url)
    config = load_config(path, environ={})
    async with console_bot(config, embedder) as bot:
        await bot.say("/as ana")
        assert "went to" in await bot.say(ANA_ASKS)
        await bot.say("/as claire")
        await bot.say(f"#1 {CLAIRE_SAYS}")
        await bot.say("/as ana")
        await bot.say("/resolve 1")
        await bot.say("/as bob")
        assert "went to" in await bot.say(BOB_ASKS)
    return path


async def test_export_holds_everything_about_the_person(conversation: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    status, out, _ = rrm(capsys, "--config", str(conversation), "privacy", "export", "console:ana")
    assert status == 0
    data = json.loads(out)
    assert data["person"]["display_name"] == "ana" and data["person"]["role"] == "asker"
    assert [(i["channel"], i["external_id"]) for i in data["identities"]] == [("console", "ana")]
    assert [q["text"] for q in data["questions"]] == [ANA_ASKS]
    assert CLAIRE_SAYS in [m["text"] for m in data["messages_relayed"]]
    assert any(CLAIRE_SAYS in m["text"] for m in data["messages_sent_to_them"])
    assert BOB_ASKS not in out  # nobody else's data
    output = conversation.parent / "ana.json"
    assert (
        rrm(
            capsys,
            "--config",
            str(conversation),
            "privacy",
            "export",
            "console:ana",
            "--output",
            str(output),
        )[0]
        == 0
    )
    assert json.loads(output.read_text("utf-8")) == data
    status, _, err = rrm(capsys, "--config", str(conversation), "privacy", "export", "console:zed")
    assert status == 1 and "no person 'console:zed'" in err


async def test_erase_removes_personal_data_and_keeps_statistics(conversation: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    config = load_config(conversation, environ={})
    database = Database(config.database.url)
    before = statistics(database)
    args = ["--config", str(conversation), "privacy", "erase"]
    status, _, err = rrm(capsys, *args, "console:ana")
    assert status == 1 and "--yes" in err
    status, _, err = rrm(capsys, *args, "claire", "--yes")
    assert status == 1 and "from the config file first" in err
    status, out, _ = rrm(capsys, *args, "console:ana", "--yes")
    assert status == 0 and "erased person" in out
    if database.backend == "sqlite":  # no old copy of the text left in the file or its log
        path = Path(str(database.engine.url.database))
        assert path.stat().st_mode & 0o777 == 0o600
        for file in (path, path.with_name(path.name + "-wal")):
            assert ANA_ASKS.encode() not in (file.read_bytes() if file.exists() else b"")
    assert statistics(database) == before
    with database.sessions() as session:
        assert session.scalar(select(Identity).where(Identity.external_id == "ana")) is None
        texts = [
            *session.scalars(select(Question.text)),
            *session.scalars(select(RelayedMessage.text)),
            *session.scalars(select(OutboxMessage.text)),
        ]
        names = list(session.scalars(select(Person.display_name)))
    assert not any(ANA_ASKS in t or CLAIRE_SAYS in t for t in texts)
    assert any(BOB_ASKS in t for t in texts)  # only Ana's data went
    assert "ana" not in names and "bob" in names
    database.dispose()


async def test_retention_anonymises_closed_questions_after_the_period(
    conversation: Path, embedder
) -> None:  # type: ignore[no-untyped-def]
    config = load_config(conversation, environ={})
    database = Database(config.database.url)
    before = statistics(database)
    now = START  # the console session's clock
    assert anonymise_expired(database.sessions, now + dt.timedelta(days=364), 365).questions == 0
    # The application applies the period on start (then every check_every_hours).
    clock = FixedClock(now + dt.timedelta(days=366))
    config = dataclasses.replace(
        config, privacy=dataclasses.replace(config.privacy, retention_days=365)
    )
    app = Application(config, [], clock=clock, embedder=embedder)
    await app.start()
    try:
        async with asyncio.timeout(30):
            while True:
                with database.sessions() as session:
                    if session.scalar(select(Question.text).where(Question.id == 1)) == "":
                        break
                await asyncio.sleep(0.1)
    finally:
        await app.stop()
    with database.sessions() as session:
        assert session.scalar(select(Question.text).where(Question.id == 2)) == BOB_ASKS  # open
        assert session.scalar(select(Identity).where(Identity.external_id == "ana")) is None
        assert session.scalar(select(Identity).where(Identity.external_id == "bob")) is not None
        relayed = list(session.scalars(select(RelayedMessage.text)))
    assert relayed and set(relayed) == {""}
    assert statistics(database) == before
    # A second pass finds nothing more to do.
    again = anonymise_expired(database.sessions, clock.now(), 365)
    assert (again.questions, again.askers) == (0, 0)
    database.dispose()


def test_privacy_config_is_checked(tmp_path: Path) -> None:
    path = write_config(tmp_path, "sqlite:///x.db", fiches=0, retention_days=-1)
    with pytest.raises(ConfigError, match=r"privacy\.retention_days: must not be negative"):
        load_config(path, environ={})


def test_default_retention(config: Config) -> None:
    assert config.privacy.retention_days == 365


class SpaceDownConsole(ConsoleChannel):
    """A console whose experts' space cannot be reached: what goes there stays pending."""

    async def send(self, delivery: Delivery) -> Sent:
        if delivery.opens_thread:
            raise ConnectionError("experts' space down")
        return await super().send(delivery)


async def test_erase_cancels_and_blanks_a_pending_message_to_the_experts(
    tmp_path: Path,
    database_url: str,
    embedder,  # type: ignore[no-untyped-def]
    capsys,  # type: ignore[no-untyped-def]
) -> None:
    path = write_config(tmp_path, database_url)
    config = load_config(path, environ={})
    async with console_bot(config, embedder, console_type=SpaceDownConsole) as bot:
        await bot.say("/as ana")
        await bot.say(ANA_ASKS)
    database = Database(config.database.url)
    with database.sessions() as session:
        pending = session.scalars(
            select(OutboxMessage).where(OutboxMessage.status == OutboxStatus.PENDING)
        ).all()
        assert [m.target for m in pending] == ["space"]
        assert ANA_ASKS in pending[0].text and "From: ana" in pending[0].text
        pending_id = pending[0].id
    status, out, _ = rrm(capsys, "--config", str(path), "privacy", "export", "console:ana")
    assert status == 0
    about = json.loads(out)["messages_about_their_questions"]
    assert [(m["id"], m["status"]) for m in about] == [(pending_id, "pending")]
    assert ANA_ASKS in about[0]["text"]
    status, out, _ = rrm(capsys, "--config", str(path), "privacy", "erase", "console:ana", "--yes")
    assert status == 0 and "erased person" in out
    with database.sessions() as session:
        message = session.get(OutboxMessage, pending_id)
        assert message is not None and message.status == OutboxStatus.FAILED
        assert "cancelled" in (message.last_error or "")
        left = [
            str(value)
            for row in session.scalars(select(OutboxMessage))
            for value in (row.text, row.thread_title, row.mentions, row.attachments)
        ]
    assert not any(ANA_ASKS in value or "From: ana" in value for value in left), left
    database.dispose()
