"""A full fiche shown in chat is cut to a few messages' worth, at a paragraph's end."""

from __future__ import annotations

from handlers.asker_commands import FULL_FICHE_CHARS, shortened


def test_a_short_body_is_shown_whole() -> None:
    body = "First paragraph.\n\nSecond paragraph."
    assert shortened(body) == (body, False)


def test_a_long_body_is_cut_where_a_paragraph_ends() -> None:
    paragraph = "A sentence about apprenticeships in the region. " * 40  # ~2,000 characters
    body = "\n\n".join(f"{n}. {paragraph}".strip() for n in range(200))  # ~400,000 characters
    shown, cut = shortened(body)
    assert cut and len(shown) <= FULL_FICHE_CHARS
    assert len(shown) > FULL_FICHE_CHARS // 2
    assert body.startswith(shown) and body[len(shown) : len(shown) + 2] == "\n\n"


def test_one_endless_paragraph_is_cut_between_words() -> None:
    body = "word " * 10_000
    shown, cut = shortened(body)
    assert cut and shown.endswith("word") and len(shown) <= FULL_FICHE_CHARS
