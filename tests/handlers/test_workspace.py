"""The experts' space answers every command and question number in the reader's language."""

from __future__ import annotations

import dataclasses

import pytest

from ground.storage import repo
from ground.storage.models import Person
from handlers.people import find_person, folded
from tests.fakes.app import console_bot
from tests.handlers.test_console_loop import ROUTE_QUESTION

pytestmark = pytest.mark.db


def german_coordinator(config):
    """The example config with Anna reading German first."""
    anna = dataclasses.replace(config.coordinators[0], languages=("de", "en"))
    return dataclasses.replace(config, coordinators=(anna, *config.coordinators[1:]))


def primary_of(bot, number: int) -> str:
    with bot.app.database.sessions() as session:
        (assignment,) = [a for a in repo.active_assignments(session, number) if a.role == "primary"]
        person = session.get(Person, assignment.person_id)
        assert person is not None
        return person.display_name


async def test_unknown_question_number_gets_a_reply(config, embedder) -> None:
    async with console_bot(config, embedder) as bot:
        await bot.say(ROUTE_QUESTION)
        await bot.say("/as claire")  # reads French
        shown = await bot.say("#99 hello")
        assert "Il n’existe pas de question n°\u00a099." in shown
        shown = await bot.say("#99 /claim")
        assert "Il n’existe pas de question n°\u00a099." in shown
        shown = await bot.say("#99 /note a word")
        assert "Il n’existe pas de question n°\u00a099." in shown
        await bot.say("/as eleni")  # reads Greek
        shown = await bot.say("#99 hello")
        assert "Δεν υπάρχει ερώτηση αρ.\u00a099." in shown


async def test_expert_commands_answer_in_the_experts_language(config, embedder) -> None:
    async with console_bot(config, embedder) as bot:
        await bot.say(ROUTE_QUESTION)
        await bot.say("/as claire")
        shown = await bot.say("/away")
        assert "Votre absence est enregistrée\u202f:" in shown and "You are away" not in shown
        shown = await bot.say("/away off")
        assert "Votre retour est enregistré\u202f:" in shown
        shown = await bot.say("#1 /claim")
        # Who holds the question is for everyone in the thread: in the space's language.
        assert "Claire Dubois takes question #1." in shown
        assert "prend en charge" not in shown


async def test_reassign_by_id_or_name_and_suggests_on_a_typo(config, embedder) -> None:
    async with console_bot(german_coordinator(config), embedder) as bot:
        await bot.say(ROUTE_QUESTION)
        await bot.say("/as anna")
        shown = await bot.say("/reassign 1")
        assert "Verwendung: /reassign FRAGENNUMMER" in shown
        shown = await bot.say("/reassign 1 Eleni Papadaki")
        assert "Frage Nr.\u00a01 ist jetzt Eleni Papadaki zugewiesen." in shown
        assert primary_of(bot, 1) == "Eleni Papadaki"
        shown = await bot.say("/reassign 1 lucia fernandez")  # no accent, no capitals
        assert "Lucía Fernández zugewiesen" in shown
        assert primary_of(bot, 1) == "Lucía Fernández"
        shown = await bot.say("/reassign 1 marco")  # the config id
        assert "Marco Bianchi zugewiesen" in shown
        shown = await bot.say("/reassign 1 Elenia Papadakis")
        assert "„Elenia Papadakis“. Meinten Sie Eleni Papadaki?" in shown
        assert "rrm experts" not in shown and "`" not in shown
        assert primary_of(bot, 1) == "Marco Bianchi"
        shown = await bot.say("/reassign 1 zzzz")
        assert "Es gibt keine Fachperson mit dem Namen oder der ID „zzzz“." in shown
        assert "Meinten Sie" not in shown


def test_find_person_ignores_case_and_accents() -> None:
    people = [
        Person(config_id="lucia", display_name="Lucía Fernández"),
        Person(config_id="eleni", display_name="Eleni Papadaki"),
    ]
    assert folded("  LUCÍA   Fernández ") == "lucia fernandez"
    assert find_person(people, "ELENI") == (people[1], None)
    assert find_person(people, "lucia FERNANDEZ") == (people[0], None)
    assert find_person(people, "Lucia Fernandes") == (None, people[0])
    assert find_person(people, "qqq") == (None, None)


async def test_topic_and_open_answer_in_the_coordinators_language(config, embedder) -> None:
    async with console_bot(german_coordinator(config), embedder) as bot:
        await bot.say("/as anna")
        shown = await bot.say("/open")
        assert "Keine offenen Fragen." in shown
        await bot.say("/as user-1")
        await bot.say(ROUTE_QUESTION)
        await bot.say("/as anna")
        shown = await bot.say("/open")
        assert "Offene Fragen: 1\nNr.\u00a01 · wartet auf die erste Antwort · " in shown
        assert "Frist für die erste Antwort: " in shown and "waiting" not in shown
        shown = await bot.say("/topic 1 nothing-like-this")
        assert "Verwendung: /topic FRAGENNUMMER THEMEN-ID, mit einer von: " in shown
        shown = await bot.say("/topic 1 eu-funding")
        german = config.topic_name("eu-funding", "de")
        assert f"Frage Nr.\u00a01 hat jetzt das Thema „{german}“ und ging an " in shown
        assert "is now on" not in shown
