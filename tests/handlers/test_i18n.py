"""Every message the bot sends to askers exists in every default language's catalog."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir

from ground.config import LanguagesConfig
from handlers.i18n import CATALOGS, Translator, format_when

HANDLERS = Path(__file__).resolve().parents[2] / "handlers"
KEYWORDS = {"t": None, "t_for": (2,)}


def messages_in_code() -> set[str]:
    """The msgids passed to Turn.t and Turn.t_for anywhere in handlers/."""
    found = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
        str(HANDLERS), method_map=[("**.py", "python")], keywords=KEYWORDS
    ):
        found.add(message if isinstance(message, str) else message[0])
    return found


def test_the_code_has_messages_to_translate() -> None:
    assert len(messages_in_code()) > 30


@pytest.mark.parametrize("language", [c for c in LanguagesConfig().supported if c != "en"])
def test_catalog_has_every_message(language: str) -> None:
    path = CATALOGS / language / "LC_MESSAGES" / "messages.po"
    assert path.exists(), f"no catalog for {language}: {path}"
    translator = Translator([language])
    missing = sorted(m for m in messages_in_code() if not translator.has(language, m))
    assert not missing, f"{language} misses {len(missing)} message(s): {missing[:3]}"
    for message in messages_in_code():
        fields = set(re.findall(r"{(\w+)}", message))
        translated = translator.translate(language, message)
        assert set(re.findall(r"{(\w+)}", translated)) == fields, (language, message)


def test_missing_language_falls_back_to_english(tmp_path: Path) -> None:
    translator = Translator(["fr"], folder=tmp_path)
    assert translator.translate("fr", "Hello {name}", name="Ana") == "Hello Ana"


def test_dates_in_reader_locale_and_zone() -> None:
    instant = dt.datetime(2026, 3, 2, 16, 30, tzinfo=dt.UTC)
    assert format_when(instant, "fr", "Europe/Paris").startswith("lun. 2 mars 2026, 17:30")
    assert "18:30" in format_when(instant, "el", "Europe/Athens")
    assert "16:30" in format_when(instant, "en", "Europe/Dublin")
