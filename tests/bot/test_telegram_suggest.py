"""A suggestion on Telegram: fiches shown to the asker while the experts have the question."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from ground.storage.models import FicheAnswer, Question
from knowledge.repository import get_version
from tests.bot.test_telegram import GROUP, telegram_bot
from tests.fakes.telegram_server import TelegramUser

pytestmark = pytest.mark.db

# A French-speaking asker; the sample fiches are the whole example collection.
AMELIE = TelegramUser(555002, "Amélie", "Martin", "fr")
# Lands in the suggest band with the three fiches of these tests (confidence about 0.52).
SUGGEST_QUESTION = "How do other regions train apprentices in tourism and food businesses?"


async def test_suggest_shows_fiches_in_french_and_opens_the_topic_at_once(config, embedder) -> None:
    async with telegram_bot(config, embedder) as bot:
        server = bot.server
        await server.private_text(AMELIE, "/language fr")
        await server.wait_text("français", chat_id=AMELIE.id)
        await server.private_text(AMELIE, SUGGEST_QUESTION)

        [opened] = await server.wait_sent(method="createForumTopic", chat_id=GROUP)
        topic = opened.result["message_thread_id"]
        posted = await server.wait_text("Question #1", chat_id=GROUP, message_thread_id=topic)
        await server.wait_text("a été transmise à", chat_id=AMELIE.id)
        shown = await server.wait_text(
            "Ces fiches pourraient vous aider pendant qu’un expert examine votre question\u202f:",
            chat_id=AMELIE.id,
        )
        assert bot.app.database is not None
        with bot.app.database.sessions() as session:
            question = session.get(Question, 1)
            assert question is not None
            assert question.decision == "suggest" and question.status == "open"
            answer = session.scalar(select(FicheAnswer))
            assert answer is not None
            fiches = answer.fiches
            titles = []
            for fiche in fiches:
                version = get_version(session, fiche["id"], fiche["language"])
                assert version is not None
                titles.append(version.title)
            second = get_version(session, fiches[1]["id"], fiches[1]["language"])
            assert second is not None
        assert "The asker was shown these fiches while waiting for you:" in posted.text
        for fiche, title in zip(fiches, titles, strict=True):
            assert f"• {title} ({fiche['id']} · " in posted.text
            assert f"• {title}" in shown.text
        rows = shown.params["reply_markup"]["inline_keyboard"]
        assert [[b["callback_data"] for b in row] for row in rows] == [
            [f"fiche:1:{rank}"] for rank in range(len(fiches))
        ]

        await server.press(AMELIE, shown.message_id, "fiche:1:1")
        full = await server.wait_text(second.body[:40], chat_id=AMELIE.id)
        assert full.text.startswith(second.title) and "reply_markup" not in full.params
        # The keyboard stays: the other fiches are still a button away.
        assert server.sent("editMessageReplyMarkup", chat_id=AMELIE.id) == []
