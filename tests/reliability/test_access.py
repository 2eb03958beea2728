"""Who may ask and how fast: invitation codes, the allowlist, the rate limit, others' questions."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from sqlalchemy import func, select

from ground.config import AccessConfig, Config
from ground.storage.models import Question
from tests.fakes.app import console_bot

pytestmark = pytest.mark.db

QUESTIONS = [
    "Which indicators do other regions use to follow young people after they leave "
    "vocational schools?",
    "How can several very small craft firms in a rural valley share one apprentice?",
    "Where can a municipality find co-financing for an Erasmus+ partnership on adult learning?",
]
ANSWERED = ("Does this answer your question?", "went to")


def answered(shown: str) -> bool:
    return any(marker in shown for marker in ANSWERED)


def with_access(config: Config, **values: object) -> Config:
    return dataclasses.replace(config, access=dataclasses.replace(config.access, **values))


def count_questions(bot) -> int:  # type: ignore[no-untyped-def]
    with bot.app.database.sessions() as session:
        return session.scalar(select(func.count()).select_from(Question))


async def test_invitation_code_admits_an_asker(config: Config, embedder) -> None:  # type: ignore[no-untyped-def]
    config = with_access(config, open=False, invitation_codes=("letmein-2026",))
    async with console_bot(config, embedder) as bot:
        shown = await bot.say(QUESTIONS[0])
        assert "open to invited participants" in shown and not answered(shown)
        assert "not valid" in await bot.say("/start letmein-2025")
        assert "open to invited participants" in await bot.say("/status")
        assert count_questions(bot) == 0
        assert "invitation code is accepted" in await bot.say("/start letmein-2026")
        assert answered(await bot.say(QUESTIONS[0]))
        # Experts and coordinators of the config need no code.
        await bot.say("/as claire")
        assert "open to invited" not in await bot.say("/away")


async def test_allowlist_admits_only_listed_askers(config: Config, embedder) -> None:  # type: ignore[no-untyped-def]
    config = with_access(config, open=False, allowlist=("console:ana",))
    async with console_bot(config, embedder) as bot:
        await bot.say("/as bob")
        shown = await bot.say(QUESTIONS[0])
        assert "registered participants only" in shown
        # No invitation codes are configured, so none is accepted.
        assert "registered participants only" in await bot.say("/start anything-at-all")
        await bot.say("/as ana")
        assert answered(await bot.say(QUESTIONS[0]))
        assert count_questions(bot) == 1


async def test_open_by_default(config: Config) -> None:
    assert config.access == AccessConfig() and config.access.open


async def test_rate_limit_asks_to_wait_then_accepts(config: Config, embedder) -> None:  # type: ignore[no-untyped-def]
    config = with_access(config, questions_per_minute=2)
    async with console_bot(config, embedder) as bot:
        for text in QUESTIONS[:2]:
            assert answered(await bot.say(text))
            await bot.say("/new")
        shown = await bot.say(QUESTIONS[2])
        assert "at most 2 a minute" in shown and not answered(shown)
        assert count_questions(bot) == 2
        # Another asker is not held back by the first one's pace.
        await bot.say("/as bob")
        assert answered(await bot.say(QUESTIONS[2]))
        await bot.say("/as you")
        bot.clock.advance(dt.timedelta(seconds=61))
        assert answered(await bot.say(QUESTIONS[2]))
        assert count_questions(bot) == 4


async def test_askers_never_see_others_questions_or_staff_commands(
    config: Config, embedder
) -> None:  # type: ignore[no-untyped-def]
    async with console_bot(config, embedder) as bot:
        await bot.say("/as ana")
        assert answered(await bot.say(QUESTIONS[0]))
        await bot.say("/as bob")
        assert "You have not asked any question yet" in await bot.say("/status")
        # Someone else's question answers exactly like one that does not exist.
        own_elsewhere = await bot.say("/resolve 1")
        assert own_elsewhere == (await bot.say("/resolve 99")).replace("99", "1")
        for command in ("claim", "pass", "open", "reassign 1 claire", "topic 1 eu-funding"):
            name = command.split()[0]
            shown = await bot.say(f"/{command}")
            assert f"I do not know the command /{name}." in shown
            assert QUESTIONS[0][:30] not in shown
        # An asker typing a thread reply gets nothing relayed anywhere.
        shown = await bot.say("#1 I am not an expert")
        assert "answers your question" not in shown


ROMANIAN = (
    "Cum pot mai multe firme artizanale foarte mici dintr-o vale rurală să împartă "
    "formarea unui singur ucenic și documentele care merg cu ea?"
)


async def test_rate_limit_answers_in_the_question_language_and_quotes_it(
    config: Config,
    embedder,  # type: ignore[no-untyped-def]
) -> None:
    config = with_access(config, questions_per_minute=1)
    async with console_bot(config, embedder) as bot:
        assert answered(await bot.say(QUESTIONS[0]))
        await bot.say("/new")
        shown = await bot.say(ROMANIAN)
        assert "cel mult 1 pe minut" in shown and "at most 1 a minute" not in shown, shown
        # The question comes back whole, to be sent again as it was.
        assert ROMANIAN in shown and not answered(shown)
        assert count_questions(bot) == 1
        bot.clock.advance(dt.timedelta(minutes=2))
        await bot.say("/new")
        assert "cel mult" not in await bot.say(ROMANIAN)
        assert count_questions(bot) == 2
