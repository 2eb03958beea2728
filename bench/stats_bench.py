"""Benchmark `rrm stats` on a large history: 1,000,000 questions on SQLite and PostgreSQL.

Usage: python bench/stats_bench.py [--questions 1000000] [--postgresql URL] [--runs 3]
       python bench/stats_bench.py --fill URL [--questions N]   (fill a database and keep it)
       python bench/stats_bench.py --existing URL [--runs 3]   (the questions page only)

1. Generates ``--questions`` questions evenly over the past year, in time order as the bot
   stores them (a third answered from fiches, the rest routed to the example config's
   experts, with first responses, resolutions, ratings, reminders and escalations; about
   about 11% stay open, some 115,000 open questions) and bulk-inserts them:
   executemany on SQLite, COPY on PostgreSQL (in a fresh schema dropped at the end).
2. Fills the stored durations of every routed question (the steady state: `rrm stats`
   computes each question's durations once), and times that first fill.
3. Times the figures of `rrm stats` (default 30 days, and the whole year), overall and by
   each breakdown, taking the median of ``--runs`` runs, and one whole `rrm stats` command
   in-process.
4. Times the dashboard's questions page (the whole HTTP request through the app, logged in):
   the newest questions and a deep page, text searches (one, two and three common words, one
   letter, a rare word, a word found nowhere, a deep page), a number, the asker's
   organisation, and each filter; then, in each order the list offers (newest, oldest, next
   deadline), searches, filters, both together and deep pages. ``--questions-only`` skips
   step 3.

Question texts are made of a small policy vocabulary (a common word is in about a quarter
of them) with one of 2,000 place names in one question in twenty (a place name is in about
25 of a million).
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import datetime as dt
import io
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, text  # noqa: E402

from bot.assembly import open_database  # noqa: E402
from bot.cli import main  # noqa: E402
from ground.clock import FixedClock  # noqa: E402
from ground.config import Config, DatabaseConfig, load_config  # noqa: E402
from ground.storage.database import Database  # noqa: E402
from ground.storage.models import Person  # noqa: E402
from handlers.directory import sync_directory  # noqa: E402
from handlers.stats import compute, parse_period  # noqa: E402
from handlers.stats.durations import refresh_durations  # noqa: E402

NOW = dt.datetime(2026, 11, 27, 12, 0, tzinfo=dt.UTC)
CHANNELS = ["telegram", "matrix", "console"]
QUESTION_COLUMNS = (
    "asker_id, channel, text, language, topic, topic_confidence, status, decision, "
    "partner_id, priority, created_at, routed_at, first_response_at, first_response_due, "
    "resolution_due, resolved_at, helpful"
)


WORDS = [
    "apprenticeship",
    "funding",
    "rural",
    "youth",
    "training",
    "regional",
    "indicators",
    "monitoring",
    "guidance",
    "digital",
    "trainers",
    "tutors",
    "small",
    "firms",
    "crafts",
    "employers",
    "skills",
    "needs",
    "partnership",
    "erasmus",
    "esf",
    "cooperation",
    "school",
    "dropout",
    "adult",
    "learning",
    "validation",
    "qualifications",
    "municipality",
    "budget",
    "evaluation",
    "platform",
    "blended",
    "mentoring",
    "tourism",
    "agriculture",
    "island",
    "mountain",
    "evidence",
    "survey",
    "labour",
    "market",
    "chamber",
    "university",
]
PLACES = [
    f"{name}{n}" for name in ("Lot", "Crete", "Torino", "Asturias", "Krakow") for n in range(400)
]


def _text(rng: random.Random) -> str:
    """A question of 8 to 20 words, one in twenty naming one of 2,000 places."""
    words = [rng.choice(WORDS) for _ in range(rng.randint(8, 20))]
    if rng.random() < 0.05:
        words.insert(rng.randint(0, len(words)), rng.choice(PLACES))
    words[0] = words[0].capitalize()
    return " ".join(words) + "?"


def generate(config: Config, experts: dict[str, int], asker: int, count: int, seed: int = 7):  # type: ignore[no-untyped-def]
    """Rows of questions, and for routed ones the primary expert; ids are 1..count in order."""
    rng = random.Random(seed)
    topics = [t.id for t in config.topics]
    languages = list(config.languages.supported)
    staff = [(e.id, e.partner) for e in config.experts]
    hour = dt.timedelta(hours=1)
    year = 365 * 86400
    for number in range(1, count + 1):
        # Questions arrive in time order, as they do in the bot: ids grow with created_at.
        created = NOW - dt.timedelta(seconds=year * (count - number) / count)
        topic = rng.choice(topics) if rng.random() > 0.05 else None
        language = rng.choice(languages)
        channel = rng.choice(CHANNELS)
        if rng.random() < 0.33:
            resolved = created + 0.1 * hour if rng.random() < 0.6 else None
            row = (
                asker,
                channel,
                _text(rng),
                language,
                topic,
                0.5,
                "resolved" if resolved else "offered",
                "answer",
                None,
                "normal",
                created,
                None,
                None,
                None,
                None,
                resolved,
                True if resolved else None,
            )
            yield number, row, None
            continue
        expert, partner = rng.choice(staff)
        first = created + rng.uniform(0.2, 60) * hour if rng.random() < 0.92 else None
        if first and first > NOW:
            first = None
        resolved = None
        if first and rng.random() < 0.9:
            resolved = first + rng.uniform(0.5, 90) * hour
            resolved = resolved if resolved < NOW else None
        status = "resolved" if resolved else ("answered" if first else "open")
        helpful = rng.random() < 0.8 if resolved and rng.random() < 0.4 else None
        row = (
            asker,
            channel,
            _text(rng),
            language,
            topic,
            0.5,
            status,
            "route",
            partner,
            "normal",
            created,
            created,
            first,
            created + 24 * hour,
            created + 72 * hour,
            resolved,
            helpful,
        )
        yield number, row, experts[expert]


def sqlite_time(value: object) -> object:
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    return value


def fill(database: Database, config: Config, count: int) -> float:
    """Insert the generated history; return the seconds it took."""
    with database.sessions.begin() as session:
        sync_directory(session, config, NOW - dt.timedelta(days=400))
        experts = {p.config_id: p.id for p in session.query(Person) if p.config_id}
        asker = Person(
            role="asker", display_name="Asker", organisation="Chambre des métiers", created_at=NOW
        )
        session.add(asker)
        session.flush()
        asker_id = asker.id
    started = time.perf_counter()
    rows = generate(config, experts, asker_id, count)  # type: ignore[arg-type]
    raw = database.engine.raw_connection()
    try:
        cursor = raw.cursor()
        if database.backend == "sqlite":
            cursor.execute("BEGIN")  # the connection is in autocommit mode (see database.py)
            # A bulk load: the search index's triggers (migration 0008) wait, the index is
            # rebuilt once at the end (row by row, the load takes several times longer).
            triggers = cursor.execute(
                "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' "
                "AND name LIKE 'questions_search_%'"
            ).fetchall()
            for name, _ in triggers:
                cursor.execute(f"DROP TRIGGER {name}")
            _fill_sqlite(cursor, rows)
            if triggers:
                cursor.execute("INSERT INTO questions_search(questions_search) VALUES ('rebuild')")
            for _, sql in triggers:
                cursor.execute(sql)
        else:
            _fill_postgresql(cursor, rows)
        raw.commit()
    finally:
        raw.close()
    with database.engine.begin() as connection:
        connection.execute(text("ANALYZE"))
    return time.perf_counter() - started


def _chunks(rows, size: int = 50_000) -> Iterator[list]:  # type: ignore[no-untyped-def, type-arg]
    chunk = []
    for row in rows:
        chunk.append(row)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _events(number: int, row: tuple, rng: random.Random) -> list[tuple]:  # type: ignore[type-arg]
    if row[7] != "route" or rng.random() > 0.1:
        return []
    found = [(number, "reminder", "{}", row[13] - dt.timedelta(hours=4))]
    if rng.random() < 0.3:
        found.append((number, "escalation", "{}", row[13]))
    return found


def _fill_sqlite(cursor, rows) -> None:  # type: ignore[no-untyped-def]
    rng = random.Random(3)
    marks = ", ".join("?" * 17)
    for chunk in _chunks(rows):
        cursor.executemany(
            f"INSERT INTO questions (id, {QUESTION_COLUMNS}) VALUES (?, {marks})",
            [(n, *map(sqlite_time, row)) for n, row, _ in chunk],
        )
        cursor.executemany(
            "INSERT INTO assignments (question_id, person_id, role, active, created_at) "
            "VALUES (?, ?, 'primary', ?, ?)",
            [(n, who, row[6] != "resolved", sqlite_time(row[10])) for n, row, who in chunk if who],
        )
        cursor.executemany(
            "INSERT INTO events (question_id, kind, detail, created_at) VALUES (?, ?, ?, ?)",
            [
                (n, kind, detail, sqlite_time(when))
                for n, row, _ in chunk
                for n, kind, detail, when in _events(n, row, rng)
            ],
        )


def _fill_postgresql(cursor, rows) -> None:  # type: ignore[no-untyped-def]
    rng = random.Random(3)
    assignments, events = [], []
    with cursor.copy(f"COPY questions (id, {QUESTION_COLUMNS}) FROM STDIN") as copy:
        for number, row, who in rows:
            copy.write_row((number, *row))
            if who:
                assignments.append((number, who, "primary", row[6] != "resolved", row[10]))
            events += _events(number, row, rng)
    with cursor.copy(
        "COPY assignments (question_id, person_id, role, active, created_at) FROM STDIN"
    ) as copy:
        for item in assignments:
            copy.write_row(item)
    with cursor.copy("COPY events (question_id, kind, detail, created_at) FROM STDIN") as copy:
        for item in events:
            copy.write_row(item)
    cursor.execute("SELECT setval('questions_id_seq', (SELECT max(id) FROM questions))")


# The pages timed in the list's default order (newest first).
PAGES = [
    ("newest, no filter", {}),
    ("newest, page 1000", {"page": "1000"}),
    ("text search, a common word", {"q": "apprenticeship"}),
    ("text search, two words", {"q": "rural apprenticeship"}),
    ("text search, three words", {"q": "rural apprenticeship funding"}),
    ("text search, a one-letter start", {"q": "a"}),
    ("text search, a place name", {"q": "torino123"}),
    ("text search, found nowhere", {"q": "nowhere-to-be-found"}),
    ("common word, page 100", {"q": "apprenticeship", "page": "100"}),
    ("two words and status open", {"q": "rural apprenticeship", "status": "open"}),
    ("a question number", {"q": "#500000"}),
    ("the asker's organisation", {"q": "chambre des"}),
    ("status open", {"status": "open"}),
    ("topic", {"topic": "rural-youth-inclusion"}),
    ("language", {"language": "el"}),
    ("partner", {"partner": "kedivim"}),
    ("expert", {"expert": "claire"}),
    ("period (30 days)", {"from": "2026-10-28", "to": "2026-11-27"}),
    ("partner and status", {"partner": "kedivim", "status": "open"}),
    ("overdue, next deadline first", {"overdue": "1", "sort": "due"}),
    ("no fiche answered (gaps)", {"gap": "1"}),
]
# Every order the list offers, each timed on the pages below.
SORTED = [("newest", "newest first"), ("oldest", "oldest first"), ("due", "next deadline")]
EVERY_ORDER = [
    ("no filter", {}),
    ("page 1000", {"page": "1000"}),
    ("a common word", {"q": "apprenticeship"}),
    ("a common word, page 100", {"q": "apprenticeship", "page": "100"}),
    ("two words", {"q": "rural apprenticeship"}),
    ("two words, page 100", {"q": "rural apprenticeship", "page": "100"}),
    ("three words", {"q": "rural apprenticeship funding"}),
    ("one letter", {"q": "a"}),
    ("a place name", {"q": "torino123"}),
    ("status open", {"status": "open"}),
    ("status open, page 100", {"status": "open", "page": "100"}),
    ("partner and status", {"partner": "kedivim", "status": "open"}),
    ("expert", {"expert": "claire"}),
    ("period (30 days)", {"from": "2026-10-28", "to": "2026-11-27"}),
    ("overdue", {"overdue": "1"}),
    ("no fiche answered (gaps)", {"gap": "1"}),
    ("common word and status open", {"q": "apprenticeship", "status": "open"}),
    ("two words and status open", {"q": "rural apprenticeship", "status": "open"}),
    (
        "two words and status open, last page",
        {"q": "rural apprenticeship", "status": "open", "page": "85"},
    ),
    ("common word and partner", {"q": "apprenticeship", "partner": "kedivim"}),
    (
        "common word and partner, page 100",
        {"q": "apprenticeship", "partner": "kedivim", "page": "100"},
    ),
    ("common word and language", {"q": "apprenticeship", "language": "el"}),
    ("common word, 30 days", {"q": "apprenticeship", "from": "2026-10-28", "to": "2026-11-27"}),
    ("common word and overdue", {"q": "apprenticeship", "overdue": "1"}),
    ("period (ten months), page 30", {"from": "2026-01-28", "to": "2026-11-27", "page": "30"}),
    (
        "common word, ten months, page 30",
        {"q": "apprenticeship", "from": "2026-01-28", "to": "2026-11-27", "page": "30"},
    ),
]


def timed(action, runs: int) -> float:  # type: ignore[no-untyped-def]
    seconds = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        seconds.append(time.perf_counter() - started)
    return statistics.median(seconds)


def measure_questions(config: Config, database: Database, runs: int) -> None:
    """Time the dashboard's questions page, the whole request through the app."""
    from starlette.testclient import TestClient

    from bot.dashboard import create_app
    from ground.storage.dashboard_accounts import add_account

    config = dataclasses.replace(
        config, dashboard=dataclasses.replace(config.dashboard, secret="bench-secret-0123456789")
    )
    name = f"bench-{uuid.uuid4().hex[:8]}"  # a database measured again keeps earlier ones
    with database.sessions.begin() as session:
        add_account(session, name, "bench password", NOW)
    client = TestClient(create_app(config, database, FixedClock(NOW)))
    form = client.get("/login").text
    token = form.split('name="csrf" value="', 1)[1].split('"', 1)[0]
    client.post("/login", data={"name": name, "password": "bench password", "csrf": token})
    for name, params in PAGES + [
        (f"{label}: {name}", {**params, "sort": sort})
        for sort, label in SORTED
        for name, params in EVERY_ORDER
    ]:
        response = client.get("/questions", params=params)
        assert response.status_code == 200, response.text[:500]
        found = response.text.split("<h2>Questions (", 1)[1].split(" found)", 1)[0]

        def run(params=params) -> None:  # type: ignore[no-untyped-def]
            client.get("/questions", params=params)

        print(f"  questions page, {name:44} {timed(run, runs):7.3f} s  ({found})")


def measure(
    config: Config, count: int, runs: int, label: str, *, questions_only: bool = False
) -> None:
    database = open_database(config)
    print(f"\n{label}: {count:,} questions")
    print(f"  bulk insert                      {fill(database, config, count):7.1f} s")
    measure_questions(config, database, runs)
    if questions_only:
        database.dispose()
        return
    year = parse_period(NOW, "365d")
    started = time.perf_counter()
    with database.sessions.begin() as session:
        filled = refresh_durations(session, year)
    print(f"  first fill of {filled:,} durations  {time.perf_counter() - started:7.1f} s")
    every = [None, "partner", "expert", "topic", "language", "channel", "week"]
    for name, days, breakdowns in [
        ("30 days", "30d", every),
        ("365 days", "365d", [None, "topic"]),
    ]:
        period = parse_period(NOW, days)
        for by in breakdowns:

            def run(period=period, by=by) -> None:  # type: ignore[no-untyped-def]
                with database.sessions.begin() as session:
                    compute(session, config, period, NOW, by)

            print(f"  figures, {name:8} by {by or 'nothing':9} {timed(run, runs):7.3f} s")
    database.dispose()
    with contextlib.redirect_stdout(io.StringIO()):
        import bot.cli_stats

        bot.cli_stats.CLOCK = FixedClock(NOW)
        path = Path(config.path)
        import os

        os.environ["RRM_DATABASE_URL"] = config.database.url
        whole = timed(lambda: main(["--config", str(path), "stats"]), runs)
    print(f"  `rrm stats` (30 days), whole command in-process {whole:7.3f} s")


def main_bench() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--postgresql", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--skip-postgresql", action="store_true")
    parser.add_argument("--skip-sqlite", action="store_true")
    parser.add_argument(
        "--questions-only", action="store_true", help="time only the dashboard's questions page"
    )
    parser.add_argument(
        "--existing",
        metavar="URL",
        help="time the questions page on a database this bench filled before (brought up to "
        "date first), instead of filling new ones",
    )
    parser.add_argument(
        "--fill",
        metavar="URL",
        help="fill a new database (brought up to date first) with --questions questions and "
        "keep it, for --existing",
    )
    args = parser.parse_args()
    base = load_config(ROOT / "config.example.toml", environ={})
    if args.fill:
        config = dataclasses.replace(base, database=DatabaseConfig(url=args.fill))
        database = open_database(config)
        print(f"{args.fill}: {args.questions:,} questions")
        print(f"  bulk insert                      {fill(database, config, args.questions):7.1f} s")
        database.dispose()
        return
    if args.existing:
        config = dataclasses.replace(base, database=DatabaseConfig(url=args.existing))
        database = open_database(config)
        print(f"\n{args.existing}")
        measure_questions(config, database, args.runs)
        database.dispose()
        return
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'bench.db'}"
        if not args.skip_sqlite:
            measure(
                dataclasses.replace(base, database=DatabaseConfig(url=url)),
                args.questions,
                args.runs,
                "SQLite",
                questions_only=args.questions_only,
            )
    if args.skip_postgresql:
        return
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(args.postgresql.replace("postgresql://", "postgresql+psycopg://", 1))
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        url = f"{args.postgresql}?options=-csearch_path%3D{schema}"
        measure(
            dataclasses.replace(base, database=DatabaseConfig(url=url)),
            args.questions,
            args.runs,
            "PostgreSQL",
            questions_only=args.questions_only,
        )
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


if __name__ == "__main__":
    main_bench()
