"""End-to-end encrypted Matrix rooms against a real Synapse, with encrypting nio clients."""

from __future__ import annotations

import contextlib
import logging
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from nio import DevicesResponse
from prometheus_client import CollectorRegistry, generate_latest

from bot.channels.matrix_content import KEYCAPS
from bot.metrics import MetricsCollector
from ground.config import Config
from ground.storage.models import Question
from tests.bot.test_matrix import (
    APPRENTICE_QUESTION,
    BOT,
    ROUTE_QUESTION,
    content,
    direct_room,
    matrix_bot,
    until,
    with_matrix,
)
from tests.bot.test_matrix import few_fiches as few_fiches  # the fixture, shared
from tests.fakes.matrix_user import MatrixUser
from tests.fakes.synapse import Synapse, password

pytestmark = pytest.mark.db

PDF = b"%PDF-1.4 a sealed contract"
# An encrypted event of a session the bot was never given (with the sender's device id added).
UNKNOWN_SESSION = {
    "algorithm": "m.megolm.v1.aes-sha2",
    "ciphertext": "AwgAEnAC",
    "sender_key": "c2VuZGVy",
    "session_id": "c2Vzc2lvbg",
}


@dataclass
class SecretWorld:
    """An encrypted experts' room with anna and claire, and sofia, an asker; all encrypting."""

    room: str
    config: Config
    keys: Path
    anna: MatrixUser
    claire: MatrixUser
    sofia: MatrixUser


@pytest.fixture
async def secret(
    synapse: Synapse, config: Config, few_fiches: Path, tmp_path: Path
) -> AsyncIterator[SecretWorld]:
    async with contextlib.AsyncExitStack() as stack:
        users = {}
        for name in ("anna", "claire", "sofia"):
            user = MatrixUser(
                synapse.url, synapse.user_id(name), password(name), tmp_path / f"{name}-keys"
            )
            users[name] = await stack.enter_async_context(user)
        invited = [BOT, synapse.user_id("claire")]
        room = await users["anna"].create_room(invited, name="RRM experts", encrypted=True)
        await users["claire"].join(room)
        keys = tmp_path / "bot-keys"
        matrix = with_matrix(config, synapse, room, few_fiches, keys)
        yield SecretWorld(room, matrix, keys, **users)


async def test_an_encrypted_question_goes_from_ask_to_relay_to_resolve(
    secret: SecretWorld, synapse: Synapse, embedder, tmp_path: Path
) -> None:
    sofia, claire, room = secret.sofia, secret.claire, secret.room
    jonas_id = synapse.user_id("jonas")
    async with (
        MatrixUser(synapse.url, jonas_id, password("jonas"), tmp_path / "jonas-keys") as jonas,
        matrix_bot(secret.config, embedder) as bot,
    ):
        dm = await direct_room(sofia, encrypted=True)
        await sofia.say(dm, APPRENTICE_QUESTION)
        offer = await sofia.next_event(dm)
        assert "Shared apprenticeship employer" in content(offer)["body"]
        assert offer.decrypted  # the bot answers encrypted
        # Choices by reaction, encrypted as Element sends them in an encrypted room.
        await sofia.react(dm, offer.event_id, KEYCAPS[1], sealed=True)  # ask an expert
        root = await claire.next_event(room)
        assert root.decrypted and content(root)["body"].startswith("#1 · Work-based learning")
        assert APPRENTICE_QUESTION in content(root)["body"]
        assert "Your question #1 went to" in await sofia.next_text(dm)

        answer = await claire.say(room, "A shared employer group hires them.", thread=root.event_id)
        assert "A shared employer group hires them." in await sofia.next_text(dm)
        sealed_file = await claire.upload_encrypted(PDF, "application/pdf", "contract.pdf")
        await claire.send(
            room,
            {
                "msgtype": "m.file",
                "body": "contract.pdf",
                "file": sealed_file,
                "info": {"mimetype": "application/pdf"},
                "m.relates_to": {"rel_type": "m.thread", "event_id": root.event_id},
            },
        )
        assert "answers your question #1" in await sofia.next_text(dm)
        relayed_file = content(await sofia.next_event(dm))
        # Encrypted again for the asker's room: no plain URL, and the same bytes inside.
        assert "url" not in relayed_file and relayed_file["body"] == "contract.pdf"
        assert await sofia.download(relayed_file["file"]) == PDF

        await claire.edit(room, answer, "A shared employer group (GEIQ) hires them.")
        assert "(GEIQ)" in await sofia.next_text(dm)
        await claire.redact(room, answer)
        assert "Claire Dubois withdrew a message" in await sofia.next_text(dm)

        # A member who joins later gets the keys of what the bot writes from then on.
        await secret.anna.client.room_invite(room, jonas_id)
        await jonas.join(room)
        await claire.wait_member(room, jonas_id)
        await sofia.say(dm, "/resolve 1")
        assert "Question #1 is resolved" in await sofia.next_text(dm)
        assert "Question #1 is resolved." in content(await claire.next_event(room))["body"]
        resolved = await jonas.next_event(room)
        assert resolved.decrypted and "Question #1 is resolved." in content(resolved)["body"]
        with bot.app.database.sessions() as session:
            assert session.get(Question, 1).status == "resolved"
        assert bot.channel.undecryptable == 0


async def test_a_restart_keeps_the_keys_and_a_lost_store_means_a_new_device(
    secret: SecretWorld, embedder, caplog: pytest.LogCaptureFixture
) -> None:
    sofia, claire, room = secret.sofia, secret.claire, secret.room
    async with matrix_bot(secret.config, embedder) as bot:
        dm = await direct_room(sofia, encrypted=True)
        await sofia.say(dm, "/help")
        assert "/status" in await sofia.next_text(dm)
        device = bot.channel.client.device_id
    assert {p.stat().st_mode & 0o777 for p in secret.keys.iterdir()} == {0o600}
    assert secret.keys.stat().st_mode & 0o777 == 0o700
    # Written while the bot is down, encrypted for the device it had.
    await sofia.say(dm, ROUTE_QUESTION)
    async with matrix_bot(secret.config, embedder) as bot:
        assert bot.channel.client.device_id == device
        root = content(await claire.next_event(room))
        assert ROUTE_QUESTION in root["body"]
        assert "Your question #1 went to" in await sofia.next_text(dm)
        assert bot.channel.undecryptable == 0

    shutil.rmtree(secret.keys)
    caplog.set_level(logging.WARNING, logger="bot.channels.matrix")
    async with matrix_bot(secret.config, embedder) as bot:
        new = bot.channel.client.device_id
        assert new != device and bot.channel.replaced_device == device
        assert f"the encryption keys of device {device} were not in" in caplog.text
        notice = content(await claire.next_event(room))
        # Written by the core through the outbox, in the room itself, not in a question's thread.
        assert "m.relates_to" not in notice
        assert f"My encryption keys were lost, so I now use a new session: {new}" in notice["body"]
        devices = await bot.channel.client.devices()
        assert isinstance(devices, DevicesResponse)
        assert device not in {d.id for d in devices.devices}  # logged out: gone with its keys
        # The asker's app encrypts for the new device: the conversation goes on.
        await sofia.say(dm, "/status")
        assert "#1" in await sofia.next_text(dm)


async def test_an_undecryptable_message_is_counted_and_its_sender_told_once(
    secret: SecretWorld, embedder
) -> None:
    sofia = secret.sofia
    async with matrix_bot(secret.config, embedder) as bot:
        dm = await direct_room(sofia, encrypted=True)
        await sofia.say(dm, "/language de")
        assert "Deutsch" in await sofia.next_text(dm)
        megolm = UNKNOWN_SESSION | {"device_id": sofia.client.device_id}
        for _ in range(2):
            await sofia.send_as_is(dm, megolm, "m.room.encrypted")
        told = await sofia.next_text(dm)
        assert told.startswith("Ich konnte Ihre letzte Nachricht nicht entschlüsseln")
        await sofia.say(dm, "/help")  # a round trip: by then the second one was seen
        assert "/status" in await sofia.next_text(dm)
        assert bot.channel.undecryptable == 2
        assert len(sofia.messages_from(dm, BOT)) == 3  # language, one notice, help
        # A key that comes after its message: the message is read then, and answered.
        await sofia.say_keeping_the_key(dm, "/status")
        assert await until(lambda: bot.channel.undecryptable == 3)
        await sofia.share_key(dm)
        assert await sofia.next_text(dm) == "Sie haben noch keine Frage gestellt."
        registry = CollectorRegistry()
        registry.register(
            MetricsCollector(bot.app.database.sessions, {}, lambda: 0, bot.app._undecryptable)
        )
        scraped = generate_latest(registry).decode()
        assert 'rrm_undecryptable_events_total{channel="matrix"} 3.0' in scraped


async def test_an_asker_who_left_the_direct_room_gets_the_answer_in_a_new_one(
    secret: SecretWorld, synapse: Synapse, embedder, tmp_path: Path
) -> None:
    claire, room = secret.claire, secret.room
    petra_id = synapse.user_id("petra")
    async with (
        MatrixUser(synapse.url, petra_id, password("petra"), tmp_path / "petra-keys") as petra,
        matrix_bot(secret.config, embedder),
    ):
        dm = await direct_room(petra, encrypted=True)
        await petra.say(dm, ROUTE_QUESTION)
        root = await claire.next_event(room)
        assert "Your question #1 went to" in await petra.next_text(dm)
        await petra.leave(dm)
        await claire.say(room, "Ask the county procurement office.", thread=root.event_id)
        # The bot shares no other room with petra: it opens a new one, encrypted.
        again = await petra.wait_invited()
        assert again != dm
        await petra.join(again)
        relayed = await petra.next_event(again)
        assert relayed.decrypted
        assert "Ask the county procurement office." in content(relayed)["body"]
        await petra.say(again, "/resolve 1")
        assert "Question #1 is resolved" in await petra.next_text(again)


async def test_a_message_waiting_for_its_key_is_read_after_a_restart_and_told_once(
    secret: SecretWorld, embedder
) -> None:
    sofia = secret.sofia
    async with matrix_bot(secret.config, embedder) as bot:
        dm = await direct_room(sofia, encrypted=True)
        await sofia.say(dm, "/language de")
        assert "Deutsch" in await sofia.next_text(dm)
        await sofia.say_keeping_the_key(dm, "/status")
        assert (await sofia.next_text(dm)).startswith("Ich konnte Ihre letzte Nachricht nicht")
        assert bot.channel.undecryptable == 1
    # The key comes while another run of the bot is up: the message is read and answered.
    async with matrix_bot(secret.config, embedder) as bot:
        await sofia.share_key(dm)
        assert await sofia.next_text(dm) == "Sie haben noch keine Frage gestellt."
        # A sender already told is not told again, whichever run told them.
        await sofia.send_as_is(
            dm, UNKNOWN_SESSION | {"device_id": sofia.client.device_id}, "m.room.encrypted"
        )
        assert await until(lambda: bot.channel.undecryptable == 1)
        await sofia.say(dm, "/help")  # a round trip: by then the undecryptable one was seen
        assert "/status" in await sofia.next_text(dm)
        assert len(sofia.messages_from(dm, BOT)) == 4  # language, one notice, status, help
