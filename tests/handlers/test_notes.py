"""Internal notes in a question's thread (console): kept in the history, never relayed."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from ground.storage.models import Event, Question, RelayedMessage
from tests.fakes.app import console_bot
from tests.handlers.test_console_loop import ROUTE_QUESTION

pytestmark = pytest.mark.db

HAND_OVER = "Marco, can you take this one? It is about Italian law."


async def test_notes_and_hand_overs_stay_with_the_experts(config, embedder) -> None:
    async with console_bot(config, embedder) as bot:
        shown = await bot.say(ROUTE_QUESTION)
        assert "experts' space · thread #1" in shown

        await bot.say("/as anna")
        shown = await bot.say(f"#1 {HAND_OVER}")
        assert "── to you ──" not in shown and "answers your question" not in shown
        assert "Internal note kept on question #1; it was not sent to the asker." in shown

        await bot.say("/as claire")
        shown = await bot.say("#1 /note Called the chamber; they will know by Friday.")
        assert "answers your question" not in shown
        # Claire reads French: the acknowledgement is in her language.
        assert "Note interne enregistrée sur la question n°\u00a01" in shown
        shown = await bot.say("#1 /note")
        assert "Écrivez la note après /note" in shown
        shown = await bot.say("/note outside any thread")
        assert "Veuillez utiliser /note dans le fil d’une question." in shown

        with bot.app.database.sessions() as session:
            question = session.get(Question, 1)
            assert question.status == "open" and question.first_response_at is None
            assert session.scalars(select(RelayedMessage)).all() == []
            notes = session.scalars(select(Event).where(Event.kind == "note")).all()
            assert [(n.detail["reason"], n.detail["text"]) for n in notes] == [
                ("addressed", HAND_OVER),
                ("note", "Called the chamber; they will know by Friday."),
            ]

        # A message that names nobody first is an answer, and reaches the asker.
        shown = await bot.say("#1 Marco Polo's guide says: ask the canteen's council.")
        assert "answers your question #1" in shown
        with bot.app.database.sessions() as session:
            assert session.get(Question, 1).status == "answered"
