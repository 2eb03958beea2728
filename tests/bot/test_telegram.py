"""The Telegram channel on the real python-telegram-bot stack, against a fake Bot API server."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
import logging
import re
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from telegram import Update
from telegram.error import InvalidToken

from bot.app import Application
from bot.channels.inbox import Inbox
from bot.channels.telegram import TelegramChannel
from ground.clock import FixedClock
from ground.config import ChannelConfig, Config, TelegramConfig
from ground.storage.models import (
    Event,
    InboundReceipt,
    InboxEvent,
    OutboxMessage,
    Question,
    Thread,
)
from tests.conftest import SAMPLE_FICHES, START
from tests.fakes.embedder import MemoEmbedder
from tests.fakes.telegram_server import Call, FakeBotApi, TelegramUser

pytestmark = pytest.mark.db

TOKEN = "123456789:AAHfakeTokenForTests_only-x"
GROUP = -1001234567890
ASKER = TelegramUser(555001, "Maeve", "Byrne", "en-IE")
STRANGER = TelegramUser(666666, "Mallory")
# Every expert gets a Telegram account: claire is 2000, the next 2001, and so on.
CLAIRE = TelegramUser(2000, "Claire", "Dubois", "fr")
# A few sample fiches are enough here, and keep the first embedding of the session short.
FICHES = (
    "employer-pool-apprenticeships-mayo",
    "hotel-apprenticeships-algarve",
    "apprendistato-duale-agroalimentare-langhe",
)
# Answered from a fiche, with these three fiches or the whole example collection.
APPRENTICE_QUESTION = (
    "How can very small craft firms in a rural valley share one apprentice between them?"
)
# No fiche here covers it (confidence about 0.01): routed, no fiche shown.
ROUTE_QUESTION = "What is the deadline to appeal a decision refusing an Erasmus grant?"


@pytest.fixture
def config(config: Config, tmp_path: Path) -> Config:
    """The example configuration with a small fiche collection."""
    for fiche in FICHES:
        shutil.copytree(SAMPLE_FICHES / fiche, tmp_path / "fiches" / fiche)
    knowledge = dataclasses.replace(config.knowledge, collection=str(tmp_path / "fiches"))
    return dataclasses.replace(config, knowledge=knowledge)


def telegram_config(config: Config, server: FakeBotApi, *, forum: bool = True) -> Config:
    """The test config with Telegram on the fake server, and experts known on Telegram."""
    experts = tuple(
        dataclasses.replace(expert, identities={"telegram": str(2000 + i)})
        for i, expert in enumerate(config.experts)
    )
    assert experts[0].id == "claire"
    telegram = TelegramConfig(
        enabled=True,
        token=TOKEN,
        base_url=server.base_url,
        experts_chat_id=GROUP,
        forum=forum,
        poll_timeout=1,
        rate_per_second=1000.0,
        group_rate_per_minute=100_000.0,
    )
    return dataclasses.replace(
        config, experts=experts, telegram=telegram, console=ChannelConfig(enabled=False)
    )


@dataclass
class TelegramBot:
    """A running bot, its Telegram channel and the fake server it talks to."""

    app: Application
    channel: TelegramChannel
    server: FakeBotApi

    @property
    def clock(self) -> FixedClock:
        return self.app.clock  # type: ignore[return-value]

    async def processed(self, update_id: int) -> None:
        """Wait until the channel handled the update, and what the core wrote is sent."""
        for _ in range(1000):
            if self.channel.last_update_id == update_id:
                await self.app.flush()
                return
            await asyncio.sleep(0.01)
        raise AssertionError(f"update {update_id} was never handled")

    def outbox(self) -> list[OutboxMessage]:
        assert self.app.database is not None
        with self.app.database.sessions() as session:
            return list(session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


@contextlib.asynccontextmanager
async def telegram_bot(
    config: Config, embedder: MemoEmbedder, *, forum: bool = True, in_group: bool = True
) -> AsyncIterator[TelegramBot]:
    """The bot with only its Telegram channel, on the fake server; stopped cleanly."""
    async with FakeBotApi(TOKEN, GROUP, forum=forum, in_group=in_group) as server:
        config = telegram_config(config, server, forum=forum)
        channel = TelegramChannel(config.telegram, config.languages.supported, retry_delay=0.01)
        app = Application(config, [channel], clock=FixedClock(START), embedder=embedder)
        await app.start()
        try:
            yield TelegramBot(app, channel, server)
        finally:
            await app.stop()
        assert server.unexpected == [], server.unexpected


def mentioned(call: Call) -> dict[int, str]:
    """The text mentions of a sent message: user id → the text they cover."""
    units = call.text.encode("utf-16-le")
    return {
        entity["user"]["id"]: units[
            2 * entity["offset"] : 2 * (entity["offset"] + entity["length"])
        ].decode("utf-16-le")
        for entity in call.params.get("entities", [])
        if entity["type"] == "text_mention"
    }


async def route_to_topic(bot: TelegramBot) -> int:
    """The asker's question goes straight to the experts; return its forum topic's id."""
    await bot.server.private_text(ASKER, ROUTE_QUESTION)
    [topic] = await bot.server.wait_sent(method="createForumTopic")
    await bot.server.wait_text("Your question #1 went to", chat_id=ASKER.id)
    return int(topic.result["message_thread_id"])


async def test_question_fiche_expert_topic_relay_follow_up_resolve(
    config, embedder, caplog
) -> None:
    caplog.set_level(logging.DEBUG)
    async with telegram_bot(config, embedder) as bot:
        server = bot.server
        menus = server.sent("setMyCommands")
        english = next(c for c in menus if c.params["scope"] == {"type": "all_private_chats"})
        assert "language_code" not in english.params
        assert [c["command"] for c in english.params["commands"]][:2] == ["help", "status"]
        french = next(c for c in menus if c.params.get("language_code") == "fr")
        assert french.params["commands"][0]["description"] != "this list"
        experts_menu = next(c for c in menus if c.params["scope"].get("chat_id") == GROUP)
        assert {c["command"] for c in experts_menu.params["commands"]} >= {"claim", "pass"}

        await server.private_text(ASKER, APPRENTICE_QUESTION)
        offer = await server.wait_text("County Mayo", chat_id=ASKER.id)
        rows = offer.params["reply_markup"]["inline_keyboard"]
        assert [[b["callback_data"] for b in row] for row in rows] == [
            ["helped:1"],
            ["expert:1"],
            ["fiche:1"],
            ["other:1"],
        ]
        assert "parse_mode" not in offer.params

        await server.press(ASKER, offer.message_id, "expert:1")
        [opened] = await server.wait_sent(method="createForumTopic", chat_id=GROUP)
        assert opened.params["name"] == "#1 · Work-based learning · EN"
        topic = opened.result["message_thread_id"]
        posted = await server.wait_text("Question #1", chat_id=GROUP, message_thread_id=topic)
        assert APPRENTICE_QUESTION in posted.text
        assert mentioned(posted)[CLAIRE.id] == "Claire Dubois"
        told = await server.wait_text("Your question #1 went to Claire Dubois", chat_id=ASKER.id)
        assert "reply_markup" not in told.params
        # The button stopped spinning, and its keyboard is gone.
        assert len(server.sent("answerCallbackQuery")) == 1
        [edit] = server.sent("editMessageReplyMarkup", chat_id=ASKER.id)
        assert edit.params["message_id"] == offer.message_id and "reply_markup" not in edit.params

        bot.clock.advance(dt.timedelta(hours=2))
        await server.group_text(
            CLAIRE, "A shared employer group hires the apprentice.", topic=topic
        )
        relayed = await server.wait_text("answers your question #1", chat_id=ASKER.id)
        assert relayed.text.startswith("Claire Dubois (Chambre de Métiers du Lot)")
        assert "A shared employer group hires the apprentice." in relayed.text

        await server.private_text(ASKER, "Thanks! Which chamber runs it, and who pays the wages?")
        follow_up = await server.wait_text(
            "Follow-up from the asker", chat_id=GROUP, message_thread_id=topic
        )
        assert "who pays the wages" in follow_up.text
        await server.wait_text("Added to your question #1", chat_id=ASKER.id)

        await server.private_text(ASKER, "/resolve 1")
        closing = await server.wait_text("Did the answer help you?", chat_id=ASKER.id)
        rows = closing.params["reply_markup"]["inline_keyboard"]
        assert [row[0]["callback_data"] for row in rows] == ["rate:1:1", "rate:1:0"]
        await server.wait_text("Question #1 is resolved.", chat_id=GROUP, message_thread_id=topic)
        await bot.app.flush()  # the server answered the last send; let the outbox record it

        assert bot.app.database is not None
        with bot.app.database.sessions() as session:
            question = session.get(Question, 1)
            assert question is not None and question.status == "resolved"
            assert question.channel == "telegram" and question.language == "en"
            assert question.first_response_at - question.routed_at == dt.timedelta(hours=2)
            kinds = list(session.scalars(select(Event.kind).order_by(Event.id)))
            assert kinds == ["asked", "routed", "first_response", "follow_up", "resolved"]
            # The inbox keeps no raw update once handled: privacy erase could not reach it.
            stored = list(session.execute(select(InboxEvent.handled_at, InboxEvent.payload)))
            assert stored and all(handled and payload == {} for handled, payload in stored)
        assert [(r.id, r.text[:30]) for r in bot.outbox() if r.status != "sent"] == []
    assert TOKEN not in caplog.text
    assert "api.telegram.org" not in caplog.text


async def test_a_bot_not_yet_in_the_experts_group_starts_with_the_askers_menus(
    config, embedder, caplog
) -> None:  # type: ignore[no-untyped-def]
    """The group's menus are refused (chat not found): a warning, and every other menu is set."""
    async with telegram_bot(config, embedder, in_group=False) as bot:
        menus = bot.server.sent("setMyCommands")
        private = [c for c in menus if c.params["scope"] == {"type": "all_private_chats"}]
        languages = {c.params.get("language_code") for c in private}
        assert {None, "fr", "de"} <= languages and len(languages) == len(private)
    assert "cannot set the experts' commands in the group: Chat not found" in (caplog.text)


async def test_duplicate_update_changes_nothing(config, embedder) -> None:
    async with telegram_bot(config, embedder) as bot:
        server = bot.server
        update_id = await server.private_text(ASKER, ROUTE_QUESTION)
        await server.wait_text("Your question #1 went to", chat_id=ASKER.id)
        await bot.processed(update_id)
        sends_before = len(server.sent())

        await server.redeliver(update_id)
        # Updates are handled in order: once the next one is answered, the duplicate was seen.
        await server.private_text(STRANGER, "/help")
        await server.wait_text("Commands", chat_id=STRANGER.id)
        assert len(server.sent()) == sends_before + 1
        assert len(server.sent("createForumTopic")) == 1
        fetched = [u["update_id"] for c in server.sent("getUpdates") for u in c.result or []]
        assert fetched.count(update_id) == 2
        assert bot.app.database is not None
        with bot.app.database.sessions() as session:
            assert session.scalar(select(func.count()).select_from(Question)) == 1


async def test_a_polled_update_is_stored_as_telegram_sent_it(config, embedder, monkeypatch) -> None:
    """The inbox keeps the update's own JSON from the getUpdates answer, not a re-encoding.

    Turning each parsed update back into a dict (PTB's ``to_dict``) cost about a tenth of a
    millisecond an update; the answer's body is at hand, and it is the original.
    """
    stored: list[dict[str, Any]] = []
    re_encoded = 0
    store, to_dict = Inbox.store, Update.to_dict

    async def spy(self: Inbox, events: Any, state: Any = None) -> int:
        stored.extend(event.payload for event in events)
        return await store(self, events, state)

    def counted(self: Update, recursive: bool = True) -> dict[str, Any]:
        nonlocal re_encoded
        re_encoded += 1
        return to_dict(self, recursive)

    monkeypatch.setattr(Inbox, "store", spy)
    monkeypatch.setattr(Update, "to_dict", counted)
    async with telegram_bot(config, embedder) as bot:
        first = await bot.server.private_text(ASKER, "/help")
        second = await bot.server.private_text(STRANGER, "/status")
        await bot.server.wait_text("You have not asked", chat_id=STRANGER.id)
        assert stored == [bot.server.injected[first], bot.server.injected[second]]
        assert re_encoded == 0


async def test_a_newcomer_is_greeted_in_their_apps_language(config, embedder) -> None:
    """Until their own messages say otherwise, Telegram's language_code is the asker's."""
    giulia = TelegramUser(555002, "Giulia", "Rossi", "it")
    async with telegram_bot(config, embedder) as bot:
        await bot.server.private_text(giulia, "/start")
        greeting = await bot.server.wait_text("Buongiorno!", chat_id=giulia.id)
        assert "Meccanismo di risposta rapida" in greeting.text
        # A language the network does not write in: the default, not an error.
        haruto = TelegramUser(555003, "Haruto", "Sato", "ja")
        await bot.server.private_text(haruto, "/start")
        await bot.server.wait_text("Hello! I am the Rapid Response Mechanism", chat_id=haruto.id)


async def test_stranger_in_experts_group_gets_nothing(config, embedder) -> None:
    async with telegram_bot(config, embedder) as bot:
        server = bot.server
        topic = await route_to_topic(bot)
        sends_before = len(server.sent())
        for text in ("Here is my answer, I am not an expert at all", "/claim", "/resolve"):
            update_id, _ = await server.group_text(STRANGER, text, topic=topic)
            await bot.processed(update_id)
        # A chat that is neither private nor the experts' group is ignored altogether.
        elsewhere = {"id": -1009999, "type": "supergroup", "title": "Elsewhere"}
        message = {"message_id": 7, "date": 0, "chat": elsewhere, "text": ROUTE_QUESTION}
        update_id = await server.inject({"message": {**message, "from": ASKER.json()}})
        await server.private_text(STRANGER, "/help")
        await server.wait_text("Commands", chat_id=STRANGER.id)
        assert len(server.sent()) == sends_before + 1
        assert bot.app.database is not None
        with bot.app.database.sessions() as session:
            question = session.get(Question, 1)
            assert question is not None and question.status == "open"
            assert question.first_response_at is None
            receipts = select(func.count()).select_from(InboundReceipt)
            assert session.scalar(receipts.where(InboundReceipt.event_id == f"u{update_id}")) == 0


async def test_flood_limit_is_retried_and_nothing_is_lost(config, embedder) -> None:
    async with telegram_bot(config, embedder) as bot:
        server = bot.server
        server.fail("sendMessage", times=1, status=429, retry_after=1)
        server.fail("sendMessage", times=2, status=500)
        await server.private_text(ASKER, APPRENTICE_QUESTION)
        offer = await server.wait_text("County Mayo", chat_id=ASKER.id)
        assert [c.status for c in server.attempts("sendMessage")] == [429, 500, 500, 200]
        assert offer.params["reply_markup"]

        # Still failing after every retry: the outbox keeps the message and sends it later.
        server.fail("sendMessage", times=4, status=502)
        update_id = await server.private_text(ASKER, "/status")
        await bot.processed(update_id)
        [waiting] = [row for row in bot.outbox() if row.status == "pending"]
        assert waiting.attempts == 1 and "Bad Gateway" in (waiting.last_error or "")
        bot.clock.advance(dt.timedelta(seconds=3))
        await bot.app.flush()
        await server.wait_text("Your questions:", chat_id=ASKER.id)
        assert {row.status for row in bot.outbox()} == {"sent"}


async def test_blocked_asker_fails_permanently(config, embedder) -> None:
    async with telegram_bot(config, embedder) as bot:
        bot.server.fail("sendMessage", times=1, status=403)
        update_id = await bot.server.private_text(ASKER, "/help")
        await bot.processed(update_id)
        [row] = bot.outbox()
        assert row.status == "failed" and "blocked" in (row.last_error or "")
        assert len(bot.server.attempts("sendMessage")) == 1


async def test_long_answer_is_split_between_words(config, embedder) -> None:
    words = [f"word{i}" for i in range(600)]
    answer = " ".join(words)
    assert 4500 <= len(answer) <= 5000
    async with telegram_bot(config, embedder) as bot:
        server = bot.server
        topic = await route_to_topic(bot)
        await server.group_text(CLAIRE, answer, topic=topic)
        first = await server.wait_text("answers your question #1", chat_id=ASKER.id)
        [_, second] = await server.wait_for(
            lambda: (
                (found := server.sent(chat_id=ASKER.id)[-2:])
                and "Reply here to answer back" in found[-1].text
                and found
            ),
            what="the second part",
        )
        assert second.text != first.text
        assert all(len(c.text) <= 4096 for c in (first, second))
        assert re.search(r"word\d+$", first.text) and re.match(r"word\d+", second.text)
        relayed = re.findall(r"word\d+", first.text + " " + second.text)
        assert relayed == words
        assert "reply_markup" not in first.params


def long_reply(words: int = 600) -> OutboxMessage:
    """An outbox row for the asker, too long for one Telegram message (two parts)."""
    text = " ".join(f"word{i}" for i in range(words))
    return OutboxMessage(
        channel="telegram", target="person", chat_id=str(ASKER.id), text=text, created_at=START
    )


def row(app: Application, outbox_id: int) -> OutboxMessage:
    assert app.database is not None
    with app.database.sessions() as session:
        found = session.get(OutboxMessage, outbox_id)
        assert found is not None
        return found


async def restarted(config: Config, embedder: MemoEmbedder, after: dt.timedelta) -> Application:
    """A new process on the same database: a new channel, nothing kept in memory."""
    channel = TelegramChannel(config.telegram, config.languages.supported, retry_delay=0.01)
    app = Application(config, [channel], clock=FixedClock(START + after), embedder=embedder)
    await app.start()  # the start sends what was left pending first
    return app


async def test_a_reply_in_parts_resumes_at_the_next_part_after_a_restart(config, embedder) -> None:  # type: ignore[no-untyped-def]
    """Part one sent, part two failing: the next process sends part two only; give-up frees it."""
    async with FakeBotApi(TOKEN, GROUP) as server:
        config = telegram_config(config, server)
        channel = TelegramChannel(config.telegram, config.languages.supported, retry_delay=0.01)
        app = Application(config, [channel], clock=FixedClock(START), embedder=embedder)
        await app.start()
        assert app.database is not None
        with app.database.sessions.begin() as session:
            reply = long_reply()
            session.add(reply)
            session.flush()
            outbox_id = reply.id
        server.fail("sendMessage", times=4, status=502, after=1)
        await app.flush()
        [first] = server.sent(chat_id=ASKER.id)
        stored = row(app, outbox_id)
        assert stored.status == "pending" and stored.send_progress == {
            "thread_id": None,
            "message_ids": [str(first.message_id)],
        }
        await app.stop()

        app = await restarted(config, embedder, dt.timedelta(minutes=5))
        try:
            sent = server.sent(chat_id=ASKER.id)
            assert [c.text for c in sent].count(first.text) == 1 and len(sent) == 2
            assert re.findall(r"word\d+", " ".join(c.text for c in sent)) == [
                f"word{i}" for i in range(600)
            ]
            stored = row(app, outbox_id)
            assert stored.status == "sent" and stored.send_progress is None
            assert stored.external_id == str(sent[-1].message_id)

            # Given up (the asker blocked the bot after part one): its progress goes too.
            with app.database.sessions.begin() as session:  # type: ignore[union-attr]
                reply = long_reply(700)
                session.add(reply)
                session.flush()
                outbox_id = reply.id
            server.fail("sendMessage", times=1, status=403, after=1)
            await app.flush()
            stored = row(app, outbox_id)
            assert stored.status == "failed" and stored.send_progress is None
        finally:
            await app.stop()
        assert server.unexpected == [], server.unexpected


async def test_a_question_whose_topic_was_opened_posts_into_it_after_a_restart(
    config, embedder
) -> None:  # type: ignore[no-untyped-def]
    """The topic created, its first post failing: the next process opens no second topic."""
    async with FakeBotApi(TOKEN, GROUP) as server:
        config = telegram_config(config, server)
        channel = TelegramChannel(config.telegram, config.languages.supported, retry_delay=0.01)
        app = Application(config, [channel], clock=FixedClock(START), embedder=embedder)
        await app.start()
        try:
            server.fail("sendMessage", times=4, status=502)
            await server.private_text(ASKER, ROUTE_QUESTION)
            [topic] = await server.wait_sent(method="createForumTopic")
            await server.wait_text("Your question #1 went to", chat_id=ASKER.id)
            assert not server.sent(chat_id=GROUP)
            assert app.database is not None
            with app.database.sessions() as session:
                opening = session.scalars(
                    select(OutboxMessage).where(OutboxMessage.opens_thread.is_(True))
                ).one()
            topic_id = str(topic.result["message_thread_id"])
            assert opening.send_progress == {
                "thread_id": topic_id,
                "message_ids": [],
                "space_id": str(GROUP),
            }
            # The topic is the question's before its first post gets through: what an expert
            # writes in it meanwhile belongs to question 1.
            with app.database.sessions() as session:
                [thread] = session.scalars(select(Thread)).all()
            assert (thread.question_id, thread.space_id, thread.thread_id) == (
                1,
                str(GROUP),
                topic_id,
            )
        finally:
            await app.stop()

        app = await restarted(config, embedder, dt.timedelta(minutes=5))
        try:
            [post] = server.sent(chat_id=GROUP)
            assert len(server.attempts("createForumTopic")) == 1
            assert str(post.params["message_thread_id"]) == topic_id
            assert row(app, opening.id).send_progress is None
            assert app.database is not None
            with app.database.sessions() as session:
                assert session.scalar(select(func.count()).select_from(Thread)) == 1
        finally:
            await app.stop()
        assert server.unexpected == [], server.unexpected


async def test_edits_attachments_and_reply_chains(config, embedder) -> None:
    async with telegram_bot(config, embedder, forum=False) as bot:
        server = bot.server
        await server.private_text(ASKER, ROUTE_QUESTION)
        root = await server.wait_text("Question #1", chat_id=GROUP)
        assert "message_thread_id" not in root.params and not server.sent("createForumTopic")
        await server.wait_text("Your question #1 went to", chat_id=ASKER.id)

        _, answer = await server.group_text(
            CLAIRE, "Ask the regional bar.", reply_to=root.message_id
        )
        await server.wait_text("Ask the regional bar.", chat_id=ASKER.id)
        await server.group_text(CLAIRE, "Ask the regional bar association.", edit_of=answer)
        correction = await server.wait_text("Correction from Claire Dubois", chat_id=ASKER.id)
        assert "Ask the regional bar association." in correction.text

        await server.private_text(ASKER, "Which one, the one in the capital?")
        follow_up = await server.wait_text("Follow-up from the asker", chat_id=GROUP)
        assert follow_up.params["reply_parameters"]["message_id"] == root.message_id
        await bot.app.flush()  # its message id is recorded before Claire replies to it
        # An expert replying to the follow-up is still in the question's chain.
        await server.group_text(CLAIRE, "Yes, the capital's.", reply_to=follow_up.message_id)
        await server.wait_text("Yes, the capital's.", chat_id=ASKER.id)

        await server.private_photo(ASKER)
        await server.wait_text("I can only read text messages", chat_id=ASKER.id)


async def test_wrong_token_stops_start_and_is_not_logged(caplog) -> None:
    caplog.set_level(logging.DEBUG)
    wrong = "42:WrongTokenWrongToken"
    async with FakeBotApi(TOKEN, GROUP) as server:
        settings = TelegramConfig(
            enabled=True, token=wrong, base_url=server.base_url, experts_chat_id=GROUP
        )
        channel = TelegramChannel(settings)

        async def deliver(_event: object) -> None:
            raise AssertionError("no update can arrive")

        with pytest.raises(InvalidToken) as refused:
            await channel.start(deliver)
        assert wrong not in str(refused.value) and refused.value.__suppress_context__
        await channel.stop()
        assert [entry.rsplit("/", 1)[-1] for entry in server.unexpected] == ["getMe"]
        server.unexpected.clear()
    assert wrong not in caplog.text
