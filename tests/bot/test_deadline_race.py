"""Exactly once across processes: three bot processes race over the same due deadline steps."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from collections import Counter

import pytest
from sqlalchemy import func, select

from ground.config import Config
from ground.storage.database import Database
from ground.storage.models import (
    Assignment,
    DeadlineStep,
    Event,
    Identity,
    OutboxMessage,
    Person,
)
from handlers.deadlines import start_clock
from handlers.directory import sync_directory
from tests.conftest import ROOT, START
from tests.fakes.rows import add_asker, question_row

pytestmark = pytest.mark.db

QUESTIONS = 200
PROCESSES = 3
# Per question: 2 reminders (thread), escalation 0 (thread, coordinator, asker), escalations
# 1-3 (thread, coordinator), the resolution escalation (thread, coordinator).
MESSAGES_PER_QUESTION = 2 + 3 + 3 * 2 + 2


def seed(database: Database, config: Config) -> None:
    with database.sessions.begin() as session:
        sync_directory(session, config, START)
        claire, jonas = (
            session.scalar(select(Person).where(Person.config_id == key))
            for key in ("claire", "jonas")
        )
        assert claire is not None and jonas is not None
        for n in range(QUESTIONS):
            asker = add_asker(session, START, display_name=f"asker {n}", language="fr")
            session.add(
                Identity(
                    person_id=asker.id,
                    channel="console",
                    external_id=f"asker-{n}",
                    chat_id=f"asker-{n}",
                )
            )
            question = question_row(
                asker,
                f"question {n}",
                START,
                language="fr",
                topic="work-based-learning",
                partner_id="cm-lot",
                priority="normal",
                routed_at=START,
            )
            session.add(question)
            session.flush()
            for person, role in ((claire, "primary"), (jonas, "mentioned")):
                session.add(
                    Assignment(
                        question_id=question.id,
                        person_id=person.id,
                        role=role,
                        active=True,
                        created_at=START,
                    )
                )
            start_clock(session, config, question, START)


def test_three_processes_fire_each_step_exactly_once(config: Config) -> None:
    if database_backend(config) != "postgresql":
        pytest.skip(
            "the multi-process race needs PostgreSQL (row locks with SKIP LOCKED); "
            "set RRM_TEST_DATABASE_URL, as .ci/run's PostgreSQL pass does"
        )
    database = Database(config.database.url)
    database.upgrade()
    seed(database, config)
    now = START + dt.timedelta(days=30)  # every step of every question is due
    workers = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.bot.deadline_worker",
                config.database.url,
                now.isoformat(),
                "20",
            ],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(PROCESSES)
    ]
    for worker in workers:
        assert worker.stdout is not None and worker.stdout.readline().strip() == "ready"
    for worker in workers:
        assert worker.stdin is not None
        worker.stdin.write("go\n")
        worker.stdin.flush()
    taken = []
    for worker in workers:
        out, _ = worker.communicate(timeout=120)
        assert worker.returncode == 0
        taken.append(int(out.split()[-1]))
    steps = QUESTIONS * 7
    print(f"steps taken by each process: {taken}")
    assert sum(taken) == steps
    with database.sessions() as session:
        states = Counter(session.scalars(select(DeadlineStep.state)))
        assert states == {"fired": steps}
        fired = session.execute(
            select(Event.question_id, Event.kind, Event.detail).where(
                Event.kind.in_(("reminder", "escalation"))
            )
        )
        keys = Counter((q, kind, d["clock"], d["step"]) for q, kind, d in fired)
        assert len(keys) == steps and set(keys.values()) == {1}
        assert (
            session.scalar(select(func.count()).select_from(OutboxMessage))
            == QUESTIONS * MESSAGES_PER_QUESTION
        )
        by_worker = Counter(session.scalars(select(DeadlineStep.claimed_by)))
        assert sorted(by_worker.values()) == sorted(taken)
        assert len(by_worker) >= 2, f"only one process took part: {by_worker}"
    database.dispose()


def database_backend(config: Config) -> str:
    return "postgresql" if config.database.url.startswith("postgresql") else "sqlite"
