"""The statistics' queries: counts, stored durations and their percentiles, per group, in SQL."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Integer,
    Select,
    and_,
    case,
    cast,
    func,
    insert,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.orm import Session, aliased

from ground.storage import repo
from ground.storage.deadline_repo import past_due
from ground.storage.models import (
    Assignment,
    Event,
    FicheAnswer,
    Person,
    Question,
    QuestionTimes,
)
from ground.storage.percentiles import percentiles
from ground.vocabulary import AssignmentRole, FicheFeedback

__all__ = [
    "DURATIONS",
    "WEEK_ZERO",
    "asked_by_pair",
    "duration_cells",
    "figure_counts",
    "open_question_rows",
    "save_durations",
    "unmeasured_questions",
]

DURATIONS = (
    "first_response_hours",
    "first_response_work_hours",
    "resolution_hours",
    "resolution_work_hours",
)
# Monday 2000-01-03 00:00 UTC, from which weeks are counted.
WEEK_ZERO_EPOCH = 946_857_600
WEEK_ZERO_JULIAN = 2_451_546.5
WEEK_ZERO = dt.datetime(2000, 1, 3, tzinfo=dt.UTC)
# A period as the queries take it: [start, end).
Span = tuple[dt.datetime, dt.datetime]


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def _week(session: Session) -> ColumnElement[int]:
    if session.get_bind().dialect.name == "postgresql":
        seconds = func.extract("epoch", Question.created_at) - WEEK_ZERO_EPOCH
        return cast(func.floor(seconds / 604_800), Integer)
    return cast((func.julianday(Question.created_at) - WEEK_ZERO_JULIAN) / 7, Integer)


def _cohort(
    session: Session, by: str | None, *, period: Span | None, active_only: bool = False
) -> Select[Any]:
    """(question id, group) pairs: asked in ``period``, or open now when it is None."""
    group: ColumnElement[Any]
    if by is None:
        group = literal("")
    elif by == "week":
        group = _week(session)
    elif by == "expert":
        group = func.coalesce(Person.config_id, "")
    else:
        column = {
            "partner": Question.partner_id,
            "topic": Question.topic,
            "language": Question.language,
            "channel": Question.channel,
        }[by]
        group = func.coalesce(column, "")
    query: Select[Any] = select(Question.id.label("qid"), group.label("grp"))
    if by == "expert":
        # An expert's questions are those they held as primary assignee (open ones: still hold).
        query = query.join(
            Assignment,
            (Assignment.question_id == Question.id) & (Assignment.role == AssignmentRole.PRIMARY),
        ).join(Person, Person.id == Assignment.person_id)
        if active_only:
            query = query.where(Assignment.active.is_(True))
        query = query.distinct()
    if period is not None:
        start, end = period
        query = query.where(Question.created_at >= start, Question.created_at < end)
    else:
        query = query.where(Question.status.in_(repo.ACTIVE))
    return query


def _count(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def _durations(session: Session, cohort: Any, found: dict[object, dict[str, Any]]) -> None:
    """Put the median and 90th percentile of each stored duration into ``found``, per group."""
    times = select(cohort.c.grp, *(getattr(QuestionTimes, c).label(c) for c in DURATIONS)).join(
        QuestionTimes, QuestionTimes.question_id == cohort.c.qid
    )
    for grp, columns in percentiles(session, times, DURATIONS).items():
        cell = found.setdefault(grp, {})
        for column, values in columns.items():
            stem = column.removesuffix("_hours").removesuffix("_work")
            unit = "work_hours" if column.endswith("work_hours") else "hours"
            cell[f"{stem}_median_{unit}"] = _round(values[50])
            cell[f"{stem}_p90_{unit}"] = _round(values[90])


def figure_counts(
    session: Session, period: Span, now: dt.datetime, by: str | None
) -> dict[object, dict[str, Any]]:
    """Per group of ``by`` (or "" for all): counts, duration percentiles and the open backlog.

    Counts are named as the figures are: asked, fiche_confirmed (the asker said a fiche
    answers), unrouted (never sent to an expert), first_response_on_time,
    first_response_due, resolution_on_time, resolution_due, rated, helped, reminders,
    escalations, open_now, overdue_now; durations as ``<clock>_median_<unit>`` and ``_p90_``.
    """
    cohort = _cohort(session, by, period=period).subquery()
    q = Question
    first_known = q.first_response_due.is_not(None) & (
        q.first_response_at.is_not(None) | (q.first_response_due < now)
    )
    resolution_known = q.resolution_due.is_not(None) & (
        q.resolved_at.is_not(None) | (q.resolution_due < now)
    )
    confirmed = q.routed_at.is_(None) & (
        select(FicheAnswer.id)
        .where(FicheAnswer.question_id == q.id, FicheAnswer.feedback == FicheFeedback.HELPED)
        .exists()
    )
    counts = (
        select(
            cohort.c.grp,
            func.count(),
            _count(confirmed),
            _count(q.routed_at.is_(None)),
            _count(
                q.first_response_at.is_not(None) & (q.first_response_at <= q.first_response_due)
            ),
            _count(first_known),
            _count(q.resolved_at.is_not(None) & (q.resolved_at <= q.resolution_due)),
            _count(resolution_known),
            _count(q.helpful.is_not(None)),
            _count(q.helpful.is_(True)),
        )
        .join(q, q.id == cohort.c.qid)
        .group_by(cohort.c.grp)
    )
    found: dict[object, dict[str, Any]] = {}
    for row in session.execute(counts):
        grp, asked, confirmed_count, unrouted, fr_ok, fr_due, res_ok, res_due, rated, helped = row
        found[grp] = {
            "asked": asked,
            "fiche_confirmed": confirmed_count,
            "unrouted": unrouted,
            "first_response_on_time": fr_ok,
            "first_response_due": fr_due,
            "resolution_on_time": res_ok,
            "resolution_due": res_due,
            "rated": rated,
            "helped": helped,
        }
    events = (
        select(cohort.c.grp, Event.kind, func.count())
        .join(Event, Event.question_id == cohort.c.qid)
        .where(Event.kind.in_(("reminder", "escalation")))
        .group_by(cohort.c.grp, Event.kind)
    )
    for grp, kind, number in session.execute(events):
        found.setdefault(grp, {})["reminders" if kind == "reminder" else "escalations"] = number
    _durations(session, cohort, found)
    current = _cohort(session, by, period=None, active_only=True).subquery()
    backlog = (
        select(current.c.grp, func.count(), _count(past_due(now)))
        .join(q, q.id == current.c.qid)
        .group_by(current.c.grp)
    )
    for grp, open_now, overdue_now in session.execute(backlog):
        found.setdefault(grp, {}).update(open_now=open_now, overdue_now=overdue_now)
    return found


def duration_cells(session: Session, period: Span) -> dict[str, Any]:
    """The duration percentiles of all the period's questions, named as in ``figure_counts``."""
    cohort = _cohort(session, None, period=period).subquery()
    found: dict[object, dict[str, Any]] = {}
    _durations(session, cohort, found)
    return found.get("", {})


def asked_by_pair(session: Session, period: Span) -> dict[tuple[str, str], int]:
    """How many questions of the period were asked per (topic, language)."""
    start, end = period
    demand = (
        select(Question.topic, Question.language, func.count())
        .where(
            Question.created_at >= start,
            Question.created_at < end,
            Question.topic.is_not(None),
        )
        .group_by(Question.topic, Question.language)
    )
    return {(str(topic), language): n for topic, language, n in session.execute(demand)}


def open_question_rows(session: Session, limit: int) -> list[tuple[Question, str | None]]:
    """Active questions with their primary assignee's config id, by their next deadline."""
    primary = aliased(Assignment)
    holder = aliased(Person)
    due = func.coalesce(Question.first_response_due, Question.resolution_due)
    query = (
        select(Question, holder.config_id)
        .outerjoin(
            primary,
            (primary.question_id == Question.id)
            & (primary.role == AssignmentRole.PRIMARY)
            & primary.active.is_(True),
        )
        .outerjoin(holder, holder.id == primary.person_id)
        .where(Question.status.in_(repo.ACTIVE))
        .order_by(due.is_(None), due, Question.id)
        .limit(limit)
    )
    return [(question, assignee) for question, assignee in session.execute(query)]


Unmeasured = tuple[
    int, str | None, dt.datetime | None, dt.datetime | None, dt.datetime | None, int | None
]


def unmeasured_questions(session: Session, period: Span) -> list[Unmeasured]:
    """Routed questions of the period answered or resolved since their durations were stored.

    Each row: id, partner_id, routed_at, first_response_at, resolved_at, and the stored
    row's question_id (None when nothing is stored yet).
    """
    start, end = period
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
            Question.created_at >= start,
            Question.created_at < end,
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
    )
    return [tuple(row) for row in rows]  # type: ignore[misc]


def save_durations(
    session: Session, new: Iterable[dict[str, object]], changed: Iterable[dict[str, object]]
) -> None:
    """Store computed durations: new rows inserted, existing ones updated, each in bulk.

    Every row of one statement must name the same columns: missing ones are stored as NULL.
    """
    new, changed = list(new), list(changed)
    for values in (*new, *changed):
        for column in DURATIONS:
            values.setdefault(column, None)
    if new:
        session.execute(insert(QuestionTimes), new)
    if changed:
        session.execute(update(QuestionTimes), changed)
