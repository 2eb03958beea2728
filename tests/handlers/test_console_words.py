"""What readers see on the console in their language: the translator's review as it reads."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import pytest

from ground.config import Config, load_config
from tests.conftest import example_config_text
from tests.fakes.app import console_bot
from tests.fakes.console_script import set_line
from tests.handlers.test_copilot import QUESTION

pytestmark = pytest.mark.db

NBSP = "\u00a0"


def german_coordinator(config: Config, folder: Path) -> Config:
    """The example config with Anna, the coordinator, reading German first."""
    text = set_line(
        example_config_text(), r'(?m)^languages = \["en", "de"\]$', 'languages = ["de", "en"]'
    )
    path = folder / "config.toml"
    path.write_text(text, encoding="utf-8")
    loaded = load_config(path, environ={})
    return dataclasses.replace(
        loaded,
        database=config.database,
        knowledge=dataclasses.replace(config.knowledge, similar_offered=1.0),
    )


async def test_each_reader_gets_numbers_levels_topics_and_commands_in_their_words(
    config, embedder, tmp_path
) -> None:
    async with console_bot(german_coordinator(config, tmp_path), embedder) as bot:
        # A Polish asker: language names where no case is needed, nouns in the command list.
        await bot.say("/as ola")
        assert "Od teraz będę pisać w języku: polski." in await bot.say("/language pl")
        shown = await bot.say("/help")
        assert "/resolve N — oznaczenie pytania N jako rozwiązanego" in shown, shown
        assert f"Pytanie nr{NBSP}1 trafiło do: " in await bot.say(QUESTION)
        await bot.app.flush()
        shown = await bot.say("/status")
        assert f"nr{NBSP}1 — u ekspertów" in shown and "#1" not in shown, shown

        # A German coordinator: the level, the topic and the list in German.
        await bot.say("/as anna")
        shown = await bot.say("/priority 1 high")
        assert f"Frage Nr.{NBSP}1 hat jetzt die Priorität hoch; " in shown, shown
        assert "erste Antwort fällig am Do. 5. März 2026" in shown
        shown = await bot.say("/topic 1 eu-funding")
        assert f"Frage Nr.{NBSP}1 hat jetzt das Thema „EU-Förderung“" in shown, shown
        bot.clock.advance(dt.timedelta(days=4))
        shown = await bot.say("/overdue")
        assert f"Nr.{NBSP}1 · hoch · EU-Förderung · Englisch · " in shown, shown
        assert "eu-funding" not in shown and "high" not in shown

        # A Polish expert's thread commands are nouns too.
        await bot.say("/as piotr")
        shown = await bot.say("/help")
        assert "/claim — przejęcie tego pytania" in shown and "przejąć" not in shown, shown

        # "Please write it in words" is not "spelled out".
        await bot.say("/as maria")
        await bot.say("/language fr")
        shown = await bot.say("👍")
        assert "Veuillez la formuler par écrit." in shown and "toutes lettres" not in shown
