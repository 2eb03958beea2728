"""Each routed question's waiting times, computed once in Python and kept for SQL to aggregate."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from bot.stats.period import Period
from bot.stats.working_hours import working_hours_between
from bot.storage.models import Question, QuestionTimes

__all__ = ["WorkingHours", "refresh_durations"]

WorkingHours = Callable[[dt.datetime, dt.datetime, str | None], float]


def _hours(start: dt.datetime, end: dt.datetime) -> float:
    return max((end - start).total_seconds(), 0.0) / 3600


def refresh_durations(
    session: Session, period: Period, working_hours: WorkingHours = working_hours_between
) -> int:
    """Fill in the durations of the period's questions that got an answer or were resolved.

    Only questions whose stored durations are missing or incomplete are read, so after the
    first run this touches just the questions answered since. Returns how many it updated.
    """
    rows = session.execute(
        select(Question, QuestionTimes)
        .outerjoin(QuestionTimes, QuestionTimes.question_id == Question.id)
        .where(
            Question.created_at >= period.start,
            Question.created_at < period.end,
            Question.routed_at.is_not(None),
            or_(
                and_(
                    Question.first_response_at.is_not(None),
                    QuestionTimes.first_response_hours.is_(None),
                ),
                and_(
                    Question.resolved_at.is_not(None),
                    QuestionTimes.resolution_hours.is_(None),
                ),
            ),
        )
    ).all()
    for question, times in rows:
        if times is None:
            times = QuestionTimes(question_id=question.id)
            session.add(times)
        routed = question.routed_at
        assert routed is not None
        partner = question.partner_id
        if question.first_response_at is not None:
            times.first_response_hours = _hours(routed, question.first_response_at)
            times.first_response_work_hours = working_hours(
                routed, question.first_response_at, partner
            )
        if question.resolved_at is not None:
            times.resolution_hours = _hours(routed, question.resolved_at)
            times.resolution_work_hours = working_hours(routed, question.resolved_at, partner)
    session.flush()
    return len(rows)
