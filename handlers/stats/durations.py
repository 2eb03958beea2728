"""Each routed question's waiting times, computed once in Python and kept for SQL to aggregate."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import and_, insert, or_, select, update
from sqlalchemy.orm import Session

from bot.ground.storage.models import Question, QuestionTimes
from handlers.stats.period import Period
from handlers.stats.working_hours import WorkingHours

__all__ = ["WorkingHours", "refresh_durations"]

DURATIONS = (
    "first_response_hours",
    "first_response_work_hours",
    "resolution_hours",
    "resolution_work_hours",
)


def _hours(start: dt.datetime, end: dt.datetime) -> float:
    return max((end - start).total_seconds(), 0.0) / 3600


def refresh_durations(session: Session, period: Period, working_hours: WorkingHours) -> int:
    """Fill in the durations of the period's questions that got an answer or were resolved.

    Only questions whose stored durations are missing or incomplete are read, so after the
    first run this touches just the questions answered since. Returns how many it updated.
    """
    rows = session.execute(
        select(
            Question.id,
            Question.partner_id,
            Question.routed_at,
            Question.first_response_at,
            Question.resolved_at,
            QuestionTimes.question_id,
        )
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
    new: list[dict[str, object]] = []
    changed: list[dict[str, object]] = []
    for question_id, partner, routed, first, resolved, stored in rows:
        assert routed is not None  # the query asks for routed questions only
        values: dict[str, object] = {"question_id": question_id}
        if first is not None:
            values["first_response_hours"] = _hours(routed, first)
            values["first_response_work_hours"] = working_hours(routed, first, partner)
        if resolved is not None:
            values["resolution_hours"] = _hours(routed, resolved)
            values["resolution_work_hours"] = working_hours(routed, resolved, partner)
        (changed if stored is not None else new).append(values)
    # Every row of one statement must name the same columns.
    for group in (new, changed):
        for values in group:
            for column in DURATIONS:
                values.setdefault(column, None)
    if new:
        session.execute(insert(QuestionTimes), new)
    if changed:
        session.execute(update(QuestionTimes), changed)
    return len(rows)
