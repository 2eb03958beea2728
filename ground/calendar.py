"""Business calendars: a partner's time zone, working days, hours and holidays, in working time."""

from __future__ import annotations

import datetime as dt
import functools
import re
import zoneinfo
from collections.abc import Iterable
from dataclasses import dataclass

__all__ = ["DEFAULT_WEEK", "BusinessCalendar", "CalendarError", "cached_calendar", "parse_calendar"]

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
HOURS = re.compile(r"(\d{1,2}):(\d{2})-(\d{1,2}):(\d{2})")
# Enough to cross any run of holidays; a calendar with no working day is refused up front.
MAX_DAYS = 3 * 366


class CalendarError(ValueError):
    """A calendar that cannot be used: which field, and what is wrong with it."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem


@dataclass(frozen=True)
class BusinessCalendar:
    """When a partner works: its time zone, working weekdays, daily hours and holidays."""

    zone: zoneinfo.ZoneInfo
    weekdays: frozenset[int]  # Monday is 0
    opens: dt.time
    closes: dt.time
    holidays: frozenset[dt.date]

    def is_working_day(self, day: dt.date) -> bool:
        """Whether ``day`` (a local date) is a working day."""
        return day.weekday() in self.weekdays and day not in self.holidays

    def _window(self, day: dt.date) -> tuple[dt.datetime, dt.datetime]:
        # Built from local wall-clock times, then compared in UTC: a day that changes to or
        # from summer time still opens and closes at its local hours.
        start = dt.datetime.combine(day, self.opens, tzinfo=self.zone).astimezone(dt.UTC)
        if self.closes == dt.time.max:  # "24:00": the next midnight
            end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tzinfo=self.zone)
        else:
            end = dt.datetime.combine(day, self.closes, tzinfo=self.zone)
        return start, end.astimezone(dt.UTC)

    def add(self, start: dt.datetime, hours: float) -> dt.datetime:
        """The instant ``hours`` working hours after ``start`` (aware), in UTC."""
        if start.tzinfo is None:
            raise ValueError("the start of a deadline must be an aware datetime")
        cursor = start.astimezone(dt.UTC)
        if hours <= 0:
            return cursor
        remaining = dt.timedelta(hours=hours)
        day = cursor.astimezone(self.zone).date()
        for _ in range(MAX_DAYS):
            if self.is_working_day(day):
                opens, closes = self._window(day)
                begin = max(cursor, opens)
                if begin < closes:
                    available = closes - begin
                    if remaining <= available:
                        # A deadline landing exactly at closing time stays on that day.
                        return begin + remaining
                    remaining -= available
            day += dt.timedelta(days=1)
        raise CalendarError("working_days", "no working time within three years")

    def working_time(self, start: dt.datetime, end: dt.datetime) -> dt.timedelta:
        """Working time between two instants (zero if ``end`` is not after ``start``)."""
        total = dt.timedelta()
        if end <= start:
            return total
        day = start.astimezone(self.zone).date()
        last = end.astimezone(self.zone).date()
        while day <= last:
            if self.is_working_day(day):
                opens, closes = self._window(day)
                begin, finish = max(start, opens), min(end, closes)
                if finish > begin:
                    total += finish - begin
            day += dt.timedelta(days=1)
        return total


def parse_calendar(
    timezone: str, working_days: Iterable[str], working_hours: str, holidays: Iterable[str]
) -> BusinessCalendar:
    """Build a calendar from config values; CalendarError names the field that is wrong."""
    try:
        zone = zoneinfo.ZoneInfo(timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise CalendarError("timezone", f"unknown time zone {timezone!r}") from None
    weekdays = set()
    for i, name in enumerate(working_days):
        if name.lower() not in WEEKDAYS:
            raise CalendarError(f"working_days[{i}]", f"{name!r} is not one of {WEEKDAYS}")
        weekdays.add(WEEKDAYS.index(name.lower()))
    if not weekdays:
        raise CalendarError("working_days", "needs at least one working day")
    match = HOURS.fullmatch(working_hours.strip())
    if match is None:
        raise CalendarError("working_hours", f'{working_hours!r} is not like "09:00-17:00"')
    h1, m1, h2, m2 = (int(part) for part in match.groups())
    if h1 > 23 or m1 > 59 or m2 > 59 or h2 > 24 or (h2 == 24 and m2):
        raise CalendarError("working_hours", f"{working_hours!r} is not a valid time range")
    opens = dt.time(h1, m1)
    closes = dt.time.max if h2 == 24 else dt.time(h2, m2)
    if closes <= opens:
        raise CalendarError("working_hours", "must close later in the day than it opens")
    days = set()
    for i, text in enumerate(holidays):
        try:
            days.add(dt.date.fromisoformat(text))
        except ValueError:
            raise CalendarError(f"holidays[{i}]", f"{text!r} is not a date YYYY-MM-DD") from None
    return BusinessCalendar(zone, frozenset(weekdays), opens, closes, frozenset(days))


DEFAULT_WEEK = ("mon", "tue", "wed", "thu", "fri")


@functools.lru_cache(maxsize=256)
def cached_calendar(
    timezone: str, days: tuple[str, ...], hours: str, holidays: tuple[str, ...]
) -> BusinessCalendar:
    """The calendar of these config values, built once (partners share few distinct ones)."""
    return parse_calendar(timezone, days, hours, holidays)
