"""The co-pilot on the console: what the thread shows, /fiche, /similar, and similar answers."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from sqlalchemy import insert, select

from ground.clock import FixedClock
from ground.storage.labels_repo import labels
from ground.storage.models import AnswerLabel, Event, Question, QuestionVector, RelayedMessage
from knowledge.embedder import encode_vector
from tests.conftest import START
from tests.fakes.app import console_bot

pytestmark = pytest.mark.db

QUESTION = (
    "Can you recommend a lawyer who knows the public procurement rules for school canteen "
    "catering contracts?"
)
# The same question, reworded a little: close enough to be offered the earlier answer.
REWORDED = (
    "Can you recommend a lawyer who knows the public procurement rules for school canteen "
    "catering contracts in our region?"
)
ANSWER = "The national procurement agency keeps a list of lawyers who advise municipalities."
GERMAN = (
    "Kleine Betriebe in unserem Bergtal bilden kaum aus, und die Lehrlinge kommen schlecht zur "
    "Berufsschule. Wie haben Gemeinden anderswo gemeinsam mehr Lehrstellen und den Transport "
    "organisiert?"
)


async def answered_first_question(bot) -> None:  # type: ignore[no-untyped-def]
    """Question #1 from "you", answered in its thread by Claire."""
    shown = await bot.say(QUESTION)
    assert "experts' space · thread #1" in shown
    # Nothing was answered before: the thread lists no earlier answers.
    assert "Earlier answers to close questions" not in shown
    await bot.say("/as claire")
    bot.clock.advance(dt.timedelta(hours=1))
    shown = await bot.say(f"#1 {ANSWER}")
    assert "answers your question #1" in shown


async def test_thread_lists_earlier_answers_and_similar_relays_one(config, embedder) -> None:
    # Offers only for identical questions here: this test is about the experts' side.
    config = dataclasses.replace(
        config, knowledge=dataclasses.replace(config.knowledge, similar_offered=1.0)
    )
    async with console_bot(config, embedder) as bot:
        await answered_first_question(bot)
        await bot.say("/as bea")
        shown = await bot.say(REWORDED)
        thread = shown.split("── to you ──")[0]
        assert "experts' space · thread #2" in thread
        assert "Earlier answers to close questions:" in thread
        assert "• #1 · answered 2 March 2026 by Claire Dubois (Chambre de Métiers du Lot)" in thread
        assert "/fiche ID sends a fiche to the asker; /similar N an earlier answer." in thread

        await bot.say("/as claire")  # Claire reads French
        shown = await bot.say("#2 /similar")
        assert "Utilisation\u202f: /similar NUMÉRO-DE-QUESTION" in shown
        shown = await bot.say("#2 /similar 99")
        assert "La question n°\u00a099 n’a pas de réponse à envoyer." in shown
        shown = await bot.say("#2 /similar 2")
        assert "La question n°\u00a02 est celle de ce fil." in shown
        assert "── to bea ──" not in shown
        shown = await bot.say("#2 /similar 1")
        # What went to the asker is for the whole thread: in the space's language.
        assert "The answer to question #1 went to the asker of question #2." in shown
        assert (
            "Claire Dubois (Chambre de Métiers du Lot) answers your question #2 with the answer "
            "Chambre de Métiers du Lot gave to a similar question on 2 March 2026:"
        ) in shown
        assert ANSWER in shown and "This answer is in" not in shown

        with bot.app.database.sessions() as session:
            question = session.get(Question, 2)
            assert question.status == "answered" and question.first_response_at is not None
            relayed = session.scalars(
                select(RelayedMessage).where(RelayedMessage.question_id == 2)
            ).all()
            assert [m.text for m in relayed] == [ANSWER]
            sent = session.scalars(select(Event).where(Event.kind == "similar_sent")).one()
            assert sent.detail == {"similar": 1}


async def test_fiche_answers_the_asker_in_their_language(config, embedder) -> None:
    async with console_bot(config, embedder) as bot:
        await answered_first_question(bot)
        await bot.say("/as greta")
        shown = await bot.say(GERMAN)  # a fiche answers it; Greta asks an expert all the same
        assert "[2] Fachperson fragen" in shown
        shown = await bot.say("2")
        assert "experts' space · thread #2" in shown
        assert "The asker was shown these fiches and asked for an expert:" in shown
        assert "(alpine-valley-training-pact · DE, EN)" in shown
        await bot.say("/as claire")
        shown = await bot.say("#2 /fiche")
        assert "Utilisation\u202f: /fiche ID-DE-FICHE" in shown
        shown = await bot.say("#2 /fiche alpine-valley-training-pakt")
        assert (
            "Il n’existe pas de fiche alpine-valley-training-pakt. Vouliez-vous dire "
            "alpine-valley-training-pact\u202f?"
        ) in shown
        shown = await bot.say("#2 /fiche no-such-fiche-at-all")
        assert "Il n’existe pas de fiche no-such-fiche-at-all." in shown
        shown = await bot.say("#2 /fiche alpine-valley-training-pact")
        assert "Fiche alpine-valley-training-pact went to the asker of question #2 (German)." in (
            shown
        )
        # The German version, for a German asker, under a German heading.
        assert "beantwortet Ihre Frage Nr.\u00a02 mit diesem Praxisblatt:" in shown
        assert "Talpakt für die Lehrlingsausbildung" in shown
        # An earlier answer in another language is labelled as such.
        shown = await bot.say("#2 /similar 1")
        assert "(Diese Antwort ist auf Englisch.)" in shown and ANSWER in shown

        with bot.app.database.sessions() as session:
            label = session.scalars(select(Event).where(Event.kind == "fiche_sent")).one()
            assert label.detail == {"fiche": "alpine-valley-training-pact", "language": "de"}
            stored = session.scalars(
                select(AnswerLabel).where(AnswerLabel.source == "expert_fiche")
            ).one()
            assert (stored.question_id, stored.fiche_id, stored.source, stored.verdict) == (
                2,
                "alpine-valley-training-pact",
                "expert_fiche",
                "positive",
            )
            assert session.get(Question, 2).status == "answered"
            # Two labels of the same fiche: the asker wanted an expert, the expert sent it.
            judged = [
                (x.source, x.verdict, x.fiche_id, x.shown_fiche)
                for x in labels(session)
                if x.question_id == 2
            ]
            assert judged == [
                ("asker_expert", "negative", "alpine-valley-training-pact", judged[0][2]),
                ("expert_fiche", "positive", "alpine-valley-training-pact", judged[0][2]),
            ]

        # A resolved question takes no more answers.
        await bot.say("#2 /resolve")
        shown = await bot.say("#2 /fiche alpine-valley-training-pact")
        assert "La question n°\u00a02 est déjà résolue." in shown


async def test_asker_is_offered_the_answer_to_a_close_question(config, embedder) -> None:
    async with console_bot(config, embedder) as bot:
        await answered_first_question(bot)
        await bot.say("/as bea")
        shown = await bot.say(REWORDED)
        assert "experts' space" not in shown
        assert (
            "A similar question was answered on 2 March 2026 by Chambre de Métiers du Lot:"
        ) in shown
        assert ANSWER in shown and "This answer is in" not in shown
        assert "[1] This answers it" in shown and "[2] Ask an expert" in shown
        with bot.app.database.sessions() as session:
            question = session.get(Question, 2)
            assert question.status == "offered" and question.decision == "similar"

        # The way to an expert stays open; the experts then see the earlier answer too.
        shown = await bot.say("2")
        assert "experts' space · thread #2" in shown
        assert "• #1 · answered 2 March 2026 by Claire Dubois" in shown
        assert "Your question #2 went to" in shown

        # A third asker takes the earlier answer: the question is resolved from it.
        await bot.say("/as carl")
        shown = await bot.say(REWORDED)
        assert "A similar question was answered on" in shown
        shown = await bot.say("1")
        assert "Glad it helped" in shown
        with bot.app.database.sessions() as session:
            question = session.get(Question, 3)
            assert question.status == "resolved" and question.helpful is True
            assert question.routed_at is None


async def test_a_contested_answer_is_not_offered(config, embedder) -> None:
    async with console_bot(config, embedder) as bot:
        await answered_first_question(bot)
        await bot.say("/as you")
        await bot.say("/resolve 1")
        await bot.say("2")  # "No": the answer did not help
        await bot.say("/as bea")
        shown = await bot.say(REWORDED)
        assert "A similar question was answered" not in shown
        assert "experts' space · thread #2" in shown
        assert "Earlier answers to close questions" not in shown


async def test_an_answer_given_a_year_ago_is_offered_past_thousands_of_newer_ones(
    config, embedder
) -> None:
    # Question #1 is answered a year before the rest; 2,100 other questions are answered
    # after it, more than the newest 2,000 the search used to read.
    year_ago = FixedClock(START - dt.timedelta(days=365))
    async with console_bot(config, embedder, clock=year_ago) as bot:
        await answered_first_question(bot)
        newer = [
            "Which indicators do you use to monitor NEET programmes?",
            "How do municipalities tender school transport contracts?",
            "Wie finanziert man ein Jugendzentrum auf dem Land?",
            "Quels ateliers proposer aux jeunes agriculteurs en hiver ?",
        ]
        vectors = embedder.queries(newer)
        with bot.app.database.sessions.begin() as session:
            asker = session.get(Question, 1).asker_id
            answered = year_ago.now() + dt.timedelta(days=1)
            session.execute(
                insert(Question),
                [
                    {
                        "asker_id": asker,
                        "channel": "console",
                        "text": newer[i % len(newer)],
                        "language": "en",
                        "status": "answered",
                        "decision": "route",
                        "created_at": answered,
                        "first_response_at": answered + dt.timedelta(minutes=i),
                    }
                    for i in range(2100)
                ],
            )
            ids = session.scalars(select(Question.id).where(Question.id > 1)).all()
            session.execute(
                insert(QuestionVector),
                [
                    {
                        "question_id": question_id,
                        "embedder": embedder.name,
                        "vector": encode_vector(vectors, question_id % len(newer)),
                    }
                    for question_id in ids
                ],
            )
        bot.clock.advance(dt.timedelta(days=365))
        await bot.say("/as bea")
        shown = await bot.say(REWORDED)
        assert (
            "A similar question was answered on 2 March 2025 by Chambre de Métiers du Lot:"
        ) in shown
        assert ANSWER in shown
        with bot.app.database.sessions() as session:
            offered = session.scalars(select(Event).where(Event.kind == "similar_offered")).one()
            assert offered.detail["similar"] == 1
