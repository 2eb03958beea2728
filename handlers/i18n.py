"""The bot's own words in every network language: gettext catalogs read with Babel."""

from __future__ import annotations

import datetime as dt
import gettext
import zoneinfo
from collections.abc import Callable, Iterable
from pathlib import Path

from babel import Locale
from babel.dates import format_date, format_datetime
from babel.messages.pofile import read_po

__all__ = ["CATALOGS", "Translator", "format_day", "format_when", "language_name", "locale_for"]

CATALOGS = Path(__file__).with_name("locale")
DOMAIN = "messages"
# The network's Portuguese is European: Babel's plain "pt" is Brazilian (polonês, ônibus).
LOCALE_DATA = {"pt": "pt_PT"}
# Readers whose language names are lower case inside a sentence, where Babel capitalises.
LOWER_CASE_NAMES = {"el"}
# Babel's medium date without the day's ordinal dot: German writes "2. März".
DATE_PATTERNS = {"de": "EEE d. MMM y, HH:mm zzz"}


def locale_for(language: str | None) -> str:
    """The Babel locale whose data a reader of ``language`` expects."""
    code = language or "en"
    return LOCALE_DATA.get(code, code)


def language_name(code: str, reader: str | None) -> str:
    """The name of language ``code`` in the reader's language (European Portuguese for pt).

    As it stands in a sentence: Greek writes language names in lower case there ("στα
    πορτογαλικά"), where Babel gives the capitalised form of a list.
    """
    try:
        name = Locale.parse(code).get_display_name(locale_for(reader)) or code
    except (ValueError, TypeError):
        return code
    return name.lower() if reader in LOWER_CASE_NAMES else name


class Translator:
    """Looks up a message in the reader's language, falling back to English."""

    def __init__(self, languages: Iterable[str], folder: Path = CATALOGS) -> None:
        self._catalogs: dict[str, dict[str, str]] = {}
        self._plurals: dict[str, dict[str, tuple[str, ...]]] = {}
        self._rules: dict[str, Callable[[int], int]] = {}
        for language in languages:
            path = folder / language / "LC_MESSAGES" / f"{DOMAIN}.po"
            if not path.exists():
                continue
            with path.open("rb") as handle:
                catalog = read_po(handle, locale=language)
            self._catalogs[language] = {
                str(m.id): str(m.string)
                for m in catalog
                if m.id and m.string and not m.fuzzy and isinstance(m.id, str)
            }
            self._plurals[language] = {
                str(m.id[0]): tuple(str(s) for s in m.string)
                for m in catalog
                if isinstance(m.id, tuple) and isinstance(m.string, tuple)
                if all(m.string) and not m.fuzzy
            }
            self._rules[language] = gettext.c2py(catalog.plural_expr)

    def has(self, language: str, message: str) -> bool:
        """Whether ``language`` has its own translation of ``message``."""
        return message in self._catalogs.get(language, {})

    def translate(self, language: str | None, message: str, /, **values: object) -> str:
        """Return ``message`` in ``language`` with ``{placeholders}`` filled in."""
        text = self._catalogs.get(language or "en", {}).get(message, message)
        try:
            return text.format(**values) if values else text
        except (KeyError, IndexError, ValueError):
            # A broken translation must never hide the message: fall back to English.
            return message.format(**values)

    def translate_plural(
        self, language: str | None, singular: str, plural: str, n: int, /, **values: object
    ) -> str:
        """The form of a counted message that fits ``n`` in ``language``'s plural rule."""
        english = singular if n == 1 else plural
        forms = self._plurals.get(language or "en", {}).get(singular)
        text = english
        if forms:
            index = self._rules[language or "en"](n)
            text = forms[index] if index < len(forms) else forms[-1]
        try:
            return text.format(**values)
        except (KeyError, IndexError, ValueError):
            return english.format(**values)


def format_when(instant: dt.datetime, language: str | None, timezone: str) -> str:
    """A date and time as a reader expects them: their locale, their time zone, zone named."""
    zone = zoneinfo.ZoneInfo(timezone)
    pattern = DATE_PATTERNS.get(language or "en", "EEE d MMM y, HH:mm zzz")
    return format_datetime(instant, pattern, tzinfo=zone, locale=locale_for(language))


def format_day(instant: dt.datetime, language: str | None, timezone: str) -> str:
    """The day of an instant in the reader's words and zone: "2 March 2026", "2. März 2026"."""
    day = instant.astimezone(zoneinfo.ZoneInfo(timezone)).date()
    # Babel's English is American ("March 2, 2026"); the network writes days first.
    pattern = "d MMMM y" if (language or "en") == "en" else "long"
    return format_date(day, pattern, locale=locale_for(language))
