"""The command registry: dispatch, docs, catalogs and Telegram's menus all agree with it."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.channels.telegram import ASKER_COMMANDS as TELEGRAM_PRIVATE
from bot.channels.telegram import EXPERT_COMMANDS as TELEGRAM_GROUP
from handlers.asker_commands import ASKER_COMMANDS
from handlers.commands import REGISTRY, menu
from handlers.drafts import DRAFT_COMMANDS, TOFICHE_COMMANDS
from handlers.expert_commands import COORDINATOR_COMMANDS, EXPERT_COMMANDS
from handlers.i18n import Translator
from handlers.thread_answers import THREAD_ANSWER_COMMANDS
from handlers.verdicts import VERDICT_COMMANDS
from tests.fakes.app import console_bot

DOCS = Path(__file__).parents[2] / "docs" / "experts.md"
LANGUAGES = ("bg", "de", "el", "es", "fr", "it", "pl", "pt", "ro")


def names(role: str, place: str) -> set[str]:
    return {c.name for c in REGISTRY if role in c.roles and place in c.places}


def test_every_command_handled_is_declared_and_every_declared_one_handled() -> None:
    assert names("asker", "private") == set(ASKER_COMMANDS)
    # /note is taken before the tables (it keeps the text's line breaks).
    in_space = {
        "help",
        "note",
        *EXPERT_COMMANDS,
        *THREAD_ANSWER_COMMANDS,
        *TOFICHE_COMMANDS,
        *VERDICT_COMMANDS,
    }
    assert names("expert", "thread") | names("expert", "space") == in_space
    assert names("coordinator", "private") - names("asker", "private") == {
        "away",
        *COORDINATOR_COMMANDS,
        *DRAFT_COMMANDS,
    }


def test_docs_table_is_the_registry() -> None:
    rows = [
        f"| `{c.usage()}` | {', '.join(sorted(c.roles))} | {', '.join(sorted(c.places))} "
        f"| {c.help} |"
        for c in REGISTRY
        if c.listed
    ]
    table = DOCS.read_text(encoding="utf-8").split("## Commands", 1)[1]
    documented = [line for line in table.splitlines() if line.startswith("| `/")]
    assert documented == rows


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_help_text_is_translated(language: str) -> None:
    texts = Translator([language])
    missing = [c.help for c in REGISTRY if not texts.has(language, c.help)]
    assert not missing


def test_telegram_menus_come_from_the_registry() -> None:
    assert [name for name, _ in TELEGRAM_PRIVATE] == [c.name for c in menu("asker", "private")]
    assert "urgent" in dict(TELEGRAM_PRIVATE)
    assert {"claim", "pass", "note", "help", "away"} <= set(dict(TELEGRAM_GROUP))
    assert "reassign" not in dict(TELEGRAM_GROUP)  # the group's menu is shown to every expert


@pytest.mark.db
async def test_help_for_each_role_in_the_readers_language(config, embedder) -> None:
    async with console_bot(config, embedder) as bot:
        shown = await bot.say("/help")
        assert "/urgent N" in shown and "/claim" not in shown and "/reassign" not in shown
        await bot.say("/as claire")  # an expert who reads French
        shown = await bot.say("/help")
        assert "Dans le fil d’une question" in shown and "/note TEXT" in shown
        assert "/claim — prendre en charge cette question" in shown and "/reassign" not in shown
        await bot.say("/as anna")  # a coordinator
        shown = await bot.say("/help")
        assert "/reassign N EXPERT — give question N to an expert" in shown
        assert "/claim" in shown and "/dashboard" in shown
