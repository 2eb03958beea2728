"""The asker's way out on Telegram: "Not what I asked", and a reply under a fiche answer."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from ground.storage.models import AnswerLabel, FicheAnswer, Question
from tests.bot.test_telegram import APPRENTICE_QUESTION, CLAIRE, GROUP, telegram_bot
from tests.fakes.telegram_server import TelegramUser

pytestmark = pytest.mark.db

RUTH = TelegramUser(555003, "Ruth", "Walsh", "en")
CHOICES = [["helped:1"], ["expert:1"], ["fiche:1"], ["other:1"]]
FOLLOW_UP = "This is not about my case, I need the legal deadline for signing the contract."


def keys(message) -> list[list[str]]:  # type: ignore[no-untyped-def]
    rows = message.params["reply_markup"]["inline_keyboard"]
    return [[b["callback_data"] for b in row] for row in rows]


async def test_not_what_i_asked_shows_other_fiches_then_an_expert_says_why(
    config, embedder
) -> None:
    async with telegram_bot(config, embedder) as bot:
        server = bot.server
        await server.private_text(RUTH, APPRENTICE_QUESTION)
        offer = await server.wait_text("County Mayo", chat_id=RUTH.id)
        assert keys(offer) == CHOICES

        await server.press(RUTH, offer.message_id, "other:1")
        others = await server.wait_text(
            "Here are other fiches that may answer it:", chat_id=RUTH.id
        )
        assert "County Mayo" not in others.text and keys(others) == CHOICES
        # The refused offer's keyboard is gone: its choice was taken.
        [edit] = server.sent("editMessageReplyMarkup", chat_id=RUTH.id)
        assert edit.params["message_id"] == offer.message_id

        await server.press(RUTH, others.message_id, "other:1")
        [opened] = await server.wait_sent(method="createForumTopic", chat_id=GROUP)
        topic = opened.result["message_thread_id"]
        posted = await server.wait_text("Question #1", chat_id=GROUP, message_thread_id=topic)
        assert "said they are not what they asked:" in posted.text
        assert "(employer-pool-apprenticeships-mayo · " in posted.text
        # Why each expert was chosen, each in their own language.
        assert "• Claire Dubois — langue lue\u202f: anglais · Formation en milieu de travail" in (
            posted.text
        )
        assert "• Jonas Weber — liest Englisch · Lernen im Betrieb" in posted.text
        await server.wait_text("Your question #1 went to Claire Dubois", chat_id=RUTH.id)
        assert bot.app.database is not None
        with bot.app.database.sessions() as session:
            assert session.scalar(select(func.count()).select_from(Question)) == 1
            question = session.get(Question, 1)
            assert question is not None and question.status == "open"
            feedback = list(session.scalars(select(FicheAnswer.feedback)))
            assert feedback == ["not_asked", "not_asked"]


async def test_a_reply_under_a_fiche_answer_is_a_follow_up_even_hours_later(
    config, embedder
) -> None:
    async with telegram_bot(config, embedder) as bot:
        server = bot.server
        await server.private_text(RUTH, APPRENTICE_QUESTION)
        offer = await server.wait_text("County Mayo", chat_id=RUTH.id)
        # The server saw the offer before the bot recorded its message id; a person's reply
        # takes seconds, the test's none.
        await bot.app.flush()
        # Past the follow-up window: only the reply says which question it is about.
        bot.clock.advance(dt.timedelta(hours=3))
        await server.private_text(RUTH, FOLLOW_UP, reply_to=offer.message_id)
        [opened] = await server.wait_sent(method="createForumTopic", chat_id=GROUP)
        topic = opened.result["message_thread_id"]
        posted = await server.wait_text("Question #1", chat_id=GROUP, message_thread_id=topic)
        assert "The asker was shown these fiches, then wrote:" in posted.text
        assert posted.text.index(APPRENTICE_QUESTION) < posted.text.index(FOLLOW_UP)
        await server.wait_text("Your question #1 went to", chat_id=RUTH.id)
        assert bot.app.database is not None
        with bot.app.database.sessions() as session:
            assert session.scalar(select(func.count()).select_from(Question)) == 1
            assert session.scalar(select(FicheAnswer.feedback)) == "expert"


async def test_an_expert_says_the_fiche_shown_was_right_in_the_topic(config, embedder) -> None:
    async with telegram_bot(config, embedder) as bot:
        server = bot.server
        await server.private_text(RUTH, APPRENTICE_QUESTION)
        offer = await server.wait_text("County Mayo", chat_id=RUTH.id)
        await server.press(RUTH, offer.message_id, "expert:1")
        [opened] = await server.wait_sent(method="createForumTopic", chat_id=GROUP)
        topic = opened.result["message_thread_id"]
        posted = await server.wait_text("Question #1", chat_id=GROUP, message_thread_id=topic)
        assert "/verdict right or /verdict wrong" in posted.text

        await server.group_text(CLAIRE, "/verdict right", topic=topic)
        await server.wait_text(
            "Merci\u202f: la fiche employer-pool-apprenticeships-mayo est enregistrée comme "
            "bonne réponse à la question n°\u00a01",
            message_thread_id=topic,
        )
        await server.group_text(CLAIRE, "/verdict wrong nowhere", topic=topic)
        await server.wait_text(
            "La fiche nowhere n’a pas été montrée au demandeur", message_thread_id=topic
        )
        assert bot.app.database is not None
        with bot.app.database.sessions() as session:
            label = session.scalars(
                select(AnswerLabel).where(AnswerLabel.source == "expert_verdict")
            ).one()
            assert (label.fiche_id, label.verdict) == (
                "employer-pool-apprenticeships-mayo",
                "positive",
            )
            assert label.features and label.shown_fiche == label.fiche_id
        # Nothing of it reached the asker.
        to_ruth = [c.params.get("text", "") for c in server.sent("sendMessage", chat_id=RUTH.id)]
        assert not any("fiche employer-pool" in text for text in to_ruth)
