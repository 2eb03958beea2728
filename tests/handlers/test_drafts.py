"""Answers that become fiches (console): draft, review, approve, answer at once, export."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from bot.assembly import import_fiches
from bot.cli import main
from bot.dashboard import create_app
from ground.config import DashboardConfig
from ground.storage import conversation_repo, repo
from ground.storage.dashboard_accounts import add_account
from ground.storage.drafts_repo import add_draft
from ground.storage.models import Fiche, FicheDraft, FicheVersion, Question
from handlers.drafts import (
    ID_IN_USE,
    ID_TAKEN,
    INVALID,
    REVIEWED,
    approval_problem,
    change_field,
)
from knowledge.collection import read_collection
from knowledge.drafts import DRAFTS_COLLECTION
from tests.conftest import example_config_text
from tests.fakes.app import console_bot
from tests.stats.test_drafts_page import form
from tests.stats.test_surfaces import SECRET, login

pytestmark = pytest.mark.db

QUESTION = (
    "Can you recommend a lawyer who knows the public procurement rules for school canteen "
    "catering contracts?"
)
NEXT_QUESTION = (
    "Which lawyers know the public procurement rules for catering contracts of school canteens?"
)
ANSWER = (
    "The national procurement agency keeps a list of lawyers who advise municipalities on "
    "school canteen catering contracts. Ask its helpdesk for the lawyers of your region; "
    "the first consultation is free for municipalities under 20,000 inhabitants."
)
TITLE = "Lawyers for school canteen catering contracts"
FICHE = "lawyers-for-school-canteen-catering-contracts-q1"


async def test_answer_to_draft_to_approval_to_instant_answer(
    config, embedder, database_url, tmp_path, capsys
) -> None:
    async with console_bot(config, embedder) as bot:
        shown = await bot.say(QUESTION)
        assert "experts' space · thread #1" in shown
        await bot.say("/as claire")  # an expert who reads French
        shown = await bot.say("#1 /tofiche")
        assert "La question n°\u00a01 n’est pas encore résolue" in shown
        bot.clock.advance(dt.timedelta(hours=1))
        await bot.say(f"#1 {ANSWER}")
        shown = await bot.say("#1 /tofiche")
        assert "n’est pas encore résolue" in shown  # answered is not resolved
        await bot.say("#1 /resolve")
        shown = await bot.say(f"#1 /tofiche {TITLE}")
        assert (
            "Projet de fiche n°\u00a01 créé à partir de la question n°\u00a01, en anglais" in shown
        )
        shown = await bot.say("#1 /tofiche")
        assert "La question n°\u00a01 a déjà le projet de fiche n°\u00a01." in shown

        await bot.say("/as anna")  # a coordinator
        shown = await bot.say("/drafts")
        assert f"#1 · {FICHE} · EN · {TITLE} (#1)" in shown
        shown = await bot.say("/draft 1")
        assert f"#1 · waiting for review · {FICHE}/en.md · #1\n" in shown, shown
        assert f'title = "{TITLE}"' in shown and 'country = "FR"' in shown
        assert 'partner = "Chambre de Métiers du Lot"' in shown
        assert "> Can you recommend a lawyer" in shown and ANSWER in shown
        shown = await bot.say("/draft 1 country France")
        assert "Draft fiche #1 is unchanged: country 'France' is not an ISO 3166" in shown
        shown = await bot.say("/draft 1 topics no-such-topic")
        assert "unknown topic 'no-such-topic'" in shown
        shown = await bot.say("/draft 1 colour blue")
        assert "Usage: /draft DRAFT-NUMBER" in shown
        # The file checker's words come in the reader's language too, not in English.
        await bot.say("/language de")
        shown = await bot.say("/draft 1")
        assert f"Nr.\u00a01 · wartet auf Prüfung · {FICHE}/en.md · Nr.\u00a01\n" in shown, shown
        shown = await bot.say("/draft 1 country France")
        assert (
            "Praxisblatt-Entwurf Nr.\u00a01 bleibt unverändert: das Land 'France' ist kein "
            "Code nach ISO 3166 alpha-2" in shown
        )
        shown = await bot.say("/draft 1 topics no-such-topic, ,")
        assert "unbekanntes Thema 'no-such-topic'" in shown and "unknown" not in shown
        shown = await bot.say("/draft 1 id Not An Id!")
        assert "der Ordnername 'not an id!' ist keine gültige Praxisblatt-ID" in shown
        await bot.say("/language bg")
        shown = await bot.say("/draft 1 topics ,")
        assert (
            "Черновата на карта №\u00a01 не е променена: темите трябва да са непразен "
            "списък" in shown
        )
        await bot.say("/language en")
        shown = await bot.say("/draft 1 region Occitanie")
        assert "Changed draft fiche #1." in shown and 'region = "Occitanie"' in shown
        shown = await bot.say("/approve")
        assert "Usage: /approve DRAFT-NUMBER" in shown
        shown = await bot.say("/approve 9")
        assert "There is no draft fiche #9." in shown
        shown = await bot.say("/approve 1")
        assert f"Draft fiche #1 is now the fiche {FICHE}: the bot answers from it at once." in shown
        shown = await bot.say("/reject 1")
        assert "Draft fiche #1 is already reviewed." in shown
        shown = await bot.say("/drafts")
        assert "No draft fiches are waiting for review." in shown

        # The next asker of a close question gets the new fiche at once, without any reload.
        await bot.say("/as bea")
        shown = await bot.say(NEXT_QUESTION)
        assert TITLE in shown and "[1] This answers it" in shown
        assert "experts' space" not in shown
        with bot.app.database.sessions() as session:
            question = session.get(Question, 2)
            assert question.decision == "answer" and question.status == "offered"
            assert session.get(Fiche, FICHE).collection == DRAFTS_COLLECTION
            stored = session.get(FicheVersion, (FICHE, "en"))
            stored_hash = stored.content_hash

        # Export writes it into a collection folder; importing that folder changes nothing.
        config_file = tmp_path / "config.toml"
        config_file.write_text(
            example_config_text().replace('url = "sqlite:///rrm.db"', f'url = "{database_url}"', 1),
            "utf-8",
        )
        folder = tmp_path / "collection"
        (folder / FICHE).mkdir(parents=True)
        (folder / FICHE / "en.md").write_text("someone else's file", "utf-8")
        assert main(["--config", str(config_file), "kb", "drafts", "export", str(folder)]) == 1
        assert "exists with other content; not overwritten" in capsys.readouterr().err
        (folder / FICHE / "en.md").unlink()
        assert main(["--config", str(config_file), "kb", "drafts", "export", str(folder)]) == 0
        assert "exported 1 approved draft(s)" in capsys.readouterr().out
        written = folder / FICHE / "en.md"
        collection = read_collection(
            folder, config.languages.supported, {t.id for t in config.topics}
        )
        assert collection.errors == [] and [v.content_hash for v in collection.versions] == [
            stored_hash
        ]
        report = import_fiches(config, bot.app.database, embedder, folder)
        assert (report.added, report.updated, report.removed, report.unchanged) == ([], [], [], 1)
        with bot.app.database.sessions() as session:
            assert session.get(FicheVersion, (FICHE, "en")).content_hash == stored_hash
            assert session.get(Fiche, FICHE).collection == str(folder.resolve())
            assert session.scalars(select(FicheDraft)).one().exported_at is not None
        # Exported once: a second export writes nothing and refuses nothing.
        assert main(["--config", str(config_file), "kb", "drafts", "export", str(folder)]) == 0
        assert "exported 0 approved draft(s)" in capsys.readouterr().out
        assert written.read_text("utf-8").startswith(f'+++\ntitle = "{TITLE}"\n')


def test_export_needs_a_folder(tmp_path: Path, capsys) -> None:
    config_file = tmp_path / "config.toml"
    config_file.write_text(example_config_text(), "utf-8")
    assert main(["--config", str(config_file), "kb", "drafts", "export", str(tmp_path / "no")]) == 1
    assert "not a folder" in capsys.readouterr().err


async def test_an_approval_on_a_standalone_dashboard_is_searched_at_once(config, embedder) -> None:
    """`rrm dashboard` in its own process approves; the running bot answers from it next."""
    # No knowledge reload: only the bot's look at the approvals can find the new fiche.
    config = dataclasses.replace(
        config, knowledge=dataclasses.replace(config.knowledge, reload_seconds=0)
    )
    async with console_bot(config, embedder) as bot:
        await bot.say(QUESTION)
        await bot.say("/as claire")
        bot.clock.advance(dt.timedelta(hours=1))
        await bot.say(f"#1 {ANSWER}")
        await bot.say("#1 /resolve")
        shown = await bot.say(f"#1 /tofiche {TITLE}")
        assert "#1" in shown

        # Another process: its own app on the same database, telling the bot nothing.
        database = bot.app.database
        with database.sessions.begin() as session:
            add_account(session, "anna", "correct horse battery", bot.clock.now())
        dashboard = dataclasses.replace(config, dashboard=DashboardConfig(secret=SECRET))
        client = TestClient(create_app(dashboard, database, bot.clock, embedder=embedder))
        login(client)
        approved = client.post("/drafts/1", data=form(client, action="approve"))
        assert f"Draft fiche #1 is now the fiche {FICHE}." in approved.text

        # The bot built its search before the approval, and reloads nothing.
        await bot.say("/as bea")
        shown = await bot.say(NEXT_QUESTION)
        assert TITLE in shown and "[1] This answers it" in shown


def test_a_taken_id_an_invalid_file_or_a_review_stops_approval(config, database) -> None:
    """What approval and an edit refuse, named the same way on every surface."""
    now = dt.datetime(2026, 3, 2, 9, tzinfo=dt.UTC)
    with database.sessions.begin() as session:
        asker = conversation_repo.add_asker(session, "An asker", now)
        question = repo.add_question(
            session,
            Question(
                asker_id=asker.id,
                channel="console",
                text=QUESTION,
                language="en",
                status="resolved",
                decision="route",
                created_at=now,
            ),
        )

        def draft(fiche_id: str) -> FicheDraft:
            return add_draft(
                session,
                FicheDraft(
                    question_id=question.id,
                    fiche_id=fiche_id,
                    language="en",
                    title=TITLE,
                    topics=[config.topics[0].id],
                    summary="A list of lawyers.",
                    body=ANSWER,
                    country="FR",
                    region="",
                    partner="",
                    status="draft",
                    created_at=now,
                ),
            )

        first, second = draft(FICHE), draft(FICHE)
        assert approval_problem(session, config, first) == (
            ID_TAKEN,
            {"fiche": FICHE, "draft": first.id},
        )
        # An edit to a taken id is undone, with the reason.
        assert change_field(session, config, second, "id", "Other-Id") is None
        assert second.fiche_id == "other-id"
        assert change_field(session, config, second, "id", FICHE.upper()) == (
            ID_IN_USE,
            {"fiche": FICHE},
        )
        assert second.fiche_id == "other-id"
        assert approval_problem(session, config, first) is None
        # A file made invalid outside the checked edits (the config's topics changed, say).
        first.topics = ["no-such-topic"]
        message, values = approval_problem(session, config, first)
        assert message == INVALID and "unknown topic 'no-such-topic'" in str(values["problem"])
        second.status = "rejected"
        assert approval_problem(session, config, second) == (REVIEWED, {"draft": second.id})
