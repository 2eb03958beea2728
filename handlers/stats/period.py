"""The period a statistic covers: the last N days, or from one date to another."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

__all__ = ["Period", "PeriodError", "parse_period"]

RELATIVE = re.compile(r"^(\d{1,4})([dw])$")


class PeriodError(ValueError):
    """A period that cannot be read, with a message for the person who wrote it."""


@dataclass(frozen=True)
class Period:
    """Questions asked from ``start`` (included) to ``end`` (excluded), in UTC."""

    start: dt.datetime
    end: dt.datetime

    @classmethod
    def last_days(cls, days: int, now: dt.datetime) -> Period:
        """The ``days`` days up to ``now``."""
        return cls(now - dt.timedelta(days=days), now)

    @property
    def label(self) -> str:
        """The period as dates, the end day included."""
        last = self.end - dt.timedelta(microseconds=1)
        return f"{self.start:%Y-%m-%d} – {last:%Y-%m-%d}"


def _day(text: str, name: str) -> dt.datetime:
    try:
        day = dt.date.fromisoformat(text)
    except ValueError:
        raise PeriodError(f"{name} {text!r} is not a date like 2026-03-01") from None
    return dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)


def parse_period(
    now: dt.datetime,
    relative: str | None = None,
    start: str | None = None,
    end: str | None = None,
) -> Period:
    """A period from ``7d``/``4w`` or from dates (``end`` day included); default 30 days."""
    if relative:
        match = RELATIVE.match(relative.strip().lower())
        if not match or int(match.group(1)) == 0:
            raise PeriodError(f"{relative!r} is not a period like 7d, 30d or 4w")
        days = int(match.group(1)) * (7 if match.group(2) == "w" else 1)
        return Period.last_days(days, now)
    if not start and not end:
        return Period.last_days(30, now)
    upper = _day(end, "--to") + dt.timedelta(days=1) if end else now
    lower = _day(start, "--from") if start else upper - dt.timedelta(days=30)
    if lower >= upper:
        raise PeriodError("--from must be before --to")
    return Period(lower, upper)
