"""The queries behind /metrics and /healthz: counts by state and the first-response histogram."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import case, func, select, text
from sqlalchemy.orm import Session

from ground.storage.models import OutboxMessage, Question

__all__ = ["first_response_histogram", "outbox_by_status", "ping", "questions_by_status"]


def questions_by_status(session: Session) -> dict[str, int]:
    """How many questions are in each status."""
    rows = session.execute(select(Question.status, func.count()).group_by(Question.status))
    return {status: count for status, count in rows}


def outbox_by_status(session: Session) -> dict[str, int]:
    """How many outbox messages are in each state."""
    rows = session.execute(
        select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
    )
    return {status: count for status, count in rows}


def first_response_histogram(
    session: Session, bounds: Sequence[float]
) -> tuple[list[int], int, float]:
    """Cumulative counts at each bound, count and sum of first-response seconds, in SQL.

    One aggregate row whatever the number of answered questions (a scrape every few seconds
    must not read them all).
    """
    if session.get_bind().dialect.name == "sqlite":
        # Stored as naive UTC text, which julianday reads (in days).
        elapsed = (
            func.julianday(Question.first_response_at) - func.julianday(Question.routed_at)
        ) * 86400.0
    else:
        elapsed = func.extract("epoch", Question.first_response_at - Question.routed_at)
    columns = [func.sum(case((elapsed <= bound, 1), else_=0)) for bound in bounds]
    row = session.execute(
        select(func.count(), func.coalesce(func.sum(elapsed), 0.0), *columns).where(
            Question.first_response_at.is_not(None), Question.routed_at.is_not(None)
        )
    ).one()
    total, seconds, *counts = row
    return [int(c or 0) for c in counts], int(total), float(seconds)


def ping(session: Session) -> None:
    """One round trip to the database; raises when it does not answer."""
    session.execute(text("SELECT 1"))
