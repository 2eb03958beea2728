"""The questions list's word search through its index (FTS5 words, a tsvector GIN index)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import delete, select, text, update

from bot.assembly import open_database
from ground.config import Config
from ground.storage import privacy
from ground.storage.database import Database
from ground.storage.models import Question
from ground.storage.questions_repo import (
    COUNTED,
    WALK_FROM,
    QuestionFilter,
    list_questions,
)
from tests.fakes.rows import add_asker, question_row

pytestmark = pytest.mark.db
NOW = dt.datetime(2026, 3, 20, 12, tzinfo=dt.UTC)
TEXTS = [
    "How do we fund Apprenticeships in rural crafts?",
    "Indicateurs de suivi des NEET en Occitanie",
    "Χρηματοδότηση μαθητείας στην Κρήτη",
    "Who pays 100% of the tutor_fee?",
    "Erasmus+ KA2 for VET schools",
    "Financement RÉGIONAL des CFA à Saint-Étienne",
]


def _found(config: Config, words: str) -> list[str]:
    database = open_database(config)
    try:
        with database.sessions() as session:
            page = list_questions(session, QuestionFilter(search=words), NOW)
        return sorted(row.text for row in page.rows)
    finally:
        database.dispose()


@pytest.fixture
def stored(config: Config) -> Config:
    database = open_database(config)
    with database.sessions.begin() as session:
        asker = add_asker(session, NOW, display_name="A", organisation="Région Occitanie")
        for number, text in enumerate(TEXTS):
            session.add(question_row(asker, text, NOW - dt.timedelta(hours=number)))
    database.dispose()
    return config


def test_the_start_of_every_word_in_any_order_and_case(stored: Config) -> None:
    assert _found(stored, "apprentice") == [TEXTS[0]]
    assert _found(stored, "APPRENTICESHIPS IN RU") == [TEXTS[0]]
    assert _found(stored, "rural fund") == [TEXTS[0]]  # any order
    assert _found(stored, "fund rural tourism") == []  # every word
    assert _found(stored, "renticeships") == []  # a word's start, not its middle
    assert _found(stored, "neet en occ") == [TEXTS[1]]
    assert _found(stored, "μαθητείας") == [TEXTS[2]]
    assert _found(stored, "ΚΡΉΤΗ") == [TEXTS[2]]
    assert _found(stored, "ka2") == [TEXTS[4]]


def test_latin_accents_are_folded_both_ways(stored: Config) -> None:
    assert _found(stored, "regional") == [TEXTS[5]]
    assert _found(stored, "Régional") == [TEXTS[5]]
    assert _found(stored, "saint etienne") == [TEXTS[5]]
    assert _found(stored, "ÉTIENNE À") == [TEXTS[5]]
    assert _found(stored, "Fiñancement") == [TEXTS[5]]


def test_punctuation_separates_words_and_is_no_wildcard(stored: Config) -> None:
    assert _found(stored, "100%") == [TEXTS[3]]
    assert _found(stored, "tutor_fee") == [TEXTS[3]]
    assert _found(stored, "fee, tutor!") == [TEXTS[3]]
    assert _found(stored, "t%r") == []  # no word starts with r beside a word starting with t
    assert _found(stored, "saint-étienne") == [TEXTS[5]]
    assert _found(stored, 'say "hello"') == []
    assert _found(stored, "AND OR NOT") == []  # FTS5's words are the coordinator's
    assert _found(stored, "%%") == []


def test_a_number_past_the_database_integers_or_not_decimal_names_nothing(stored: Config) -> None:
    assert _found(stored, "#9223372036854775808") == []
    assert _found(stored, "2147483648") == []
    assert _found(stored, "#²") == []  # a digit int() cannot read: searched as a word


def test_short_searches_and_the_organisation(stored: Config) -> None:
    assert _found(stored, "VE") == [TEXTS[4]]
    assert _found(stored, "occitanie") == sorted(TEXTS)  # the asker's organisation
    assert _found(stored, "nowhere") == []


def test_the_index_follows_edits_and_deletions(stored: Config) -> None:
    database = open_database(stored)
    with database.sessions.begin() as session:
        session.execute(update(Question).where(Question.text == TEXTS[0]).values(text=""))
        session.execute(delete(Question).where(Question.text == TEXTS[4]))
    database.dispose()
    assert _found(stored, "apprentice") == []  # as after `rrm privacy erase`
    assert _found(stored, "ka2") == []


def test_counting_stops_at_a_bound(config: Config) -> None:
    database = open_database(config)
    with database.sessions.begin() as session:
        asker = add_asker(session, NOW, display_name="A")
        session.add_all(question_row(asker, f"question {n}", NOW) for n in range(COUNTED + 5))
    with database.sessions() as session:
        page = list_questions(session, QuestionFilter(search="question", page=3), NOW)
        exact = list_questions(session, QuestionFilter(search="question 100"), NOW)
        # PostgreSQL walked page 3 with its sorts turned off; they are on again after it.
        sorts = "on" if database.backend == "sqlite" else session.scalar(text("SHOW enable_sort"))
    database.dispose()
    assert (page.total, page.more, page.page, len(page.rows), sorts) == (COUNTED, True, 3, 50, "on")
    assert [row.text for row in page.rows] == [f"question {n}" for n in range(COUNTED + 4, -1, -1)][
        100:150
    ]
    # A word starting "100" is in question 100, 1000 to 1009 and 10000 to 10004.
    assert (exact.total, exact.more) == (16, False)


def test_an_erased_text_leaves_no_word_on_disk(config: Config) -> None:
    database = open_database(config)
    if database.backend != "sqlite":
        database.dispose()
        pytest.skip("the file check is SQLite's; PostgreSQL's erasure needs VACUUM (privacy.md)")
    with database.sessions.begin() as session:
        asker = add_asker(session, NOW, display_name="A")
        for n in range(30):
            text = "Secret Zyxwvutsrq plan" if n == 7 else f"ordinary question {n}"
            session.add(question_row(asker, text, NOW, status="resolved"))
    with database.sessions.begin() as session:
        number = session.query(Question.id).filter(Question.text.like("Secret%")).scalar()
        privacy.anonymise_question(session, number)
    database.flush_erased()
    path = database.engine.url.database
    database.dispose()
    assert path
    on_disk = Path(path).read_bytes()
    assert b"zyxwvutsrq" not in on_disk
    assert _found(config, "zyxw") == []


def test_many_found_questions_are_paged_in_order(config: Config) -> None:
    """Past WALK_FROM ids the page walks its order instead of reading every id: same pages."""
    database = open_database(config)
    with database.sessions.begin() as session:
        asker = add_asker(session, NOW, display_name="A")
        # Numbers and times disagree on purpose: the order is the time's, then the number's.
        for n in range(WALK_FROM + 200):
            text = f"rural apprenticeship {n}" if n % 2 else f"rural tourism {n}"
            asked = NOW - dt.timedelta(minutes=(n * 7919) % 5003)
            session.add(question_row(asker, text, asked))
    with database.sessions() as session:
        pages = [
            list_questions(
                session, QuestionFilter(search="rural apprenticeship", sort=sort, page=page), NOW
            )
            for sort in ("newest", "oldest")
            for page in (1, 2)
        ]
        every = session.execute(
            select(Question.created_at, Question.id).where(Question.text.like("%apprenticeship%"))
        ).all()
    database.dispose()
    newest = [row.id for row in sorted(every, key=lambda r: (r.created_at, r.id), reverse=True)]
    oldest = newest[::-1]
    assert all((p.total, p.more) == ((WALK_FROM + 200) // 2, False) for p in pages)
    assert [r.id for r in pages[0].rows + pages[1].rows] == newest[:100]
    assert [r.id for r in pages[2].rows + pages[3].rows] == oldest[:100]


def test_the_word_index_is_built_from_stored_questions_and_undone(database_url: str) -> None:
    """Migration 0015 indexes the questions already stored, and its downgrade gives 0013's."""
    database = Database(database_url)
    command.upgrade(database._alembic(), "0014")
    with database.sessions.begin() as session:
        asker = add_asker(session, NOW, display_name="A")
        session.add(question_row(asker, "Apprentis en région Occitanie", NOW))
    command.upgrade(database._alembic(), "head")  # the list reads 0016's stored words

    def found(words: str) -> int:
        with database.sessions() as session:
            return list_questions(session, QuestionFilter(search=words), NOW).total

    assert (found("region appren"), found("renti")) == (1, 0)
    command.downgrade(database._alembic(), "0014")
    with database.engine.connect() as connection:
        if database.backend == "sqlite":
            left = connection.scalar(
                text("SELECT sql FROM sqlite_master WHERE name = 'questions_search'")
            )
            functions = 0
        else:
            left = connection.scalar(
                text(
                    "SELECT indexdef FROM pg_indexes WHERE schemaname = current_schema() "
                    "AND indexname LIKE 'ix_questions_text_%'"
                )
            )
            functions = connection.scalar(
                text(
                    "SELECT count(*) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
                    "WHERE n.nspname = current_schema() AND p.proname LIKE 'rrm_search_%'"
                )
            )
    database.dispose()
    # 0013's trigram index is back (pg_trgm is on every server this suite runs against).
    assert ("trigram" in left or "gin_trgm_ops" in left, functions) == (True, 0)


def test_short_prefixes_and_stored_words_are_built_from_stored_questions(
    database_url: str,
) -> None:
    """Migration 0016 indexes short prefixes (SQLite) and stores the words (PostgreSQL)."""
    database = Database(database_url)
    command.upgrade(database._alembic(), "0015")
    with database.sessions.begin() as session:
        asker = add_asker(session, NOW, display_name="A")
        session.add(question_row(asker, "Apprentis en région Occitanie", NOW))
    command.upgrade(database._alembic(), "0016")

    def found(words: str) -> int:
        with database.sessions() as session:
            return list_questions(session, QuestionFilter(search=words), NOW).total

    def index() -> str:
        with database.engine.connect() as connection:
            if database.backend == "sqlite":
                query = "SELECT sql FROM sqlite_master WHERE name = 'questions_search'"
            else:
                query = (
                    "SELECT string_agg(indexdef, ' ') FROM pg_indexes "
                    "WHERE schemaname = current_schema() AND tablename = 'questions' "
                    "AND indexdef LIKE '%gin%'"
                )
            return str(connection.scalar(text(query)))

    assert (found("a"), found("re"), found("oc regi"), found("ccitanie")) == (1, 1, 1, 0)
    upgraded = index()
    command.downgrade(database._alembic(), "0015")
    downgraded = index()
    database.dispose()
    if database.backend == "sqlite":
        assert ("prefix='1 2'" in upgraded, "prefix" in downgraded) == (True, False)
    else:
        assert ("(search_words)" in upgraded, "rrm_search_words(text)" in downgraded) == (
            True,
            True,
        )
