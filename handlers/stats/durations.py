"""Each routed question's waiting times, computed once in Python and kept for SQL to aggregate."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from ground.storage import stats_repo
from handlers.stats.period import Period
from handlers.stats.working_hours import WorkingHours

__all__ = ["WorkingHours", "refresh_durations"]


def _hours(start: dt.datetime, end: dt.datetime) -> float:
    return max((end - start).total_seconds(), 0.0) / 3600


def refresh_durations(session: Session, period: Period, working_hours: WorkingHours) -> int:
    """Fill in the durations of the period's questions that got an answer or were resolved.

    Only questions whose stored durations are missing or incomplete are read, so after the
    first run this touches just the questions answered since. Returns how many it updated.
    """
    rows = stats_repo.unmeasured_questions(session, (period.start, period.end))
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
    stats_repo.save_durations(session, new, changed)
    return len(rows)
