"""Every figure coordinators see, computed with SQL aggregation for a period and a breakdown."""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, Integer, Select, case, cast, func, literal, select
from sqlalchemy.orm import Session

from bot.ground.config import Config
from bot.ground.storage import repo
from bot.ground.storage.models import (
    Assignment,
    Event,
    FicheAnswer,
    Person,
    Question,
    QuestionTimes,
)
from bot.ground.vocabulary import AssignmentRole, FicheFeedback
from handlers.stats.coverage import Coverage, coverage
from handlers.stats.durations import refresh_durations
from handlers.stats.percentiles import percentiles
from handlers.stats.period import Period
from handlers.stats.working_hours import WorkingHours, partner_working_hours

__all__ = ["DIMENSIONS", "ExpertLoad", "Figures", "Report", "compute", "figures_by"]

DIMENSIONS = ("partner", "expert", "topic", "language", "channel", "week")
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


@dataclass(frozen=True)
class Figures:
    """The figures of one group of questions (or of all of them: ``key`` is empty)."""

    key: str = ""
    asked: int = 0
    # The asker said a fiche answers ("This answers it"): the only fiche answers counted.
    fiche_confirmed: int = 0
    # Fiches were shown and the question never went to an expert, but the asker did not say.
    fiche_unconfirmed: int = 0
    routed: int = 0  # sent on to experts (suggested fiches or "Ask an expert" included)
    deflection_rate: float | None = None  # fiche_confirmed / asked
    first_response_median_hours: float | None = None
    first_response_p90_hours: float | None = None
    first_response_median_work_hours: float | None = None
    first_response_p90_work_hours: float | None = None
    resolution_median_hours: float | None = None
    resolution_p90_hours: float | None = None
    resolution_median_work_hours: float | None = None
    resolution_p90_work_hours: float | None = None
    first_response_on_time: int = 0
    first_response_due: int = 0
    first_response_on_time_rate: float | None = None
    resolution_on_time: int = 0
    resolution_due: int = 0
    resolution_on_time_rate: float | None = None
    reminders: int = 0
    escalations: int = 0
    open_now: int = 0
    overdue_now: int = 0
    rated: int = 0
    helped: int = 0
    satisfaction: float | None = None

    def as_dict(self) -> dict[str, object]:
        """The figures as a flat mapping, in display order."""
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class ExpertLoad:
    """An expert's active questions against their capacity."""

    expert: str
    name: str
    partner: str
    load: int
    capacity: int
    away: bool

    def as_dict(self) -> dict[str, object]:
        """The row as a flat mapping."""
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class Report:
    """Everything shown for one period: overall, one breakdown, loads and coverage."""

    period: Period
    now: dt.datetime
    overall: Figures
    by: str | None = None
    rows: list[Figures] = field(default_factory=list)
    loads: list[ExpertLoad] = field(default_factory=list)
    coverage: Coverage | None = None


def _ratio(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def _week(session: Session) -> ColumnElement[int]:
    if session.get_bind().dialect.name == "postgresql":
        seconds = func.extract("epoch", Question.created_at) - WEEK_ZERO_EPOCH
        return cast(func.floor(seconds / 604_800), Integer)
    return cast((func.julianday(Question.created_at) - WEEK_ZERO_JULIAN) / 7, Integer)


def _cohort(
    session: Session, by: str | None, *, period: Period | None, active_only: bool = False
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
        query = query.where(Question.created_at >= period.start, Question.created_at < period.end)
    else:
        query = query.where(Question.status.in_(repo.ACTIVE))
    return query


def _count(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def _durations(session: Session, cohort: Any, found: dict[object, dict[str, object]]) -> None:
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


def figures_by(
    session: Session, period: Period, now: dt.datetime, by: str | None
) -> dict[object, Figures]:
    """The figures of each group of ``by`` (or of everything, keyed ""), durations stored."""
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
    found: dict[object, dict[str, object]] = {}
    for row in session.execute(counts):
        grp, asked, confirmed_count, unrouted, fr_ok, fr_due, res_ok, res_due, rated, helped = row
        found[grp] = {
            "asked": asked,
            "fiche_confirmed": confirmed_count,
            "fiche_unconfirmed": unrouted - confirmed_count,
            "routed": asked - unrouted,
            "deflection_rate": _ratio(confirmed_count, asked),
            "first_response_on_time": fr_ok,
            "first_response_due": fr_due,
            "first_response_on_time_rate": _ratio(fr_ok, fr_due),
            "resolution_on_time": res_ok,
            "resolution_due": res_due,
            "resolution_on_time_rate": _ratio(res_ok, res_due),
            "rated": rated,
            "helped": helped,
            "satisfaction": _ratio(helped, rated),
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
    overdue = (q.first_response_at.is_(None) & (q.first_response_due < now)) | (
        q.resolution_due < now
    )
    backlog = (
        select(current.c.grp, func.count(), _count(overdue))
        .join(q, q.id == current.c.qid)
        .group_by(current.c.grp)
    )
    for grp, open_now, overdue_now in session.execute(backlog):
        found.setdefault(grp, {}).update(open_now=open_now, overdue_now=overdue_now)
    return {grp: Figures(key=_key(by, grp), **values) for grp, values in found.items()}  # type: ignore[arg-type]


def _key(by: str | None, group: object) -> str:
    if by == "week":
        monday = WEEK_ZERO + dt.timedelta(weeks=int(group))  # type: ignore[call-overload]
        return f"{monday:%Y-%m-%d}"
    return str(group)


def expert_loads(session: Session, config: Config) -> list[ExpertLoad]:
    """Each configured expert's active questions against their capacity, most loaded first."""
    loads = repo.load_by_person(session)
    people = {
        p.config_id: p for p in session.scalars(select(Person).where(Person.config_id.is_not(None)))
    }
    rows = []
    for expert in config.experts:
        person = people.get(expert.id)
        load = loads.get(person.id, 0) if person else 0
        away = bool(person and person.away)
        rows.append(ExpertLoad(expert.id, expert.name, expert.partner, load, expert.capacity, away))
    return sorted(rows, key=lambda r: (-r.load / r.capacity, r.expert))


ADDITIVE = (
    "asked",
    "fiche_confirmed",
    "fiche_unconfirmed",
    "routed",
    "first_response_on_time",
    "first_response_due",
    "resolution_on_time",
    "resolution_due",
    "reminders",
    "escalations",
    "open_now",
    "overdue_now",
    "rated",
    "helped",
)


def _summed(session: Session, period: Period, rows: list[Figures]) -> Figures:
    """The overall figures of a partition: the groups' counts added, percentiles computed."""
    cohort = _cohort(session, None, period=period).subquery()
    found: dict[object, dict[str, object]] = {}
    _durations(session, cohort, found)
    total: dict[str, Any] = {name: sum(getattr(row, name) for row in rows) for name in ADDITIVE}
    return Figures(
        **found.get("", {}),  # type: ignore[arg-type]
        **total,
        deflection_rate=_ratio(total["fiche_confirmed"], total["asked"]),
        first_response_on_time_rate=_ratio(
            total["first_response_on_time"], total["first_response_due"]
        ),
        resolution_on_time_rate=_ratio(total["resolution_on_time"], total["resolution_due"]),
        satisfaction=_ratio(total["helped"], total["rated"]),
    )


def compute(
    session: Session,
    config: Config,
    period: Period,
    now: dt.datetime,
    by: str | None = None,
    working_hours: WorkingHours | None = None,
) -> Report:
    """The report of ``period``: overall figures, a breakdown ``by`` one dimension, loads."""
    if by is not None and by not in DIMENSIONS:
        raise ValueError(f"unknown breakdown {by!r}; use one of {', '.join(DIMENSIONS)}")
    refresh_durations(session, period, working_hours or partner_working_hours(config))
    rows = []
    if by is not None:
        groups = figures_by(session, period, now, by)
        rows = [groups[k] for k in sorted(groups, key=lambda k: (str(k) == "", k))]  # type: ignore[arg-type, return-value]
    if by is None or by == "expert":
        overall = figures_by(session, period, now, None).get("", Figures())
    else:
        # Each question is in exactly one group: counts add up, only percentiles need a pass.
        overall = _summed(session, period, rows)
    return Report(
        period=period,
        now=now,
        overall=overall,
        by=by,
        rows=rows,
        loads=expert_loads(session, config),
        coverage=coverage(session, config, period),
    )
