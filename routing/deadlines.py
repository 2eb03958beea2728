"""When a routed question is due: first response and resolution targets."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

__all__ = ["Due", "due_times"]


@dataclass(frozen=True)
class Due:
    """The two deadlines of a question."""

    first_response: dt.datetime
    resolution: dt.datetime


def due_times(routed_at: dt.datetime, first_response_hours: float, resolution_hours: float) -> Due:
    """Deadlines in wall-clock hours from routing; business calendars refine this later."""
    return Due(
        routed_at + dt.timedelta(hours=first_response_hours),
        routed_at + dt.timedelta(hours=resolution_hours),
    )
