"""An expert's verdict on the fiches the asker was shown (/verdict), on the console."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from ground.storage.models import AnswerLabel, Event, FicheAnswer
from tests.fakes.app import console_bot
from tests.handlers.test_console_loop import APPRENTICE_QUESTION, ROUTE_QUESTION

pytestmark = pytest.mark.db

LEAD = "employer-pool-apprenticeships-mayo"
NBSP = "\u00a0"
NARROW = "\u202f"


async def test_an_expert_says_the_fiche_shown_was_right_or_wrong(config, embedder) -> None:
    async with console_bot(config, embedder) as bot:
        shown = await bot.say(APPRENTICE_QUESTION)
        assert "Does this answer your question?" in shown
        shown = await bot.say("2")  # "Ask an expert": the thread lists the fiches shown
        assert f"({LEAD} · " in shown
        assert "/verdict right or /verdict wrong tells the bot whether the fiche shown fit." in (
            shown
        )
        with bot.app.database.sessions() as session:
            answer = session.scalars(select(FicheAnswer)).one()
            shown_ids = [f["id"] for f in answer.fiches]
            features = dict(answer.features)
        assert shown_ids[0] == LEAD and len(shown_ids) > 1

        await bot.say("/as claire")  # Claire reads French
        shown = await bot.say("#1 /verdict")
        assert f"Utilisation{NARROW}: /verdict right ou /verdict wrong" in shown
        shown = await bot.say("#1 /verdict maybe")
        assert f"Utilisation{NARROW}: /verdict right ou /verdict wrong" in shown
        shown = await bot.say("#1 /verdict wrong no-such-fiche")
        assert (
            f"La fiche no-such-fiche n’a pas été montrée au demandeur de la question n°{NBSP}1. "
            f"Fiches montrées{NARROW}: {', '.join(shown_ids)}."
        ) in shown
        # Without an id: the fiche the bot led with.
        shown = await bot.say("#1 /verdict right")
        assert (
            f"Merci{NARROW}: la fiche {LEAD} est enregistrée comme bonne réponse à la question "
            f"n°{NBSP}1{NARROW}; le bot en tiendra compte."
        ) in shown
        assert "── to you ──" not in shown  # the verdict is not relayed to the asker
        # Another fiche of the list, by id.
        shown = await bot.say(f"#1 /verdict wrong {shown_ids[1].upper()}")
        assert f"la fiche {shown_ids[1]} est enregistrée comme ne répondant pas" in shown

        with bot.app.database.sessions() as session:
            stored = {
                label.fiche_id: label
                for label in session.scalars(
                    select(AnswerLabel).where(AnswerLabel.source == "expert_verdict")
                )
            }
            assert set(stored) == {LEAD, shown_ids[1]}
            right, wrong = stored[LEAD], stored[shown_ids[1]]
            assert right.verdict == "positive" and wrong.verdict == "negative"
            # With the model's view of the fiche answer that showed them, led by the first.
            assert right.features == features and right.shown_fiche == LEAD
            assert wrong.features == features and wrong.shown_fiche == LEAD
            assert right.actor_id is not None and right.text == APPRENTICE_QUESTION
            events = session.scalars(select(Event).where(Event.kind == "verdict")).all()
            assert [e.detail for e in events] == [
                {"fiche": LEAD, "verdict": "positive"},
                {"fiche": shown_ids[1], "verdict": "negative"},
            ]

        # Changing one's mind keeps one label, with the latest verdict.
        await bot.say("#1 /verdict wrong")
        with bot.app.database.sessions() as session:
            verdicts = session.scalars(
                select(AnswerLabel.verdict).where(
                    AnswerLabel.source == "expert_verdict", AnswerLabel.fiche_id == LEAD
                )
            ).all()
            assert verdicts == ["negative"]


async def test_a_question_shown_no_fiche_has_nothing_to_judge(config, embedder) -> None:
    async with console_bot(config, embedder) as bot:
        shown = await bot.say(ROUTE_QUESTION)
        assert "experts' space · thread #1" in shown
        assert "/verdict" not in shown  # nothing was shown to the asker
        await bot.say("/as jonas")  # Jonas reads German
        shown = await bot.say("#1 /verdict right")
        assert (
            f"Der fragenden Person von Frage Nr.{NBSP}1 wurde kein Praxisblatt gezeigt: Es gibt "
            "nichts zu beurteilen. Um mit einem Praxisblatt zu antworten, verwenden Sie /fiche ID."
        ) in shown
        await bot.say("/as anna")  # a coordinator who reads English
        shown = await bot.say("/verdict right")  # in a private chat, as /fiche: no such command
        assert "I do not know the command /verdict." in shown
        with bot.app.database.sessions() as session:
            assert session.scalars(select(AnswerLabel)).first() is None
