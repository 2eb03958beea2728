"""The bot as its own process, killed with SIGKILL at random points: nothing lost, nothing doubled.

500 askers each ask a question; then an expert answers each in its thread (a second script,
as question numbers are known only once asked). The bot runs each script as a separate OS
process; the test kills it with SIGKILL at random points and restarts it on the same script,
until a run reaches the end. Then every question must have been routed once, every answer
relayed once, and every outbox message sent exactly once.
"""

from __future__ import annotations

import collections
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.app import Application
from ground.config import load_config
from ground.storage.database import Database
from ground.storage.models import (
    Assignment,
    Event,
    Identity,
    OutboxMessage,
    Question,
    RelayedMessage,
    Thread,
)
from tests.conftest import ROOT
from tests.fakes.console_script import answer, write_answers, write_config, write_questions

pytestmark = pytest.mark.db

# 500 as the issue asks: about 45 s on two shared cores. RRM_CRASH_QUESTIONS changes it.
QUESTIONS = int(os.environ.get("RRM_CRASH_QUESTIONS", "500"))
KILLS = 3  # in each of the two runs: the questions, then the answers


async def seed(config_path: Path, embedder) -> None:  # type: ignore[no-untyped-def]
    """Import the fiches and cache the topic vectors once, with the session's memoised model."""
    app = Application(load_config(config_path, environ={}), [], embedder=embedder)
    await app.start()
    await app.stop()


def start_bot(config: Path, script: Path, sent_log: Path, errors: Path) -> subprocess.Popen[str]:
    with errors.open("a") as stderr:
        return subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.fakes.console_process",
                str(config),
                str(script),
                str(sent_log),
            ],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
            env={**os.environ, "OMP_NUM_THREADS": "1"},
        )


def wait_ready(process: subprocess.Popen[str]) -> None:
    assert process.stdout is not None
    line = process.stdout.readline()
    assert line.strip() == "ready", f"the bot did not start: {line!r}"


def run_with_kills(
    config: Path, script: Path, sent_log: Path, errors: Path, chance: random.Random
) -> list[int]:
    """Run the bot on ``script``, SIGKILL it at random points, restart until it finishes."""
    kills: list[int] = []
    for _ in range(KILLS):
        process = start_bot(config, script, sent_log, errors)
        wait_ready(process)
        try:
            process.wait(timeout=chance.uniform(0.5, 5.0))
            process.stdout.close()  # type: ignore[union-attr]
            return kills
        except subprocess.TimeoutExpired:
            process.send_signal(signal.SIGKILL)
            process.wait()
            process.stdout.close()  # type: ignore[union-attr]
            kills.append(len(sent_log.read_text().splitlines()) if sent_log.exists() else 0)
    process = start_bot(config, script, sent_log, errors)
    wait_ready(process)
    assert process.wait(timeout=600) == 0, errors.read_text()[-3000:]
    process.stdout.close()  # type: ignore[union-attr]
    return kills


def asked(database_url: str) -> dict[int, int]:
    """Each asker's number and the id of the question they asked."""
    database = Database(database_url)
    with database.sessions() as session:
        rows = session.execute(
            select(Identity.external_id, Question.id).join(
                Question, Question.asker_id == Identity.person_id
            )
        ).all()
    database.dispose()
    return {int(name.removeprefix("asker")): question_id for name, question_id in rows}


async def test_sigkill_at_random_points_loses_and_doubles_nothing(
    tmp_path: Path, database_url: str, embedder
) -> None:  # type: ignore[no-untyped-def]
    config = write_config(tmp_path, database_url)
    sent_log, errors = tmp_path / "sent.jsonl", tmp_path / "err"
    questions, answers = tmp_path / "questions.txt", tmp_path / "answers.txt"
    write_questions(questions, QUESTIONS)
    await seed(config, embedder)
    seed_value = int(os.environ.get("RRM_CRASH_SEED", time.time_ns() % 10_000))
    chance = random.Random(seed_value)
    print(f"crash test: {QUESTIONS} questions, seed {seed_value} (RRM_CRASH_SEED to replay)")
    kills = run_with_kills(config, questions, sent_log, errors, chance)
    ids = asked(database_url)
    assert sorted(ids) == list(range(1, QUESTIONS + 1))
    write_answers(answers, ids)
    kills += run_with_kills(config, answers, sent_log, errors, chance)
    print(f"killed {len(kills)} times, after {kills} messages sent")
    assert kills, "the bot finished before it could be killed once"

    sent = [json.loads(line) for line in sent_log.read_text(encoding="utf-8").splitlines()]
    outbox_ids = [record["outbox_id"] for record in sent]
    assert len(outbox_ids) == len(set(outbox_ids)), "an outbox message was sent twice"
    database = Database(database_url)
    with database.sessions() as session:
        rows = session.execute(select(OutboxMessage.id, OutboxMessage.status)).all()
        assert {status for _, status in rows} == {"sent"}, "an outbox message was never sent"
        assert set(outbox_ids) == {row_id for row_id, _ in rows}
        assert session.scalar(select(func.count()).select_from(Question)) == QUESTIONS
        assert set(session.scalars(select(Question.status))) == {"answered"}
        for model, condition in [
            (Thread, None),
            (Assignment, Assignment.role == "primary"),
            (Event, Event.kind == "routed"),
            (RelayedMessage, RelayedMessage.direction == "to_asker"),
        ]:
            statement = select(model.question_id, func.count()).group_by(model.question_id)
            if condition is not None:
                statement = statement.where(condition)
            per_question = dict(session.execute(statement).all())
            assert len(per_question) == QUESTIONS, model.__name__
            assert set(per_question.values()) == {1}, f"{model.__name__} not exactly once"
    database.dispose()
    # What each asker saw: one routing notice and one relayed answer, theirs.
    seen: dict[str, list[str]] = collections.defaultdict(list)
    for record in sent:
        if record["to"] is not None:
            seen[record["to"]].append(record["text"])
    for number in range(1, QUESTIONS + 1):
        texts = seen[f"asker{number}"]
        assert len(texts) == 2, (number, texts)
        assert sum(answer(number) in text for text in texts) == 1, (number, texts)
    threads = [record["thread_id"] for record in sent if record["to"] is None]
    assert sorted(int(thread) for thread in threads) == sorted(ids.values())
