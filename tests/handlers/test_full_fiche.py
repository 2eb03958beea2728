"""A full fiche shown in chat is cut to a few messages' worth, at a paragraph's end."""

from __future__ import annotations

import dataclasses
import shutil

from ground.storage.models import FicheVersion
from handlers.asker_commands import FULL_FICHE_CHARS, fiche_heading, shortened
from tests.conftest import SAMPLE_FICHES
from tests.fakes.app import console_bot
from tests.handlers.test_console_loop import APPRENTICE_QUESTION


def test_a_short_body_is_shown_whole() -> None:
    body = "First paragraph.\n\nSecond paragraph."
    assert shortened(body) == (body, False)


def test_the_heading_names_partner_and_place_only_under_a_partner() -> None:
    full = FicheVersion(title="T", partner="Chambre", region="Occitanie", country="FR")
    assert fiche_heading(full) == "T\nChambre — Occitanie, FR"
    assert fiche_heading(FicheVersion(title="T", partner="Chambre", region="", country="")) == (
        "T\nChambre"
    )
    # A fiche with no partner (a draft made without one): the title alone, no dangling place.
    assert fiche_heading(FicheVersion(title="T", partner="", region="", country="FR")) == "T"


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


async def test_a_long_fiche_reaches_the_asker_cut_with_a_note(config, embedder, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Through the console: "Show the full fiche" on a 60,000-character fiche."""
    collection = tmp_path / "fiches"
    shutil.copytree(SAMPLE_FICHES, collection)
    fiche = collection / "employer-pool-apprenticeships-mayo" / "en.md"
    extra = "\n\n".join(f"## Annex {n}\n" + "A long annex paragraph. " * 100 for n in range(25))
    fiche.write_text(fiche.read_text("utf-8") + "\n\n" + extra + "\n", "utf-8")
    config = dataclasses.replace(
        config, knowledge=dataclasses.replace(config.knowledge, collection=str(collection))
    )
    async with console_bot(config, embedder) as bot:
        shown = await bot.say(APPRENTICE_QUESTION)
        assert "[3] Show the full fiche" in shown
        full = await bot.say("3")
    assert "Keep a reserve host firm for downturns." in full  # the fiche's own text
    assert "Annex 24" not in full
    assert "This is the beginning of a long fiche. For the rest, please ask an expert." in full
    assert len(full) < FULL_FICHE_CHARS + 1000
