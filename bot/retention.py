"""Retention: anonymise askers' data in long-closed questions, delete long-handled inbox events."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from ground.clock import Clock
from ground.config import PrivacyConfig
from ground.storage import inbox_repo, privacy

__all__ = ["RetentionReport", "anonymise_expired", "prune_inbox", "run_retention"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RetentionReport:
    """What one pass changed."""

    questions: int
    askers: int


def anonymise_expired(
    sessions: sessionmaker[Session], now: dt.datetime, retention_days: int
) -> RetentionReport:
    """Anonymise every closed question and idle asker past the retention period."""
    if retention_days <= 0:
        return RetentionReport(0, 0)
    cutoff = now - dt.timedelta(days=retention_days)
    questions = askers = 0
    while True:
        # Small transactions, so a large first pass does not hold the database for long.
        with sessions.begin() as session:
            batch = privacy.expired_questions(session, cutoff)
            for question in batch:
                privacy.anonymise_question(session, question.id)
            people = privacy.idle_askers(session, cutoff)
            for person in people:
                privacy.erase_person(session, person, now)
        questions += len(batch)
        askers += len(people)
        if not batch and not people:
            return RetentionReport(questions, askers)


def prune_inbox(sessions: sessionmaker[Session], now: dt.datetime, inbox_days: int) -> int:
    """Delete the inbox events handled more than ``inbox_days`` ago; return how many."""
    if inbox_days <= 0:
        return 0
    cutoff = now - dt.timedelta(days=inbox_days)
    total = 0
    while True:
        with sessions.begin() as session:
            pruned = inbox_repo.prune_handled(session, cutoff)
        total += pruned
        if not pruned:
            return total


async def run_retention(
    sessions: sessionmaker[Session], clock: Clock, config: PrivacyConfig
) -> None:
    """Apply the retention periods now and then every ``check_every_hours``."""
    while True:
        try:
            report = await asyncio.to_thread(
                anonymise_expired, sessions, clock.now(), config.retention_days
            )
            if report.questions or report.askers:
                log.info(
                    "retention: anonymised %d questions and %d askers",
                    report.questions,
                    report.askers,
                )
            pruned = await asyncio.to_thread(prune_inbox, sessions, clock.now(), config.inbox_days)
            if pruned:
                log.info("retention: deleted %d handled inbox events", pruned)
        except Exception:
            log.exception("retention pass failed; trying again at the next check")
        await asyncio.sleep(config.check_every_hours * 3600)
