"""Benchmark the Telegram channel: updates processed per second through the loopback fake.

Usage: python bench/telegram_bench.py [--updates 300] [--workload status|question]

The same fake Bot API server (tests/fakes/telegram_server.py) serves two bots in turn, each
given one untimed warm-up message and then ``--updates`` private messages at once from
distinct people; the clock runs until every one of them has been answered (the check reads
only the calls recorded since the last check, so the harness costs both bots little):

1. a bare python-telegram-bot echo bot (one handler that sends the text back), the floor;
2. the full RRM pipeline: TelegramChannel with its rate limiter, the conversation on a new
   SQLite database, the outbox. ``status`` sends /status (the conversation and storage, no
   search); ``question`` sends a question the bot routes to the experts (language,
   search, routing, a forum topic and two messages per update). As in production, the
   outbox sender sends a Telegram update's replies while the next update is handled.

It runs the two ``--rounds`` times, alternating, so both see the same load on a shared
machine, and prints each round's rates and ratio (full / echo) and the median ratio; and the
CPU time each bot spent per update (all threads of the process, the fake server included),
whose ratio (echo / full) still means something when other work shares the cores.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import logging
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("PTB_TIMEDELTA", "true")  # as `rrm run` does (bot/cli.py)

from telegram import Update  # noqa: E402
from telegram.ext import ApplicationBuilder, ContextTypes, MessageHandler, filters  # noqa: E402

from bot.app import Application  # noqa: E402
from bot.channels.telegram import TelegramChannel  # noqa: E402
from ground.config import ChannelConfig, DatabaseConfig, TelegramConfig, load_config  # noqa: E402
from tests.fakes.telegram_server import FakeBotApi, TelegramUser  # noqa: E402

TOKEN = "123456789:AAHbenchTokenForTheFakeServer_x"
GROUP = -1001234567890
QUESTION = (
    "Can you recommend a lawyer who knows the public procurement rules for school canteen "
    "catering contracts?"
)


def people(count: int) -> list[TelegramUser]:
    return [TelegramUser(900_000 + n, f"Person{n}") for n in range(count)]


async def warm_up(server: FakeBotApi, text: str) -> None:
    """One untimed update first, as both bots get: connections opened, first-use costs paid."""
    warm = TelegramUser(1, "Warm")
    await server.private_text(warm, text)
    await answered(server, [warm], time.perf_counter())


async def answered(server: FakeBotApi, users: list[TelegramUser], started: float) -> float:
    """Wait until each user got a message; return the seconds since ``started``.

    Each check reads only the calls recorded since the last one: scanning them all at every
    call made the harness itself quadratic, a cost both bots paid.
    """
    waiting = {u.id for u in users}
    seen = 0

    def done() -> bool:
        nonlocal seen
        calls = server.calls
        for call in calls[seen:]:
            if call.method == "sendMessage" and call.status == 200:
                waiting.discard(call.params.get("chat_id"))
        seen = len(calls)
        return not waiting

    await server.wait_for(done, timeout=3600, what="every answer")
    return time.perf_counter() - started


async def echo_rate(count: int) -> tuple[float, float]:
    """Updates per second for a bare PTB echo bot, and CPU milliseconds per update."""
    async with FakeBotApi(TOKEN, GROUP) as server:
        app = ApplicationBuilder().token(TOKEN).base_url(server.base_url).build()

        async def echo(update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
            assert update.effective_chat is not None and update.effective_message is not None
            await update.effective_chat.send_message(update.effective_message.text or "")

        app.add_handler(MessageHandler(filters.TEXT, echo))
        await app.initialize()
        await app.start()
        assert app.updater is not None
        await app.updater.start_polling(timeout=1)
        await warm_up(server, "/status")
        users = people(count)
        started, cpu = time.perf_counter(), time.process_time()
        for user in users:
            await server.private_text(user, "/status")
        seconds = await answered(server, users, started)
        cpu = time.process_time() - cpu
        await app.updater.stop()
        await app.stop()
        await app.shutdown()
    return count / seconds, cpu * 1000 / count


async def full_rate(count: int, workload: str, folder: Path) -> tuple[float, float]:
    """Updates per second for the whole bot, and CPU milliseconds per update."""
    async with FakeBotApi(TOKEN, GROUP) as server:
        config = load_config(ROOT / "config.example.toml", environ={})
        experts = tuple(
            dataclasses.replace(e, identities={"telegram": str(2000 + i)})
            for i, e in enumerate(config.experts)
        )
        telegram = TelegramConfig(
            enabled=True,
            token=TOKEN,
            base_url=server.base_url,
            experts_chat_id=GROUP,
            poll_timeout=1,
            # Telegram's own limits would make this a benchmark of waiting.
            rate_per_second=10_000.0,
            group_rate_per_minute=1_000_000.0,
        )
        config = dataclasses.replace(
            config,
            database=DatabaseConfig(url=f"sqlite:///{folder / 'bench.db'}"),
            knowledge=dataclasses.replace(config.knowledge, collection=str(ROOT / "fiches")),
            experts=experts,
            telegram=telegram,
            console=ChannelConfig(enabled=False),
        )
        channel = TelegramChannel(config.telegram, config.languages.supported)
        app = Application(config, [channel])
        await app.start()  # imports and embeds the sample fiches first: not timed
        try:
            users = people(count)
            text = "/status" if workload == "status" else QUESTION
            # For a question, this embeds the text; later ones find it cached, as a repeated
            # question would.
            await warm_up(server, text)
            started, cpu = time.perf_counter(), time.process_time()
            for user in users:
                await server.private_text(user, text)
            seconds = await answered(server, users, started)
            cpu = time.process_time() - cpu
        finally:
            await app.stop()
        assert server.unexpected == [], server.unexpected
    return count / seconds, cpu * 1000 / count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--updates", type=int, default=300)
    parser.add_argument("--workload", choices=("status", "question"), default="status")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    print(f"updates: {args.updates}, workload: {args.workload}")
    ratios, cpu_ratios = [], []
    for round_number in range(1, args.rounds + 1):
        folder = Path(tempfile.mkdtemp(prefix="rrm-telegram-bench-"))
        try:
            echo, echo_cpu = asyncio.run(echo_rate(args.updates))
            full, full_cpu = asyncio.run(full_rate(args.updates, args.workload, folder))
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        ratios.append(full / echo)
        cpu_ratios.append(echo_cpu / full_cpu)
        print(
            f"round {round_number}: bare PTB echo bot {echo:7.1f} updates/s, "
            f"full RRM pipeline {full:7.1f} updates/s, ratio {full / echo:5.2f}; CPU per "
            f"update {echo_cpu:.2f} ms / {full_cpu:.2f} ms, ratio {echo_cpu / full_cpu:5.2f}"
        )
    print(f"median ratio full/echo: {statistics.median(ratios):.2f}")
    # On a busy machine the wall-clock rates measure the neighbours; CPU time much less.
    print(f"median ratio of CPU per update, echo/full: {statistics.median(cpu_ratios):.2f}")


if __name__ == "__main__":
    main()
