"""The asker's way out of a fiche answer on the console: "Not what I asked", and follow-ups."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import pytest
from sqlalchemy import func, select

from ground.storage.models import (
    AnswerLabel,
    DeadlineStep,
    Event,
    FicheAnswer,
    Question,
    RelayedMessage,
)
from tests.fakes.app import console_bot
from tests.handlers.test_console_loop import APPRENTICE_QUESTION, SUGGEST_QUESTION

pytestmark = pytest.mark.db

SUCCESSION_QUESTION = (
    "Many craft businesses will close because the owners retire without a successor. "
    "How do others match them with young craftspeople who want to take over?"
)
FOLLOW_UP = "This is not about my case, I need the legal deadline for signing the contract."


def count(session, model) -> int:  # type: ignore[no-untyped-def]
    return session.scalar(select(func.count()).select_from(model))


async def test_not_what_i_asked_shows_other_fiches_then_asks_an_expert(config, embedder) -> None:
    async with console_bot(config, embedder) as bot:
        shown = await bot.say(APPRENTICE_QUESTION)
        assert "[4] Not what I asked" in shown
        lead = "Shared apprenticeship employer for small firms in County Mayo"
        assert lead in shown

        shown = await bot.say("4")
        assert "Here are other fiches that may answer it:" in shown
        # The refused fiche is not offered again; the asker still has every choice.
        assert lead not in shown and "[4] Not what I asked" in shown
        with bot.app.database.sessions() as session:
            question = session.scalar(select(Question))
            assert question.status == "offered" and question.routed_at is None
            first, second = session.scalars(select(FicheAnswer).order_by(FicheAnswer.id))
            assert first.feedback == "not_asked" and second.feedback is None
            assert second.fiches[0]["id"] != first.fiches[0]["id"]

        shown = await bot.say("4")
        thread, _, to_asker = shown.partition("── to you ──")
        assert "experts' space · thread #1" in thread
        assert "The asker was shown these fiches and said they are not what they asked:" in thread
        assert f"• {lead} (employer-pool-apprenticeships-mayo · " in thread
        # Why each expert was chosen, in their own language (Claire French, Jonas German).
        assert "• Claire Dubois — langue lue\u202f: anglais · Formation en milieu de travail" in (
            thread
        )
        assert "• Jonas Weber — liest Englisch · Lernen im Betrieb" in thread
        assert "Your question #1 went to Claire Dubois" in to_asker

        with bot.app.database.sessions() as session:
            # The same question, now with the experts and on the clock.
            assert count(session, Question) == 1
            question = session.get(Question, 1)
            assert question.status == "open" and question.decision == "answer"
            assert question.routed_at == bot.clock.now() and question.first_response_due
            assert count(session, DeadlineStep) > 0
            feedback = list(session.scalars(select(FicheAnswer.feedback)))
            assert feedback == ["not_asked", "not_asked"]
            kinds = list(session.scalars(select(Event.kind).order_by(Event.id)))
            assert kinds == ["asked", "not_asked", "not_asked", "routed"]

        shown = await bot.say("4")  # pressed again: nothing is sent a second time
        assert "Question #1 is already with the experts." in shown


async def test_not_what_i_asked_without_other_plausible_fiches_asks_an_expert(
    config, embedder
) -> None:
    # With the suggest band just under the answer band, no other fiche is plausible for a
    # question only the craft-succession fiche answers (the apprentice-sharing one has a
    # valley training pact beside it that the model trusts as much as the first).
    knowledge = dataclasses.replace(config.knowledge, suggest_confidence=0.79)
    async with console_bot(dataclasses.replace(config, knowledge=knowledge), embedder) as bot:
        await bot.say(SUCCESSION_QUESTION)
        shown = await bot.say("4")
        assert "Here are other fiches" not in shown
        assert "said they are not what they asked" in shown
        assert "Your question #1 went to" in shown
        with bot.app.database.sessions() as session:
            question = session.get(Question, 1)
            assert question.status == "open" and count(session, Question) == 1
            assert session.scalar(select(FicheAnswer.feedback)) == "not_asked"


async def test_a_follow_up_under_a_fiche_goes_to_an_expert_in_the_same_question(
    config, embedder
) -> None:
    async with console_bot(config, embedder) as bot:
        await bot.say(APPRENTICE_QUESTION)
        bot.clock.advance(dt.timedelta(minutes=5))
        shown = await bot.say(FOLLOW_UP)
        thread, _, to_asker = shown.partition("── to you ──")
        assert "experts' space · thread #1" in thread
        assert "The asker was shown these fiches, then wrote:" in thread
        assert "(employer-pool-apprenticeships-mayo · " in thread
        assert thread.index(APPRENTICE_QUESTION) < thread.index(FOLLOW_UP)
        assert "Your question #1 went to" in to_asker
        with bot.app.database.sessions() as session:
            assert count(session, Question) == 1
            question = session.get(Question, 1)
            assert question.status == "open" and question.routed_at is not None
            assert session.scalar(select(FicheAnswer.feedback)) == "expert"
            # A labelled example: the fiche shown did not settle the question.
            label = session.scalar(select(AnswerLabel))
            assert (label.fiche_id, label.verdict, label.source) == (
                "employer-pool-apprenticeships-mayo",
                "negative",
                "asker_follow_up",
            )
            relayed = session.scalar(select(RelayedMessage))
            assert relayed.direction == "to_experts" and relayed.text == FOLLOW_UP


async def test_a_clearly_new_question_or_a_late_message_under_a_fiche_is_a_new_question(
    config, embedder
) -> None:
    async with console_bot(config, embedder) as bot:
        await bot.say(APPRENTICE_QUESTION)
        # The same words again are the same question, not a follow-up of it.
        shown = await bot.say(APPRENTICE_QUESTION)
        assert "You already asked this as question #1" in shown
        # Another subject, sharing almost no words with the first: a question of its own.
        shown = await bot.say(SUGGEST_QUESTION)
        assert "Your question #2 went to" in shown
        assert "then wrote" not in shown
        with bot.app.database.sessions() as session:
            assert session.get(Question, 1).status == "offered"

        await bot.say("/new")
        await bot.say(APPRENTICE_QUESTION.replace("one apprentice", "two apprentices"))
        # Past the follow-up window, even a follow-up's words start a new question.
        bot.clock.advance(dt.timedelta(minutes=31))
        shown = await bot.say(FOLLOW_UP)
        assert "then wrote" not in shown
        with bot.app.database.sessions() as session:
            assert count(session, Question) == 4
            assert session.get(Question, 3).status == "offered"


async def test_the_follow_up_window_is_the_configured_one(config, embedder) -> None:
    knowledge = dataclasses.replace(config.knowledge, follow_up_minutes=60)
    async with console_bot(dataclasses.replace(config, knowledge=knowledge), embedder) as bot:
        await bot.say(APPRENTICE_QUESTION)
        # Past the default 30 minutes, within the configured 60: still the same question.
        bot.clock.advance(dt.timedelta(minutes=45))
        shown = await bot.say(FOLLOW_UP)
        assert "The asker was shown these fiches, then wrote:" in shown
        with bot.app.database.sessions() as session:
            assert count(session, Question) == 1

    # 0: only a reply to the bot's message joins the question; typed at once, it is new.
    knowledge = dataclasses.replace(config.knowledge, follow_up_minutes=0)
    async with console_bot(dataclasses.replace(config, knowledge=knowledge), embedder) as bot:
        await bot.say("/as ben")
        await bot.say(APPRENTICE_QUESTION)
        shown = await bot.say(FOLLOW_UP)
        assert "then wrote" not in shown
        with bot.app.database.sessions() as session:
            assert count(session, Question) == 3  # the first bot's one, and two of ben's


async def test_a_new_question_under_a_fiche_is_analysed_once(config, embedder, monkeypatch) -> None:
    async with console_bot(config, embedder) as bot:
        await bot.say(APPRENTICE_QUESTION)
        assert bot.app.conversation is not None
        triage = bot.app.conversation.services.triage
        analysed: list[str] = []
        analyse = triage.analyse

        def counted(text: str, **options: Any) -> Any:
            analysed.append(text)
            return analyse(text, **options)

        monkeypatch.setattr(triage, "analyse", counted)
        # The follow-up rule finds it new; the new question reuses that very analysis.
        shown = await bot.say(SUGGEST_QUESTION)
        assert "Your question #2 went to" in shown and "then wrote" not in shown
        assert analysed == [SUGGEST_QUESTION]
