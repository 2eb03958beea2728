"""Benchmark the deadline sweep: many open questions, some steps due; time per sweep and memory.

Usage: python bench/deadline_sweep_bench.py [--open 10000,100000] [--due 1000] [--repeat 3]
                                            [--postgres URL | --no-postgres]

For each size, fills a fresh database (SQLite in a temporary folder, then PostgreSQL in a
throw-away schema when a server answers at --postgres) with that many open routed questions,
each with its seven planned steps (two reminders, four escalations, the resolution
escalation), a thread, a primary and a mentioned expert, and makes ``--due`` reminders due.
Then it times the sweep that fires them (the real DeadlineKeeper: claim, load, write outbox
messages and events, commit), an idle sweep with nothing due, and the peak Python memory of a
sweep (tracemalloc, in a separate run so tracing does not slow the timed one).
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import statistics
import sys
import tempfile
import time
import tracemalloc
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, delete, insert, select, text, update  # noqa: E402

from ground.clock import FixedClock  # noqa: E402
from ground.config import Config, DatabaseConfig, load_config  # noqa: E402
from ground.storage.database import Database  # noqa: E402
from ground.storage.models import (  # noqa: E402
    Assignment,
    DeadlineStep,
    Event,
    Identity,
    OutboxMessage,
    Person,
    Question,
)
from handlers.deadlines import DeadlineKeeper  # noqa: E402
from handlers.directory import sync_directory  # noqa: E402
from handlers.i18n import Translator  # noqa: E402

NOW = dt.datetime(2026, 3, 10, 12, 0, tzinfo=dt.UTC)
ASKERS = 1000
CHUNK = 10_000
STEPS = [
    ("first_response", "reminder", 0, "primary"),
    ("first_response", "reminder", 1, "primary"),
    ("first_response", "escalation", 0, "primary"),
    ("first_response", "escalation", 1, "experts"),
    ("first_response", "escalation", 2, "lead"),
    ("first_response", "escalation", 3, "coordinators"),
    ("resolution", "escalation", 0, "coordinators"),
]


def fill(database: Database, config: Config, questions: int, due: int) -> None:
    """Insert ``questions`` open questions with their steps; ``due`` reminders are due."""
    with database.sessions.begin() as session:
        sync_directory(session, config, NOW)
        staff = {p.config_id: p.id for p in session.scalars(select(Person)) if p.config_id}
    claire, jonas = staff["claire"], staff["jonas"]
    with database.engine.begin() as connection:
        connection.execute(
            insert(Person),
            [
                dict(
                    role="asker",
                    display_name=f"asker {i}",
                    organisation="",
                    language="fr",
                    language_explicit=False,
                    away=False,
                    active=True,
                    created_at=NOW,
                )
                for i in range(ASKERS)
            ],
        )
        askers = list(connection.scalars(select(Person.id).where(Person.role == "asker")))
        connection.execute(
            insert(Identity),
            [
                dict(
                    person_id=a,
                    channel="console",
                    external_id=f"asker-{a}",
                    chat_id=f"asker-{a}",
                    display_name="",
                )
                for a in askers
            ],
        )
        routed = NOW - dt.timedelta(days=1)
        for start in range(0, questions, CHUNK):
            count = min(CHUNK, questions - start)
            connection.execute(
                insert(Question),
                [
                    dict(
                        asker_id=askers[(start + i) % len(askers)],
                        channel="console",
                        text=f"question {start + i}",
                        language="fr",
                        topic="work-based-learning",
                        topic_confidence=0.9,
                        status="open",
                        decision="route",
                        partner_id="cm-lot",
                        priority="normal",
                        created_at=routed,
                        routed_at=routed,
                        first_response_due=NOW + dt.timedelta(days=2),
                        resolution_due=NOW + dt.timedelta(days=9),
                    )
                    for i in range(count)
                ],
            )
            ids = list(
                connection.scalars(
                    select(Question.id).order_by(Question.id).offset(start).limit(count)
                )
            )
            connection.execute(
                insert(Assignment),
                [
                    dict(question_id=q, person_id=p, role=r, active=True, created_at=routed)
                    for q in ids
                    for p, r in ((claire, "primary"), (jonas, "mentioned"))
                ],
            )
            connection.execute(
                insert(OutboxMessage),
                [
                    dict(
                        channel="console",
                        target="space",
                        question_id=q,
                        opens_thread=True,
                        thread_title=f"#{q}",
                        text="question",
                        buttons=[],
                        mentions=[],
                        status="sent",
                        attempts=1,
                        created_at=routed,
                    )
                    for q in ids
                ],
            )
            connection.execute(
                insert(DeadlineStep),
                [
                    dict(
                        question_id=q,
                        clock=c,
                        kind=k,
                        step=s,
                        target=to,
                        state="pending",
                        late=False,
                        due_at=(
                            NOW - dt.timedelta(minutes=1)
                            if n == 0 and start + j < due
                            else NOW + dt.timedelta(days=1 + n, seconds=j)
                        ),
                    )
                    for j, q in enumerate(ids)
                    for n, (c, k, s, to) in enumerate(STEPS)
                ],
            )


def reset(database: Database) -> None:
    """Make the fired steps pending again and drop what the sweep wrote."""
    with database.engine.begin() as connection:
        connection.execute(
            update(DeadlineStep)
            .where(DeadlineStep.state != "pending")
            .values(state="pending", fired_at=None, claimed_by=None, late=False)
        )
        connection.execute(delete(Event))
        connection.execute(delete(OutboxMessage).where(OutboxMessage.opens_thread.is_(False)))


def measure(url: str, config: Config, questions: int, due: int, repeat: int) -> dict[str, float]:
    database = Database(url)
    database.upgrade()
    started = time.perf_counter()
    fill(database, config, questions, due)
    filled = time.perf_counter() - started
    keeper = DeadlineKeeper(
        config=dataclasses.replace(config, database=DatabaseConfig(url=url)),
        sessions=database.sessions,
        clock=FixedClock(NOW),
        texts=Translator(config.languages.supported),
        channels=("console",),
        worker="bench",
    )
    keeper.fire_due()  # warm: compile statements, load catalogs, fill caches
    times = []
    for _ in range(repeat):
        reset(database)
        started = time.perf_counter()
        fired = keeper.fire_due()
        times.append(time.perf_counter() - started)
        assert fired == due, (fired, due)
    started = time.perf_counter()
    assert keeper.fire_due() == 0
    idle = time.perf_counter() - started
    reset(database)
    tracemalloc.start()
    keeper.fire_due()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    database.dispose()
    return {
        "fill_s": filled,
        "sweep_median_s": statistics.median(times),
        "sweep_max_s": max(times),
        "idle_sweep_ms": idle * 1000,
        "peak_mib": peak / 2**20,
    }


def postgres_schema(server: str) -> tuple[str, str] | None:
    """A fresh schema on the server, or None if it does not answer."""
    admin = create_engine(
        server.replace("postgresql://", "postgresql+psycopg://", 1),
        connect_args={"connect_timeout": 3},
    )
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    try:
        with admin.begin() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    except Exception as error:  # any connection failure means "no PostgreSQL here"
        print(f"PostgreSQL skipped: {server} does not answer ({type(error).__name__})")
        return None
    finally:
        admin.dispose()
    separator = "&" if "?" in server else "?"
    return f"{server}{separator}options=-csearch_path%3D{schema}", schema


def drop_schema(server: str, schema: str) -> None:
    admin = create_engine(server.replace("postgresql://", "postgresql+psycopg://", 1))
    with admin.begin() as connection:
        connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--open", default="10000,100000", help="open questions, comma-separated")
    parser.add_argument("--due", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()
    config = load_config(ROOT / "config.example.toml", environ={})
    sizes = [int(size) for size in args.open.split(",")]
    print(
        f"{'database':10} {'open':>8} {'due':>5} {'fill s':>7} {'sweep median s':>15} "
        f"{'max s':>6} {'idle ms':>8} {'peak MiB':>9}"
    )
    for size in sizes:
        targets: list[tuple[str, str, str | None]] = []
        folder = tempfile.TemporaryDirectory()
        targets.append(("sqlite", f"sqlite:///{folder.name}/bench.db", None))
        if not args.no_postgres and (found := postgres_schema(args.postgres)):
            targets.append(("postgresql", found[0], found[1]))
        for name, url, schema in targets:
            try:
                row = measure(url, config, size, args.due, args.repeat)
            finally:
                if schema:
                    drop_schema(args.postgres, schema)
            print(
                f"{name:10} {size:>8} {args.due:>5} {row['fill_s']:>7.1f} "
                f"{row['sweep_median_s']:>15.3f} {row['sweep_max_s']:>6.3f} "
                f"{row['idle_sweep_ms']:>8.1f} {row['peak_mib']:>9.1f}",
                flush=True,
            )
        folder.cleanup()


if __name__ == "__main__":
    main()
