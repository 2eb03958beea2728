"""The dashboard's question list (search, filters, order, pages) and a question's own page."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import update
from starlette.testclient import TestClient

from bot.dashboard import create_app
from ground.clock import FixedClock
from ground.config import Config
from ground.storage.database import Database
from ground.storage.models import Person, Question
from ground.storage.questions_repo import QuestionFilter, list_questions
from tests.stats import dataset
from tests.stats.test_surfaces import database, login, stats_config

pytestmark = pytest.mark.db
__all__ = ["database", "stats_config"]  # the fixtures, used by name


@pytest.fixture
def client(stats_config: Config, database: Database) -> TestClient:
    client = TestClient(create_app(stats_config, database, FixedClock(dataset.NOW)))
    login(client)
    return client


def listed(client: TestClient, **params: str) -> list[str]:
    """The question texts the list shows for ``params``, in order."""
    response = client.get("/questions", params=params)
    assert response.status_code == 200, response.text
    return re.findall(r'<td class="text">question (q\d)</td>', response.text)


def test_the_list_searches_and_filters_on_the_server(client: TestClient) -> None:
    assert listed(client) == ["q7", "q6", "q8", "q5", "q4", "q3", "q2", "q1", "q9"]
    assert listed(client, partner="kedivim") == ["q3", "q2", "q9"]
    assert listed(client, q="question q5") == ["q5"]
    assert listed(client, status="answered") == ["q4", "q9"]
    assert listed(client, language="fr", topic="eu-funding") == ["q6", "q4"]
    # An expert who passed the question on still finds it.
    assert listed(client, expert="claire") == ["q5"] == listed(client, expert="marco")
    assert listed(client, overdue="1") == ["q6", "q4", "q9"]
    assert listed(client, **{"from": "2026-03-19", "to": "2026-03-19"}) == ["q7", "q6"]
    assert listed(client, sort="oldest")[:2] == ["q9", "q1"]
    page = client.get("/questions", params={"partner": "kedivim"}).text
    assert "Eleni Papadaki" in page and "KEDIVIM Crete" in page and "(overdue)" in page
    assert client.get("/questions", params={"from": "March"}).status_code == 400


def test_number_and_organisation_search(client: TestClient, database: Database) -> None:
    with database.sessions.begin() as session:
        number = session.query(Question.id).filter(Question.text == "question q4").scalar()
        session.execute(update(Person).where(Person.role == "asker").values(organisation="Cedefop"))
    assert listed(client, q=f"#{number}") == ["q4"]
    assert listed(client, q=str(number)) == ["q4"]
    assert len(listed(client, q="cedef")) == 9
    assert listed(client, q="no such words") == []


def test_pages_come_from_the_database(database: Database) -> None:
    with database.sessions() as session:
        first = list_questions(session, QuestionFilter(per_page=4), dataset.NOW)
        last = list_questions(session, QuestionFilter(per_page=4, page=3), dataset.NOW)
        beyond = list_questions(session, QuestionFilter(per_page=4, page=99), dataset.NOW)
    assert (first.total, first.pages, len(first.rows)) == (9, 3, 4)
    assert [r.text for r in last.rows] == ["question q9"]
    assert beyond.page == 3


def test_a_question_page_tells_its_story(client: TestClient, database: Database) -> None:
    with database.sessions() as session:
        number = session.query(Question.id).filter(Question.text == "question q6").scalar()
    page = client.get(f"/questions/{number}").text
    assert ("question q6" in page and "Lucía" in page) or "lucia" in page.lower()
    timeline = page.split('id="timeline"', 1)[1]
    order = [timeline.index(word) for word in ["reminder", "first response due", "escalation"]]
    assert order == sorted(order)
    assert "not rated" in page
    assert client.get("/questions/999999").status_code == 404
    client.cookies.clear()
    assert client.get(f"/questions/{number}").status_code == 401
    assert client.get("/questions").status_code == 401
