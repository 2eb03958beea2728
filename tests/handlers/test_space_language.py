"""The experts' space writes in its own language: posts for everyone, not the sender's words."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import pytest

from ground.config import Config, load_config
from tests.conftest import example_config_text
from tests.fakes.app import console_bot
from tests.fakes.console_script import set_line
from tests.handlers.test_console_loop import APPRENTICE_QUESTION
from tests.handlers.test_copilot import ANSWER, QUESTION, REWORDED

pytestmark = pytest.mark.db

NARROW = "\u202f"


def french_network(config: Config, folder: Path) -> Config:
    """The example config with French as the network's language, loaded from its file."""
    text = set_line(example_config_text(), r'(?m)^default = "en"$', 'default = "fr"')
    path = folder / "config.toml"
    path.write_text(text, encoding="utf-8")
    loaded = load_config(path, environ={})
    assert loaded.languages.default == "fr"
    # The test's database and fiches; offers only for identical questions, so #2 is routed.
    return dataclasses.replace(
        loaded,
        database=config.database,
        knowledge=dataclasses.replace(config.knowledge, similar_offered=1.0),
    )


def thread_of(shown: str) -> str:
    """What the console printed in the experts' space, without the private messages."""
    return "\n".join(block for block in shown.split("── ") if block.startswith("experts' space"))


async def test_a_french_network_posts_in_french_and_reasons_in_each_readers_language(
    config, embedder, tmp_path
) -> None:
    async with console_bot(french_network(config, tmp_path), embedder) as bot:
        # Question #1, routed at once, answered by Claire in its thread.
        shown = thread_of(await bot.say(QUESTION))
        assert "Question n°\u00a01 · " in shown and " · langue EN" in shown, shown
        # The thread's title: the number and the topic in the space's words too.
        assert "thread n°\u00a01 · Coopération territoriale · EN" in shown, shown
        assert f"De{NARROW}: " in shown and f"Délai de première réponse{NARROW}: " in shown
        assert f"Attribuée à{NARROW}: " in shown and f"Pourquoi{NARROW}:" in shown
        assert "Répondez dans ce fil. /claim pour la prendre en charge" in shown
        for english in ("Assigned to", "Why:", "From:", "First answer due", "Reply in this"):
            assert english not in shown, english
        # Each routing reason is in the language of the expert it names.
        assert "• Mila Ivanova — чете на английски · Териториално сътрудничество" in shown, shown
        assert "• Marco Bianchi — legge in inglese · Cooperazione territoriale" in shown
        assert f"Fiches trouvées par le bot pour cette question{NARROW}:" in shown
        await bot.say("/as claire")
        bot.clock.advance(dt.timedelta(hours=1))
        await bot.say(f"#1 {ANSWER}")

        # Question #2, close to #1: the co-pilot lists #1's answer, in French.
        await bot.say("/as bea")
        shown = thread_of(await bot.say(REWORDED))
        assert f"Réponses antérieures à des questions proches{NARROW}:" in shown, shown
        assert "• n°\u00a01 · réponse du 2 mars 2026 par Claire Dubois" in shown
        assert f"/fiche ID envoie une fiche au demandeur{NARROW}; /similar N" in shown
        assert "Earlier answers" not in shown and "answered 2 March" not in shown

        # The asker's follow-up and the resolve notice reach the thread in French; the asker's
        # own reply stays in the asker's language.
        shown = await bot.say("And is there a list for Portugal as well?")
        assert f"Complément du demandeur{NARROW}:" in thread_of(shown), shown
        assert "Added to your question #2" in shown
        shown = await bot.say("/resolve 2")
        assert "La question n°\u00a02 est résolue." in thread_of(shown), shown
        assert "Question #2 is resolved. Did the answer help you?" in shown


async def test_an_english_network_keeps_its_english_thread(config, embedder) -> None:
    async with console_bot(config, embedder) as bot:
        await bot.say(APPRENTICE_QUESTION)
        shown = thread_of(await bot.say("2"))  # ask an expert
        assert "Question #1 · Work-based learning · language EN" in shown, shown
        assert "The asker was shown these fiches and asked for an expert:" in shown
        assert "Assigned to: Claire Dubois" in shown and "Why:\n• Claire Dubois — " in shown
        assert "Reply in this thread to answer. /claim to take it, /pass to hand it on." in shown
