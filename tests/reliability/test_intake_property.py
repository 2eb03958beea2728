"""Anything at all through the intake: nothing raises, and every message gets exactly one reply."""

from __future__ import annotations

import dataclasses
import itertools

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.app import Application
from bot.channels.console import ConsoleChannel
from ground.clock import FixedClock
from ground.config import Config
from ground.storage.models import Identity, OutboxMessage, Question
from handlers.events import Inbound
from tests.conftest import START
from tests.fakes.console import ScriptedLines, Transcript

pytestmark = pytest.mark.db

COMMANDS = [
    "start",
    "help",
    "status",
    "resolve",
    "new",
    "language",
    "away",
    "claim",
    "pass",
    "open",
    "reassign",
    "topic",
    "quit",
    "as",
    "START",
    "Status",
    "résolve",
]

command_lookalikes = st.builds(
    lambda slash, name, bot, args: f"{slash}{name}{bot}{args}",
    st.sampled_from(["/", "／", " /", "//", "\\"]),
    st.sampled_from(COMMANDS) | st.from_regex(r"[A-Za-z_]{0,12}", fullmatch=True),
    st.sampled_from(["", "@rrm_bot", "@", "@@x"]),
    st.sampled_from(["", " ", " 1", " 99999999999999999999", " -1", " xx", " en", " \x00"])
    | st.text(max_size=40).map(lambda t: " " + t),
)
texts = st.one_of(
    st.text(max_size=200),
    st.text(st.characters(codec="utf-8"), max_size=120),
    st.text(st.characters(categories=["Cc", "Cf", "Zs", "Zl", "Zp", "Mn", "So"]), max_size=50),
    command_lookalikes,
    st.from_regex(r"#[0-9]{0,4} .{0,40}", fullmatch=True),
    st.sampled_from(["", " ", "\n", "1", "2", "0", "?", "…", "🙂", "\u202e", "\ufeff", "\x00"]),
)
events = st.fixed_dictionaries(
    {"text": texts},
    optional={
        "action": st.text(max_size=30) | st.sampled_from(["helped", "expert", "more", "x:1"]),
        "attachment": st.sampled_from(["photo", "document", "sticker", "voice", "m.file"]),
        "language_hint": st.sampled_from(["en", "fr", "xx", "", "zh-hans"]),
        "reply_to": st.text(max_size=10),
    },
)


@pytest.fixture
async def app(config: Config, embedder):  # type: ignore[no-untyped-def]
    config = dataclasses.replace(
        config, access=dataclasses.replace(config.access, questions_per_minute=0)
    )
    # A console that reads nothing: the conversation is driven directly, and the console is
    # where its replies go.
    lines = ScriptedLines()
    console = ConsoleChannel(lines, Transcript(), {})
    application = Application(config, [console], clock=FixedClock(START), embedder=embedder)
    await application.start()
    yield application
    await lines.close()
    await application.stop()


def replies(session: Session, chat: str) -> int:
    """Messages written to ``chat``."""
    query = select(func.count()).select_from(OutboxMessage).where(OutboxMessage.chat_id == chat)
    return session.scalar(query) or 0


def suggestions(session: Session, account: str) -> int:
    """Questions of ``account`` that were routed with fiches suggested."""
    query = (
        select(func.count())
        .select_from(Question)
        .join(Identity, Identity.person_id == Question.asker_id)
        .where(Identity.external_id == account, Question.decision == "suggest")
    )
    return session.scalar(query) or 0


async def test_any_input_gets_exactly_one_reply(app: Application) -> None:
    conversation, database = app.conversation, app.database
    assert conversation is not None and database is not None
    counter = itertools.count(1)

    @settings(
        max_examples=120,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(event=events, same_asker=st.booleans())
    # Once found on PostgreSQL: a newcomer's question in the suggest band gets two messages.
    @example(event={"text": "//zNzfIxOQeC_a@ 99999999999999999999"}, same_asker=True)
    # Found by it: a number past the database's integers, and a digit int() does not read.
    @example(event={"text": "/resolve 9223372036854775808"}, same_asker=True)
    @example(event={"text": "/status ²"}, same_asker=True)
    @example(event={"text": "/resolve ²"}, same_asker=True)
    # Found by it on PostgreSQL, whose text cannot hold NUL: a reply to, or a button, with one.
    @example(event={"text": "0", "reply_to": "\x00"}, same_asker=False)
    @example(event={"text": "", "action": "helped\x00"}, same_asker=True)
    def check(event: dict[str, str], same_asker: bool) -> None:
        number = next(counter)
        sender = "regular" if same_asker else f"asker{number}"
        inbound = Inbound(
            channel="console",
            event_id=f"event-{number}",
            sender_id=sender,
            chat_id=sender,
            sender_name=event["text"][:50],
            message_id=f"m{number}",
            **{k: v for k, v in event.items() if k != "language_hint" or v},
        )
        with database.sessions() as session:
            before = replies(session, sender), suggestions(session, sender)
        conversation.handle(inbound)  # raises nothing
        with database.sessions() as session:
            after = replies(session, sender), suggestions(session, sender)
        # A suggestion is the one outcome that says two things: the question went to an
        # expert, and (with its buttons) the fiches that may help meanwhile.
        assert after[0] - before[0] == 1 + (after[1] - before[1]), inbound
        # Handling the same event again changes nothing.
        conversation.handle(inbound)
        with database.sessions() as session:
            again = replies(session, sender)
        assert again == after[0]

    check()


async def test_media_without_text_and_strangers_in_the_space(app: Application) -> None:
    conversation, database = app.conversation, app.database
    assert conversation is not None and database is not None
    for number, kind in enumerate(["photo", "sticker", "voice", "m.file", "something-new"]):
        conversation.handle(
            Inbound(
                channel="console",
                event_id=f"media-{number}",
                sender_id="ana",
                chat_id="ana",
                attachment=kind,
            )
        )
    # Someone not in the config, writing in the experts' space, gets nothing from the bot.
    for number, text in enumerate(["/claim", "/open", "/reassign 1 claire", "hello"]):
        conversation.handle(
            Inbound(
                channel="console",
                event_id=f"stranger-{number}",
                sender_id="mallory",
                chat_id="experts",
                space=True,
                thread_id="1",
                text=text,
            )
        )
    with database.sessions() as session:
        texts = list(session.scalars(select(OutboxMessage.text).order_by(OutboxMessage.id)))
    assert texts == ["I can only read text messages. Please write your question in words."] * 5
