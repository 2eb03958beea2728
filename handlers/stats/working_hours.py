"""Working hours between two instants in a partner's business calendar, for the statistics."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from ground.config import Config

__all__ = ["WorkingHours", "partner_working_hours", "wall_clock_hours"]

WorkingHours = Callable[[dt.datetime, dt.datetime, str | None], float]


def wall_clock_hours(start: dt.datetime, end: dt.datetime, partner: str | None) -> float:
    """Hours from ``start`` to ``end`` around the clock (zero if ``end`` is not later)."""
    del partner
    return max((end - start).total_seconds(), 0.0) / 3600


def partner_working_hours(config: Config) -> WorkingHours:
    """Hours counted in each partner's calendar, the one its deadlines are counted in.

    A question without a known partner (routed to coordinators) counts around the clock.
    """

    def hours(start: dt.datetime, end: dt.datetime, partner: str | None) -> float:
        if config.partner(partner or "") is None:
            return wall_clock_hours(start, end, partner)
        return config.calendar_for(partner).working_time(start, end).total_seconds() / 3600

    return hours
