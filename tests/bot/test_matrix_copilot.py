"""The experts' workspace on Matrix (real Synapse): notes, co-pilot, /similar, /fiche, drafts."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from ground.storage.models import Event, FicheDraft, Question
from tests.bot.test_matrix import (  # noqa: F401 (fixtures used by name)
    World,
    content,
    direct_room,
    few_fiches,
    matrix_bot,
    world,
)
from tests.fakes.matrix_user import MatrixUser
from tests.handlers.test_copilot import ANSWER, QUESTION, REWORDED

pytestmark = pytest.mark.db

NOTE = "Called the agency: they answer within a week."


async def text_with(user: MatrixUser, room: str, fragment: str, tries: int = 10) -> str:
    """The next message in ``room`` (from someone else) that holds ``fragment``."""
    for _ in range(tries):
        text = await user.next_text(room)
        if fragment in text:
            return text
    raise AssertionError(f"no message with {fragment!r} in {room}")


async def test_notes_copilot_similar_fiche_and_draft_on_matrix(world: World, embedder) -> None:  # noqa: F811
    sofia, mallory, claire, anna, room = (
        world.sofia,
        world.mallory,
        world.claire,
        world.anna,
        world.room,
    )
    async with matrix_bot(world.config, embedder) as bot:
        dm = await direct_room(sofia)
        await sofia.say(dm, QUESTION)
        root = await claire.next_event(room)
        assert "Question #1" in content(root)["body"]
        assert "Your question #1 went to" in await text_with(sofia, dm, "Your question #1")

        # An internal note: acknowledged in the thread in Claire's language, never relayed.
        await claire.say(room, f"/note {NOTE}", thread=root.event_id)
        await text_with(claire, room, "Note interne enregistrée sur la question n°\u00a01")
        await claire.say(room, ANSWER, thread=root.event_id)
        relayed = await text_with(sofia, dm, "answers your question #1")
        assert ANSWER in relayed and NOTE not in relayed

        # A near-identical question: offered the earlier answer, then sent to the experts.
        mallory_dm = await direct_room(mallory)
        await mallory.say(mallory_dm, REWORDED)
        offer = await text_with(mallory, mallory_dm, "A similar question was answered on")
        assert ANSWER in offer
        await mallory.say(mallory_dm, "2")  # Ask an expert
        second = None
        for _ in range(10):
            event = await claire.next_event(room)
            if "Earlier answers to close questions:" in content(event)["body"]:
                second = event
                break
        assert second is not None
        assert "• #1 · answered 2 March 2026 by Claire Dubois" in content(second)["body"]

        await claire.say(room, "/similar 1", thread=second.event_id)
        similar = await text_with(mallory, mallory_dm, "gave to a similar question on")
        assert ANSWER in similar
        await claire.say(room, "/fiche vet-dashboard-twente", thread=second.event_id)
        await text_with(mallory, mallory_dm, "with this fiche:")
        await claire.say(room, "/similar x", thread=second.event_id)
        await text_with(claire, room, "Utilisation\u202f: /similar NUMÉRO-DE-QUESTION")

        # The first answer becomes a draft in its thread; the coordinator approves it there.
        await claire.say(room, "/resolve", thread=root.event_id)
        await claire.say(
            room, "/tofiche Lawyers for school canteen contracts", thread=root.event_id
        )
        await text_with(claire, room, "Projet de fiche n°\u00a01")
        await anna.say(room, "/approve 1")
        # Anna reads the whole room from its start: many messages before the reply.
        await text_with(anna, room, "lawyers-for-school-canteen-contracts-q1", tries=100)

        with bot.app.database.sessions() as session:
            notes = session.scalars(select(Event).where(Event.kind == "note")).all()
            assert [(n.question_id, n.detail["text"]) for n in notes] == [(1, NOTE)]
            assert session.get(Question, 2).status == "answered"
            assert session.scalars(select(FicheDraft.status)).all() == ["approved"]
