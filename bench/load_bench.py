"""Load test: N askers' questions through the console channel, as fast as the bot takes them.

Usage: python bench/load_bench.py [--questions 10000] [--database URL] [--fiches N] [--route]

Runs the real Application (SQLite in a temporary folder unless --database is given, the real
model, the sample fiches) on a ConsoleChannel whose input never waits: the console hands the
next line over as soon as the bot has handled the previous one and sent its replies, so the
rate measured is the highest one the bot holds. Every question comes from its own asker and
has its own text. Reports throughput, the latency from a line's arrival to the bot's first
reply (median, p90, p99, max), peak memory, and checks that nothing was lost: one question
row, and exactly one reply, per asker, and no message left unsent.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import io
import resource
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import func, select  # noqa: E402

from bot.app import Application  # noqa: E402
from bot.channels.console import ConsoleChannel  # noqa: E402
from bot.ground.config import DatabaseConfig, load_config  # noqa: E402
from bot.ground.storage.models import OutboxMessage, Question  # noqa: E402
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=int, default=10_000)
    parser.add_argument("--database", help="a database URL (default: a fresh SQLite file)")
    parser.add_argument("--fiches", type=int, default=0, help="use only the first N sample fiches")
    parser.add_argument("--route", action="store_true", help="route every question to experts")
    return asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    sys.exit(main())
