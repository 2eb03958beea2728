"""Formatting kept when relaying: Telegram entities in split texts, Matrix HTML, webhook config."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from bot.channels.matrix_content import message_content, styled_html
from bot.channels.telegram_text import spans_of, split_text, utf16_length
from ground.config import ConfigError, load_config
from handlers.events import Span
from tests.bot.test_config import MINIMAL, write


def entity_texts(text: str, spans: list[Span]) -> list[tuple[str, str]]:
    return [(s.kind, text[s.start : s.end]) for s in spans]


def test_entities_are_read_in_utf16_units() -> None:
    text = "Read 📘 the guide at the chamber"
    # "the guide" starts after an emoji, which counts two UTF-16 units.
    offset = utf16_length("Read 📘 ")
    spans = spans_of(
        text,
        [
            ("bold", offset, 9, ""),
            ("text_link", offset + 13, 11, "https://example.org/chamber"),
            ("mention", 0, 4, ""),  # found by Telegram itself: not carried
            ("italic", 999, 3, ""),  # out of range: dropped, not an error
        ],
    )
    assert entity_texts(text, list(spans)) == [("bold", "the guide"), ("text_link", "the chamber")]
    assert spans[1].url == "https://example.org/chamber"


def test_splitting_never_breaks_an_entity_where_a_break_fits() -> None:
    rng = random.Random(4)
    words = [rng.choice(["craft", "apprentice", "région", "💶", "Förderung"]) for _ in range(3000)]
    text = " ".join(words)
    spans = []
    position = 0
    for index, word in enumerate(words):
        if index % 7 == 0:
            end = position + len(" ".join(words[index : index + 5]))
            spans.append(Span("bold", position, end))
        position += len(word) + 1
    parts = split_text(text, spans=spans)
    assert len(parts) >= 4
    relayed = []
    for part in parts:
        assert utf16_length(part.text) <= 4096
        units = part.text.encode("utf-16-le")
        for style in part.styles:
            assert style.offset >= 0 and style.offset + style.length <= len(units) // 2
            covered = units[2 * style.offset : 2 * (style.offset + style.length)]
            relayed.append(covered.decode("utf-16-le"))
    # Every bold passage arrives whole, in one message.
    assert relayed == [text[s.start : s.end] for s in spans]


def test_a_formatted_passage_longer_than_a_message_continues_in_the_next() -> None:
    text = "Intro. " + "bold " * 1200 + "end."
    span = Span("bold", 7, 7 + len("bold " * 1200) - 1)
    parts = split_text(text, spans=[span])
    assert len(parts) == 2
    assert all(len(p.styles) == 1 and p.styles[0].kind == "bold" for p in parts)
    first, second = parts
    assert first.styles[0].offset == 7
    assert first.styles[0].offset + first.styles[0].length == utf16_length(first.text)
    assert second.styles[0].offset == 0


def test_matrix_html_keeps_formatting_well_nested() -> None:
    text = "Use <the> form and ask early."
    spans = [
        Span("bold", 0, 9),
        Span("italic", 4, 14),  # overlaps the bold: still valid HTML
        Span("text_link", 19, 28, "https://example.org/a?b=1&c=2"),
        Span("text_link", 0, 3, "javascript:alert(1)"),  # not a web link: not linked
    ]
    assert styled_html(text, spans) == (
        "<b>Use </b><i><b>&lt;the&gt;</b></i><i> form</i> and "
        '<a href="https://example.org/a?b=1&amp;c=2">ask early</a>.'
    )
    content = message_content(text, formatting=spans)
    assert content["body"] == text
    assert content["formatted_body"] == styled_html(text, spans)


def config_error(tmp_path: Path, section: str, environ: dict[str, str] | None = None) -> str:
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, MINIMAL + section), environ=environ or {})
    return str(caught.value)


def test_webhook_settings_are_checked(tmp_path: Path) -> None:
    hook = '[telegram]\nwebhook_url = "{url}"\nwebhook_secret = "{secret}"\n'
    assert "telegram.webhook_url: must be an https:// URL" in config_error(
        tmp_path, hook.format(url="http://rrm.example.org/hook", secret="abc")
    )
    missing = config_error(tmp_path, hook.format(url="https://rrm.example.org/hook", secret=""))
    assert "telegram.webhook_secret: required in webhook mode" in missing
    bad = config_error(tmp_path, hook.format(url="https://rrm.example.org/hook", secret="a b"))
    assert "telegram.webhook_secret" in bad and "a b" not in bad.split(":", 2)[-1][:5]
    from_env = load_config(
        write(tmp_path, MINIMAL + hook.format(url="https://rrm.example.org/hook", secret="")),
        environ={"RRM_TELEGRAM_WEBHOOK_SECRET": "from-the-environment"},
    )
    assert from_env.telegram.webhook_secret == "from-the-environment"
    assert "from-the-environment" not in repr(from_env.telegram)
