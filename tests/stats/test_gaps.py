"""The knowledge-gaps page: questions the fiches did not answer, by topic and language."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import update
from starlette.testclient import TestClient

from bot.dashboard import create_app
from ground.clock import FixedClock
from ground.config import Config
from ground.storage.database import Database
from ground.storage.gaps_repo import knowledge_gaps, waiting_drafts_by_pair
from ground.storage.models import FicheAnswer, FicheDraft, Question
from tests.stats import dataset
from tests.stats.test_surfaces import database, login, stats_config

pytestmark = pytest.mark.db
__all__ = ["database", "stats_config"]  # the fixtures, used by name
START = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
END = dt.datetime(2026, 3, 21, tzinfo=dt.UTC)


@pytest.fixture
def ids(database: Database) -> dict[str, int]:
    """The dataset's questions by name, with what their askers did with the fiches shown.

    q1 was answered by a fiche its asker confirmed; q8 was shown a fiche and said nothing;
    q4 was routed with fiches suggested; the others were routed with no fiche close.
    """
    with database.sessions.begin() as session:
        found = {
            text.removeprefix("question "): number
            for number, text in session.query(Question.id, Question.text)
        }
        shown = [{"id": "some-fiche", "language": "en", "score": 0.9}]
        for name, feedback in [("q1", "helped"), ("q8", None), ("q4", None)]:
            session.add(
                FicheAnswer(
                    question_id=found[name],
                    fiches=shown,
                    feedback=feedback,
                    created_at=dataset.T,
                    feedback_at=dataset.T if feedback else None,
                )
            )
        session.execute(
            update(Question).where(Question.id == found["q4"]).values(decision="suggest")
        )
    return found


def test_gaps_are_the_questions_no_fiche_answered(database: Database, ids: dict[str, int]) -> None:
    with database.sessions() as session:
        gaps = knowledge_gaps(session, START, END)
    table = {(g.topic, g.language): g for g in gaps}
    # q1 (fr, work-based-learning) was answered: no gap there. q9 was asked before the period.
    assert ("work-based-learning", "fr") not in table
    assert sum(g.total for g in gaps) == 7
    eu_fr = table[("eu-funding", "fr")]
    assert (eu_fr.total, eu_fr.kinds) == (2, {"routed": 1, "suggested": 1})
    assert [e.text for e in eu_fr.examples] == ["question q6", "question q4"]
    assert table[("", "en")].kinds == {"unconfirmed": 1}  # q8: no topic, shown, never confirmed
    assert sum(eu_fr.days.values()) == 2 and dt.date(2026, 3, 19) in eu_fr.days
    # The largest gap first.
    assert gaps[0].total == max(g.total for g in gaps)


def test_gaps_by_country_of_the_partner(database: Database, ids: dict[str, int]) -> None:
    with database.sessions() as session:
        gaps = knowledge_gaps(session, START, END, by_country=True)
    table = {(g.topic, g.language, g.country): g.total for g in gaps}
    assert table[("eu-funding", "fr", "ES")] == 2  # q4 and q6 went to Asturias
    assert table[("eu-funding", "en", "GR")] == 1
    assert table[("", "en", "")] == 1  # q8 went to no partner


@pytest.fixture
def client(stats_config: Config, database: Database) -> TestClient:
    client = TestClient(create_app(stats_config, database, FixedClock(dataset.NOW)))
    login(client)
    return client


def test_the_gaps_page(client: TestClient, ids: dict[str, int]) -> None:
    page = client.get("/gaps", params={"from": dataset.FROM, "to": dataset.TO}).text
    rows = re.findall(r"<tr>(.*?)</tr>", page.split('id="gaps"', 1)[1], re.S)
    first = rows[1]
    assert 'id="no-gaps"' not in page
    assert "EU funding" in first and "French" in first
    assert f'<a href="/questions/{ids["q6"]}">#{ids["q6"]}</a> question q6' in first
    assert "1 / 1 / 0" in first  # routed / suggested / never confirmed
    assert '<svg xmlns="http://www.w3.org/2000/svg"' in first  # counts over time
    link = re.search(r'<a href="(/questions\?gap=1&amp;topic=eu-funding[^"]*)">2</a>', first)
    assert link, first
    listed = client.get(link.group(1).replace("&amp;", "&")).text
    assert re.findall(r'<td class="text">question (q\d)</td>', listed) == ["q6", "q4"]
    every_gap = client.get("/questions", params={"gap": "1"}).text
    assert "question q1<" not in every_gap and "question q8<" in every_gap
    by_country = client.get("/gaps", params={"period": "90d", "country": "1"}).text
    assert "Country (of the partner asked)" in by_country and "<td>ES</td>" in by_country
    client.cookies.clear()
    assert client.get("/gaps").status_code == 401


def test_no_gaps_says_so(client: TestClient) -> None:
    page = client.get("/gaps", params={"from": "2025-01-01", "to": "2025-01-31"}).text
    assert 'id="no-gaps"' in page


def test_a_gap_links_to_its_waiting_drafts(
    client: TestClient, database: Database, ids: dict[str, int]
) -> None:
    with database.sessions.begin() as session:
        for status in ("draft", "rejected"):
            session.add(
                FicheDraft(
                    question_id=ids["q6"],
                    fiche_id=f"eu-fr-{status}",
                    language="fr",
                    title="Cofinancer un projet Erasmus+",
                    topics=["eu-funding"],
                    body="…",
                    status=status,
                    created_at=dataset.NOW,
                )
            )
    with database.sessions() as session:
        waiting = waiting_drafts_by_pair(session)
    assert list(waiting) == [("eu-funding", "fr")] and len(waiting[("eu-funding", "fr")]) == 1
    page = client.get("/gaps", params={"from": dataset.FROM, "to": dataset.TO}).text
    rows = re.findall(r"<tr>(.*?)</tr>", page.split('id="gaps"', 1)[1], re.S)
    french = next(row for row in rows if "French" in row and "EU funding" in row)
    (number,) = waiting[("eu-funding", "fr")]
    assert f'<a href="/drafts#draft-{number}">1 to review</a>' in french
    assert all('class="drafts">none' in row for row in rows[1:] if row is not french)
    assert client.get("/drafts").status_code == 200
