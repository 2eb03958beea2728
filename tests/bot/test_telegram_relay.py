"""Telegram relays files, corrections and closed topics; edits from askers ask nothing new."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import socket

import pytest
from sqlalchemy import func, select
from telegram.ext import AIORateLimiter

from bot.app import Application
from bot.channels.base import ChannelStartError
from bot.channels.console import ConsoleChannel
from bot.channels.telegram import TelegramChannel
from bot.channels.telegram_text import utf16_length
from ground.clock import FixedClock
from ground.storage.models import Event, Question
from tests.bot.test_telegram import (  # noqa: F401 (the config fixture is used by name)
    ASKER,
    CLAIRE,
    GROUP,
    ROUTE_QUESTION,
    TOKEN,
    config,
    route_to_topic,
    telegram_bot,
    telegram_config,
)
from tests.conftest import START
from tests.fakes.console import ScriptedLines, Transcript
from tests.fakes.telegram_server import FakeBotApi, TelegramUser

pytestmark = pytest.mark.db


async def test_files_edits_and_a_closed_topic(config, embedder) -> None:  # noqa: F811
    async with telegram_bot(config, embedder) as bot:
        server = bot.server
        topic = await route_to_topic(bot)

        # A photo with a caption, then a document alone: both reach the asker by file id.
        _, photo = await server.group_file(CLAIRE, topic, "photo", caption="The signed form.")
        heading = await server.wait_text("The signed form.", chat_id=ASKER.id)
        assert "answers your question #1" in heading.text
        [sent_photo] = await server.wait_sent(method="sendPhoto", chat_id=ASKER.id)
        assert sent_photo.params["photo"] == photo["photo"][-1]["file_id"]  # the largest size
        await server.group_file(CLAIRE, topic, "document")
        [sent_document] = await server.wait_sent(method="sendDocument", chat_id=ASKER.id)
        assert sent_document.params["document"].startswith("BQACd0c")
        assert sent_document.message_id > sent_photo.message_id

        # The asker changes a message already sent: that is not a new question.
        update_id = await server.private_text(ASKER, "Also: who signs the contract?")
        await server.wait_text("Added to your question #1", chat_id=ASKER.id)
        message = server.injected[update_id]["message"]
        await server.inject({"edited_message": {**message, "text": "Who signs it?"}})
        await server.wait_text("I do not read changes", chat_id=ASKER.id)

        # Experts closed the topic; the asker writes again: the bot reopens it and posts.
        server.closed_topics.add(topic)
        await server.private_text(ASKER, "And who keeps the original?")
        follow_up = await server.wait_text(
            "who keeps the original", chat_id=server.group_id, message_thread_id=topic
        )
        assert follow_up.params["message_thread_id"] == topic
        assert server.sent("reopenForumTopic", message_thread_id=topic)
        assert not server.closed_topics

        # A command outside a question's topic is answered in the same place, not in General.
        server.topics[77] = "coffee corner"
        await server.inject(
            {
                "message": {
                    "message_id": 4242,
                    "date": 0,
                    "chat": {"id": server.group_id, "type": "supergroup", "is_forum": True},
                    "from": CLAIRE.json(),
                    "text": "/claim",
                    "message_thread_id": 77,
                    "is_topic_message": True,
                }
            }
        )
        # Claire reads French: the bot answers her in French.
        answer = await server.wait_text(
            "Ce fil ne correspond à aucune question.", chat_id=server.group_id
        )
        assert answer.params.get("message_thread_id") == 77

        assert bot.app.database is not None
        with bot.app.database.sessions() as session:
            assert session.scalar(select(func.count()).select_from(Question)) == 1


async def test_webhook_mode_checks_the_secret_on_every_request(
    config,  # noqa: F811
    embedder,
    caplog,
    unused_tcp_port: int,
) -> None:
    caplog.set_level(logging.DEBUG)
    async with FakeBotApi(TOKEN, GROUP) as server:
        config = telegram_config(config, server)
        settings = dataclasses.replace(
            config.telegram,
            webhook_url="https://rrm.example.org/telegram/updates",
            webhook_listen="127.0.0.1",
            webhook_port=unused_tcp_port,
            webhook_secret="s3cret-Token_1",
        )
        channel = TelegramChannel(settings, config.languages.supported, retry_delay=0.01)
        app = Application(config, [channel], clock=FixedClock(START), embedder=embedder)
        await app.start()
        try:
            assert server.webhook == {
                "url": "https://rrm.example.org/telegram/updates",
                "secret_token": "s3cret-Token_1",
            }
            assert not server.attempts("getUpdates")
            address = f"http://127.0.0.1:{unused_tcp_port}/telegram/updates"
            wrong = server.private_update(ASKER, "/help")
            assert await server.post_to_webhook(address, wrong, "not-the-secret") == 403
            assert await server.post_to_webhook(address, wrong, "") == 403
            secret = "s3cret-Token_1"
            bodies = (b"{not json", b"[1, 2]", b'{"update_id": "7"}', b'{"update_id": true}')
            for body in (*bodies, b'{"message": {}}'):
                assert await server.post_raw(address, body, secret) == 400, body
            right = server.private_update(ASKER, "/status")
            assert await server.post_to_webhook(address, right, "s3cret-Token_1") == 200
            await server.wait_text("You have not asked any question yet.", chat_id=ASKER.id)
            await app.flush()
            # Only the update with the secret was handled: no list of commands was sent.
            assert len(server.sent(chat_id=ASKER.id)) == 1
            assert channel.last_update_id == right["update_id"]
        finally:
            await app.stop()
        assert server.unexpected == []
    assert TOKEN not in caplog.text


async def test_a_webhook_port_in_use_stops_the_start_with_the_key_named(
    config,  # noqa: F811
    embedder,
) -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        async with FakeBotApi(TOKEN, GROUP) as server:
            config = telegram_config(config, server)
            settings = dataclasses.replace(
                config.telegram,
                webhook_url="https://rrm.example.org/telegram/updates",
                webhook_port=port,
                webhook_secret="s3cret-Token_1",
            )
            channel = TelegramChannel(settings, config.languages.supported, retry_delay=0.01)
            app = Application(config, [channel], clock=FixedClock(START), embedder=embedder)
            with pytest.raises(ChannelStartError, match="webhook_port: cannot listen"):
                await app.start()
            assert server.webhook is None  # not registered: Telegram keeps its updates


async def test_a_burst_of_200_routed_questions_loses_and_doubles_nothing(
    config,  # noqa: F811
    embedder,
) -> None:
    count = 200
    askers = [TelegramUser(800_000 + n, f"Asker{n}", language_code="en") for n in range(count)]
    async with telegram_bot(config, embedder) as bot:
        server = bot.server
        assert isinstance(bot.channel.rate_limiter, AIORateLimiter)
        server.flood_every(199, retry_after=1)  # three flood waits along the way
        for asker in askers:
            # The same words from 200 people: 200 questions (and one embedding, so it is quick).
            await server.private_text(asker, ROUTE_QUESTION)
        await server.wait_for(
            lambda: (
                len(server.sent("createForumTopic")) == count
                and all(server.sent(chat_id=a.id) for a in askers)
            ),
            timeout=240,
            what=f"{count} topics and {count} answers",
        )
        await bot.app.flush()
        flood_waits = [c for c in server.calls if c.status == 429]
        assert flood_waits, "the fake never answered 429"
        # Nothing lost, nothing doubled: one topic, one post in it, one notice per asker.
        assert len(server.sent("createForumTopic")) == count
        for asker in askers:
            [told] = server.sent(chat_id=asker.id)
            assert told.text.startswith("Your question #")
        posts = [c for c in server.sent(chat_id=GROUP) if "message_thread_id" in c.params]
        assert sorted(c.params["message_thread_id"] for c in posts) == sorted(server.topics)
        assert {row.status for row in bot.outbox()} == {"sent"}
        assert len(bot.outbox()) == 2 * count


async def test_an_experts_formatting_reaches_the_asker(config, embedder) -> None:  # noqa: F811
    answer = "See the 📘 guide: apply before March."
    async with telegram_bot(config, embedder) as bot:
        server = bot.server
        topic = await route_to_topic(bot)
        guide = utf16_length("See the 📘 ")
        await server.group_text(
            CLAIRE,
            answer,
            topic=topic,
            entities=[
                {"type": "bold", "offset": guide, "length": 5},
                {"type": "text_link", "offset": guide + 7, "length": 5, "url": "https://eu.int/a"},
            ],
        )
        relayed = await server.wait_text(answer, chat_id=ASKER.id)
        units = relayed.text.encode("utf-16-le")
        styled = [
            (
                e["type"],
                units[2 * e["offset"] : 2 * (e["offset"] + e["length"])].decode("utf-16-le"),
            )
            for e in relayed.params["entities"]
        ]
        assert styled == [("bold", "guide"), ("text_link", "apply")]
        assert relayed.params["entities"][1]["url"] == "https://eu.int/a"
        assert "parse_mode" not in relayed.params


@pytest.mark.parametrize(
    ("language", "named"),
    [
        (None, "[attachment: document apprenticeship-contract.pdf]"),
        ("de", "[Anhang: Dokument apprenticeship-contract.pdf]"),
    ],
)
async def test_a_console_asker_sees_a_telegram_experts_file_named(
    config,  # noqa: F811
    embedder,
    language,
    named,
) -> None:
    async with FakeBotApi(TOKEN, GROUP) as server:
        config = telegram_config(config, server)
        lines, out = ScriptedLines(), Transcript()
        console = ConsoleChannel(lines, out, {}, speaker="maeve")
        telegram = TelegramChannel(config.telegram, config.languages.supported, retry_delay=0.01)
        app = Application(config, [console, telegram], clock=FixedClock(START), embedder=embedder)
        await app.start()
        try:
            await lines.say(ROUTE_QUESTION)
            assert "Your question #1 went to" in out.new()
            if language:
                await lines.say(f"/language {language}")
            [opened] = await server.wait_sent(method="createForumTopic")
            topic = opened.result["message_thread_id"]
            await server.group_file(CLAIRE, topic, "document", caption="The model contract.")
            # The file is named in the asker's words: the console shows no files.
            for _ in range(1000):
                if named in out.getvalue():
                    break
                await asyncio.sleep(0.02)
            shown = out.new()
            assert "The model contract." in shown
            assert named in shown
        finally:
            await lines.close()
            await app.stop()
        assert server.unexpected == []


async def test_notes_and_hand_overs_are_never_relayed(config, embedder) -> None:  # noqa: F811
    async with telegram_bot(config, embedder) as bot:
        server = bot.server
        topic = await route_to_topic(bot)
        await server.group_text(CLAIRE, "Marco: can you take this one? Italian law.", topic=topic)
        await server.wait_text(
            "Note interne enregistrée sur la question n°\u00a01", message_thread_id=topic
        )
        await server.group_text(CLAIRE, "/note Asked the chamber; Friday.", topic=topic)
        acks = await server.wait_for(
            lambda: [
                c
                for c in server.sent("sendMessage", message_thread_id=topic)
                if "Note interne" in c.text
            ][1:],
            what="a second note acknowledged",
        )
        assert "elle n’a pas été envoyée au demandeur" in acks[0].text
        await server.group_text(CLAIRE, "The regional bar keeps a list.", topic=topic)
        await server.wait_text("The regional bar keeps a list.", chat_id=ASKER.id)
        to_asker = " ".join(c.text for c in server.sent("sendMessage", chat_id=ASKER.id))
        assert "Italian law" not in to_asker and "Friday" not in to_asker
        assert bot.app.database is not None
        with bot.app.database.sessions() as session:
            notes = session.scalars(select(Event.detail).where(Event.kind == "note")).all()
            assert [n["text"] for n in notes] == [
                "Marco: can you take this one? Italian law.",
                "Asked the chamber; Friday.",
            ]
