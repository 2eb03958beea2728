"""How the dashboard writes times, hours, shares and names: in its time zone and locale."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from dataclasses import dataclass

from babel import Locale, localedata
from babel.dates import format_skeleton, format_time
from babel.numbers import format_decimal, format_percent

from ground.config import Config

__all__ = ["NONE", "Formats", "Names", "english_of"]

NONE = "—"
NBSP = "\u00a0"
# English as written in Europe: day first, 24-hour times.
EUROPE = "en_150"


def english_of(country: str) -> Locale:
    """English as written in ``country`` (an ISO code: en_DE, en_FI), else in Europe."""
    code = f"en_{country.strip().upper()}"
    return Locale.parse(code if country.strip() and localedata.exists(code) else EUROPE)


@dataclass(frozen=True)
class Formats:
    """Times in one zone, numbers in one locale; a missing value is a dash."""

    zone: zoneinfo.ZoneInfo
    locale: Locale

    @classmethod
    def of(cls, config: Config) -> Formats:
        """The configured ``dashboard.timezone`` and locale, or the network's defaults."""
        zone = config.dashboard.timezone or config.languages.default_timezone
        return cls(zoneinfo.ZoneInfo(zone), Locale.parse(config.dashboard.locale or EUROPE))

    def for_reader(self, zone: str | None, country: str | None) -> Formats:
        """The same formats with times in ``zone`` and English as written in ``country``.

        ``None`` keeps this one's zone or locale (the ones the config sets for everyone).
        """
        locale = self.locale if country is None else english_of(country)
        return Formats(self.zone if zone is None else zoneinfo.ZoneInfo(zone), locale)

    def when(self, instant: dt.datetime | None) -> str:
        """A date and time such as "Mar 2, 2026, 10:00 AM" in the zone."""
        if instant is None:
            return NONE
        local = instant.astimezone(self.zone)
        date = format_skeleton("yMMMd", local, locale=self.locale)
        time = format_time(local, "short", locale=self.locale)
        pattern = str(self.locale.datetime_formats["medium"])
        return pattern.replace("{1}", date).replace("{0}", time)

    def day(self, day: dt.date | None, *, year: bool = True) -> str:
        """A day such as "Mar 2, 2026" (or "Mar 2")."""
        if day is None:
            return NONE
        return format_skeleton("yMMMd" if year else "MMMd", day, locale=self.locale)

    def period(self, start: dt.datetime, end: dt.datetime) -> str:
        """The days from ``start`` to ``end`` (excluded) as "Mar 1 – 20, 2026", in UTC days."""
        last = (end - dt.timedelta(microseconds=1)).astimezone(dt.UTC).date()
        first = start.astimezone(dt.UTC).date()
        return f"{self.day(first)} – {self.day(last)}"

    def percent(self, rate: float | None) -> str:
        """A share such as "25%" ("25 %" in French)."""
        return NONE if rate is None else format_percent(rate, locale=self.locale)

    def hours(self, hours: float | None) -> str:
        """A duration in hours with its unit, to a tenth: "9.2 h"."""
        if hours is None:
            return NONE
        return f"{format_decimal(round(hours, 1), '#,##0.#', locale=self.locale)}{NBSP}h"

    def number(self, value: int | float | None) -> str:
        """A count with the locale's grouping: "1,234"."""
        return NONE if value is None else format_decimal(value, locale=self.locale)

    @property
    def zone_name(self) -> str:
        """The zone's IANA name, shown once on every page."""
        return self.zone.key


class Names:
    """People's, partners', topics' and languages' names for the ids the database keeps."""

    def __init__(self, config: Config, formats: Formats) -> None:
        self._partners = {p.id: p.name for p in config.partners}
        self._people = {e.id: e.name for e in config.experts}
        self._people.update({c.id: c.name for c in config.coordinators})
        self._topics = {t.id: t.name for t in config.topics}
        self._languages = formats.locale.languages
        self._formats = formats

    def partner(self, key: str | None) -> str:
        """The partner's name, or its id when the config no longer has it."""
        return self._partners.get(key or "", key or NONE)

    def person(self, key: str | None) -> str:
        """An expert's or coordinator's name, or their id."""
        return self._people.get(key or "", key or NONE)

    def topic(self, key: str | None) -> str:
        """The topic's name, or its id."""
        return self._topics.get(key or "", key or NONE)

    def language(self, code: str | None) -> str:
        """The language's name in the dashboard's locale: "French"."""
        if not code:
            return NONE
        name = str(self._languages.get(code, code))
        return name[:1].upper() + name[1:]

    def group(self, by: str | None, key: str) -> str:
        """The name of one group of a breakdown ``by`` a dimension."""
        if not key:
            return "(none)"
        if by == "partner":
            return self.partner(key)
        if by == "expert":
            return self.person(key)
        if by == "topic":
            return self.topic(key)
        if by == "language":
            return self.language(key)
        if by == "channel":
            return key.capitalize()
        if by == "week":
            return f"Week of {self._formats.day(dt.date.fromisoformat(key))}"
        return key
