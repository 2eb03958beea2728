"""Reading Element's HTML into plain text and spans, and writing it back."""

from __future__ import annotations

from bot.channels.matrix_content import styled_html
from bot.channels.matrix_html import read_html
from handlers.events import Span


def spans_of(html: str) -> tuple[str, list[tuple[str, str, str]]]:
    text, spans = read_html(html)
    return text, [(s.kind, text[s.start : s.end], s.url) for s in spans]


def test_markdown_rendered_by_element_becomes_spans() -> None:
    text, spans = spans_of(
        '<strong>Note</strong>: see <a href="https://ec.europa.eu/esf">the ESF+ call</a>'
        " and <em>apply</em> before <code>2027-01-31</code> &amp; <del>later</del>."
    )
    assert text == "Note: see the ESF+ call and apply before 2027-01-31 & later."
    assert spans == [
        ("bold", "Note", ""),
        ("text_link", "the ESF+ call", "https://ec.europa.eu/esf"),
        ("italic", "apply", ""),
        ("code", "2027-01-31", ""),
        ("strikethrough", "later", ""),
    ]


def test_paragraphs_lists_and_line_breaks() -> None:
    text, spans = spans_of(
        "<p>Two options:</p>\n<ol>\n<li>a <b>shared</b> employer</li>\n<li>a grant</li>\n</ol>"
        "<ul><li>first</li><li>second<br>line</li></ul><p>Done</p>"
    )
    assert text == ("Two options:\n1. a shared employer\n2. a grant\n• first\n• second\nline\nDone")
    assert spans == [("bold", "shared", "")]


def test_reply_quotes_pills_and_unsafe_links_are_plain() -> None:
    text, spans = spans_of(
        "<mx-reply><blockquote><a href='https://matrix.to/#/!r/$e'>In reply to</a> "
        "old text</blockquote></mx-reply>"
        '<a href="https://matrix.to/#/@sofia:example.org">Sofia</a>, '
        '<a href="javascript:alert(1)">click</a> <span data-mx-spoiler>secret</span>'
    )
    assert text == "Sofia, click secret"
    assert spans == [("spoiler", "secret", "")]


def test_preformatted_text_keeps_its_lines_and_a_quote_is_a_blockquote() -> None:
    text, spans = spans_of(
        "<blockquote>Quoted\nline</blockquote><pre><code>a  =  1\nb = 2\n</code></pre>"
    )
    assert text == "Quoted line\na  =  1\nb = 2"
    assert spans == [("blockquote", "Quoted line", ""), ("pre", "a  =  1\nb = 2", "")]


def test_broken_nesting_and_unclosed_tags_still_give_spans() -> None:
    text, spans = spans_of("<b>bold <i>both</b> italic")
    assert text == "bold both italic"
    assert ("bold", "bold both", "") in spans and ("italic", "both", "") in spans


def test_read_and_written_again_the_formatting_survives() -> None:
    original = "Look at the call: apply early."
    spans = (Span("bold", 0, 4), Span("text_link", 12, 16, "https://example.org/call"))
    assert read_html(styled_html(original, spans)) == (original, spans)
