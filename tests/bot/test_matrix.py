"""The Matrix channel against a real Synapse: askers in direct rooms, experts in threads."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from nio.responses import RoomPutAliasError
from sqlalchemy import func, select

from bot.app import Application
from bot.channels.console import ConsoleChannel
from bot.channels.matrix import MatrixChannel, MatrixError
from bot.channels.matrix_content import KEYCAPS
from ground.clock import FixedClock
from ground.config import Config, ConfigError, MatrixConfig, load_config
from ground.storage.models import (
    InboxEvent,
    OutboxMessage,
    Person,
    Question,
    RelayedMessage,
)
from handlers.events import Delivery, Inbound
from tests.conftest import SAMPLE_FICHES, START, example_config_text
from tests.fakes.console import ScriptedLines, Transcript
from tests.fakes.embedder import MemoEmbedder
from tests.fakes.matrix_user import MatrixUser
from tests.fakes.synapse import Synapse, password
from tests.handlers.test_console_loop import ROUTE_QUESTION

pytestmark = pytest.mark.db

APPRENTICE_QUESTION = (
    "How can several very small craft firms in a rural valley share the training of one "
    "apprentice and the paperwork that goes with it?"
)
# A few fiches are enough here, and embedding them all would make this file slow on its own.
FICHES = ("employer-pool-apprenticeships-mayo", "vet-dashboard-twente", "shared-vle-lapland-vet")
BOT = "@bot:localhost"


@pytest.fixture(scope="session")
def few_fiches(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("fiches")
    for name in FICHES:
        shutil.copytree(SAMPLE_FICHES / name, folder / name)
    return folder


@dataclass
class World:
    """The homeserver, the experts' room and the people in it, and the bot's config."""

    server: Synapse
    room: str
    config: Config
    anna: MatrixUser
    claire: MatrixUser
    jonas: MatrixUser
    mallory: MatrixUser
    sofia: MatrixUser


def with_matrix(config: Config, server: Synapse, room: str, fiches: Path, store: Path) -> Config:
    """The test config with Matrix on, and claire, jonas and anna known on Matrix."""
    on_matrix = {"claire", "jonas", "anna"}

    def identify(person):  # type: ignore[no-untyped-def]
        if person.id not in on_matrix:
            return person
        identities = {**person.identities, "matrix": server.user_id(person.id)}
        return dataclasses.replace(person, identities=identities)

    return dataclasses.replace(
        config,
        matrix=server.bot_config("bot", room, store),
        experts=tuple(identify(e) for e in config.experts),
        coordinators=tuple(identify(c) for c in config.coordinators),
        knowledge=dataclasses.replace(config.knowledge, collection=str(fiches)),
    )


@pytest.fixture
async def world(
    synapse: Synapse, config: Config, few_fiches: Path, tmp_path: Path
) -> AsyncIterator[World]:
    """A new experts' room: anna created it, invited the bot, and the others joined."""
    async with contextlib.AsyncExitStack() as stack:
        users = {}
        for name in ("anna", "claire", "jonas", "mallory", "sofia"):
            user = MatrixUser(synapse.url, synapse.user_id(name), password(name))
            users[name] = await stack.enter_async_context(user)
        invited = [BOT, *(synapse.user_id(n) for n in ("claire", "jonas", "mallory"))]
        room = await users["anna"].create_room(invited, name="RRM experts")
        for name in ("claire", "jonas", "mallory"):
            await users[name].join(room)
        matrix = with_matrix(config, synapse, room, few_fiches, tmp_path / "bot-keys")
        yield World(synapse, room, matrix, **users)


@dataclass
class Bot:
    app: Application
    channel: MatrixChannel
    seen: list[Inbound]


@contextlib.asynccontextmanager
async def matrix_bot(
    config: Config, embedder: MemoEmbedder, *others: ConsoleChannel
) -> AsyncIterator[Bot]:
    """The real Application on the Matrix channel, recording the events it is handed."""
    channel = MatrixChannel(config.matrix)
    app = Application(config, [channel, *others], clock=FixedClock(START), embedder=embedder)
    seen: list[Inbound] = []
    handle = app.deliver

    async def recording(event: Inbound) -> None:
        seen.append(event)
        await handle(event)

    app.deliver = recording  # type: ignore[method-assign]
    try:
        await app.start()
        yield Bot(app, channel, seen)
    finally:
        await app.stop()


async def direct_room(asker: MatrixUser, *, encrypted: bool = False) -> str:
    """The asker opens a direct room with the bot; the bot accepts the invitation."""
    room = await asker.create_room([BOT], direct=True, encrypted=encrypted)
    await asker.wait_member(room, BOT)
    return room


def content(event) -> dict:  # type: ignore[no-untyped-def, type-arg]
    return dict(event.source["content"])


async def test_question_fiche_expert_thread_relay_and_resolve(world: World, embedder) -> None:
    asker, claire, jonas, room = world.sofia, world.claire, world.jonas, world.room
    async with matrix_bot(world.config, embedder) as bot:
        dm = await direct_room(asker)
        await asker.say(dm, APPRENTICE_QUESTION)
        answer = content(await asker.next_event(dm))
        assert "Shared apprenticeship employer for small firms in County Mayo" in answer["body"]
        assert answer["body"].endswith(
            "1. This answers it\n2. Ask an expert\n3. Show the full fiche\n4. Not what I asked"
        )
        assert answer["format"] == "org.matrix.custom.html"
        assert "<ol><li>This answers it</li><li>Ask an expert</li>" in answer["formatted_body"]
        keys = [content(await asker.next_event(dm, "m.reaction")) for _ in range(4)]
        assert [k["m.relates_to"]["key"] for k in keys] == list(KEYCAPS[:4])

        await asker.say(dm, "2")  # ask an expert
        root = await jonas.next_event(room)
        posted = content(root)
        # Small craft firms: entrepreneurship is the near topic, Claire's, so she comes first.
        assert posted["body"].startswith(
            "#1 · Work-based learning · EN · Claire Dubois, Jonas Weber\nQuestion #1"
        )
        assert (
            "• Jonas Weber — liest Englisch · Lernen im Betrieb · 0 offene Fragen"
            in (posted["body"])
        )
        assert APPRENTICE_QUESTION in posted["body"]
        assert (
            '<b>#1 · Work-based learning · EN</b> · <a href="https://matrix.to/#/@claire:localhost">'
            'Claire Dubois</a>, <a href="https://matrix.to/#/@jonas:localhost">Jonas Weber</a><br>'
        ) in posted["formatted_body"]
        assert posted["m.mentions"] == {"user_ids": ["@claire:localhost", "@jonas:localhost"]}
        assert "m.relates_to" not in posted
        told = await asker.next_text(dm)
        assert "Your question #1 went to Claire Dubois (Chambre de Métiers du Lot)" in told

        # As Element sends Markdown: the source as body, the rendering as HTML.
        reply = await claire.say(
            room,
            "A **shared employer group** hires the apprentice.",
            thread=root.event_id,
            html="A <strong>shared employer group</strong> hires the apprentice.",
        )
        relayed_content = content(await asker.next_event(dm))
        relayed = relayed_content["body"]
        assert "Claire Dubois (Chambre de Métiers du Lot) answers your question #1" in relayed
        assert "A shared employer group hires the apprentice." in relayed
        assert "<b>shared employer group</b> hires" in relayed_content["formatted_body"]

        # Jonas, mentioned too, sees his colleague's answer in the thread.
        assert (await jonas.next_event(room)).sender == claire.user_id
        await asker.say(dm, "Thanks! Which chamber runs it, and who pays the wages?")
        follow_up = content(await jonas.next_event(room))
        assert "Follow-up from the asker" in follow_up["body"]
        assert "who pays the wages" in follow_up["body"]
        assert follow_up["m.relates_to"] == {
            "rel_type": "m.thread",
            "event_id": root.event_id,
            "is_falling_back": True,
            "m.in_reply_to": {"event_id": reply},
        }
        assert "Added to your question #1" in await asker.next_text(dm)

        await claire.edit(room, reply, "A shared employer group (GEIQ) hires the apprentice.")
        corrected = await asker.next_text(dm)
        assert "Correction from Claire Dubois" in corrected and "(GEIQ)" in corrected
        assert (await jonas.next_event(room)).sender == claire.user_id  # the edit

        await asker.say(dm, "/resolve 1")
        rating = await asker.next_event(dm)
        assert "Question #1 is resolved" in content(rating)["body"]
        assert "Question #1 is resolved." in content(await jonas.next_event(room))["body"]
        await asker.react(dm, rating.event_id, KEYCAPS[0])  # "Yes, it helped"
        assert "Thank you for your feedback" in await asker.next_text(dm)
        # The asker can see a message before the bot has recorded it as sent.
        await bot.app.flush()

        with bot.app.database.sessions() as session:
            question = session.get(Question, 1)
            assert question.status == "resolved" and question.helpful is True
            assert question.first_response_at is not None
        # The asker can read the last message before the sender has marked it sent.
        assert await outbox_drained(bot.app.database), "messages left unsent in the outbox"
        assert all(event.sender_id != BOT for event in bot.seen)


async def test_only_directory_experts_act_in_the_experts_room(world: World, embedder) -> None:
    asker, claire, room = world.sofia, world.claire, world.room
    async with matrix_bot(world.config, embedder) as bot:
        dm = await direct_room(asker)
        await asker.say(dm, ROUTE_QUESTION)
        root = await claire.next_event(room)
        assert "Your question #1 went to" in await asker.next_text(dm)

        await world.mallory.say(room, "I am not an expert, but try this.", thread=root.event_id)
        await claire.say(room, "Chatter outside any thread is not for the bot.")
        # A client without threads replies to the root, quoting it first.
        await claire.send(
            room,
            {
                "msgtype": "m.text",
                "body": "> <@bot:localhost> Question #1\n\nAsk the county procurement office.",
                "m.relates_to": {"m.in_reply_to": {"event_id": root.event_id}},
            },
        )
        relayed = await asker.next_text(dm)
        assert "Claire Dubois (Chambre de Métiers du Lot) answers your question #1" in relayed
        assert "Ask the county procurement office." in relayed
        assert "not an expert" not in relayed and "> <@" not in relayed

        stranger = next(e for e in bot.seen if e.sender_id == world.mallory.user_id)
        assert stranger.space and stranger.thread_id == root.event_id
        with bot.app.database.sessions() as session:
            authors = session.scalars(
                select(Person.config_id)
                .join(RelayedMessage, RelayedMessage.author_id == Person.id)
                .where(RelayedMessage.direction == "to_asker")
            )
            assert list(authors) == ["claire"]


async def test_backlog_own_messages_and_restart_replay_nothing(world: World, embedder) -> None:
    asker, claire, room = world.sofia, world.claire, world.room
    # No device id in the config: the first run's device is kept in the database.
    config = dataclasses.replace(
        world.config, matrix=dataclasses.replace(world.config.matrix, device_id="")
    )
    # Written before the bot ever ran: history, not commands.
    await claire.say(room, "/away")
    async with matrix_bot(config, embedder) as bot:
        device = bot.channel.client.device_id
        dm = await direct_room(asker)
        await asker.say(dm, ROUTE_QUESTION)
        root = await claire.next_event(room)
        assert "Your question #1 went to" in await asker.next_text(dm)
        assert [e.text for e in bot.seen] == [ROUTE_QUESTION]
        with bot.app.database.sessions() as session:
            claire_row = session.scalar(select(Person).where(Person.config_id == "claire"))
            assert claire_row.away is False

    # Written while the bot is down: handled after the restart, not lost.
    await claire.say(room, "Ask the county procurement office.", thread=root.event_id)
    async with matrix_bot(config, embedder) as again:  # same database
        assert again.channel.client.device_id == device  # no new device per start
        relayed = await asker.next_text(dm)
        assert "answers your question #1" in relayed
        assert "Ask the county procurement office." in relayed
        await claire.say(room, "And the regional one.", thread=root.event_id)
        assert "And the regional one." in await asker.next_text(dm)
        assert [e.text for e in again.seen] == [
            "Ask the county procurement office.",
            "And the regional one.",
        ]
        with again.app.database.sessions() as session:
            assert session.scalar(select(func.count()).select_from(Question)) == 1
    # The routed notice and two relays: nothing twice.
    assert len(asker.messages_from(dm, BOT)) == 3
    devices = world.server.request(
        "GET", f"/_synapse/admin/v2/users/{BOT}/devices", token=world.server.admin_token
    )
    assert [d["device_id"] for d in devices["devices"]].count(device) == 1


async def test_a_sync_committed_but_not_handled_is_handled_after_a_restart(
    world: World, embedder
) -> None:
    """A sync's events are stored with its token: a crash right after that commit loses none.

    The homeserver will not send those events again (the stored token is past them), so only
    the inbox can bring them back.
    """
    asker, claire, room = world.sofia, world.claire, world.room
    async with matrix_bot(world.config, embedder) as bot:
        dm = await direct_room(asker)
        await asker.say(dm, ROUTE_QUESTION)
        root = await claire.next_event(room)
        assert "Your question #1 went to" in await asker.next_text(dm)

        async def die_after_commit() -> None:
            """The process dies once the sync is committed: nothing of it is handled."""

        bot.channel._handle_stored = die_after_commit  # type: ignore[method-assign]
        await claire.say(room, "Ask the county procurement office.", thread=root.event_id)
        assert bot.app.database is not None
        for _ in range(300):
            with bot.app.database.sessions() as session:
                waiting = list(
                    session.scalars(
                        select(InboxEvent.payload).where(InboxEvent.handled_at.is_(None))
                    )
                )
            if any("county procurement" in str(payload) for payload in waiting):
                break
            await asyncio.sleep(0.1)
        else:
            raise AssertionError("the expert's answer never reached the inbox")
        assert len(asker.messages_from(dm, BOT)) == 1  # the routed notice only

    async with matrix_bot(world.config, embedder) as again:  # same database
        relayed = await asker.next_text(dm)
        assert "Ask the county procurement office." in relayed
        assert again.app.database is not None
        # Later syncs (the relay's own echo) may still be in hand: wait for the inbox to drain.
        for _ in range(100):
            with again.app.database.sessions() as session:
                left = session.scalar(
                    select(func.count())
                    .select_from(InboxEvent)
                    .where(InboxEvent.handled_at.is_(None))
                )
            if left == 0:
                break
            await asyncio.sleep(0.1)
        assert left == 0
    assert len(asker.messages_from(dm, BOT)) == 2  # relayed once


async def test_files_withdrawals_and_edited_questions(world: World, embedder) -> None:
    asker, claire, room = world.sofia, world.claire, world.room
    async with matrix_bot(world.config, embedder) as bot:
        dm = await direct_room(asker)
        await asker.say(dm, ROUTE_QUESTION)
        root = await claire.next_event(room)
        assert "Your question #1 went to" in await asker.next_text(dm)

        uri = await claire.upload(b"%PDF-1.4 contract", "application/pdf", "contract.pdf")
        await claire.send(
            room,
            {
                "msgtype": "m.file",
                "body": "contract.pdf",
                "url": uri,
                "info": {"mimetype": "application/pdf"},
                "m.relates_to": {"rel_type": "m.thread", "event_id": root.event_id},
            },
        )
        assert "answers your question #1" in await asker.next_text(dm)
        file = content(await asker.next_event(dm))
        assert file["msgtype"] == "m.file" and file["url"] == uri
        assert file["body"] == "contract.pdf" and file["info"]["mimetype"] == "application/pdf"

        answer = await claire.say(room, "Ask the regional bar.", thread=root.event_id)
        assert "Ask the regional bar." in await asker.next_text(dm)
        await claire.redact(room, answer)
        withdrawn = await asker.next_text(dm)
        assert "Claire Dubois withdrew a message" in withdrawn and "#1" in withdrawn

        question = await asker.say(dm, "Also: who signs the contract?")
        assert "Added to your question #1" in await asker.next_text(dm)
        await asker.edit(dm, question, "Who signs it?")
        assert "I do not read changes" in await asker.next_text(dm)
        assert "who signs the contract?" in content(await claire.next_event(room))["body"]
        with bot.app.database.sessions() as session:
            follow_ups = select(func.count()).select_from(RelayedMessage)
            assert session.scalar(follow_ups.where(RelayedMessage.direction == "to_experts")) == 1
            assert session.scalar(select(func.count()).select_from(Question)) == 1


async def test_rate_limits_are_waited_out_then_left_to_the_outbox(
    synapse: Synapse, caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    ratebot = synapse.user_id("ratebot")
    synapse.request(
        "POST",
        f"/_synapse/admin/v1/users/{ratebot}/override_ratelimit",
        {"messages_per_second": 4, "burst_count": 1},
        token=synapse.admin_token,
    )
    async with MatrixUser(synapse.url, synapse.user_id("tomas"), password("tomas")) as tomas:
        room = await tomas.create_room([ratebot], direct=True)
        config = synapse.bot_config("ratebot", room, tmp_path / "keys")

        patient = MatrixChannel(config, rate_limit_retries=5)
        impatient = MatrixChannel(config, rate_limit_retries=0)
        await patient.start(ignore)
        await impatient.start(ignore)
        try:
            # Sent at once, so that the limit is reached however slow the machine is.
            with caplog.at_level(logging.INFO, logger="bot.channels"):
                sent = await asyncio.gather(
                    *(
                        patient.send(Delivery(outbox_id=n, chat_id=room, text=f"message {n}"))
                        for n in (1, 2, 3)
                    )
                )
            assert len({s.message_id for s in sent}) == 3
            assert "rate limited" in caplog.text
            # A retry of the same outbox message is the same transaction: no second message.
            again = await patient.send(Delivery(outbox_id=1, chat_id=room, text="message 1"))
            assert again.message_id == sent[0].message_id
            outcomes = await asyncio.gather(
                *(
                    impatient.send(Delivery(outbox_id=n, chat_id=room, text="quick"))
                    for n in range(10, 14)
                ),
                return_exceptions=True,
            )
            refused = [o for o in outcomes if isinstance(o, MatrixError)]
            assert refused and all("M_LIMIT_EXCEEDED" in str(o) for o in refused)
        finally:
            await patient.stop()
            await impatient.stop()


async def ignore(_event: Inbound) -> None:
    return None


async def test_a_person_known_by_user_id_is_written_to_in_a_direct_room(
    synapse: Synapse, tmp_path: Path
) -> None:
    herald = synapse.user_id("herald")
    tomas_keys = tmp_path / "tomas-keys"
    async with MatrixUser(
        synapse.url, synapse.user_id("tomas"), password("tomas"), tomas_keys
    ) as tomas:
        # tomas shares a room with the bot already: the bot's experts' room.
        room = await tomas.create_room([herald])
        config = synapse.bot_config("herald", room, tmp_path / "keys")
        channel = MatrixChannel(config)
        await channel.start(ignore)
        try:
            await channel.send(Delivery(outbox_id=1, chat_id=tomas.user_id, text="A note"))
        finally:
            await channel.stop()
        dm = await tomas.wait_invited()
        assert dm != room
        await tomas.join(dm)
        assert await tomas.next_text(dm) == "A note"
        # Restarted, logging in with the access token of an existing device this time.
        account = synapse.accounts["herald"]
        with_token = dataclasses.replace(config, password="", access_token=account["access_token"])
        restarted = MatrixChannel(with_token)
        await restarted.start(ignore)
        try:
            assert restarted.client.device_id == account["device_id"]
            await restarted.send(Delivery(outbox_id=2, chat_id=tomas.user_id, text="Another"))
        finally:
            await restarted.stop()
        assert await tomas.next_text(dm) == "Another"  # the same direct room, found again
        assert tomas.invites == [dm]


async def test_a_refused_login_stops_the_start_with_a_clear_error(
    synapse: Synapse, tmp_path: Path
) -> None:
    config = MatrixConfig(
        enabled=True,
        homeserver=synapse.url,
        user_id=synapse.user_id("herald"),
        access_token="syt_not_a_token",
        experts_room="!nowhere:localhost",
        store_path=str(tmp_path / "keys"),
    )
    channel = MatrixChannel(config)
    with pytest.raises(MatrixError, match="the access token was refused: M_UNKNOWN_TOKEN"):
        await channel.start(ignore)
    assert channel.client is None
    wrong = dataclasses.replace(config, access_token="", password="wrong password")
    with pytest.raises(MatrixError, match="login as @herald:localhost failed: M_FORBIDDEN"):
        await MatrixChannel(wrong).start(ignore)


async def test_matrix_asker_answered_by_a_console_expert(world: World, embedder) -> None:
    # The experts are known on the console only: the thread opens there.
    config = dataclasses.replace(
        world.config,
        experts=tuple(
            dataclasses.replace(e, identities={"console": e.id}) for e in world.config.experts
        ),
    )
    lines, out = ScriptedLines(), Transcript()
    console = ConsoleChannel(lines, out, {"claire": "Claire Dubois"}, speaker="claire")
    asker = world.sofia
    try:
        async with matrix_bot(config, embedder, console):
            dm = await direct_room(asker)
            await asker.say(dm, ROUTE_QUESTION)
            assert "Your question #1 went to" in await asker.next_text(dm)
            await bot_flushed(out, "experts' space · thread #1")
            await lines.say("#1 Ask the county procurement office.")
            relayed = await asker.next_text(dm)
            assert "Claire Dubois" in relayed and "Ask the county procurement office." in relayed
            assert not world.claire.messages_from(world.room, BOT)
    finally:
        await lines.close()


async def bot_flushed(out: Transcript, expected: str) -> None:
    """The console printed ``expected`` (it is printed before the Matrix reply is sent)."""
    shown = out.getvalue()
    assert expected in shown, shown


async def outbox_drained(database, seconds: float = 10.0) -> bool:  # type: ignore[no-untyped-def]
    """Wait until every outbox message is sent; False if some are still not after ``seconds``."""
    for _ in range(int(seconds * 10)):
        with database.sessions() as session:
            unsent = session.scalar(
                select(func.count())
                .select_from(OutboxMessage)
                .where(OutboxMessage.status != "sent")
            )
        if unsent == 0:
            return True
        await asyncio.sleep(0.1)
    return False


def matrix_config_file(tmp_path: Path, server: Synapse, room: str) -> Path:
    """The example config, through the real loader, with its [matrix] section filled in."""
    text = example_config_text()
    section = text.index("[matrix]\n")
    filled = text[section:].replace("enabled = false", "enabled = true", 1)
    for key, value in (
        ("homeserver", server.url),
        ("user_id", server.user_id("herald")),
        ("password", password("herald")),
        ("experts_room", room),
        ("store_path", str(tmp_path / "keys")),
    ):
        filled = filled.replace(f'\n{key} = ""', f'\n{key} = "{value}"', 1)
    path = tmp_path / "config.toml"
    path.write_text(text[:section] + filled, encoding="utf-8")
    return path


async def test_rooms_of_every_version_and_aliases_from_the_real_config(
    synapse: Synapse, tmp_path: Path
) -> None:
    herald = synapse.user_id("herald")
    async with MatrixUser(synapse.url, synapse.user_id("anna"), password("anna")) as anna:
        default_room = await anna.create_room([herald], name="Default version")
        versions = await anna.client.room_get_state_event(default_room, "m.room.create")
        print(f"Synapse's default room version: {versions.content.get('room_version')}")
        v12_room = await anna.create_room([herald], name="Version 12", room_version="12")
        assert ":" not in v12_room  # room version 12: an opaque id with no server part
        aliased = await anna.create_room([herald], name="Aliased")
        alias = "#rrm-experts-v12:localhost"
        answer = await anna.client.room_put_alias(alias, aliased)
        assert not isinstance(answer, RoomPutAliasError), answer
        for room, expected in (
            (v12_room, v12_room),
            (default_room, default_room),
            (alias, aliased),
        ):
            config = load_config(matrix_config_file(tmp_path, synapse, room), environ={})
            assert config.matrix.experts_room == room
            channel = MatrixChannel(config.matrix)
            await channel.start(ignore)
            try:
                assert channel.experts_room_id == expected
            finally:
                await channel.stop()
    for unknown, problem in (
        ("!NoSuchRoomAnywhere", r"matrix\.experts_room: cannot join !NoSuchRoomAnywhere"),
        ("#nobody-made-this:localhost", r"matrix\.experts_room: the alias #nobody-made-this"),
    ):
        config = load_config(matrix_config_file(tmp_path, synapse, unknown), environ={})
        with pytest.raises(MatrixError, match=problem):
            await MatrixChannel(config.matrix).start(ignore)
    with pytest.raises(ConfigError, match=r"matrix\.experts_room: required when matrix"):
        load_config(matrix_config_file(tmp_path, synapse, "rrm-experts"), environ={})


async def until(condition, seconds: float = 15.0) -> bool:  # type: ignore[no-untyped-def]
    for _ in range(int(seconds * 20)):
        if condition():
            return True
        await asyncio.sleep(0.05)
    return bool(condition())


async def test_an_upgraded_experts_room_is_followed_and_a_removal_logged(
    synapse: Synapse, caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    herald = synapse.user_id("herald")
    anna_token = synapse.accounts["anna"]["access_token"]
    async with MatrixUser(synapse.url, synapse.user_id("anna"), password("anna")) as anna:
        old = await anna.create_room([herald], name="Experts before the upgrade")
        config = synapse.bot_config("herald", old, tmp_path / "keys")
        channel = MatrixChannel(config)
        caplog.set_level(logging.INFO, logger="bot.channels.matrix")
        await channel.start(ignore)
        try:
            assert channel.experts_room_id == old
            upgraded = await asyncio.to_thread(
                synapse.request,
                "POST",
                f"/_matrix/client/v3/rooms/{old}/upgrade",
                {"new_version": "12"},
                anna_token,
            )
            new = upgraded["replacement_room"]
            # A private room's members are not carried over: the bot waits for an invitation.
            assert await until(lambda: "which the bot cannot join" in caplog.text)
            assert channel.experts_room_id == old
            await anna.client.room_invite(new, herald)
            assert await until(lambda: channel.experts_room_id == new)
            await channel.send(Delivery(outbox_id=1, chat_id="", text="In the new room"))
            assert await anna.next_text(new) == "In the new room"
        finally:
            await channel.stop()
        # The config still names the old room: the tombstone is followed at start too.
        again = MatrixChannel(config)
        await again.start(ignore)
        try:
            assert again.experts_room_id == new
            await anna.client.room_kick(new, herald, reason="testing a removal")
            assert await until(lambda: "no longer in the experts room" in caplog.text)
        finally:
            await again.stop()


async def test_an_asker_with_a_second_direct_room_is_answered_in_each(
    world: World, embedder
) -> None:
    asker, claire, room = world.sofia, world.claire, world.room
    async with matrix_bot(world.config, embedder):
        first = await direct_room(asker)
        await asker.say(first, ROUTE_QUESTION)
        root = await claire.next_event(room)
        assert "Your question #1 went to" in await asker.next_text(first)
        second = await direct_room(asker)
        assert second != first
        await asker.say(second, APPRENTICE_QUESTION)
        # Written from the second room, it is read as more about the open question #1.
        assert "Added to your question #1" in await asker.next_text(second)
        # The answer reaches the asker in the room they wrote from last; nothing is lost.
        await claire.say(room, "Ask the county procurement office.", thread=root.event_id)
        relayed = await asker.next_text(second)
        assert "Ask the county procurement office." in relayed
        assert len(asker.messages_from(first, BOT)) == 1  # the routed notice only
