"""The questions list's word search through its index (FTS5 words, a tsvector GIN index)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import delete, func, select, text, update
from sqlalchemy.orm import Session

from bot.assembly import open_database
from ground.config import Config
from ground.storage import privacy, questions_repo
from ground.storage.database import Database
from ground.storage.models import Question
from ground.storage.questions_repo import (
    COUNTED,
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


def _deadlines(n: int) -> dict[str, dt.datetime | None]:
    """Deadlines that disagree with the numbers and the times, some tied, some missing.

    The next deadline is the first response's, else the resolution's: one question in three
    has only a resolution deadline, and each other's resolution deadline comes before its
    first response's, so that taking the wrong one would change the order.
    """
    due = NOW + dt.timedelta(minutes=(n * 37) % 500)
    if n % 5 == 0:
        return {"first_response_due": None, "resolution_due": None}
    if n % 3 == 1:
        return {"first_response_due": None, "resolution_due": due}
    return {"first_response_due": due, "resolution_due": due - dt.timedelta(days=2)}


def _in_order(session: Session, matching: str, *period: dt.datetime) -> dict[str, list[int]]:
    """The numbers of the questions whose text holds ``matching``, in each order of the list.

    Only those asked from ``period[0]`` to ``period[1]``, when given.
    """
    asked = [Question.created_at >= period[0], Question.created_at < period[1]] if period else []
    every = session.execute(
        select(
            Question.id,
            Question.created_at,
            func.coalesce(Question.first_response_due, Question.resolution_due),
        ).where(Question.text.like(f"%{matching}%"), *asked)
    ).all()
    newest = [n for n, _, _ in sorted(every, key=lambda r: (r[1], r[0]), reverse=True)]
    never = dt.datetime.max.replace(tzinfo=dt.UTC)
    due = [n for n, _, d in sorted(every, key=lambda r: (r[2] is None, r[2] or never, r[0]))]
    return {"newest": newest, "oldest": newest[::-1], "due": due}


def test_listed_questions_are_paged_in_every_order(config: Config) -> None:
    """Up to FEW found, a page sorts the listed questions' keys: every order, every page."""
    database = open_database(config)
    with database.sessions.begin() as session:
        asker = add_asker(session, NOW, display_name="A")
        for n in range(1_200):
            text = f"rural apprenticeship {n}" if n % 2 else f"rural tourism {n}"
            asked = NOW - dt.timedelta(minutes=(n * 7919) % 5003)
            session.add(question_row(asker, text, asked, **_deadlines(n)))
    with database.sessions() as session:
        pages = {
            (sort, page): list_questions(
                session, QuestionFilter(search="rural apprenticeship", sort=sort, page=page), NOW
            )
            for sort in ("newest", "oldest", "due")
            for page in range(1, 13)
        }
        expected = _in_order(session, "apprenticeship")
    database.dispose()
    assert {(p.total, p.more, p.pages) for p in pages.values()} == {(600, False, 12)}
    for sort, numbers in expected.items():
        found = [row.id for page in range(1, 13) for row in pages[sort, page].rows]
        assert found == numbers, sort
    # The deadlines' order is neither time order: the test tells them apart.
    assert expected["due"] not in (expected["newest"], expected["oldest"])


def test_many_found_questions_walk_every_order(config: Config) -> None:
    """Past FEW found, a page walks its order's index (next deadline too), testing each row."""
    database = open_database(config)
    with database.sessions.begin() as session:
        asker = add_asker(session, NOW, display_name="A")
        session.add_all(
            question_row(
                asker,
                f"question {n}" if n % 4 else f"answer {n}",
                NOW - dt.timedelta(minutes=(n * 7919) % 15013),
                **_deadlines(n),
            )
            for n in range(COUNTED * 4 // 3 + 20)
        )
    with database.sessions() as session:
        pages = {
            (sort, page): list_questions(
                session, QuestionFilter(search="question", sort=sort, page=page), NOW
            )
            for sort in ("newest", "oldest", "due")
            for page in (1, 3)
        }
        expected = _in_order(session, "question")
        # PostgreSQL walked with its sorts turned off; they are on again after it.
        sorts = "on" if database.backend == "sqlite" else session.scalar(text("SHOW enable_sort"))
    database.dispose()
    assert sorts == "on"
    assert {(p.total, p.more) for p in pages.values()} == {(COUNTED, True)}
    for sort, numbers in expected.items():
        assert [row.id for row in pages[sort, 1].rows] == numbers[:50], sort
        assert [row.id for row in pages[sort, 3].rows] == numbers[100:150], sort


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


@pytest.mark.parametrize("listed", [True, False], ids=["listed", "walked"])
@pytest.mark.parametrize("period_sorted", [10**6, 10], ids=["short period", "long period"])
def test_a_period_in_every_order(
    config: Config, monkeypatch: pytest.MonkeyPatch, listed: bool, period_sorted: int
) -> None:
    """A period is read and sorted when short, else the order walked: the same pages either way.

    The bounds are lowered so that a few hundred questions make a long period (more than
    PERIOD_SORTED) and many found questions (more than FEW, walked).
    """
    monkeypatch.setattr(questions_repo, "PERIOD_SORTED", period_sorted)
    if not listed:
        monkeypatch.setattr(questions_repo, "FEW", 20)
    database = open_database(config)
    with database.sessions.begin() as session:
        asker = add_asker(session, NOW, display_name="A")
        for n in range(600):
            text = f"rural apprenticeship {n}" if n % 2 else f"rural tourism {n}"
            asked = NOW - dt.timedelta(minutes=(n * 7919) % 5003)
            session.add(question_row(asker, text, asked, **_deadlines(n)))
    start, end = NOW - dt.timedelta(minutes=4000), NOW - dt.timedelta(minutes=1000)
    with database.sessions() as session:
        pages = {
            (words, sort, page): list_questions(
                session,
                QuestionFilter(search=words, sort=sort, page=page, start=start, end=end),
                NOW,
            )
            for words in ("apprenticeship", "")
            for sort in ("newest", "oldest", "due")
            for page in (1, 2)
        }
        expected = {
            "apprenticeship": _in_order(session, "apprenticeship", start, end),
            "": _in_order(session, "rural", start, end),
        }
    database.dispose()
    for (words, sort, page), found in pages.items():
        numbers = expected[words][sort][(page - 1) * 50 : page * 50]
        assert [row.id for row in found.rows] == numbers, (words, sort, page)
    assert len(expected["apprenticeship"]["due"]) > 100  # two full pages at least


def test_the_deadline_order_index_is_built_and_undone(database_url: str) -> None:
    """Migration 0017 indexes the next-deadline order of the questions stored, and undoes it."""
    database = Database(database_url)
    command.upgrade(database._alembic(), "0016")
    with database.sessions.begin() as session:
        asker = add_asker(session, NOW, display_name="A")
        for n in range(3):
            session.add(question_row(asker, f"stored {n}", NOW, **_deadlines(n)))
    command.upgrade(database._alembic(), "0017")

    def indexes() -> set[str]:
        with database.engine.connect() as connection:
            if database.backend == "sqlite":
                query = "SELECT name FROM sqlite_master WHERE type = 'index'"
            else:
                query = "SELECT indexname FROM pg_indexes WHERE schemaname = current_schema()"
            return set(connection.scalars(text(query)))

    with database.sessions() as session:
        page = list_questions(session, QuestionFilter(search="stored", sort="due"), NOW)
    built = indexes()
    command.downgrade(database._alembic(), "0016")
    undone = indexes()
    database.dispose()
    # Question 1 (n=0) has no deadline: last; n=1 and n=2 in the order of their deadlines.
    assert [row.text for row in page.rows] == ["stored 1", "stored 2", "stored 0"]
    assert ("ix_questions_due_order" in built, "ix_questions_due_order" in undone) == (True, False)
