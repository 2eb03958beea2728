"""Benchmark the Matrix channel: events per second from a real Synapse to the relay.

Usage: python bench/matrix_bench.py [--events 100]

Starts Synapse on loopback (tests/fakes/synapse.py, rate limits lifted), the bot on a new
SQLite database, an asker in a direct room and an expert in the experts' room. The asker's
question is routed; then the expert writes ``--events`` answers into the question's thread
as fast as the homeserver takes them, and the clock runs until the asker has received every
relayed answer: each event goes Synapse → the bot's sync → the conversation → the outbox →
Synapse → the asker's sync. It prints events per second end to end, and the time the expert
took only to send them (the floor set by the homeserver).
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import logging
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.app import Application  # noqa: E402
from bot.channels.matrix import MatrixChannel  # noqa: E402
from ground.config import ChannelConfig, DatabaseConfig, MatrixConfig, load_config  # noqa: E402
from tests.fakes.matrix_user import MatrixUser  # noqa: E402
from tests.fakes.synapse import Synapse  # noqa: E402

QUESTION = (
    "Can you recommend a lawyer who knows the public procurement rules for school canteen "
    "catering contracts?"
)


async def run(server: Synapse, folder: Path, count: int) -> tuple[float, float]:
    config = load_config(ROOT / "config.example.toml", environ={})
    experts = tuple(
        dataclasses.replace(e, identities={**e.identities, "matrix": server.user_id(e.id)})
        for e in config.experts
    )
    async with (
        MatrixUser(server.url, server.user_id("asker"), "pw-asker") as asker,
        MatrixUser(server.url, server.user_id("claire"), "pw-claire") as claire,
    ):
        room = await claire.create_room([server.user_id("bot")], name="RRM experts")
        config = dataclasses.replace(
            config,
            database=DatabaseConfig(url=f"sqlite:///{folder / 'bench.db'}"),
            knowledge=dataclasses.replace(config.knowledge, collection=str(ROOT / "fiches")),
            experts=experts,
            console=ChannelConfig(enabled=False),
            matrix=MatrixConfig(
                enabled=True,
                homeserver=server.url,
                user_id=server.user_id("bot"),
                password="pw-bot",
                experts_room=room,
                store_path=str(folder / "bot-keys"),
            ),
        )
        app = Application(config, [MatrixChannel(config.matrix)])
        await app.start()  # imports and embeds the sample fiches first: not timed
        try:
            dm = await asker.create_room([server.user_id("bot")], direct=True)
            await asker.wait_member(dm, server.user_id("bot"), timeout=60)
            await asker.say(dm, QUESTION)
            root = await claire.next_event(room, timeout=120)
            await asker.next_text(dm, timeout=60)  # "Your question #1 went to …"
            started = time.perf_counter()
            for n in range(count):
                await claire.say(room, f"Answer part {n}.", thread=root.event_id)
            sent = time.perf_counter() - started
            for _ in range(count):
                await asker.next_text(dm, timeout=300)
            return time.perf_counter() - started, sent
        finally:
            await app.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=100)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    folder = Path(tempfile.mkdtemp(prefix="rrm-matrix-bench-"))
    (folder / "synapse").mkdir()
    server = Synapse.start(folder / "synapse")
    try:
        for name in ("bot", "asker", "claire"):
            server.register(name, f"pw-{name}")
        total, sent = asyncio.run(run(server, folder, args.events))
    finally:
        server.stop()
        shutil.rmtree(folder, ignore_errors=True)
    print(f"events: {args.events}")
    print(f"expert sending them only:        {args.events / sent:8.1f} events/s")
    print(f"Synapse → bot → relay → asker:   {args.events / total:8.1f} events/s")


if __name__ == "__main__":
    main()
