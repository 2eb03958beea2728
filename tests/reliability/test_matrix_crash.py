"""The real ``rrm run`` process on Matrix (a real Synapse), killed and stopped under load.

Askers each ask one question in their direct room with the bot, in three bursts. The bot
talks to the homeserver through a proxy, so the test sees every ``/sync`` answer first:
1. SIGKILL the moment a ``/sync`` carrying the first burst comes back, before the bot could
   store it (the homeserver sends it again from the stored token); after the restart, SIGKILL
   the moment the homeserver confirms the first reply, before the bot could record it as sent;
2. SIGKILL at a random moment during the second burst (events stored, handled, replies in
   flight);
3. SIGTERM as soon as the third burst is received: the bot exits 0, the next start handles
   what was left.
Then every question was handled exactly once, and each direct room's timeline, read from the
homeserver, holds exactly one reply: Matrix sends with a transaction id, so a resend after a
crash never shows twice.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import time
import urllib.parse
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from ground.storage.database import Database
from ground.storage.models import Event, InboundReceipt, InboxEvent, Question
from tests.fakes.console_script import switch_channel, write_config
from tests.fakes.http_proxy import HttpProxy
from tests.fakes.synapse import Synapse
from tests.reliability.test_crash import seed
from tests.reliability.test_telegram_crash import handled_all, start_rrm, until

pytestmark = pytest.mark.db

ASKERS_PER_BURST = 3
BURSTS = 3
SYNC = "/_matrix/client/v3/sync"
QUESTION = "Which grants help a small firm in region {} train its first apprentice, case {}?"


@dataclass
class Asker:
    """A person on the homeserver with a direct room open with the bot."""

    user_id: str
    token: str
    room: str = ""


def matrix_config(path: Path, homeserver: str, bot: str, secret: str, room: str) -> None:
    """Switch the written config from the console to Matrix on ``homeserver``."""
    values = {
        "homeserver": json.dumps(homeserver),
        "user_id": json.dumps(bot),
        "password": json.dumps(secret),
        "experts_room": json.dumps(room),
    }
    text = switch_channel(path.read_text(encoding="utf-8"), "matrix", values)
    path.write_text(text, encoding="utf-8")


class Homeserver:
    """The test's side of Synapse: accounts, rooms and timelines, through its REST API."""

    def __init__(self, server: Synapse) -> None:
        self.server = server
        self.tag = uuid.uuid4().hex[:8]

    def register(self, name: str) -> Asker:
        answer = self.server.register(f"{name}-{self.tag}", f"pw-{name}")
        return Asker(answer["user_id"], answer["access_token"])

    async def call(
        self, method: str, path: str, token: str, body: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        return await asyncio.to_thread(self.server.request, method, path, body, token)

    async def create_room(self, owner: Asker, invite: str, *, direct: bool) -> str:
        body = {
            "invite": [invite],
            "is_direct": direct,
            "preset": "trusted_private_chat" if direct else "private_chat",
        }
        created = await self.call("POST", "/_matrix/client/v3/createRoom", owner.token, body)
        return str(created["room_id"])

    async def joined(self, room: str, user_id: str, token: str) -> bool:
        path = f"/_matrix/client/v3/rooms/{quote(room)}/joined_members"
        return user_id in (await self.call("GET", path, token)).get("joined", {})

    async def say(self, asker: Asker, text: str) -> None:
        path = f"/_matrix/client/v3/rooms/{quote(asker.room)}/send/m.room.message/{uuid.uuid4()}"
        await self.call("PUT", path, asker.token, {"msgtype": "m.text", "body": text})

    async def messages(self, room: str, sender: str, token: str) -> list[dict[str, Any]]:
        """Every message ``sender`` sent in the room, from the homeserver's own timeline."""
        path = f"/_matrix/client/v3/rooms/{quote(room)}/messages?dir=f&limit=1000"
        chunk = (await self.call("GET", path, token))["chunk"]
        return [e for e in chunk if e["sender"] == sender and e["type"] == "m.room.message"]


def quote(room: str) -> str:
    return urllib.parse.quote(room, safe="")


async def test_sigkill_after_a_sync_and_at_random_and_sigterm_lose_and_double_nothing(
    tmp_path: Path, database_url: str, embedder, synapse: Synapse
) -> None:  # type: ignore[no-untyped-def]
    seed_value = int(os.environ.get("RRM_CRASH_SEED", time.time_ns() % 10_000))
    chance = random.Random(seed_value)
    print(f"matrix crash test: seed {seed_value} (RRM_CRASH_SEED to replay)")
    home = Homeserver(synapse)
    bot_secret = "pw-crashbot"
    bot_id = synapse.register(f"crashbot-{home.tag}", bot_secret)["user_id"]
    owner = home.register("owner")
    experts_room = await home.create_room(owner, bot_id, direct=False)
    askers = [home.register(f"asker{i}") for i in range(ASKERS_PER_BURST * BURSTS)]

    bot: asyncio.subprocess.Process | None = None
    kill_when: list[Callable[[str, bytes], bool]] = []

    def watch(path: str, body: bytes) -> None:
        """Kill the bot before it sees the answer ``kill_when`` waits for."""
        if bot is not None and kill_when and kill_when[0](path, body):
            kill_when.clear()
            bot.send_signal(signal.SIGKILL)

    config, errors = write_config(tmp_path, database_url), tmp_path / "err"
    await seed(config, embedder)
    async with HttpProxy(synapse.url, watch) as proxy:
        matrix_config(config, proxy.url, bot_id, bot_secret, experts_room)

        async def start() -> asyncio.subprocess.Process:
            syncs = proxy.paths.count(SYNC)
            process = await start_rrm(config, errors)
            # Syncing: the signal handlers are in place (a SIGTERM before would just kill).
            await until(lambda: proxy.paths.count(SYNC) > syncs, "the bot syncing")
            return process

        bot = await start()
        await until_async(lambda: home.joined(experts_room, bot_id, owner.token), "bot in room")
        for asker in askers:
            asker.room = await home.create_room(asker, bot_id, direct=True)
        for asker in askers:
            await until_async(lambda a=asker: home.joined(a.room, bot_id, a.token), "a DM joined")

        async def burst(number: int) -> list[Asker]:
            group = askers[(number - 1) * ASKERS_PER_BURST : number * ASKERS_PER_BURST]
            for index, asker in enumerate(group):
                await home.say(asker, QUESTION.format(index, f"B{number}-{home.tag}"))
            return group

        async def replied(group: list[Asker]) -> bool:
            for asker in group:
                if not await home.messages(asker.room, bot_id, asker.token):
                    return False
            return True

        # 1. Killed as the first burst's /sync comes back: the stored token is before it.
        marker = f"B1-{home.tag}".encode()
        kill_when.append(lambda path, body: path == SYNC and marker in body)
        await burst(1)
        assert await bot.wait() == -signal.SIGKILL
        assert not kill_when, "the first burst never came back from a /sync"
        # Then killed as the homeserver confirms the first reply, before the bot records it
        # as sent: the next start sends it again, with the same transaction id.
        kill_when.append(lambda path, _: "/send/m.room.message/" in path)
        bot = await start()
        assert await bot.wait() == -signal.SIGKILL
        bot = await start()
        await until_async(lambda: replied(askers[:ASKERS_PER_BURST]), "replies to burst 1")

        # 2. Killed at a random moment while the second burst is stored and handled.
        group = await burst(2)
        await asyncio.sleep(chance.uniform(0.0, 2.0))
        bot.send_signal(signal.SIGKILL)
        await bot.wait()
        bot = await start()
        await until_async(lambda: replied(group), "replies to burst 2")

        # 3. SIGTERM once the third burst is received: an orderly stop, nothing lost.
        group = await burst(3)
        await until(lambda: stored(database_url, f"B3-{home.tag}"), "the third burst stored")
        bot.send_signal(signal.SIGTERM)
        assert await bot.wait() == 0, errors.read_text()[-3000:]
        bot = await start()
        await until_async(lambda: replied(group), "replies to burst 3")
        await until(lambda: handled_all(database_url), "the inbox handled")
        bot.send_signal(signal.SIGTERM)
        assert await bot.wait() == 0, errors.read_text()[-3000:]

    total = ASKERS_PER_BURST * BURSTS
    database = Database(database_url)
    with database.sessions() as session:
        assert session.scalar(select(func.count()).select_from(InboundReceipt)) == total
        assert session.scalar(select(func.count()).select_from(Question)) == total
        routed = session.execute(
            select(Event.question_id, func.count())
            .where(Event.kind == "routed")
            .group_by(Event.question_id)
        ).all()
        assert len(routed) == total and {count for _, count in routed} == {1}
    database.dispose()
    # Exactly once on Matrix: each asker's room holds one reply, the experts' room one
    # thread per question, whatever was in flight at the kills.
    for asker in askers:
        replies = await home.messages(asker.room, bot_id, asker.token)
        assert len(replies) == 1, [r["content"].get("body") for r in replies]
    posted = await home.messages(experts_room, bot_id, owner.token)
    roots = [p for p in posted if "m.relates_to" not in p["content"]]
    assert len(roots) == total, [p["content"].get("body", "")[:80] for p in roots]


async def until_async(condition, what: str, seconds: float = 120) -> None:  # type: ignore[no-untyped-def]
    """Wait until the coroutine ``condition()`` is true."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if await condition():
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def stored(database_url: str, marker: str) -> bool:
    """The bot committed events holding ``marker`` to its inbox."""
    database = Database(database_url)
    try:
        with database.sessions() as session:
            payloads = session.scalars(select(InboxEvent.payload))
            return any(marker in json.dumps(payload) for payload in payloads)
    finally:
        database.dispose()
