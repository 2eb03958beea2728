"""Invisible format characters are gone before anything reads a message or a name."""

from __future__ import annotations

import dataclasses

import pytest
from sqlalchemy import func, select

from ground.config import Config
from ground.storage.models import OutboxMessage, Person, Question
from handlers.clean_text import drop_format_characters
from handlers.events import Inbound
from tests.fakes.app import console_bot
from tests.handlers.test_console_loop import ROUTE_QUESTION

pytestmark = pytest.mark.db

RLO, PDF, ZWSP = "\u202e", "\u202c", "\u200b"


def count_questions(bot) -> int:  # type: ignore[no-untyped-def]
    with bot.app.database.sessions() as session:
        return session.scalar(select(func.count()).select_from(Question))


async def test_right_to_left_override_in_a_name_does_not_reach_the_experts(
    config: Config,
    embedder,  # type: ignore[no-untyped-def]
) -> None:
    async with console_bot(config, embedder) as bot:
        event = Inbound(
            channel="console",
            event_id="evt-rlo",
            sender_id="mallory",
            chat_id="mallory",
            text=ROUTE_QUESTION,
            sender_name=f"Ana {RLO}ecnarF{PDF} Pop",
        )
        await bot.app.deliver(event)
        shown = bot.out.new()
        assert "From: Ana ecnarF Pop" in shown, shown
        with bot.app.database.sessions() as session:
            names = session.scalars(select(Person.display_name)).all()
            texts = session.scalars(select(OutboxMessage.text)).all()
        assert "Ana ecnarF Pop" in names
        assert not any(RLO in text or PDF in text for text in (*names, *texts))


async def test_start_with_a_zero_width_space_and_a_code_is_start(
    config: Config,
    embedder,  # type: ignore[no-untyped-def]
) -> None:
    access = dataclasses.replace(config.access, open=False, invitation_codes=("letmein-2026",))
    config = dataclasses.replace(config, access=access)
    async with console_bot(config, embedder) as bot:
        shown = await bot.say(f"/start{ZWSP}letmein-2026")
        assert "invitation code is accepted" in shown, shown
        await bot.say("/as bob")
        shown = await bot.say(f"{ZWSP}/start {ZWSP}letmein-2026{ZWSP}")
        assert "invitation code is accepted" in shown, shown
        assert count_questions(bot) == 0


async def test_start_with_a_zero_width_space_is_not_a_question_when_open(
    config: Config,
    embedder,  # type: ignore[no-untyped-def]
) -> None:
    async with console_bot(config, embedder) as bot:
        shown = await bot.say(f"/start{ZWSP}letmein-2026")
        assert "experts' space" not in shown and "went to" not in shown, shown
        assert count_questions(bot) == 0
        with bot.app.database.sessions() as session:
            texts = session.scalars(select(OutboxMessage.text)).all()
        assert not any("letmein" in text for text in texts)


def test_joiners_stay_and_other_format_characters_go() -> None:
    # ZWNJ in Persian and ZWJ in an emoji sequence carry meaning.
    assert drop_format_characters("می\u200cخواهم") == "می\u200cخواهم"
    assert drop_format_characters("👩\u200d🔬") == "👩\u200d🔬"
    assert drop_format_characters(f"a{RLO}b\u2066c\u2069\ufeffd\u00ad") == "abcd"
    assert drop_format_characters(f"/start{ZWSP}code") == "/start code"
