"""Matrix, against the session's Synapse: suggest, "Not what I asked", a reply, a verdict.

The fiche answer and the routed question are in test_matrix.py; these reuse its world (the
experts' room, its people and the three-fiche collection).
"""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from bot.channels.matrix_content import KEYCAPS
from ground.storage.models import AnswerLabel, FicheAnswer, Question
from tests.bot.test_matrix import (
    APPRENTICE_QUESTION,
    World,
    content,
    direct_room,
    few_fiches,  # noqa: F401  (a fixture)
    matrix_bot,
    world,  # noqa: F401  (a fixture)
)

pytestmark = pytest.mark.db

# With the three fiches of the world, this lands well inside the suggest band (confidence
# about 0.70): a question near a band's edge flips with the last digits of the embedding.
SUGGEST_QUESTION = (
    "Which regions track where vocational graduates end up working, with a shared dashboard?"
)
FOLLOW_UP = "This is not about my case, I need the legal deadline for signing the contract."


async def test_suggest_shows_fiches_and_the_thread_says_why_each_expert(
    world: World,  # noqa: F811
    embedder,
) -> None:
    asker, claire, room = world.sofia, world.claire, world.room
    async with matrix_bot(world.config, embedder) as bot:
        dm = await direct_room(asker)
        await asker.say(dm, SUGGEST_QUESTION)
        posted = content(await claire.next_event(room))["body"]
        assert "The asker was shown these fiches while waiting for you:" in posted
        assert "(vet-dashboard-twente · " in posted
        # Why each was chosen, in their own language (Piotr Polish, Marco Italian).
        assert "• Piotr Nowak — czyta w języku: angielski · Monitorowanie polityk" in posted
        assert "• Marco Bianchi — legge in inglese · Monitoraggio delle politiche" in posted
        assert "Your question #1 went to" in await asker.next_text(dm)
        shown = content(await asker.next_event(dm))
        assert shown["body"].startswith(
            "These fiches may help while an expert looks at your question:"
        )
        choices = [content(await asker.next_event(dm, "m.reaction")) for _ in range(2)]
        assert [c["m.relates_to"]["key"] for c in choices] == list(KEYCAPS[:2])

        await asker.say(dm, "2")  # open the second fiche; the choices stay
        second = await asker.next_text(dm)
        await asker.say(dm, "1")
        first = await asker.next_text(dm)
        assert first != second and "Shared education-to-work dashboard" in first + second
        with bot.app.database.sessions() as session:
            question = session.get(Question, 1)
            assert question is not None
            assert question.decision == "suggest" and question.status == "open"


async def test_not_what_i_asked_and_a_reply_under_a_fiche_answer(
    world: World,  # noqa: F811
    embedder,
) -> None:
    asker, claire, room = world.sofia, world.claire, world.room
    async with matrix_bot(world.config, embedder) as bot:
        dm = await direct_room(asker)
        await asker.say(dm, APPRENTICE_QUESTION)
        answer = content(await asker.next_event(dm))
        assert answer["body"].endswith("4. Not what I asked")
        # Of the world's three fiches, no other is plausible: an expert at once (Claire: small
        # craft firms make entrepreneurship the near topic, one of hers).
        await asker.say(dm, "4")
        assert "Your question #1 went to Claire Dubois" in await asker.next_text(dm)
        posted = content(await claire.next_event(room))["body"]
        assert "said they are not what they asked:" in posted
        assert "(employer-pool-apprenticeships-mayo · " in posted

        # A second question, answered from a fiche; the reply to that answer, hours later,
        # is about it (Matrix's in-reply-to), not a new question.
        await asker.say(dm, "/new")
        await asker.next_text(dm)
        await asker.say(
            dm,
            "In a region of small, scattered vocational schools, how did others set up one shared "
            "online learning platform for courses?",
        )
        offer = await asker.next_event(dm)
        assert "Lapland" in content(offer)["body"]
        await bot.app.flush()  # the offer's event id is recorded before the asker replies to it
        bot.app.clock.advance(dt.timedelta(hours=3))  # type: ignore[attr-defined]
        await asker.send(
            dm,
            {
                "msgtype": "m.text",
                "body": FOLLOW_UP,
                "m.relates_to": {"m.in_reply_to": {"event_id": offer.event_id}},
            },
        )
        posted = content(await claire.next_event(room))["body"]
        assert posted.startswith("#2 · ") or "Question #2" in posted
        assert "The asker was shown these fiches, then wrote:" in posted and FOLLOW_UP in posted
        told = await asker.next_text(dm)
        assert "Your question #2 went to" in told
        with bot.app.database.sessions() as session:
            assert session.scalar(select(func.count()).select_from(Question)) == 2
            feedback = list(session.scalars(select(FicheAnswer.feedback).order_by(FicheAnswer.id)))
            assert feedback[0] == "not_asked" and feedback[-1] == "expert"


async def test_an_expert_says_the_fiche_shown_was_wrong_in_the_thread(
    world: World,  # noqa: F811
    embedder,
) -> None:
    asker, claire, room = world.sofia, world.claire, world.room
    async with matrix_bot(world.config, embedder) as bot:
        dm = await direct_room(asker)
        await asker.say(dm, APPRENTICE_QUESTION)
        answer = content(await asker.next_event(dm))
        assert "2. Ask an expert" in answer["body"]
        await asker.say(dm, "2")
        root = await claire.next_event(room)
        posted = content(root)["body"]
        assert "The asker was shown these fiches and asked for an expert:" in posted
        assert "/verdict right or /verdict wrong" in posted

        await claire.say(room, "/verdict wrong", thread=root.event_id)
        for _ in range(10):
            text = await claire.next_text(room)
            if "Merci" in text:
                break
        assert text == (
            "Merci\u202f: la fiche employer-pool-apprenticeships-mayo est enregistrée comme ne "
            "répondant pas à la question n°\u00a01\u202f; le bot en tiendra compte."
        )
        with bot.app.database.sessions() as session:
            label = session.scalars(
                select(AnswerLabel).where(AnswerLabel.source == "expert_verdict")
            ).one()
            assert (label.fiche_id, label.verdict) == (
                "employer-pool-apprenticeships-mayo",
                "negative",
            )
            assert label.features and label.shown_fiche == label.fiche_id
