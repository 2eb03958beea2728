"""The migrations (0002 deadline_steps included) create exactly the schema the models describe."""

from __future__ import annotations

import warnings

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from ground.storage.database import Database
from ground.storage.models import Base

pytestmark = pytest.mark.db


# The word index of questions (migration 0015) lives outside the models: an FTS5 table with its
# shadow tables on SQLite, a GIN expression index on PostgreSQL; so does the partial
# expression index of the overdue list (migration 0013).
SEARCH_INDEX = ("questions_search", "ix_questions_text_words", "ix_questions_active_due")


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
