"""Every figure coordinators see, computed with SQL aggregation for a period and a breakdown."""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from ground.config import Config
from ground.storage import directory_repo, repo, stats_repo
from ground.storage.stats_repo import WEEK_ZERO
from handlers.stats.coverage import Coverage, coverage
from handlers.stats.durations import refresh_durations
from handlers.stats.period import Period
from handlers.stats.working_hours import WorkingHours, partner_working_hours

__all__ = ["DIMENSIONS", "ExpertLoad", "Figures", "Report", "compute", "figures_by"]

DIMENSIONS = ("partner", "expert", "topic", "language", "channel", "week")


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


def figures_by(
    session: Session, period: Period, now: dt.datetime, by: str | None
) -> dict[object, Figures]:
    """The figures of each group of ``by`` (or of everything, keyed ""), durations stored."""
    found = stats_repo.figure_counts(session, (period.start, period.end), now, by)
    return {group: _figures(by, group, cell) for group, cell in found.items()}


def _figures(by: str | None, group: object, cell: dict[str, Any]) -> Figures:
    """One group's figures: its counts and durations, and the rates derived from them."""
    if "asked" in cell:
        asked, confirmed, unrouted = cell["asked"], cell["fiche_confirmed"], cell.pop("unrouted")
        cell.update(
            fiche_unconfirmed=unrouted - confirmed,
            routed=asked - unrouted,
            deflection_rate=_ratio(confirmed, asked),
            first_response_on_time_rate=_ratio(
                cell["first_response_on_time"], cell["first_response_due"]
            ),
            resolution_on_time_rate=_ratio(cell["resolution_on_time"], cell["resolution_due"]),
            satisfaction=_ratio(cell["helped"], cell["rated"]),
        )
    return Figures(key=_key(by, group), **cell)


def _key(by: str | None, group: object) -> str:
    if by == "week":
        monday = WEEK_ZERO + dt.timedelta(weeks=int(group))  # type: ignore[call-overload]
        return f"{monday:%Y-%m-%d}"
    return str(group)


def expert_loads(session: Session, config: Config) -> list[ExpertLoad]:
    """Each configured expert's active questions against their capacity, most loaded first."""
    loads = repo.load_by_person(session)
    people = directory_repo.configured_people(session)
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
    durations = stats_repo.duration_cells(session, (period.start, period.end))
    total: dict[str, Any] = {name: sum(getattr(row, name) for row in rows) for name in ADDITIVE}
    return Figures(
        **durations,  # type: ignore[arg-type]
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
