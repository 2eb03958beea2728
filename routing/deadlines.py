"""Deadlines in working hours: targets by priority and topic, and the time of every step."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ground.calendar import BusinessCalendar
from ground.vocabulary import EscalationLevel

__all__ = ["Due", "PlannedStep", "plan_steps", "targets_for"]


@dataclass(frozen=True)
class Due:
    """The two deadlines of a question."""

    first_response: dt.datetime
    resolution: dt.datetime


@dataclass(frozen=True)
class PlannedStep:
    """A reminder or escalation a question will get unless it is answered first."""

    clock: str  # first_response | resolution
    kind: str  # reminder | escalation
    step: int
    due_at: dt.datetime
    to: str  # primary | experts | lead | coordinators


def targets_for(
    default: tuple[float, float],
    by_priority: Mapping[str, tuple[float, float]],
    by_topic: Mapping[str, tuple[float, float]],
    priority: str,
    topic: str | None,
) -> tuple[float, float]:
    """First-response and resolution targets in hours; a priority overrides a topic.

    A zero in an override means "keep what comes before".
    """
    first, resolution = default
    for table, key in ((by_topic, topic or ""), (by_priority, priority)):
        override = table.get(key)
        if override is not None:
            first = override[0] or first
            resolution = override[1] or resolution
    return first, max(first, resolution)


def plan_steps(
    calendar: BusinessCalendar,
    start: dt.datetime,
    targets: tuple[float, float],
    reminders: Sequence[float],
    escalation: Sequence[tuple[str, float]],
) -> tuple[Due, list[PlannedStep]]:
    """Both deadlines of a clock started at ``start``, and every step it will take."""
    first_hours, resolution_hours = targets
    due = Due(calendar.add(start, first_hours), calendar.add(start, resolution_hours))
    steps = [
        PlannedStep(
            "first_response",
            "reminder",
            i,
            calendar.add(start, first_hours * f),
            EscalationLevel.PRIMARY,
        )
        for i, f in enumerate(reminders)
    ]
    steps += [
        PlannedStep("first_response", "escalation", i, calendar.add(due.first_response, after), to)
        for i, (to, after) in enumerate(escalation)
    ]
    steps.append(
        PlannedStep("resolution", "escalation", 0, due.resolution, EscalationLevel.COORDINATORS)
    )
    return due, steps
