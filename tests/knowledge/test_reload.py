"""A running bot searches what `rrm kb import` stores meanwhile, without a restart."""

from __future__ import annotations

import asyncio
import dataclasses
import shutil
from pathlib import Path

import pytest

from bot.assembly import import_fiches, open_database
from bot.config import Config
from tests.conftest import SAMPLE_FICHES
from tests.fakes.app import ConsoleSession, console_bot
from tests.fakes.embedder import MemoEmbedder

pytestmark = pytest.mark.db

QUESTION = (
    "Small firms here cannot train an apprentice alone: how do other regions let several "
    "employers share one apprentice?"
)
FICHE = "employer-pool-apprenticeships-mayo"
TITLE = "Shared apprenticeship employer for small firms in County Mayo"


async def ask(bot: ConsoleSession, asker: str) -> str:
    """The question from a new asker (the same person asking again is told it is a repeat)."""
    await bot.say(f"/as {asker}")
    return await bot.say(QUESTION)


def with_reload(config: Config, folder: Path, seconds: float) -> Config:
    """The bot on its own copy of the sample collection, looking for imports every ``seconds``."""
    shutil.copytree(SAMPLE_FICHES, folder)
    knowledge = dataclasses.replace(
        config.knowledge, collection=str(folder), reload_seconds=seconds
    )
    return dataclasses.replace(config, knowledge=knowledge)


async def operator_imports(config: Config, embedder: MemoEmbedder, folder: Path) -> None:
    """`rrm kb import FOLDER` in another process: its own connection to the database."""

    def run() -> None:
        database = open_database(config)
        try:
            import_fiches(config, database, embedder, folder)
        finally:
            database.dispose()

    await asyncio.to_thread(run)


async def test_removed_and_added_fiches_are_searched_once_the_import_settles(
    config: Config, embedder: MemoEmbedder, tmp_path: Path
) -> None:
    folder = tmp_path / "collection"
    config = with_reload(config, folder, 0)  # no periodic look: this test looks itself
    async with console_bot(config, embedder) as bot:
        knowledge = bot.app.knowledge
        assert knowledge is not None
        assert TITLE in await ask(bot, "ana")
        assert not await asyncio.to_thread(knowledge.check)  # nothing changed

        kept = tmp_path / "kept"
        shutil.move(folder / FICHE, kept)
        await operator_imports(config, embedder, folder)
        # The first look sees a change still possibly under way; the next one rebuilds.
        assert not await asyncio.to_thread(knowledge.check)
        assert TITLE in await ask(bot, "ben")
        assert await asyncio.to_thread(knowledge.check)
        shown = await ask(bot, "cleo")
        assert TITLE not in shown and "Does this answer your question?" in shown
        assert not await asyncio.to_thread(knowledge.check)

        shutil.move(kept, folder / FICHE)
        await operator_imports(config, embedder, folder)
        assert not await asyncio.to_thread(knowledge.check)
        assert await asyncio.to_thread(knowledge.check)
        assert TITLE in await ask(bot, "dora")


async def test_the_running_bot_looks_by_itself(
    config: Config, embedder: MemoEmbedder, tmp_path: Path
) -> None:
    folder = tmp_path / "collection"
    config = with_reload(config, folder, 0.1)
    async with console_bot(config, embedder) as bot:
        conversation = bot.app.conversation
        assert conversation is not None
        before = conversation.services.triage
        shutil.rmtree(folder / FICHE)
        await operator_imports(config, embedder, folder)
        async with asyncio.timeout(30):
            while conversation.services.triage is before:
                await asyncio.sleep(0.05)
        assert TITLE not in await ask(bot, "ana")
