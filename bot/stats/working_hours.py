"""Working hours between two instants for a partner: the one calendar hook the statistics use.

This is the plain wall-clock version. The deadlines work brings partner business-hour
calendars; swapping this function for theirs is the only change the statistics need.
"""

from __future__ import annotations

import datetime as dt

__all__ = ["working_hours_between"]


def working_hours_between(start: dt.datetime, end: dt.datetime, partner: str | None) -> float:
    """Hours of ``partner``'s working time from ``start`` to ``end`` (wall-clock for now)."""
    del partner  # every partner works around the clock until business calendars arrive
    return max((end - start).total_seconds(), 0.0) / 3600
