"""The dashboard's drafts page: review with POST and the CSRF token; approval makes a fiche."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from bot.dashboard import create_app
from ground.clock import FixedClock
from ground.config import Config
from ground.storage.database import Database
from ground.storage.models import Fiche, FicheDraft, FicheVersion, Question
from knowledge.drafts import DRAFTS_COLLECTION
from tests.stats import dataset
from tests.stats.test_surfaces import database, login, stats_config

pytestmark = pytest.mark.db
__all__ = ["database", "stats_config"]  # fixtures used by name

BODY = "> How do we fund a shared apprentice?\n\nA regional fund pays half of the wage."


def add_draft(database: Database) -> int:
    with database.sessions.begin() as session:
        question = session.scalars(select(Question).order_by(Question.id)).first()
        draft = FicheDraft(
            question_id=question.id,
            fiche_id="shared-apprentice-fund-q1",
            language="en",
            title="A regional fund for shared apprentices",
            topics=["work-based-learning"],
            summary="A regional fund pays half of the wage.",
            body=BODY,
            country="FR",
            region="",
            partner="Chambre de Métiers du Lot",
            status="draft",
            created_at=dataset.NOW,
        )
        session.add(draft)
        session.flush()
        return draft.id


def form(client: TestClient, **values: str) -> dict[str, str]:
    """The fields of the drafts page's form as the page shows them, changed by ``values``."""
    page = client.get("/drafts").text
    token = re.search(r'name="csrf" value="([^"]+)"', page)
    assert token, page
    fields = dict(re.findall(r'<input name="(\w+)" size="60" value="([^"]*)"', page))
    body = re.search(r'<textarea name="body"[^>]*>(.*?)</textarea>', page, re.DOTALL)
    assert body
    fields["body"] = body.group(1).replace("&gt;", ">")
    return {**fields, **values, "csrf": token.group(1)}


def test_drafts_are_reviewed_on_the_dashboard(
    stats_config: Config, database: Database, embedder
) -> None:
    changed: list[list[str]] = []
    app = create_app(
        stats_config,
        database,
        FixedClock(dataset.NOW),
        embedder=embedder,
        fiches_changed=changed.append,
    )
    client = TestClient(app)
    assert client.get("/drafts").status_code == 401
    login(client)
    number = add_draft(database)
    page = client.get("/drafts").text
    assert f"Draft #{number} · draft" in page and "A regional fund for shared apprentices" in page

    # Without the page's token nothing changes.
    refused = client.post(f"/drafts/{number}", data={"action": "reject"})
    assert refused.status_code == 403
    # A bad field is refused with the file checker's reason; the draft keeps its value.
    bad = client.post(f"/drafts/{number}", data=form(client, country="France", action="save"))
    assert bad.status_code == 400 and "country &#39;France&#39; is not an ISO 3166" in bad.text
    saved = client.post(f"/drafts/{number}", data=form(client, region="Occitanie", action="save"))
    assert saved.status_code == 200 and f"Saved draft fiche #{number}." in saved.text
    with database.sessions() as session:
        draft = session.get(FicheDraft, number)
        assert (draft.country, draft.region, draft.body) == ("FR", "Occitanie", BODY)

    approved = client.post(f"/drafts/{number}", data=form(client, action="approve"))
    assert approved.status_code == 200
    assert f"Draft fiche #{number} is now the fiche shared-apprentice-fund-q1." in approved.text
    assert changed == [["shared-apprentice-fund-q1"]]
    with database.sessions() as session:
        assert session.get(FicheDraft, number).reviewed_by == "anna"
        assert session.get(Fiche, "shared-apprentice-fund-q1").collection == DRAFTS_COLLECTION
        version = session.get(FicheVersion, ("shared-apprentice-fund-q1", "en"))
        assert version.region == "Occitanie" and version.embedder == embedder.name
    token = re.search(r'name="csrf" value="([^"]+)"', client.get("/drafts").text)
    assert token
    again = client.post(f"/drafts/{number}", data={"csrf": token.group(1), "action": "reject"})
    assert again.status_code == 400 and "already reviewed" in again.text


def test_a_bad_review_form_changes_nothing(stats_config: Config, database: Database) -> None:
    """Logged out, an unknown action, or a draft that does not exist: refused, nothing stored."""
    client = TestClient(create_app(stats_config, database, FixedClock(dataset.NOW)))
    number = add_draft(database)
    assert client.post(f"/drafts/{number}", data={"action": "reject"}).status_code == 401
    login(client)
    unknown = client.post(f"/drafts/{number}", data=form(client, action="publish"))
    assert unknown.status_code == 400 and "unknown action 'publish'" in unknown.text
    missing = client.post(f"/drafts/{number + 1}", data=form(client, action="reject"))
    assert missing.status_code == 400 and f"There is no draft fiche #{number + 1}." in missing.text
    with database.sessions() as session:
        assert session.get(FicheDraft, number).status == "draft"


def test_a_review_without_the_csrf_token_is_refused(
    stats_config: Config, database: Database
) -> None:
    """Logged in, an approval without the page's CSRF token, or with a forged one: refused."""
    client = TestClient(create_app(stats_config, database, FixedClock(dataset.NOW)))
    number = add_draft(database)
    login(client)
    approve = form(client, action="approve")
    del approve["csrf"]
    assert client.post(f"/drafts/{number}", data=approve).status_code == 403
    forged = client.post(f"/drafts/{number}", data={**approve, "csrf": "forged"})
    assert forged.status_code == 403 and "expired" in forged.text
    with database.sessions() as session:
        assert session.get(FicheDraft, number).status == "draft"
