"""The Telegram channel's pure parts: its config section, mentions, and splitting long texts."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.channels.telegram_text import Mention, split_text, utf16_length, with_mentions
from ground.config import ConfigError, load_config
from tests.bot.test_config import MINIMAL, write

TOKEN = "123456789:AAHsecretSecretSecret_x"


def telegram_error(tmp_path: Path, section: str, environ: dict[str, str] | None = None) -> str:
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, MINIMAL + section), environ=environ or {})
    return str(caught.value)


def test_telegram_section_is_checked_and_the_token_never_shown(tmp_path: Path) -> None:
    assert "telegram.token: required" in telegram_error(
        tmp_path, "[telegram]\nenabled = true\nexperts_chat_id = -1001\n"
    )
    wrong = telegram_error(
        tmp_path, '[telegram]\nenabled = true\ntoken = "not a token"\nexperts_chat_id = -1001\n'
    )
    assert "telegram.token" in wrong and "not a token" not in wrong
    assert "telegram.experts_chat_id: required" in telegram_error(
        tmp_path, f'[telegram]\nenabled = true\ntoken = "{TOKEN}"\n'
    )
    assert "telegram.experts_chat_id: expected an integer" in telegram_error(
        tmp_path, '[telegram]\nexperts_chat_id = "-1001"\n'
    )
    username = MINIMAL.replace(
        'topics = ["eu-funding"]', 'topics = ["eu-funding"]\nidentities = { telegram = "@one" }'
    )
    with pytest.raises(ConfigError, match=r"experts\[0\]\.identities\.telegram: must be"):
        load_config(write(tmp_path, username), environ={})

    section = "[telegram]\nenabled = true\nexperts_chat_id = -1001\n"
    config = load_config(write(tmp_path, MINIMAL + section), environ={"RRM_TELEGRAM_TOKEN": TOKEN})
    assert config.telegram.token == TOKEN and TOKEN not in repr(config)
    assert config.telegram.forum and config.telegram.poll_timeout == 30


def test_mentions_link_names_in_the_text_or_on_a_last_line() -> None:
    text, mentions = with_mentions(
        "Assigned to: Claire Dubois\nAlso asked: Jonas Weber",
        [("11", "Jonas Weber"), ("12", "Eleni")],
    )
    assert text.endswith("\n\nEleni")
    assert [(text[m.start : m.end], m.user_id) for m in mentions] == [
        ("Jonas Weber", 11),
        ("Eleni", 12),
    ]
    assert with_mentions("Hi", [("@handle", "Someone")]) == ("Hi", [])


def test_split_at_words_counting_utf16_and_keeping_mentions_whole() -> None:
    text = "😀 " * 3000  # each emoji is two UTF-16 units
    parts = split_text(text)
    assert all(utf16_length(p.text) <= 4096 for p in parts) and len(parts) == 3
    assert "".join(p.text.replace(" ", "") for p in parts) == "😀" * 3000

    names = "x" * 4090 + " Claire Dubois and more"
    mention = Mention(4091, 4091 + len("Claire Dubois"), 7, "Claire Dubois")
    first, second = split_text(names, [mention])
    assert first.text == "x" * 4090 and not first.entities
    assert second.text.startswith("Claire Dubois")
    [entity] = second.entities
    assert (entity.offset, entity.length, entity.user_id) == (0, 13, 7)

    paragraph = "intro\n\n" + "word " * 1000
    first, second = split_text(paragraph, limit=3000)
    assert first.text.endswith("word") and second.text.startswith("word")

    assert [p.text for p in split_text("y" * 5000)] == ["y" * 4096, "y" * 904]
    assert split_text("   ") == []
