"""Kill the bot hundreds of times at random moments and count what was lost or doubled.

Usage: python bench/crash_bench.py [--kills 100] [--channels console,telegram] [--seed N]

Each channel runs the real bot as its own process on a new SQLite database, with every
question routed (so each has exactly one expected outcome), and SIGKILLs it ``--kills``
times, each at a random moment between 0.2 and 2 s after it was ready, restarting it each
time; then it lets the last run finish and counts:

- console: a script of askers' questions (``tests/fakes/console_process.py``, as
  ``tests/reliability/test_crash.py``), restarted on the same script after each kill;
- telegram: ``rrm run`` against the Bot API fake (``tests/fakes/telegram_server.py``); in
  each round a few askers write while the kill falls, so kills land while updates are
  polled, stored, handled and replies sent.

Printed per channel: questions, kills, lost (a question never routed, or an asker never
answered), duplicated handling (a question routed more than once, or opened twice),
duplicated replies (the same message sent twice to the same chat). The README's guarantee:
no loss and no duplicate anywhere, except on Telegram a reply in flight at a kill (so at
most one duplicated reply per kill there).
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
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import func, select  # noqa: E402

from bot.ground.storage.database import Database  # noqa: E402
from bot.ground.storage.models import Event, Question  # noqa: E402
from tests.fakes.console_script import write_config, write_questions  # noqa: E402
from tests.fakes.telegram_server import FakeBotApi, TelegramUser  # noqa: E402
from tests.reliability.test_crash import start_bot  # noqa: E402
from tests.reliability.test_telegram_crash import (  # noqa: E402
    GROUP,
    TOKEN,
    start_rrm,
    telegram_config,
    until,
)

QUESTIONS_PER_KILL = 4
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

    def line(self) -> str:
        """One row of the results table."""
        return (
            f"| {self.channel} | {self.questions} | {self.kills} | {self.lost} | "
            f"{self.doubled_handling} | {self.doubled_replies} | {self.seconds:.0f} |"
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

        bot = None
        for done in range(kills + 1):
            polls = len(server.attempts("getUpdates"))
            bot = await start_rrm(config, errors)
            await until(lambda p=polls: len(server.attempts("getUpdates")) > p, "polling", 300)
            if done == kills:
                break
            # This round's askers write while the kill may fall: before, during or after.
            group = askers[done * QUESTIONS_PER_KILL : (done + 1) * QUESTIONS_PER_KILL]
            asking = asyncio.create_task(ask(group))
            await asyncio.sleep(chance.uniform(FIRST, LAST))
            bot.send_signal(signal.SIGKILL)
            await bot.wait()
            await asking
            print(f"telegram: {done + 1} kills", end="\r", flush=True)
        assert bot is not None

        def answered() -> bool:
            return all(server.sent(chat_id=asker.id) for asker in askers)

        with contextlib.suppress(AssertionError):  # counted as lost below
            await until(answered, "a reply to every asker", 600)
        bot.send_signal(signal.SIGTERM)
        await bot.wait()
        replies = collections.Counter((c.params["chat_id"], c.text) for c in server.sent())
        unanswered = sum(1 for asker in askers if not server.sent(chat_id=asker.id))
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
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kills", type=int, default=100, help="kills per channel")
    parser.add_argument("--channels", default="console,telegram")
    parser.add_argument("--seed", type=int, default=time.time_ns() % 10_000)
    args = parser.parse_args()
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
            else:
                raise SystemExit(f"unknown channel {channel!r}: console or telegram")
    print()
    print("| channel | questions | kills | lost | duplicated handling | duplicated replies | s |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for tally in tallies:
        print(tally.line())


if __name__ == "__main__":
    main()
