"""The answered questions' index: read at start, appended, and checked before it offers."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import delete

from ground.storage.database import Database
from ground.storage.models import Person, Question, QuestionVector
from ground.storage.privacy import anonymise_question
from knowledge.similar import AnsweredIndex, remember
from tests.conftest import START

pytestmark = pytest.mark.db

CANTEEN = "Which lawyer knows the public procurement rules for school canteen catering contracts?"
NEAR_CANTEEN = "Can you recommend a lawyer for public procurement of school canteen catering?"
NEETS = "Which indicators do you use to monitor programmes for young people not in work?"
NEAR_NEETS = "What indicators show whether a programme for young people not in work works?"


def answered(session, asker: Person, text: str, minutes: int) -> Question:  # type: ignore[no-untyped-def]
    question = Question(
        asker_id=asker.id,
        channel="console",
        text=text,
        language="en",
        status="answered",
        decision="route",
        created_at=START,
        first_response_at=START + dt.timedelta(minutes=minutes),
    )
    session.add(question)
    session.flush()
    return question


def test_the_index_takes_in_new_answers_and_leaves_out_contested_and_erased_ones(
    database_url, embedder
) -> None:
    database = Database(database_url)
    database.upgrade()
    index = AnsweredIndex(embedder)
    try:
        with database.sessions.begin() as session:
            asker = Person(role="asker", display_name="Ana", created_at=START)
            session.add(asker)
            session.flush()
            canteen = answered(session, asker, CANTEEN, 1)
            remember(session, embedder, canteen, None)
            # Answered before vectors were kept: embedded by the index on its way.
            neets = answered(session, asker, NEETS, 2)
            session.execute(delete(QuestionVector).where(QuestionVector.question_id == neets.id))
            index.load(session)
            assert len(index) == 2
            found = index.search(session, embedder.queries([NEAR_CANTEEN]), min_score=0.5)
            assert [f.question.id for f in found] == [canteen.id]
            assert (
                index.search(
                    session, embedder.queries([NEAR_CANTEEN]), min_score=0.5, exclude=canteen.id
                )
                == []
            )
            found = index.search(session, embedder.queries([NEAR_NEETS]), min_score=0.5)
            assert [f.question.id for f in found] == [neets.id]

            # Answered after the load: the next search takes it in.
            later = answered(session, asker, NEAR_CANTEEN + " In Italy.", 60)
            remember(session, embedder, later, None)
            found = index.search(session, embedder.queries([NEAR_CANTEEN]), min_score=0.5)
            assert [f.question.id for f in found] == [later.id, canteen.id]

            # Contested: kept in memory, never offered.
            canteen.helpful = False
            session.flush()
            found = index.search(session, embedder.queries([NEAR_CANTEEN]), min_score=0.5)
            assert [f.question.id for f in found] == [later.id]
            assert len(index) == 3

            # Erased: gone from memory at the next search that comes near it.
            anonymise_question(session, later.id)
            assert index.search(session, embedder.queries([NEAR_CANTEEN]), min_score=0.5) == []
            assert len(index) == 2
    finally:
        database.dispose()
