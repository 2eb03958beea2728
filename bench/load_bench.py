"""Load test: N askers' questions through the console channel, as fast as the bot takes them.

Usage: python bench/load_bench.py [--questions 10000] [--database URL] [--fiches N] [--route]
       python bench/load_bench.py --processes 1|2 --database postgresql://… [--questions N]

Runs the real Application (SQLite in a temporary folder unless --database is given, the real
model, the sample fiches) on a ConsoleChannel whose input never waits: the console hands the
next line over as soon as the bot has handled the previous one and sent its replies, so the
rate measured is the highest one the bot holds. Every question comes from its own asker and
has its own text. Reports throughput, the latency from a line's arrival to the bot's first
reply (median, p90, p99, max), peak memory, and checks that nothing was lost: one question
row, and exactly one reply, per asker, and no message left unsent.

With ``--processes P``, P real ``rrm run`` processes share one database (PostgreSQL, in a
new schema dropped afterwards; see docs/operations.md): the questions arrive at once through
the Telegram Bot API fake (tests/fakes/telegram_server.py, no rate limits), one process
receives and sends, all of them handle, and the clock runs from the first question sent to
every asker's first reply. Run it with 1 and with 2 to compare.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import io
import os
import resource
import shutil
import signal
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, func, select, text  # noqa: E402

from bot.app import Application  # noqa: E402
from bot.channels.console import ConsoleChannel  # noqa: E402
from ground.config import DatabaseConfig, load_config  # noqa: E402
from ground.storage.database import Database, normalise_url  # noqa: E402
from ground.storage.models import InboxEvent, OutboxMessage, Question  # noqa: E402
from handlers.events import Delivery, Sent  # noqa: E402

PLACES = [
    "Alba",
    "Braga",
    "Cluj",
    "Drama",
    "Évora",
    "Fermo",
    "Gniezno",
    "Haskovo",
    "Kassel",
    "Lleida",
    "Mantova",
    "Nitra",
    "Ourense",
    "Pleven",
    "Sibiu",
    "Trento",
    "Viseu",
]
SUBJECTS = [
    "fund apprenticeships in small craft firms",
    "train in-company tutors for dual VET",
    "monitor young people after they leave vocational school",
    "reach early school leavers in mountain villages",
    "anticipate the skills local employers will need",
    "apply for an Erasmus+ partnership on adult learning",
    "validate skills people learned outside school",
    "set up a blended learning platform for VET teachers",
]


def question(number: int) -> str:
    place = PLACES[number % len(PLACES)]
    subject = SUBJECTS[(number // len(PLACES)) % len(SUBJECTS)]
    return f"How could {place} {subject}, for about {100 + number} people a year?"


class TimedConsole(ConsoleChannel):
    """The console channel, noting when each asker's first reply is sent."""

    def __init__(self, lines: AsyncIterator[str], arrived: dict[str, float]) -> None:
        super().__init__(lines, io.StringIO(), {})
        self.arrived = arrived
        self.first_reply: dict[str, float] = {}
        self.replies: dict[str, int] = {}

    async def send(self, delivery: Delivery) -> Sent:
        """Send as the console does, and note the time of each asker's first reply."""
        sent = await super().send(delivery)
        if delivery.chat_id is not None:
            self.first_reply.setdefault(delivery.chat_id, time.perf_counter())
            self.replies[delivery.chat_id] = self.replies.get(delivery.chat_id, 0) + 1
        return sent


async def lines(count: int, arrived: dict[str, float]) -> AsyncIterator[str]:
    for number in range(1, count + 1):
        asker = f"asker{number}"
        yield f"/as {asker}\n"
        arrived[asker] = time.perf_counter()
        yield question(number) + "\n"


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


async def run(args: argparse.Namespace) -> int:
    folder = Path(tempfile.mkdtemp(prefix="rrm-load-"))
    config = load_config(ROOT / "config.example.toml", environ={})
    url = args.database or f"sqlite:///{folder / 'load.db'}"
    collection = ROOT / "fiches"
    if args.fiches:
        collection = folder / "fiches"
        for fiche in sorted(p for p in (ROOT / "fiches").iterdir() if p.is_dir())[: args.fiches]:
            shutil.copytree(fiche, collection / fiche.name)
    config = dataclasses.replace(
        config,
        database=DatabaseConfig(url=url),
        knowledge=dataclasses.replace(config.knowledge, collection=str(collection)),
        access=dataclasses.replace(config.access, questions_per_minute=0),
    )
    if args.route:
        # No fiche answers alone: every question takes the longer way to the experts.
        knowledge = dataclasses.replace(config.knowledge, answer_confidence=1.0)
        config = dataclasses.replace(config, knowledge=knowledge)
    arrived: dict[str, float] = {}
    console = TimedConsole(lines(args.questions, arrived), arrived)
    app = Application(config, [console])
    started = time.perf_counter()
    await app.start()
    ready = time.perf_counter()
    print(f"start-up (database, fiches, model): {ready - started:.1f} s", flush=True)
    await console.finished.wait()
    done = time.perf_counter()
    await app.stop()
    assert app.database is not None
    database = type(app.database)(url)
    with database.sessions() as session:
        questions = session.scalar(select(func.count()).select_from(Question))
        unsent = session.scalar(
            select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status != "sent")
        )
        decisions = dict(
            session.execute(
                select(Question.decision, func.count()).group_by(Question.decision)
            ).all()
        )
    database.dispose()
    latencies = [console.first_reply[a] - arrived[a] for a in arrived if a in console.first_reply]
    lost = [a for a in arrived if console.replies.get(a) != 1]
    elapsed = done - ready
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"questions: {args.questions} in {elapsed:.1f} s = {args.questions / elapsed:.1f} per s")
    print(
        "latency to first reply (ms): "
        f"median {statistics.median(latencies) * 1000:.0f}, "
        f"p90 {percentile(latencies, 0.9) * 1000:.0f}, "
        f"p99 {percentile(latencies, 0.99) * 1000:.0f}, max {max(latencies) * 1000:.0f}"
    )
    print(f"decisions: {decisions}")
    print(f"peak memory (RSS): {peak_mb:.0f} MB")
    print(
        f"nothing lost: {questions == args.questions and not lost and unsent == 0} "
        f"(questions stored {questions}, askers without exactly one reply {len(lost)}, "
        f"unsent messages {unsent})"
    )
    if not args.database:
        shutil.rmtree(folder)
    return 0 if questions == args.questions and not lost and unsent == 0 else 1


TOKEN = "123456789:AAHbenchTokenForTheFakeServer_x"
GROUP = -1001234567890


def process_config(folder: Path, url: str, base_url: str, args: argparse.Namespace) -> Path:
    """The example config on ``url``, Telegram on the fake server, the console off."""
    from tests.fakes.console_script import set_line, telegram_section

    text = (ROOT / "config.example.toml").read_text(encoding="utf-8")
    fiches = ROOT / "fiches"
    if args.fiches:
        fiches = folder / "fiches"
        for fiche in sorted(p for p in (ROOT / "fiches").iterdir() if p.is_dir())[: args.fiches]:
            shutil.copytree(fiche, fiches / fiche.name)
    replacements = [
        (r'(?m)^url = ".*"$', f'url = "{url}"'),
        (r'(?m)^collection = ".*"$', f'collection = "{fiches}"'),
        (r"(?m)^questions_per_minute = .*$", "questions_per_minute = 0"),
        (r'(?m)^taxonomy = ".*"$', f'taxonomy = "{ROOT / "topics"}"'),
    ]
    if args.route:
        replacements.append((r"(?m)^answer_confidence = .*$", "answer_confidence = 1.0"))
    for pattern, value in replacements:
        text = set_line(text, pattern, value)
    path = folder / "config.toml"
    path.write_text(telegram_section(text, base_url, TOKEN, GROUP), encoding="utf-8")
    return path


@contextlib.contextmanager
def fresh_schema(server: str) -> Iterator[str]:
    """A new schema on the PostgreSQL at ``server``, dropped afterwards: its URL."""
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(normalise_url(server))
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in server else "?"
    try:
        yield f"{server}{separator}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


async def run_processes(args: argparse.Namespace) -> int:
    from bench.telegram_bench import answered
    from tests.fakes.telegram_server import FakeBotApi, TelegramUser

    folder = Path(tempfile.mkdtemp(prefix="rrm-load-"))
    with fresh_schema(args.database) as url:
        async with FakeBotApi(TOKEN, GROUP) as server:
            config_path = process_config(folder, url, server.base_url, args)
            # Schema and fiches once, before the processes start (each would race to import).
            seeding = Application(load_config(config_path, environ={}), [])
            await seeding.start()
            await seeding.stop()
            environment = {**os.environ, "OMP_NUM_THREADS": "1"}
            logs = [(folder / f"process-{n}.log").open("w") for n in range(args.processes)]
            bots = [
                await asyncio.create_subprocess_exec(
                    sys.executable,
                    "-m",
                    "bot.cli",
                    "--config",
                    str(config_path),
                    "run",
                    cwd=ROOT,
                    stdout=asyncio.subprocess.DEVNULL,
                    stderr=log,
                    env=environment,
                )
                for log in logs
            ]
            try:
                await server.wait_for(
                    lambda: server.attempts("getUpdates"), timeout=300, what="polling"
                )
                # Every process up: each logs its channel's start.
                await wait_until(
                    lambda: all("telegram: polling" in log_text(log) for log in logs), 300
                )
                askers = [TelegramUser(900_000 + n, f"Asker{n}") for n in range(args.questions)]
                started = time.perf_counter()
                for number, asker in enumerate(askers, start=1):
                    await server.private_text(asker, question(number))
                elapsed = await answered(server, askers, started)
            finally:
                for bot in bots:
                    bot.send_signal(signal.SIGTERM)
                codes = [await bot.wait() for bot in bots]
                for log in logs:
                    log.close()
        database = Database(url)
        with database.sessions() as session:
            questions = session.scalar(select(func.count()).select_from(Question))
            handled_by = session.execute(
                select(InboxEvent.claimed_by, func.count()).group_by(InboxEvent.claimed_by)
            ).all()
        database.dispose()
    shares = sorted(count for _, count in handled_by)
    print(
        f"processes: {args.processes}; questions: {args.questions} in {elapsed:.1f} s = "
        f"{args.questions / elapsed:.1f} per s (first sent to every first reply)"
    )
    print(f"events handled per process: {shares}; exit codes {codes}")
    print(f"questions stored: {questions}")
    if not args.keep:
        shutil.rmtree(folder, ignore_errors=True)
    else:
        print(f"logs kept in {folder}")
    return 0 if questions == args.questions and codes == [0] * len(bots) else 1


def log_text(log: io.TextIOWrapper) -> str:
    log.flush()
    return Path(log.name).read_text(encoding="utf-8")


async def wait_until(condition: Callable[[], bool], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("the processes did not start")
        await asyncio.sleep(0.2)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=int, default=10_000)
    parser.add_argument("--database", help="a database URL (default: a fresh SQLite file)")
    parser.add_argument("--fiches", type=int, default=0, help="use only the first N sample fiches")
    parser.add_argument("--route", action="store_true", help="route every question to experts")
    parser.add_argument(
        "--processes",
        type=int,
        default=0,
        help="run P rrm processes on the Telegram fake (PostgreSQL --database needed)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the processes' logs")
    args = parser.parse_args()
    if args.processes:
        if not (args.database or "").startswith("postgresql"):
            parser.error("--processes needs --database postgresql://… (SQLite takes one process)")
        return asyncio.run(run_processes(args))
    return asyncio.run(run(args))


if __name__ == "__main__":
    sys.exit(main())
