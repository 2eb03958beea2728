"""The real ``rrm run`` process on Telegram (the Bot API fake), killed and stopped under load.

A burst of questions from 10 askers; the bot is killed with SIGKILL as soon as it confirmed
the batch to Telegram (the next getUpdates' offset), so only the inbox still has them. After a
restart every question is handled exactly once and every asker gets a reply. Then a second
burst, and SIGTERM as soon as it is confirmed: the bot exits 0 and the next start handles what
was left. And killed in the middle of sending, between the calls of one message sent in
several (a thread's topic and its post, a long answer's parts): the next process resumes at
the call in flight, so only that call may go out twice.
"""

from __future__ import annotations

import asyncio
import collections
import os
import re
import signal
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select

from ground.storage.database import Database
from ground.storage.models import Event, InboundReceipt, InboxEvent, OutboxMessage, Question
from tests.conftest import ROOT
from tests.fakes.console_script import set_line, telegram_section, write_config
from tests.fakes.telegram_server import Call, FakeBotApi, TelegramUser
from tests.reliability.test_crash import seed

pytestmark = pytest.mark.db

TOKEN = "123456789:AAHfakeTokenForTests_only-x"
GROUP = -1001234567890
ASKERS = [TelegramUser(910_000 + i, f"Asker{i}") for i in range(10)]
QUESTION = "Which grants help a small firm in region {} train its first apprentice, case {}?"


def telegram_config(path: Path, server: FakeBotApi) -> None:
    """Switch the written config from the console to Telegram on the fake server."""
    text = telegram_section(path.read_text(encoding="utf-8"), server.base_url, TOKEN, GROUP)
    path.write_text(text, encoding="utf-8")


# Every bot process started, so one a failed test leaves running is killed after it.
STARTED: list[asyncio.subprocess.Process] = []


async def start_rrm(config: Path, errors: Path) -> asyncio.subprocess.Process:
    with errors.open("a") as stderr:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot.cli",
            "--config",
            str(config),
            "run",
            cwd=ROOT,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=stderr,
            env={**os.environ, "OMP_NUM_THREADS": "1"},
        )
    STARTED.append(process)
    return process


async def until(condition, what: str, seconds: float = 120) -> None:  # type: ignore[no-untyped-def]
    for _ in range(int(seconds * 20)):
        if condition():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def confirmed(server: FakeBotApi, last: int) -> bool:
    """The bot asked for updates after ``last``: Telegram has forgotten the burst."""
    return any(int(c.params.get("offset") or 0) > last for c in server.attempts("getUpdates"))


async def burst(server: FakeBotApi, round_: int) -> int:
    ids = [await server.private_text(a, QUESTION.format(i, round_)) for i, a in enumerate(ASKERS)]
    return max(ids)


def replied(server: FakeBotApi, questions_each: int) -> bool:
    return all(len(server.sent(chat_id=a.id)) >= questions_each for a in ASKERS)


async def test_sigkill_after_a_burst_and_sigterm_under_load_lose_nothing(
    tmp_path: Path, database_url: str, embedder
) -> None:  # type: ignore[no-untyped-def]
    config, errors = write_config(tmp_path, database_url), tmp_path / "err"
    await seed(config, embedder)
    async with FakeBotApi(TOKEN, GROUP) as server:
        telegram_config(config, server)
        bot = await start_rrm(config, errors)
        await until(lambda: server.attempts("getUpdates"), "the first getUpdates")
        last = await burst(server, 1)
        await until(lambda: confirmed(server, last), "the burst confirmed")
        bot.send_signal(signal.SIGKILL)
        assert await bot.wait() == -signal.SIGKILL

        bot = await start_rrm(config, errors)
        await until(lambda: replied(server, 1), "a reply to every asker")
        last = await burst(server, 2)
        await until(lambda: confirmed(server, last), "the second burst confirmed")
        bot.send_signal(signal.SIGTERM)
        assert await bot.wait() == 0, errors.read_text()[-3000:]

        polls = len(server.attempts("getUpdates"))
        bot = await start_rrm(config, errors)
        # Polling again: the signal handlers are in place (a SIGTERM before would just kill).
        await until(lambda: len(server.attempts("getUpdates")) > polls, "polling again")
        await until(lambda: replied(server, 2), "a reply to every asker's second question")
        await until(lambda: handled_all(database_url), "the inbox handled")
        bot.send_signal(signal.SIGTERM)
        assert await bot.wait() == 0, errors.read_text()[-3000:]
        assert server.unexpected == []

    database = Database(database_url)
    with database.sessions() as session:
        assert session.scalar(select(func.count()).select_from(InboxEvent)) == 20
        # Each asker's second message adds to their open question.
        assert session.scalar(select(func.count()).select_from(InboundReceipt)) == 20
        assert session.scalar(select(func.count()).select_from(Question)) == 10
        routed = session.execute(
            select(Event.question_id, func.count())
            .where(Event.kind == "routed")
            .group_by(Event.question_id)
        ).all()
        assert len(routed) == 10 and {count for _, count in routed} == {1}
    database.dispose()
    # Telegram has no idempotency key: only a send in flight at the kill may go out twice.
    texts = collections.Counter((c.params["chat_id"], c.text) for c in server.sent())
    assert sum(n - 1 for n in texts.values()) <= 1, texts


def handled_all(database_url: str) -> bool:
    database = Database(database_url)
    try:
        with database.sessions() as session:
            statement = select(func.count()).where(InboxEvent.handled_at.is_(None))
            return session.scalar(statement.select_from(InboxEvent)) == 0
    finally:
        database.dispose()


async def test_sigkill_while_a_send_is_in_flight_doubles_that_send_at_most(
    tmp_path: Path, database_url: str, embedder
) -> None:  # type: ignore[no-untyped-def]
    """Killed with a reply in flight: nothing lost, and that reply alone may go twice.

    Only if Telegram had carried it out before the kill; otherwise it is sent once.
    """
    config, errors = write_config(tmp_path, database_url), tmp_path / "err"
    await seed(config, embedder)
    async with FakeBotApi(TOKEN, GROUP) as server:
        telegram_config(config, server)
        bot = await start_rrm(config, errors)
        await until(lambda: server.attempts("getUpdates"), "the first getUpdates")
        held: dict[bool, Call] = {}
        for round_, delivered in enumerate((True, False), start=1):
            # The burst's first reply is held: carried out and unanswered, or not carried out.
            server.hold("sendMessage", delivered=delivered)
            await burst(server, round_)
            await server.holding.wait()
            held[delivered] = server.attempts("sendMessage")[-1]
            bot.send_signal(signal.SIGKILL)
            assert await bot.wait() == -signal.SIGKILL
            server.release()
            polls = len(server.attempts("getUpdates"))
            bot = await start_rrm(config, errors)
            await until(lambda p=polls: len(server.attempts("getUpdates")) > p, "polling again")
            await until(lambda r=round_: replied(server, r), f"a reply to every asker ({round_})")
            await until(lambda: handled_all(database_url), "the inbox handled")
        await until(lambda: not pending(database_url), "the outbox sent")
        bot.send_signal(signal.SIGTERM)
        assert await bot.wait() == 0, errors.read_text()[-3000:]
        assert server.unexpected == []

    # By chat and text: a message into a question's new topic is the same message again.
    texts = collections.Counter((c.params["chat_id"], c.text) for c in server.sent())
    carried, refused = held[True], held[False]
    # Carried out but unanswered at the kill: sent again after the restart, the one duplicate.
    doubled = {key: count for key, count in texts.items() if count > 1}
    assert doubled == {(carried.params["chat_id"], carried.text): 2}, texts
    # Not carried out: sent once, after the restart.
    assert refused.status == 503
    assert texts[(refused.params["chat_id"], refused.text)] == 1, texts


def pending(database_url: str) -> bool:
    database = Database(database_url)
    try:
        with database.sessions() as session:
            statement = select(func.count()).where(OutboxMessage.status != "sent")
            return bool(session.scalar(statement.select_from(OutboxMessage)))
    finally:
        database.dispose()


EXPERT = TelegramUser(2000, "Claire", "Dubois", "fr")


def experts_on_telegram(path: Path) -> None:
    """Give the config's experts Telegram accounts: the first 2000, the next 2001, and so on."""
    text = path.read_text(encoding="utf-8")
    for number, name in enumerate(re.findall(r'identities = \{ console = "(\w+)" \}', text)):
        old = rf'identities = \{{ console = "{name}" \}}'
        new = f'identities = {{ console = "{name}", telegram = "{2000 + number}" }}'
        text = set_line(text, old, new)
    path.write_text(text, encoding="utf-8")


def long_answer(round_: int) -> str:
    """An expert's answer of 4,090 characters: one Telegram message, two with the relay's header."""
    words, length = [], -1
    while length + len(f" r{round_}w{len(words)}") <= 4090:
        words.append(f"r{round_}w{len(words)}")
        length += len(words[-1]) + 1
    return " ".join(words)


async def test_sigkill_between_the_calls_of_one_message_resumes_at_the_call_in_flight(
    tmp_path: Path, database_url: str, embedder
) -> None:  # type: ignore[no-untyped-def]
    """The real process killed with the second call of a message in flight, three times.

    A thread's post held after its topic was opened, not carried out: no second topic, and
    the post goes once. A long answer relayed in two parts, the second held: carried out by
    Telegram before the kill, it is the one message sent twice; not carried out, sent once.
    The first part, recorded as sent, never goes again.
    """
    config, errors = write_config(tmp_path, database_url), tmp_path / "err"
    experts_on_telegram(config)
    await seed(config, embedder)
    asker = ASKERS[0]
    async with FakeBotApi(TOKEN, GROUP) as server:
        telegram_config(config, server)
        bot = await start_rrm(config, errors)
        await until(lambda: server.attempts("getUpdates"), "the first getUpdates")

        async def kill_and_restart() -> None:
            nonlocal bot
            await asyncio.wait_for(server.holding.wait(), 120)
            bot.send_signal(signal.SIGKILL)
            assert await bot.wait() == -signal.SIGKILL
            server.release()
            polls = len(server.attempts("getUpdates"))
            bot = await start_rrm(config, errors)
            await until(lambda: len(server.attempts("getUpdates")) > polls, "polling again")

        # 1. The question's topic is opened; its post is in flight, not carried out.
        server.hold("sendMessage", delivered=False, chat_id=GROUP)
        await server.private_text(asker, QUESTION.format(0, 1))
        await kill_and_restart()
        await until(lambda: server.sent(chat_id=GROUP), "the thread's post")
        [topic] = server.sent("createForumTopic")
        assert len(server.attempts("createForumTopic")) == 1
        [post] = server.sent(chat_id=GROUP)
        thread = int(topic.result["message_thread_id"])
        assert post.params["message_thread_id"] == thread
        await until(lambda: server.sent(chat_id=asker.id), "the asker told where it went")

        # 2 and 3. The expert's long answer goes to the asker in two parts; the second is
        # in flight at the kill: carried out by Telegram (2), or not (3).
        for round_, delivered in ((2, True), (3, False)):
            before = len(server.sent(chat_id=asker.id))
            server.hold("sendMessage", delivered=delivered, after=1, chat_id=asker.id)
            await server.group_text(EXPERT, long_answer(round_), topic=thread)
            await kill_and_restart()
            words = long_answer(round_).split()
            # Carried out before the kill, the last part is there already: wait for its resend.
            await until(
                lambda w=words[-1], times=1 + delivered, before=before: (
                    sum(w in c.text for c in server.sent(chat_id=asker.id)[before:]) >= times
                ),
                f"the answer's last part ({round_})",
            )
            parts = [c.text for c in server.sent(chat_id=asker.id)[before:]]
            if delivered:
                first, second, again = parts
                assert again == second
                parts = [first, second]
            else:
                assert len(parts) == 2
            # Every word reached the asker, in order, once.
            relayed = re.findall(rf"r{round_}w\d+", " ".join(parts))
            assert relayed == words
        await until(lambda: not pending(database_url), "the outbox sent")
        bot.send_signal(signal.SIGTERM)
        assert await bot.wait() == 0, errors.read_text()[-3000:]
        assert server.unexpected == []

    # Only the part carried out and in flight at the second kill went twice.
    texts = collections.Counter((c.params["chat_id"], c.text) for c in server.sent())
    doubled = [key for key, count in texts.items() if count > 1]
    assert len(doubled) == 1 and doubled[0][0] == asker.id, doubled
