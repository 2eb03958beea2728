"""Bad input through the console: each gets a clear answer, nothing is lost or doubled."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from ground.storage.models import InboundReceipt, Question
from handlers.conversation import MAX_MESSAGE_CHARS, clean_text
from handlers.events import Inbound
from tests.fakes.app import console_bot

pytestmark = pytest.mark.db

QUESTION = (
    "Which indicators do other regions use to follow young people after they leave "
    "vocational schools, and how often do they publish them?"
)


def count_questions(bot) -> int:  # type: ignore[no-untyped-def]
    with bot.app.database.sessions() as session:
        return session.scalar(select(func.count()).select_from(Question))


async def test_empty_whitespace_emoji_and_control_characters(config, embedder) -> None:
    async with console_bot(config, embedder) as bot:
        assert "Your message was empty" in await bot.say("")
        assert "Your message was empty" in await bot.say("   \t  ")
        assert "could not find a question" in await bot.say("🙂🙂🎓")
        assert "Your message was empty" in await bot.say("\x00\x07\x1b")
        assert count_questions(bot) == 0
        shown = await bot.say(
            "\x07Which indicators\x00 do other regions use to follow young "
            "people after vocational school?"
        )
        assert "Does this answer your question?" in shown or "went to" in shown
        with bot.app.database.sessions() as session:
            text = session.scalar(select(Question.text))
        assert "\x00" not in text and "\x07" not in text and text.startswith("Which")


async def test_greeting_is_not_a_question(config, embedder) -> None:
    async with console_bot(config, embedder) as bot:
        assert "Please write your question in a sentence" in await bot.say("Hello")
        assert count_questions(bot) == 0


async def test_very_long_message_is_kept_whole(config, embedder) -> None:
    async with console_bot(config, embedder) as bot:
        long_text = (QUESTION + " ") * (MAX_MESSAGE_CHARS // (len(QUESTION) + 1))
        long_text = long_text[:MAX_MESSAGE_CHARS].strip()
        shown = await bot.say(long_text)
        assert "Does this answer your question?" in shown or "went to" in shown
        with bot.app.database.sessions() as session:
            assert session.scalar(select(Question.text)) == long_text
        too_long = "x" * (MAX_MESSAGE_CHARS + 1)
        shown = await bot.say(too_long)
        assert f"the limit is {MAX_MESSAGE_CHARS}" in shown
        assert count_questions(bot) == 1


async def test_unknown_and_other_roles_commands(config, embedder) -> None:
    async with console_bot(config, embedder) as bot:
        assert "I do not know the command /frobnicate" in await bot.say("/frobnicate now")
        # A coordinator command from an asker gets the same answer: no hint that it exists.
        assert "I do not know the command /reassign" in await bot.say("/reassign 1 claire")
        assert "I do not know the command /open" in await bot.say("/open")
        assert "Please give one of these language codes" in await bot.say("/language xx")
        assert "I found no question of yours" in await bot.say("/resolve 99")
        # No buttons were offered, so a lone digit is just a (too short) message.
        assert "Please write your question in a sentence" in await bot.say("9")


async def test_same_question_twice_is_not_doubled(config, embedder) -> None:
    async with console_bot(config, embedder) as bot:
        await bot.say(QUESTION)
        await bot.say("/new")
        shown = await bot.say(QUESTION)
        assert "You already asked this as question #1" in shown
        assert count_questions(bot) == 1


async def test_redelivered_event_changes_nothing(config, embedder) -> None:
    async with console_bot(config, embedder) as bot:
        event = Inbound(
            channel="console", event_id="evt-1", sender_id="zoe", chat_id="zoe", text=QUESTION
        )
        await bot.app.deliver(event)
        first = bot.out.new()
        await bot.app.deliver(event)
        assert bot.out.new() == ""
        assert first
        assert count_questions(bot) == 1
        with bot.app.database.sessions() as session:
            assert session.scalar(select(func.count()).select_from(InboundReceipt)) == 1


async def test_other_askers_questions_are_out_of_reach(config, embedder) -> None:
    async with console_bot(config, embedder) as bot:
        await bot.say(QUESTION)
        await bot.say("/as eve")
        assert "I found no question of yours" in await bot.say("/resolve 1")
        shown = await bot.say("/status")
        assert "You have not asked any question yet" in shown
        event = Inbound(
            channel="console",
            event_id="evt-press",
            sender_id="eve",
            chat_id="eve",
            action="helped:1",
        )
        await bot.app.deliver(event)
        assert "no longer valid" in bot.out.new()
        with bot.app.database.sessions() as session:
            assert session.get(Question, 1).status != "resolved"


def test_clean_text_keeps_words_and_line_breaks() -> None:
    assert clean_text("  a\x00b\nc\td ") == "ab\nc\td"
    assert clean_text("é") == "é"
    assert clean_text("line one\nline two") == "line one\nline two"
    assert clean_text("\x1b[31mred\x1b[0m") == "[31mred[0m"


def test_clean_text_drops_format_characters_as_the_event_cleaning_does() -> None:
    """One cleaning for text read anywhere: a bidi override goes, the joiners stay."""
    assert clean_text("Ana\u202e ssalc") == "Ana ssalc"
    assert clean_text("/start\u200bcode") == "/start code"
    assert clean_text("\u0915\u094d\u200d\u0937") == "\u0915\u094d\u200d\u0937"
