"""Every outcome becomes a labelled example: the asker's choices now, experts' verdicts by call."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from ground.storage.database import Database
from ground.storage.labels_repo import labels, record_label
from ground.storage.models import AnswerLabel, FicheAnswer, Person, Question
from ground.storage.privacy import anonymise_question
from ground.vocabulary import LabelSource, Verdict
from routing.answerability import FEATURES
from tests.fakes.app import console_bot
from tests.fakes.rows import add_asker, question_row
from tests.handlers.test_console_loop import APPRENTICE_QUESTION, ROUTE_QUESTION

pytestmark = pytest.mark.db

NOW = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


async def test_this_answers_it_is_a_positive_label_with_the_features_seen(config, embedder) -> None:
    async with console_bot(config, embedder) as bot:
        await bot.say(APPRENTICE_QUESTION)
        await bot.say("1")  # This answers it
        with bot.app.database.sessions() as session:
            [label] = labels(session)
            assert label.verdict == Verdict.POSITIVE
            assert label.source == LabelSource.ASKER_HELPED
            assert label.fiche_id == label.shown_fiche == "employer-pool-apprenticeships-mayo"
            assert label.text == APPRENTICE_QUESTION and label.language == "en"
            assert set(label.features or {}) == set(FEATURES)
            assert label.features["best"] > 0  # type: ignore[index]
            asker = session.scalar(select(Person).where(Person.role == "asker"))
            assert label.actor_id == asker.id  # type: ignore[union-attr]


async def test_ask_an_expert_under_an_answer_is_a_negative_label(config, embedder) -> None:
    async with console_bot(config, embedder) as bot:
        await bot.say(APPRENTICE_QUESTION)
        await bot.say("2")  # Ask an expert
        with bot.app.database.sessions() as session:
            [label] = labels(session)
            assert label.verdict == Verdict.NEGATIVE
            assert label.source == LabelSource.ASKER_EXPERT
            assert label.fiche_id == "employer-pool-apprenticeships-mayo"
            assert label.features is not None


async def test_each_not_what_i_asked_is_a_negative_label_of_the_fiche_it_refused(
    config, embedder
) -> None:
    async with console_bot(config, embedder) as bot:
        await bot.say(APPRENTICE_QUESTION)
        await bot.say("4")  # Not what I asked: other fiches
        await bot.say("4")  # Not what I asked again: an expert
        with bot.app.database.sessions() as session:
            first, second = labels(session)
            answers = session.scalars(select(FicheAnswer).order_by(FicheAnswer.id)).all()
    assert [(x.verdict, x.source) for x in (first, second)] == [
        (Verdict.NEGATIVE, LabelSource.ASKER_NOT_ASKED)
    ] * 2
    assert first.fiche_id == "employer-pool-apprenticeships-mayo"
    assert second.fiche_id == answers[1].fiches[0]["id"] != first.fiche_id
    # Each with the model's view of the fiche as it was shown first.
    assert first.features == answers[0].features and first.shown_fiche == first.fiche_id
    assert second.features == answers[1].features and second.shown_fiche == second.fiche_id
    assert set(second.features or {}) == set(FEATURES)


async def test_a_routed_question_gets_no_label_by_itself(config, embedder) -> None:
    async with console_bot(config, embedder) as bot:
        await bot.say(ROUTE_QUESTION)
        with bot.app.database.sessions() as session:
            assert labels(session) == []


def _question(session, text: str = "How do we share apprentices?") -> Question:  # type: ignore[no-untyped-def]
    question = question_row(add_asker(session, NOW), text, NOW)
    session.add(question)
    session.flush()
    return question


def test_an_expert_verdict_without_fiches_shown_keeps_no_features(database: Database) -> None:
    with database.sessions.begin() as session:
        question = _question(session)
        record_label(
            session, question, "employer-pool", Verdict.POSITIVE, LabelSource.EXPERT_FICHE, NOW
        )
    with database.sessions() as session:
        [label] = labels(session)
        assert label.features is None and label.shown_fiche is None
        assert label.text == "How do we share apprentices?"


def test_the_same_judge_keeps_only_the_latest_verdict(database: Database) -> None:
    with database.sessions.begin() as session:
        question = _question(session)
        features = dict.fromkeys(FEATURES, 0.5)
        record_label(
            session,
            question,
            "f1",
            Verdict.POSITIVE,
            LabelSource.EXPERT_VERDICT,
            NOW,
            features=features,
            shown_fiche="f1",
        )
        record_label(
            session,
            question,
            "f1",
            Verdict.NEGATIVE,
            LabelSource.EXPERT_VERDICT,
            NOW + dt.timedelta(minutes=5),
        )
        # Another judge of the same fiche is another label.
        record_label(session, question, "f1", Verdict.POSITIVE, LabelSource.EXPERT_FICHE, NOW)
    with database.sessions() as session:
        rows = labels(session)
        assert [(r.source, r.verdict) for r in rows] == [
            (LabelSource.EXPERT_VERDICT, Verdict.NEGATIVE),
            (LabelSource.EXPERT_FICHE, Verdict.POSITIVE),
        ]


def test_erasing_a_question_blanks_its_labels_text_and_keeps_the_example(
    database: Database,
) -> None:
    with database.sessions.begin() as session:
        question = _question(session, "A private matter of our town")
        record_label(
            session,
            question,
            "f1",
            Verdict.NEGATIVE,
            LabelSource.EXPERT_VERDICT,
            NOW,
            features=dict.fromkeys(FEATURES, 0.1),
            shown_fiche="f1",
        )
        anonymise_question(session, question.id)
    with database.sessions() as session:
        label = session.scalar(select(AnswerLabel))
        assert label is not None and label.text == "" and label.features is not None
