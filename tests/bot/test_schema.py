"""The migrations (0002 deadline_steps included) create exactly the schema the models describe."""

from __future__ import annotations

import warnings

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from ground.storage.database import Database
from ground.storage.models import Base

pytestmark = pytest.mark.db


# The word index of questions (migrations 0015, 0016) lives outside the models: an FTS5 table
# with its shadow tables on SQLite, a stored words column and its GIN index on PostgreSQL; so
# do the expression indexes of the overdue list (migration 0013) and of the next-deadline
# order (0017).
SEARCH_INDEX = (
    "questions_search",
    "search_words",
    "ix_questions_search_words",
    "ix_questions_active_due",
    "ix_questions_due_order",
)


def _modelled(name: str | None, kind: str, parents: object) -> bool:
    return not (name or "").startswith(SEARCH_INDEX)


def test_migrations_match_the_models(database_url: str) -> None:
    database = Database(database_url)
    database.upgrade()
    with database.engine.connect() as connection, warnings.catch_warnings():
        # SQLite's reflection cannot read an expression index, and says so; it is not modelled.
        warnings.filterwarnings(
            "ignore", "Skipped unsupported reflection of expression-based index ix_questions_"
        )
        context = MigrationContext.configure(connection, opts={"include_name": _modelled})
        differences = compare_metadata(context, Base.metadata)
    database.dispose()
    assert differences == []
