"""The migrations (0002 deadline_steps included) create exactly the schema the models describe."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from bot.ground.storage.database import Database
from bot.ground.storage.models import Base

pytestmark = pytest.mark.db


def test_migrations_match_the_models(database_url: str) -> None:
    database = Database(database_url)
    database.upgrade()
    with database.engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    database.dispose()
    assert differences == []
