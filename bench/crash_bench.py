"""Kill the bot hundreds of times at random moments and count what was lost or doubled.

Usage: python bench/crash_bench.py [--kills 100] [--channels console,telegram,matrix] [--seed N]
                                   [--minutes M]

Each channel runs the real bot as its own process on a new SQLite database, with every
question routed (so each has exactly one expected outcome), and SIGKILLs it ``--kills``
times, each at a random moment between 0.2 and 2 s after it was ready, restarting it each
time; then it lets the last run finish and counts:

- console: a script of askers' questions (``tests/fakes/console_process.py``, as
  ``tests/reliability/test_crash.py``), restarted on the same script after each kill;
- telegram: ``rrm run`` against the Bot API fake (``tests/fakes/telegram_server.py``); in
  each round a few askers write while the kill falls, so kills land while updates are
  polled, stored, handled and replies sent;
- matrix: ``rrm run`` against a real Synapse on loopback (``tests/fakes/synapse.py``, started
  by the bench), each asker in a direct room opened before the first kill; as on Telegram, a
  few askers write in each round. Replies are counted from the homeserver's own timelines.

Printed per channel: questions, kills, lost (a question never routed, or an asker never
answered), duplicated handling (a question routed more than once, or opened twice),
duplicated replies (the same message sent twice to the same chat; on Matrix, a second reply
in an asker's room or a second thread root for a question), and the median seconds from
starting the bot to its first poll (a restart's cost). The README's guarantee: no loss and
no duplicate anywhere, except on Telegram a message in flight at a kill (so at most one
duplicated message per kill there).
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import func, select  # noqa: E402

from ground.storage.database import Database  # noqa: E402
from ground.storage.models import Event, Question  # noqa: E402
from tests.fakes.console_script import write_config, write_questions  # noqa: E402
from tests.fakes.http_proxy import HttpProxy  # noqa: E402
from tests.fakes.synapse import Synapse  # noqa: E402
from tests.fakes.telegram_server import FakeBotApi, TelegramUser  # noqa: E402
from tests.reliability.test_crash import start_bot  # noqa: E402
from tests.reliability.test_matrix_crash import (  # noqa: E402
    Asker,
    Homeserver,
    matrix_config,
    quote,
    until_async,
)
from tests.reliability.test_telegram_crash import (  # noqa: E402
    GROUP,
    TOKEN,
    start_rrm,
    telegram_config,
    until,
)

QUESTIONS_PER_KILL = 4
# The first start imports and embeds the fiches: slow on a busy machine, so no short limit.
FIRST_START = 3600.0
# Telegram and Matrix stop killing once this many seconds have passed (--minutes); the
# questions of the rounds run so far are counted.
budget = {"until": float("inf")}


def out_of_time() -> bool:
    """Whether the run's time (``--minutes``) is spent: kill no more, finish and count."""
    return time.monotonic() > budget["until"]


SYNC = "/_matrix/client/v3/sync"
FIRST, LAST = 0.2, 2.0  # seconds after the bot is ready that a kill falls in


@dataclass
class Tally:
    """What one channel's run found."""

    channel: str
    questions: int
    kills: int
    lost: int
    doubled_handling: int
    doubled_replies: int
    seconds: float
    starts: list[float] = field(default_factory=list)

    def line(self) -> str:
        """One row of the results table."""
        start = f"{statistics.median(self.starts):.1f}" if self.starts else "-"
        return (
            f"| {self.channel} | {self.questions} | {self.kills} | {self.lost} | "
            f"{self.doubled_handling} | {self.doubled_replies} | {start} | {self.seconds:.0f} |"
        )


def routed(database_url: str) -> tuple[int, collections.Counter[int]]:
    """How many questions the database holds, and how often each was routed."""
    database = Database(database_url)
    try:
        with database.sessions() as session:
            questions = session.scalar(select(func.count()).select_from(Question)) or 0
            rows = session.execute(
                select(Event.question_id, func.count())
                .where(Event.kind == "routed")
                .group_by(Event.question_id)
            ).all()
        return questions, collections.Counter({int(q): int(n) for q, n in rows})
    finally:
        database.dispose()


def console_run(folder: Path, kills: int, chance: random.Random) -> Tally:
    questions = kills * QUESTIONS_PER_KILL
    database_url = f"sqlite:///{folder / 'console.db'}"
    config = write_config(folder, database_url)
    script, sent_log, errors = folder / "questions.txt", folder / "sent.jsonl", folder / "err"
    write_questions(script, questions)
    started, done = time.monotonic(), 0
    while True:
        process = start_bot(config, script, sent_log, errors)
        wait_ready(process, errors)
        try:
            timeout = chance.uniform(FIRST, LAST) if done < kills else 3600
            code = process.wait(timeout=timeout)
            if process.stdout is not None:
                process.stdout.close()
            if code != 0:
                raise SystemExit(f"the console bot failed: {errors.read_text()[-2000:]}")
            if done < kills:
                # Finished before every kill: ask more, on a new script.
                script = folder / f"questions-{done}.txt"
                write_more(script, questions, questions + kills * QUESTIONS_PER_KILL)
                questions += kills * QUESTIONS_PER_KILL
                continue
            break
        except subprocess.TimeoutExpired:
            process.send_signal(signal.SIGKILL)
            process.wait()
            if process.stdout is not None:
                process.stdout.close()
            done += 1
            print(f"console: {done} kills", end="\r", flush=True)
    records = [json.loads(line) for line in sent_log.read_text(encoding="utf-8").splitlines()]
    by_outbox = collections.Counter(record["outbox_id"] for record in records)
    to_askers = collections.Counter(record["to"] for record in records if record["to"])
    stored, per_question = routed(database_url)
    lost = sum(1 for n in range(1, questions + 1) if to_askers[f"asker{n}"] == 0)
    lost += max(0, questions - len(per_question))
    doubled = sum(n - 1 for n in per_question.values()) + max(0, stored - questions)
    return Tally(
        "console",
        questions,
        done,
        lost,
        doubled,
        sum(n - 1 for n in by_outbox.values()),
        time.monotonic() - started,
    )


def wait_ready(process: subprocess.Popen[str], errors: Path) -> None:
    """Read the bot's output until it says it is ready (a library may print before)."""
    assert process.stdout is not None
    for line in process.stdout:
        if line.strip() == "ready":
            return
    raise SystemExit(f"the console bot did not start: {errors.read_text()[-2000:]}")


def write_more(path: Path, first: int, last: int) -> None:
    """Askers ``first+1 … last`` each ask one question (as write_questions numbers them)."""
    write_questions(path, last)
    lines = path.read_text(encoding="utf-8").splitlines()
    path.write_text("\n".join(lines[2 * first :]) + "\n", encoding="utf-8")


async def telegram_run(folder: Path, kills: int, chance: random.Random) -> Tally:
    questions = kills * QUESTIONS_PER_KILL
    database_url = f"sqlite:///{folder / 'telegram.db'}"
    config, errors = write_config(folder, database_url), folder / "err"
    askers = [TelegramUser(800_000 + n, f"Asker{n}") for n in range(questions)]
    started = time.monotonic()
    async with FakeBotApi(TOKEN, GROUP) as server:
        telegram_config(config, server)

        async def ask(group: list[TelegramUser]) -> None:
            for asker in group:
                text = f"How could region {asker.id} fund apprenticeships in small craft firms?"
                await server.private_text(asker, text)
                await asyncio.sleep(chance.uniform(0, LAST / QUESTIONS_PER_KILL))

        bot, starts = None, []
        for done in range(kills + 1):
            polls = len(server.attempts("getUpdates"))
            begun = time.monotonic()
            bot = await start_rrm(config, errors)
            await started_by(
                bot, lambda p=polls: len(server.attempts("getUpdates")) > p, errors, done == 0
            )
            starts.append(time.monotonic() - begun)
            if done == kills or out_of_time():
                kills, askers = done, askers[: done * QUESTIONS_PER_KILL]
                break
            # This round's askers write while the kill may fall: before, during or after.
            group = askers[done * QUESTIONS_PER_KILL : (done + 1) * QUESTIONS_PER_KILL]
            asking = asyncio.create_task(ask(group))
            await asyncio.sleep(chance.uniform(FIRST, LAST))
            bot.send_signal(signal.SIGKILL)
            await bot.wait()
            await asking
            print(f"telegram: {done + 1} kills, {time.monotonic() - started:.0f} s", flush=True)
        assert bot is not None

        def answered() -> bool:
            return all(server.sent(chat_id=asker.id) for asker in askers)

        with contextlib.suppress(AssertionError):  # counted as lost below
            await until(answered, "a reply to every asker", 600)
        bot.send_signal(signal.SIGTERM)
        await bot.wait()
        replies = collections.Counter((c.params["chat_id"], c.text) for c in server.sent())
        unanswered = sum(1 for asker in askers if not server.sent(chat_id=asker.id))
    questions = len(askers)
    stored, per_question = routed(database_url)
    lost = max(unanswered, questions - len(per_question))
    doubled = sum(n - 1 for n in per_question.values()) + max(0, stored - questions)
    return Tally(
        "telegram",
        questions,
        kills,
        lost,
        doubled,
        sum(n - 1 for n in replies.values()),
        time.monotonic() - started,
        starts[1:],  # the first start imports and embeds the fiches
    )


async def matrix_run(folder: Path, kills: int, chance: random.Random) -> Tally:
    database_url = f"sqlite:///{folder / 'matrix.db'}"
    config, errors = write_config(folder, database_url), folder / "err"
    (folder / "synapse").mkdir()
    synapse = Synapse.start(folder / "synapse", timeout=600)
    try:
        return await matrix_rounds(synapse, config, errors, database_url, kills, chance)
    finally:
        synapse.stop()


async def matrix_rounds(
    synapse: Synapse,
    config: Path,
    errors: Path,
    database_url: str,
    kills: int,
    chance: random.Random,
) -> Tally:
    questions = kills * QUESTIONS_PER_KILL
    home = Homeserver(synapse)
    secret = "pw-crashbot"
    bot_id = synapse.register(f"crashbot-{home.tag}", secret)["user_id"]
    owner = home.register("owner")
    experts_room = await home.create_room(owner, bot_id, direct=False)
    started = time.monotonic()
    async with HttpProxy(synapse.url, lambda _path, _body: None) as proxy:
        matrix_config(config, proxy.url, bot_id, secret, experts_room)
        starts: list[float] = []

        async def start() -> asyncio.subprocess.Process:
            syncs = proxy.paths.count(SYNC)
            begun = time.monotonic()
            process = await start_rrm(config, errors)
            await started_by(process, lambda: proxy.paths.count(SYNC) > syncs, errors, not starts)
            starts.append(time.monotonic() - begun)
            return process

        bot = await start()
        await until_async(lambda: home.joined(experts_room, bot_id, owner.token), "bot in room")
        # Every asker's direct room is opened and joined before the first kill.
        askers = [home.register(f"asker{n}") for n in range(questions)]
        for asker in askers:
            asker.room = await home.create_room(asker, bot_id, direct=True)
        for asker in askers:
            await until_async(
                lambda a=asker: home.joined(a.room, bot_id, a.token), "a direct room joined", 600
            )

        async def ask(group: list[Asker]) -> None:
            for asker in group:
                text = f"How could region {asker.user_id} fund apprenticeships in craft firms?"
                await home.say(asker, text)
                await asyncio.sleep(chance.uniform(0, LAST / QUESTIONS_PER_KILL))

        for done in range(kills):
            if out_of_time():
                kills, askers = done, askers[: done * QUESTIONS_PER_KILL]
                break
            group = askers[done * QUESTIONS_PER_KILL : (done + 1) * QUESTIONS_PER_KILL]
            asking = asyncio.create_task(ask(group))
            await asyncio.sleep(chance.uniform(FIRST, LAST))
            bot.send_signal(signal.SIGKILL)
            await bot.wait()
            await asking
            print(f"matrix: {done + 1} kills, {time.monotonic() - started:.0f} s", flush=True)
            bot = await start()

        waiting = list(askers)

        async def answered() -> bool:
            for asker in list(waiting):
                if await home.messages(asker.room, bot_id, asker.token):
                    waiting.remove(asker)
                else:
                    return False
            return True

        with contextlib.suppress(AssertionError):  # counted as lost below
            await until_async(answered, "a reply to every asker", 600)
        bot.send_signal(signal.SIGTERM)
        await bot.wait()
        replies = [len(await home.messages(a.room, bot_id, a.token)) for a in askers]
        questions = len(askers)
        roots = [
            event
            for event in await timeline(home, experts_room, bot_id, owner.token)
            if "m.relates_to" not in event["content"]
        ]
    stored, per_question = routed(database_url)
    lost = max(sum(1 for n in replies if n == 0), questions - len(per_question))
    doubled = sum(n - 1 for n in per_question.values()) + max(0, stored - questions)
    return Tally(
        "matrix",
        questions,
        kills,
        lost,
        doubled,
        sum(n - 1 for n in replies if n > 1) + max(0, len(roots) - len(per_question)),
        time.monotonic() - started,
        starts[1:],
    )


async def timeline(home: Homeserver, room: str, sender: str, token: str) -> list[dict[str, Any]]:
    """Every message ``sender`` sent in the room, page after page from the homeserver."""
    found: list[dict[str, Any]] = []
    page = ""
    while True:
        path = f"/_matrix/client/v3/rooms/{quote(room)}/messages?dir=f&limit=500"
        answer = await home.call("GET", path + (f"&from={page}" if page else ""), token)
        chunk = answer.get("chunk", [])
        found += [e for e in chunk if e["sender"] == sender and e["type"] == "m.room.message"]
        if not chunk or "end" not in answer:
            return found
        page = answer["end"]


async def started_by(
    process: asyncio.subprocess.Process, ready: Callable[[], bool], errors: Path, first: bool
) -> None:
    """Wait until ``ready()``; fail at once, with the log's end, if the bot exits first."""
    deadline = time.monotonic() + (FIRST_START if first else 600)
    while not ready():
        if process.returncode is not None or time.monotonic() > deadline:
            tail = errors.read_text(encoding="utf-8", errors="replace")[-3000:]
            raise SystemExit(f"the bot did not start (exit {process.returncode}):\n{tail}")
        await asyncio.sleep(0.05)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kills", type=int, default=100, help="kills per channel")
    parser.add_argument("--channels", default="console,telegram")
    parser.add_argument("--seed", type=int, default=time.time_ns() % 10_000)
    parser.add_argument(
        "--minutes", type=float, default=0, help="Telegram, Matrix: stop killing after this"
    )
    args = parser.parse_args()
    if args.minutes > 0:
        budget["until"] = time.monotonic() + args.minutes * 60
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    chance = random.Random(args.seed)
    print(f"crash bench: {args.kills} kills per channel, seed {args.seed}")
    tallies = []
    for channel in args.channels.split(","):
        with tempfile.TemporaryDirectory(prefix=f"rrm-crash-{channel}-") as folder:
            if channel == "console":
                tallies.append(console_run(Path(folder), args.kills, chance))
            elif channel == "telegram":
                tallies.append(asyncio.run(telegram_run(Path(folder), args.kills, chance)))
            elif channel == "matrix":
                tallies.append(asyncio.run(matrix_run(Path(folder), args.kills, chance)))
            else:
                raise SystemExit(f"unknown channel {channel!r}: console, telegram or matrix")
    print()
    print(
        "| channel | questions | kills | lost | duplicated handling | duplicated replies "
        "| median start s | s |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for tally in tallies:
        print(tally.line())


if __name__ == "__main__":
    main()
